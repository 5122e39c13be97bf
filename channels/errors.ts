/**
 * The errors Pants channels report. Each is an `Error` subclass with `name`
 * set, a message that says what to do, and the underlying error as `cause`.
 *
 * @module
 */

/**
 * A stream received more input than `bufferSize` allows while waiting for a
 * frame, or a length prefix declared a record larger than that.
 *
 * Delivered to `Stream.onOverflowError`; the default handler closes the stream.
 *
 * @example Raising the limit for a protocol with large frames
 * ```ts
 * import { Stream, StreamBufferOverflow } from "@pants/pants";
 *
 * class Upload extends Stream {
 *   override onConnect(): void {
 *     this.bufferSize = 1024 * 1024;
 *   }
 *   override onOverflowError(err: StreamBufferOverflow): void {
 *     console.error(`peer sent a frame over ${err.limit} bytes`);
 *     this.close();
 *   }
 * }
 * ```
 */
export class StreamBufferOverflow extends Error {
  /** The limit in bytes that was exceeded. */
  readonly limit: number;
  /** How many bytes were buffered, or declared by a length prefix. */
  readonly bytes: number;

  /**
   * Creates the error.
   *
   * @param message What happened and what to do.
   * @param limit The limit in bytes that was exceeded.
   * @param bytes How many bytes were buffered or declared.
   */
  constructor(message: string, limit: number, bytes: number) {
    super(message);
    this.name = "StreamBufferOverflow";
    this.limit = limit;
    this.bytes = bytes;
  }
}

/**
 * A stream could not connect: refused, unreachable, name not resolved, or
 * permission denied. The Deno error is the `cause`.
 *
 * @example Reporting why a connection failed
 * ```ts
 * import { Stream, StreamConnectError } from "@pants/pants";
 *
 * class Client extends Stream {
 *   override onConnectError(err: StreamConnectError): void {
 *     console.error(err.message, err.cause);
 *   }
 * }
 * ```
 */
export class StreamConnectError extends Error {
  /**
   * Creates the error.
   *
   * @param message What happened and what to do.
   * @param options The Deno error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StreamConnectError";
  }
}

/**
 * A server or datagram channel could not listen: the address is in use, not
 * available, or not permitted by `--allow-net`. The Deno error is the `cause`.
 *
 * @example Reporting a refused listen
 * ```ts
 * import { ListenError, Server, Stream } from "@pants/pants";
 *
 * class Quiet extends Server {
 *   override onListenError(err: ListenError): void {
 *     console.error(err.message);
 *   }
 * }
 * new Quiet(Stream);
 * ```
 */
export class ListenError extends Error {
  /**
   * Creates the error.
   *
   * @param message What happened and what to do.
   * @param options The Deno error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ListenError";
  }
}

/**
 * A write, flush or other operation was attempted on a channel that is
 * closed, closing, or not connected yet.
 *
 * @example Writing only while connected
 * ```ts
 * import { ChannelClosedError, Stream } from "@pants/pants";
 *
 * function send(stream: Stream, line: string): boolean {
 *   try {
 *     stream.write(line + "\n");
 *     return true;
 *   } catch (err) {
 *     if (err instanceof ChannelClosedError) return false;
 *     throw err;
 *   }
 * }
 * ```
 */
export class ChannelClosedError extends Error {
  /**
   * Creates the error.
   *
   * @param message What happened and what to do.
   */
  constructor(message: string) {
    super(message);
    this.name = "ChannelClosedError";
  }
}
