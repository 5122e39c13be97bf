/**
 * `WebSocketServer`: a `Server` whose connections are WebSocket channels.
 *
 * @module
 */

import { reportError } from "../channels/channel.ts";
import { Server, type ServerOptions, type StreamClass } from "../channels/server.ts";
import { WebSocketChannel } from "./websocket_channel.ts";
import type { WebSocketServerSettings } from "./websocket_options.ts";

/**
 * Options for `new WebSocketServer({ ... })`.
 *
 * @example Usage
 * ```ts
 * import { WebSocketChannel, WebSocketServer } from "@pants/pants";
 *
 * const server = new WebSocketServer({
 *   ConnectionClass: WebSocketChannel,
 *   protocols: ["chat.v1"],
 *   allowedOrigins: ["https://example.com"],
 * });
 * ```
 */
export interface WebSocketServerOptions<S extends WebSocketChannel = WebSocketChannel>
  extends ServerOptions<S> {
  /**
   * Subprotocols the server speaks, preferred first (see `protocols`).
   *
   * @default {[]}
   */
  protocols?: string[];
  /**
   * Origins allowed to upgrade (see `allowedOrigins`).
   *
   * @default {null}
   */
  allowedOrigins?: string[] | null;
}

/**
 * A server that performs the HTTP/1.1 upgrade on each connection it
 * accepts (on Pants' own streams, not `Deno.serve`) and hands it to a
 * `WebSocketChannel` subclass. Everything a `Server` does applies:
 * `maxConnections`, `maxConnectionsPerAddress`, `timeout`, `startSSL()` for
 * `wss://`, `close({ drain })`. The upgrade request head may take at most 8
 * KiB and must arrive within `handshakeTimeout` (after TLS, if any); a bad
 * request gets an HTTP error status and the connection closes. Plain HTTP
 * requests on the same port go to the channel's `onRequest()`.
 *
 * @example A broadcast room
 * ```ts
 * import { engine, WebSocketChannel, WebSocketServer } from "@pants/pants";
 *
 * class Member extends WebSocketChannel {
 *   override onRead(message: string | Uint8Array): void {
 *     (this.server as WebSocketServer).broadcast(message);
 *   }
 * }
 * const room = new WebSocketServer(Member);
 * room.allowedOrigins = ["http://localhost:8080"];
 * room.listen(8080);
 * engine.start();
 * ```
 */
export class WebSocketServer<S extends WebSocketChannel = WebSocketChannel> extends Server<S>
  implements WebSocketServerSettings {
  /**
   * Subprotocols the server speaks, preferred first: the default
   * `onHandshake()` picks the first one the client offered.
   *
   * @default {[]}
   */
  protocols: string[] = [];
  /**
   * Origins (`"https://example.com"`) allowed to upgrade, or `null` for any.
   * Browsers always send `Origin`: set this on a server browsers reach, so
   * that no other site's page can open a WebSocket with its visitors'
   * cookies (cross-site WebSocket hijacking). A refused origin gets `403`.
   * Requests without `Origin` (non-browser clients) are not affected.
   *
   * @default {null}
   */
  allowedOrigins: string[] | null = null;

  /**
   * Creates a WebSocket server.
   *
   * @param options The channel class, or `{ ConnectionClass, engine, protocols, allowedOrigins }`.
   */
  constructor(options?: StreamClass<S> | WebSocketServerOptions<S>) {
    super(options ?? (WebSocketChannel as unknown as StreamClass<S>));
    if (typeof options === "object") {
      if (options.protocols !== undefined) this.protocols = options.protocols;
      if (options.allowedOrigins !== undefined) this.allowedOrigins = options.allowedOrigins;
    }
  }

  /**
   * Sends a message to every open WebSocket of this server (those past the
   * upgrade and not closing), but `except`. A member whose send queue
   * refuses it (`maxWriteBuffer`) gets the error in its own `onError()`
   * (or is closed, with `writeOverflow: "close"`); the others still get it.
   *
   * @example A room
   * ```ts
   * import { WebSocketChannel, WebSocketServer } from "@pants/pants";
   *
   * class Member extends WebSocketChannel {
   *   override onRead(message: string | Uint8Array): void {
   *     (this.server as WebSocketServer).broadcast(message, this);
   *   }
   * }
   * new WebSocketServer(Member).listen(8080);
   * ```
   *
   * @param message Text (a string) or binary.
   * @param except A channel to leave out (typically the sender).
   * @returns How many channels it was queued for.
   */
  broadcast(message: string | Uint8Array, except: WebSocketChannel | null = null): number {
    let count = 0;
    for (const channel of this.channels.values()) {
      if (channel === except || !channel.open) continue;
      try {
        channel.write(message);
        count++;
      } catch (error) {
        reportError(channel, error);
      }
    }
    return count;
  }
}
