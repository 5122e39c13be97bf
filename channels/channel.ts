/**
 * The base of every channel: identity, the engine it belongs to, and the
 * error and close callbacks every channel shares.
 *
 * @module
 */

import { Engine, type EngineChannel } from "../engine/engine.ts";
import { dropConnection } from "./_symbols.ts";

/**
 * Options every channel accepts.
 *
 * @example Usage
 * ```ts
 * import { Engine, Stream } from "@pants/pants";
 *
 * const stream = new Stream({ engine: new Engine() });
 * ```
 */
export interface ChannelOptions {
  /**
   * The engine the channel joins.
   *
   * @default {Engine.instance()}
   */
  engine?: Engine;
}

/**
 * Options for `close()`.
 *
 * @example Usage
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Quit extends Stream {
 *   override onRead(): void {
 *     this.close({ flush: false }); // drop what is queued, close now
 *   }
 * }
 * ```
 */
export interface CloseOptions {
  /**
   * Send everything queued by `write()` before closing.
   *
   * @default {true}
   */
  flush?: boolean;
}

let nextId = 1;

/**
 * What streams, servers and datagram channels have in common.
 *
 * Callbacks (`onClose`, `onError`, and the subclasses' `on…` methods) are
 * only ever called by the engine, never from inside a call the user made.
 * An exception thrown by any callback goes to `onError`.
 *
 * @example Counting channels that closed
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * let closed = 0;
 * class Counted extends Stream {
 *   override onClose(): void {
 *     closed++;
 *   }
 * }
 * ```
 */
export abstract class Channel implements EngineChannel {
  /** What kind of channel this is. */
  abstract readonly kind: "stream" | "server" | "datagram";
  /** A number unique in this process; the key of `Server.channels`. */
  readonly id: number;
  /** The engine this channel belongs to. */
  readonly engine: Engine;

  /**
   * Creates a channel on the given engine or the default one.
   *
   * @param options The engine to join.
   */
  constructor(options: ChannelOptions = {}) {
    this.id = nextId++;
    this.engine = options.engine ?? Engine.instance();
  }

  /** Whether the channel is closed (or closing). */
  abstract get closed(): boolean;

  /**
   * Closes the channel. `onClose()` follows once, in a later engine iteration.
   *
   * @param options Whether to flush queued writes first.
   */
  abstract close(options?: CloseOptions): void;

  /** Called once after the channel closed. Addresses are still readable here. */
  onClose(): void {}

  /** @ignore */
  [dropConnection](flush: boolean): void {
    this.close({ flush });
  }

  /**
   * Called with an exception thrown by one of this channel's callbacks, or an
   * unexpected socket error. The default logs it and closes this channel
   * without flushing (a stream connected with `reconnect` connects again);
   * other channels are not affected.
   *
   * @param error What was thrown.
   */
  onError(error: unknown): void {
    console.error(`${this.constructor.name} #${this.id}: closing after an error:`, error);
    this[dropConnection](false);
  }
}

/**
 * Runs `onError` for a channel, containing an exception it throws in turn.
 *
 * @param channel The channel whose callback failed.
 * @param error What the callback threw.
 */
export function reportError(channel: Channel, error: unknown): void {
  try {
    channel.onError(error);
  } catch (second) {
    console.error(
      `${channel.constructor.name} #${channel.id}: onError threw; closing:`,
      second,
      "while handling:",
      error,
    );
    channel[dropConnection](false);
  }
}

/**
 * Calls one of a channel's callbacks, routing an exception it throws to
 * `onError` (not for `onRead` on the hot path, which inlines the same).
 *
 * @param channel The channel the callback belongs to.
 * @param callback The callback, e.g. `stream.onEnd`.
 * @param args Its arguments.
 */
export function notify<A extends unknown[]>(
  channel: Channel,
  callback: (...args: A) => void,
  ...args: A
): void {
  try {
    callback.apply(channel, args);
  } catch (error) {
    reportError(channel, error);
  }
}
