/**
 * What the {@linkcode Engine} needs from a channel: the contract between the
 * engine and `Stream`, `Server` and `Datagram`.
 *
 * @module
 */

/**
 * What the engine needs from a channel (a `Stream`, `Server` or `Datagram`).
 *
 * @example A do-nothing channel
 * ```ts
 * import { Engine, type EngineChannel } from "@pants/pants";
 *
 * const engine = new Engine();
 * const channel: EngineChannel = {
 *   kind: "stream",
 *   close() {
 *     engine.detach(channel);
 *   },
 * };
 * engine.attach(channel);
 * await engine.stop(); // closes it
 * ```
 */
export interface EngineChannel {
  /** `"stream" | "server" | "datagram"`: used for stats and shutdown order. */
  readonly kind: "stream" | "server" | "datagram";
  /**
   * Closes the channel. Servers stop listening. Streams: `flush: true`
   * sends queued writes first. The channel calls
   * {@linkcode Engine.detach} once it is closed.
   *
   * @param options `flush` (default per channel).
   */
  close(options?: { flush?: boolean }): void;
}
