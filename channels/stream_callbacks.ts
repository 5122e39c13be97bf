/**
 * `StreamCallbacks`: the callbacks of a `Stream` and what they do by
 * default.
 *
 * @module
 */

import { unhandledError } from "../engine/engine.ts";
import type { StreamConnectError, TlsHandshakeError } from "../transport/errors.ts";
import { BufferedChannel } from "./buffered_channel.ts";
import { notify } from "./channel.ts";
import type { StreamBufferOverflow } from "./errors.ts";
import { announce, dropConnection, phase } from "./_symbols.ts";

/**
 * The callbacks of a {@linkcode Stream}, with their defaults: override them
 * in a subclass of `Stream`. Each runs from the engine, never inside a call
 * the user made; an exception thrown by one goes to `onError`.
 *
 * @example A client that logs its life
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Logged extends Stream {
 *   override onConnect(): void {
 *     console.log("connected to", this.remoteAddress);
 *   }
 *   override onEnd(): void {
 *     console.log("the peer is done sending");
 *     this.close();
 *   }
 *   override onClose(): void {
 *     console.log("closed");
 *   }
 * }
 * ```
 */
export abstract class StreamCallbacks extends BufferedChannel {
  /** Called when the connection is established (client) or accepted (server). */
  onConnect(): void {}

  /**
   * Called when `connect()` fails: refused, not permitted, name not
   * resolved, `connectTimeout` (a `ConnectTimeoutError`) or an aborted
   * `signal` (`cause`: its reason). The default treats the error as
   * unhandled: the engine stops and `engine.start()` rejects with it (see
   * {@linkcode Engine.start}); override it to handle the failure and keep the
   * engine running. Either way the stream closes, writes queued before the
   * connect are dropped, and `onClose()` follows once, in a later iteration.
   * With `reconnect`, only the last attempt the policy allows fails here
   * (the others reach `onReconnecting()`).
   *
   * @param error Why; `cause` is the Deno error.
   */
  onConnectError(error: StreamConnectError): void {
    this.close({ flush: false });
    if (!this.engine[unhandledError](error)) {
      console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
    }
  }

  /**
   * Called with each frame (see {@linkcode Stream.readDelimiter}). A
   * `Uint8Array` frame is only valid during the call: Pants reuses its
   * bytes, and for short frames the object itself, for later frames.
   *
   * @param _data The frame; `Struct` and `NetStruct` delimiters pass one argument per field.
   */
  // deno-lint-ignore no-explicit-any
  onRead(..._data: any[]): void {}

  /**
   * Called after the peer half-closed its side and the last complete frames
   * were delivered. The default closes the stream (flushing queued writes;
   * one connected with `reconnect` connects again); override it to write a
   * reply first, then call `close()`.
   */
  onEnd(): void {
    this[dropConnection](true);
  }

  /**
   * Called before each wait of a stream connected with `reconnect` (see
   * {@linkcode ReconnectOptions}): after a failed attempt, or after the
   * connection was lost (anything queued for it and not yet sent is
   * dropped, and so is unframed input). Writes made while waiting are
   * queued for the next connection. `close()` stops reconnecting; the
   * default does nothing.
   *
   * @param _attempt The attempt that follows the wait: 1 for the first in a row.
   * @param _delay Milliseconds until then.
   * @param _error Why the last attempt failed, or `null` when a connection was lost.
   */
  onReconnecting(_attempt: number, _delay: number, _error: Error | null): void {}

  /**
   * Called when buffered input exceeds `bufferSize` without completing a frame,
   * or a length prefix declares a record beyond it. The buffered input is
   * discarded first. The default closes the stream without flushing (one
   * connected with `reconnect` connects again).
   *
   * @param error How much was buffered or declared, and the limit.
   */
  onOverflowError(error: StreamBufferOverflow): void {
    console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
    this[dropConnection](false);
  }

  /** Called when a TLS handshake completed: before `onConnect()` for TLS from the start, or after `startSSL()` on a connected stream. */
  onSSLHandshake(): void {}

  /**
   * Called when a TLS handshake fails (unknown issuer, name mismatch, a
   * plaintext peer). The default closes without flushing and logs the error;
   * during a client's `connect()` it is a failed connect, unhandled as in
   * `onConnectError` (a server's peers never stop the engine).
   *
   * @param error Why; `cause` is the underlying error.
   */
  onSSLHandshakeError(error: TlsHandshakeError): void {
    const connecting = this[phase] === "connecting";
    if (connecting) this.close({ flush: false });
    else this[dropConnection](false);
    if (!connecting || !this.engine[unhandledError](error)) {
      console.error(`${this.constructor.name} #${this.id}: ${error.message}`);
    }
  }

  /**
   * Runs `onConnect` or `onClose` (a WebSocket channel holds them until its upgrade).
   *
   * @ignore
   */
  [announce](callback: () => void): void {
    notify(this, callback);
  }
}
