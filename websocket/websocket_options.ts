/**
 * Options and small types of WebSocket channels and servers.
 *
 * @module
 */

import type { ConnectOptions } from "../channels/connect_options.ts";

/**
 * Options for `WebSocketChannel.connect("ws://…" | "wss://…")`.
 *
 * @example A client offering two subprotocols, with a bounded connect
 * ```ts
 * import type { WebSocketConnectOptions } from "@pants/pants";
 *
 * const options: WebSocketConnectOptions = {
 *   protocols: ["chat.v2", "chat.v1"],
 *   headers: { authorization: "Bearer 42" },
 *   connectTimeout: 5000,
 *   reconnect: { initialDelay: 500, maxDelay: 30_000 }, // upgrade again after a loss
 * };
 * ```
 */
export interface WebSocketConnectOptions extends ConnectOptions {
  /**
   * Subprotocols offered (`Sec-WebSocket-Protocol`), preferred first; the
   * server's choice is `channel.protocol` in `onConnect()`.
   *
   * @default {[]}
   */
  protocols?: string[];
  /**
   * More request header fields (e.g. `Authorization`, `Origin`, cookies).
   *
   * @default {undefined}
   */
  headers?: HeadersInit;
  /**
   * `wss://` only: certificates (PEM) trusted besides the system's.
   *
   * @default {undefined}
   */
  caCerts?: string[];
  /**
   * The most milliseconds the HTTP upgrade may take once connected (and,
   * for `wss://`, secured); 0 for no limit.
   *
   * @default {10000}
   */
  handshakeTimeout?: number;
}

/**
 * What `WebSocketChannel.onHandshake(request)` decides: a subprotocol to
 * accept with (one the client offered), `null` to accept without one, or a
 * `Response` to refuse the upgrade with (sent as HTTP/1.1, then the
 * connection closes).
 *
 * @example Accept only clients that speak "chat.v2"
 * ```ts
 * import { type HandshakeDecision, WebSocketChannel } from "@pants/pants";
 *
 * class Chat extends WebSocketChannel {
 *   override onHandshake(request: Request): HandshakeDecision {
 *     const offered = request.headers.get("sec-websocket-protocol") ?? "";
 *     if (offered.split(",").some((p) => p.trim() === "chat.v2")) return "chat.v2";
 *     return new Response("chat.v2 only\n", { status: 400 });
 *   }
 * }
 * ```
 */
export type HandshakeDecision = string | null | Response;

/**
 * The settings a `WebSocketServer` gives the channels it accepts (read by
 * the channel through `this.server`).
 *
 * @example Usage
 * ```ts
 * import { WebSocketChannel, WebSocketServer, type WebSocketServerSettings } from "@pants/pants";
 *
 * const settings: WebSocketServerSettings = new WebSocketServer(WebSocketChannel);
 * console.log(settings.protocols.length); // 0
 * ```
 */
export interface WebSocketServerSettings {
  /** Subprotocols the server speaks, preferred first. */
  readonly protocols: readonly string[];
  /** Origins allowed to upgrade (`Origin` header), or `null` for any. */
  readonly allowedOrigins: readonly string[] | null;
}
