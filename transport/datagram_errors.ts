/**
 * The error a `Datagram` channel reports about one datagram, or about a
 * `connect()` that failed.
 *
 * @module
 */

/**
 * What went wrong with a datagram:
 *
 * - `"oversized"`: it was larger than `bufferSize` (its size is `bytes`),
 *   or a record in it declared a length beyond `bufferSize`; dropped.
 * - `"truncated"`: the socket could not receive it whole (it had at least
 *   `bytes` bytes); dropped.
 * - `"incomplete"`: with a `readDelimiter`, `bytes` bytes at its end did not
 *   form a complete frame; those bytes were dropped (the complete frames
 *   before them were delivered).
 * - `"send"`: a datagram given to `write()` could not be sent (too large,
 *   not permitted, no route, peer refused).
 * - `"receive"`: the socket reported an error while receiving (for example
 *   an ICMP "port unreachable" on a connected channel).
 * - `"connect"`: `connect()` failed (passed to `onConnectError`).
 * - `"overflow"`: `write()` would have queued more than `maxWriteBuffer`
 *   bytes; thrown by `write()`, nothing was queued.
 *
 * @example Usage
 * ```ts
 * import { Datagram, DatagramError, type DatagramErrorReason } from "@pants/pants";
 *
 * class Counting extends Datagram {
 *   dropped = new Map<DatagramErrorReason, number>();
 *   override onError(error: unknown): void {
 *     if (error instanceof DatagramError) {
 *       this.dropped.set(error.reason, (this.dropped.get(error.reason) ?? 0) + 1);
 *     } else super.onError(error);
 *   }
 * }
 * ```
 */
export type DatagramErrorReason =
  | "oversized"
  | "truncated"
  | "incomplete"
  | "send"
  | "receive"
  | "connect"
  | "overflow";

/**
 * Details of a {@linkcode DatagramError}.
 *
 * @example Usage
 * ```ts
 * import { DatagramError, type DatagramErrorOptions } from "@pants/pants";
 *
 * const options: DatagramErrorOptions = { bytes: 70000, limit: 65536 };
 * const error = new DatagramError("oversized", "a datagram was too large", options);
 * ```
 */
export interface DatagramErrorOptions extends ErrorOptions {
  /** The remote address involved, if any. */
  remoteAddress?: Deno.NetAddr | Deno.UnixAddr | null;
  /** The byte count behind the error (see {@linkcode DatagramErrorReason}). */
  bytes?: number;
  /** The limit that was exceeded (`bufferSize`), or 0. */
  limit?: number;
}

/**
 * A problem with one datagram (received or sent) or with `connect()`.
 *
 * `Datagram.onError` receives it for datagrams; its default logs the message
 * and keeps the channel open, since one bad datagram from one peer must not
 * stop a server. `onConnectError` receives it when `connect()` fails.
 *
 * @example Counting dropped datagrams instead of logging them
 * ```ts
 * import { Datagram, DatagramError } from "@pants/pants";
 *
 * class Counting extends Datagram {
 *   dropped = 0;
 *   override onError(error: unknown): void {
 *     if (error instanceof DatagramError && error.reason !== "send") this.dropped++;
 *     else super.onError(error);
 *   }
 * }
 * ```
 */
export class DatagramError extends Error {
  /** What went wrong. */
  readonly reason: DatagramErrorReason;
  /** The peer the datagram came from or was sent to, when known. */
  readonly remoteAddress: Deno.NetAddr | Deno.UnixAddr | null;
  /** The byte count behind the error (see {@linkcode DatagramErrorReason}), or 0. */
  readonly bytes: number;
  /** The limit that was exceeded (`bufferSize`), or 0. */
  readonly limit: number;

  /**
   * Creates the error.
   *
   * @param reason What went wrong.
   * @param message What happened and what to do.
   * @param options The peer, byte count, limit, and the Deno error as `cause`.
   */
  constructor(reason: DatagramErrorReason, message: string, options: DatagramErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DatagramError";
    this.reason = reason;
    this.remoteAddress = options.remoteAddress ?? null;
    this.bytes = options.bytes ?? 0;
    this.limit = options.limit ?? 0;
  }
}
