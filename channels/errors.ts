/**
 * The errors Pants channels report. Each is an `Error` subclass with `name`
 * set, a message that says what to do, and the underlying error as `cause`.
 *
 * @module
 */

import { StreamConnectError } from "../transport/errors.ts";

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
 * The overflow a stream's input reports: `bytes` buffered or declared
 * without a complete frame, over `limit`.
 */
export function inputOverflowError(bytes: number, limit: number): StreamBufferOverflow {
  return new StreamBufferOverflow(
    `Stream input overflow: ${bytes} bytes buffered or declared without a complete frame, ` +
      `over the limit of ${limit}; raise bufferSize if the protocol needs larger frames`,
    limit,
    bytes,
  );
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

/**
 * `startSSL()` was refused on a connected stream: unread plaintext is
 * buffered (it must never pass for TLS-protected data), a read is pending,
 * or the stream is already secure or not connected.
 *
 * @example Upgrading only at a frame boundary
 * ```ts
 * import { StartTlsError, Stream } from "@pants/pants";
 *
 * class Server extends Stream {
 *   override onRead(line: Uint8Array): void {
 *     try {
 *       this.startSSL({ cert: "…", key: "…" });
 *     } catch (err) {
 *       if (err instanceof StartTlsError) this.close({ flush: false });
 *     }
 *   }
 * }
 * ```
 */
export class StartTlsError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was refused and why.
   */
  constructor(message: string) {
    super(message);
    this.name = "StartTlsError";
  }
}

/**
 * `Stream.writeFile()` could not read the file (missing, not permitted,
 * shorter than the range). The stream stays usable; the error goes to
 * `onError` with the path, and the Deno error as `cause`.
 *
 * @example Keeping the stream open when a file is missing
 * ```ts
 * import { Stream, WriteFileError } from "@pants/pants";
 *
 * class Files extends Stream {
 *   override onError(err: unknown): void {
 *     if (err instanceof WriteFileError) this.write(`ERR ${err.path}\n`);
 *     else super.onError(err);
 *   }
 * }
 * ```
 */
export class WriteFileError extends Error {
  /** The path (or `"<file>"` for an open `Deno.FsFile`). */
  readonly path: string;

  /**
   * Creates the error.
   *
   * @param message What happened.
   * @param path The file's path.
   * @param options The Deno error as `cause`.
   */
  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WriteFileError";
    this.path = path;
  }
}

/**
 * A connect did not complete within `connectTimeout` milliseconds (name
 * resolution, the TCP connect and, for TLS from the start, the handshake).
 * The connection being opened was abandoned. A subclass of
 * {@linkcode StreamConnectError}, delivered to `Stream.onConnectError`.
 *
 * @example Retrying later after a timeout
 * ```ts
 * import { ConnectTimeoutError, Stream, StreamConnectError } from "@pants/pants";
 *
 * class Client extends Stream {
 *   override onConnectError(err: StreamConnectError): void {
 *     if (err instanceof ConnectTimeoutError) console.warn(`no answer in ${err.timeout} ms`);
 *     else console.error(err.message);
 *   }
 * }
 * ```
 */
export class ConnectTimeoutError extends StreamConnectError {
  /** The `connectTimeout` that passed, in milliseconds. */
  readonly timeout: number;

  /**
   * Creates the error.
   *
   * @param message What happened and what to do.
   * @param timeout The `connectTimeout` in milliseconds.
   */
  constructor(message: string, timeout: number) {
    super(message);
    this.name = "ConnectTimeoutError";
    this.timeout = timeout;
  }
}
