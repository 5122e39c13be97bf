/**
 * Errors of WebSocket channels.
 *
 * @module
 */

import { StreamConnectError } from "../transport/errors.ts";

/**
 * A client's WebSocket upgrade failed: the server answered with another
 * status than 101, a wrong `Sec-WebSocket-Accept`, a subprotocol that was
 * not offered, or did not answer within `handshakeTimeout`. It reaches
 * `onConnectError()` like any failed connect.
 *
 * @example Reporting a refused upgrade
 * ```ts
 * import { type StreamConnectError, WebSocketChannel, WebSocketHandshakeError } from "@pants/pants";
 *
 * class Client extends WebSocketChannel {
 *   override onConnectError(error: StreamConnectError): void {
 *     if (error instanceof WebSocketHandshakeError) console.error(error.status, error.message);
 *   }
 * }
 * ```
 */
export class WebSocketHandshakeError extends StreamConnectError {
  /** The HTTP status the server answered with, or `null` (no answer, or a malformed one). */
  readonly status: number | null;

  /**
   * Creates the error.
   *
   * @param message What happened.
   * @param status The server's HTTP status, if it answered.
   */
  constructor(message: string, status: number | null = null) {
    super(message);
    this.name = "WebSocketHandshakeError";
    this.status = status;
  }
}
