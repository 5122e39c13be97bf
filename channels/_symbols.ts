/**
 * Symbols for the methods servers and streams call on each other; keyed by
 * symbol so they stay out of the public API.
 *
 * @module
 */

/** `stream[adopt](transport, server)`: a server hands an accepted connection to its stream. */
export const adopt: unique symbol = Symbol("pants.adopt");
/** `stream[begin]()`: the accepted stream's `onConnect()` runs and reading starts. */
export const begin: unique symbol = Symbol("pants.begin");
/** `server[accept](transport)`: a server takes an accepted connection (limits, then a stream). */
export const accept: unique symbol = Symbol("pants.accept");
/** `server[forget](stream)`: a closed stream leaves its server. */
export const forget: unique symbol = Symbol("pants.forget");
/** `channel[deframer]`: a framed channel's read path (framing/_deframer.ts). */
export const deframer: unique symbol = Symbol("pants.deframer");
/** `stream[writer]`: a stream's send side (`_writer.ts`). */
export const writer: unique symbol = Symbol("pants.writer");
/** `stream[phase]`: where a stream is in its life (idle, connecting, connected, closing, closed). */
export const phase: unique symbol = Symbol("pants.phase");
/**
 * `channel[dropConnection](flush)`: what the default callbacks call to end
 * a connection. A channel closes; a stream connected with `reconnect`
 * connects again instead (only `close()` by the user stops it for good).
 */
export const dropConnection: unique symbol = Symbol("pants.dropConnection");
/** `stream[timeouts]`: a stream's idle and frame deadlines, made when first set (`_stream_timeouts.ts`). */
export const timeouts: unique symbol = Symbol("pants.timeouts");
/** `stream[announce](callback)`: runs `onConnect` or `onClose`; a subclass may defer it or add arguments. */
export const announce: unique symbol = Symbol("pants.announce");
