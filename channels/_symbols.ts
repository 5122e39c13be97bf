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
