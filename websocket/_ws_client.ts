/**
 * The client side of a `WebSocketChannel`, across its connections: the URL
 * and options given to `connect()`, the upgrade request of each connection
 * (a fresh `Sec-WebSocket-Key` every time), the messages written while no
 * upgraded connection is up (held, bounded by `maxWriteBuffer`, framed only
 * once an upgrade succeeded), and whether a lost connection is followed by
 * another (`reconnect`, until the channel's own `close()`).
 *
 * The reconnecting itself is the `Stream`'s (`channels/_connector.ts`): the
 * channel hands it a lost connection, or a refused upgrade as a failed attempt.
 *
 * @module
 */

import { StreamBufferOverflow } from "../channels/errors.ts";
import { newKey } from "./_handshake.ts";
import type { Session } from "./_session.ts";
import { clientRequest, judgeResponse } from "./_upgrade.ts";
import { WebSocketHandshakeError } from "./errors.ts";
import type { WebSocketConnectOptions } from "./websocket_options.ts";

/** A client `WebSocketChannel`'s connect settings and held messages. */
export class WsClient {
  /** The `ws:` / `wss:` URL. */
  readonly url: URL;
  /** What `connect()` was given. */
  readonly options: WebSocketConnectOptions;
  /** Whether the channel's own `close()` was called: no more connections. */
  stopping = false;
  #key = "";
  #held: [number, Uint8Array][] = [];
  #heldBytes = 0;

  /**
   * @param url The URL to upgrade to.
   * @param options The connect options.
   */
  constructor(url: URL, options: WebSocketConnectOptions) {
    this.url = url;
    this.options = options;
  }

  /** Whether a lost connection or a refused upgrade leads to another attempt. */
  get reconnects(): boolean {
    const policy = this.options.reconnect;
    return policy !== undefined && policy !== false && !this.stopping;
  }

  /** The most milliseconds an upgrade may take, 0 for no limit. */
  get handshakeTimeout(): number {
    return this.options.handshakeTimeout ?? 10_000;
  }

  /**
   * The upgrade request for a new connection, with a fresh key.
   *
   * @returns The request, for `channel.request`, and its bytes.
   */
  request(): { request: Request; bytes: Uint8Array } {
    this.#key = newKey();
    return clientRequest(this.url, this.#key, this.options.protocols ?? [], this.options.headers);
  }

  /**
   * Judges the server's answer to the last `request()`.
   *
   * @param head The response head.
   * @returns The subprotocol agreed, or the error of a refused upgrade.
   */
  judge(head: Uint8Array): { protocol: string } | { error: WebSocketHandshakeError } {
    const verdict = judgeResponse(head, this.#key, this.options.protocols ?? []);
    if ("protocol" in verdict) return verdict;
    return { error: this.failure(verdict.error, verdict.status) };
  }

  /**
   * The error of a failed upgrade.
   *
   * @param reason What went wrong.
   * @param status The server's HTTP status, if it answered.
   * @returns The error.
   */
  failure(reason: string, status: number | null): WebSocketHandshakeError {
    return new WebSocketHandshakeError(
      `WebSocket upgrade to ${this.url.href} failed: ${reason}`,
      status,
    );
  }

  /**
   * Holds a message until an upgrade succeeds.
   *
   * @param opcode Text or binary.
   * @param payload The payload (kept: the caller passes a copy).
   * @param cap The channel's `maxWriteBuffer`.
   * @throws {StreamBufferOverflow} When the held messages would exceed `cap`.
   */
  hold(opcode: number, payload: Uint8Array, cap: number): void {
    const total = this.#heldBytes + payload.length;
    if (total > cap) {
      throw new StreamBufferOverflow(
        `Cannot hold ${payload.length} more bytes until the WebSocket is upgraded: ` +
          `${this.#heldBytes} are already waiting, and maxWriteBuffer is ${cap}`,
        cap,
        total,
      );
    }
    this.#held.push([opcode, payload]);
    this.#heldBytes = total;
  }

  /**
   * The held messages as frames of the session just opened, in order.
   *
   * @param session The new session (masks them with fresh keys).
   * @returns The frames; nothing is held any more.
   */
  release(session: Session): Uint8Array[] {
    const frames = this.#held.map(([opcode, payload]) => session.frame(opcode, payload));
    this.#held = [];
    this.#heldBytes = 0;
    return frames;
  }
}
