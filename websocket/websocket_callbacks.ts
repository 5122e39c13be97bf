/**
 * `WebSocketCallbacks`: the callbacks a `WebSocketChannel` adds to or
 * changes from a `Stream`'s, and what they do by default.
 *
 * @module
 */

import { Stream } from "../channels/stream.ts";
import type { HandshakeDecision, WebSocketServerSettings } from "./websocket_options.ts";

/**
 * The callbacks of a {@linkcode WebSocketChannel} beyond a `Stream`'s, with
 * their defaults: override them in a subclass of `WebSocketChannel`. Each
 * runs from the engine; an exception thrown by one goes to `onError`.
 *
 * @example A server channel that serves a page and accepts "chat" only
 * ```ts
 * import { type HandshakeDecision, WebSocketChannel } from "@pants/pants";
 *
 * class Chat extends WebSocketChannel {
 *   override onRequest(_request: Request): Response {
 *     return new Response("<p>connect with a WebSocket</p>", {
 *       headers: { "content-type": "text/html" },
 *     });
 *   }
 *   override onHandshake(request: Request): HandshakeDecision {
 *     const offered = request.headers.get("sec-websocket-protocol") ?? "";
 *     return offered.includes("chat") ? "chat" : new Response(null, { status: 400 });
 *   }
 *   override onClose(code: number, reason: string): void {
 *     console.log("closed", code, reason);
 *   }
 * }
 * ```
 */
export abstract class WebSocketCallbacks extends Stream {
  /**
   * Called with a received message (`readDelimiter` `null`), or with each
   * frame the `readDelimiter` cuts from the messages' payloads.
   *
   * @param _message A `string` (text message), `Uint8Array` (binary message,
   * valid only during the call), or a frame as on a `Stream`.
   */
  // deno-lint-ignore no-explicit-any
  override onRead(..._message: any[]): void {}

  /**
   * Called when the connection is gone, once. `code` is the status of the
   * peer's close frame (1005 when it carried none), the one Pants sent when
   * it failed the connection (1002 protocol error, 1007 invalid UTF-8, 1009
   * message too big), or 1006 when the connection ended without a close
   * frame. Both arguments are always given. A client with `reconnect` gets
   * it once too: when it closes for good, not at each lost connection.
   *
   * @param _code The close status code.
   * @param _reason The close reason.
   */
  override onClose(_code?: number, _reason?: string): void {}

  /**
   * Called with the payload of a pong (the answer to `ping()`).
   *
   * @param _payload The payload, valid only during the call.
   */
  onPong(_payload: Uint8Array): void {}

  /**
   * Server: decides an upgrade request before it is accepted. The default
   * picks the first of the server's `protocols` the client offered, or none.
   *
   * @param request The upgrade request (also `this.request`).
   * @returns A subprotocol the client offered, `null` for none, or a
   * `Response` refusing the upgrade.
   */
  onHandshake(request: Request): HandshakeDecision {
    const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",")
      .map((p) => p.trim());
    const settings = this.server as Partial<WebSocketServerSettings> | null;
    return settings?.protocols?.find((p) => offered.includes(p)) ?? null;
  }

  /**
   * Server: answers a plain HTTP request (no upgrade) on the same port. Pants
   * writes the response as HTTP/1.1 (status, headers, `Content-Length`, the
   * body) and closes the connection. This serves a page or a health check;
   * it is not a web server (no keep-alive, no request bodies: use
   * `Deno.serve` for that). The default answers `426 Upgrade Required`.
   *
   * @param _request The request.
   * @returns The response.
   */
  onRequest(_request: Request): Response | Promise<Response> {
    return new Response("This is a WebSocket endpoint.\n", {
      status: 426,
      headers: { upgrade: "websocket", "content-type": "text/plain; charset=utf-8" },
    });
  }
}
