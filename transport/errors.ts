/**
 * The errors the transport reports: a listen or connect that failed, and a
 * TLS handshake that failed. Each is an `Error` subclass with `name` set, a
 * message that says what to do, and the underlying Deno or Node error as
 * `cause`.
 *
 * @module
 */

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
 * A TLS handshake failed: unknown issuer, name mismatch, a plaintext peer on
 * a TLS port or a TLS peer on a plain one. The Deno (or Node) error is the
 * `cause`. Delivered to `Stream.onSSLHandshakeError`.
 *
 * @example Logging failed handshakes
 * ```ts
 * import { Stream, TlsHandshakeError } from "@pants/pants";
 *
 * class Secure extends Stream {
 *   override onSSLHandshakeError(err: TlsHandshakeError): void {
 *     console.warn("handshake failed:", err.cause);
 *     this.close({ flush: false });
 *   }
 * }
 * ```
 */
export class TlsHandshakeError extends Error {
  /**
   * Creates the error.
   *
   * @param message What happened and what to do.
   * @param options The underlying error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsHandshakeError";
  }
}
