/**
 * Options of `Stream.pipe()`, and the handle it returns.
 *
 * @module
 */

/**
 * Options for `source.pipe(target)`, which forwards the source's input to
 * the target:
 *
 * - Frames: each frame is written to the target (copied once, into its send
 *   queue) instead of reaching the source's `onRead()`. With the `null`
 *   delimiter that is each chunk as read; with a string or `Uint8Array`
 *   delimiter each frame is followed by the delimiter, so the target gets
 *   the same bytes, whole frames at a time; a block size forwards blocks;
 *   `utf-8` text is written as UTF-8. A RegExp in search mode forwards the
 *   bytes between matches (the matches are dropped, as for `onRead`); its
 *   match-mode results and `Struct` / `NetStruct` records still reach
 *   `onRead()`. Input that forms no complete frame at the end is not sent.
 * - Back-pressure: see `highWaterMark`. The target's `onWrite()` still fires.
 * - Half-close: see `end`.
 * - Close: when either stream closes (the peer reset, a timeout, `close()`),
 *   the other closes once its queued writes were sent. Input that arrives
 *   while the target is closing is dropped.
 * - Errors: a write the target refuses (it was `end()`ed by hand) reaches the
 *   source's `onError()`; nothing is thrown to the caller.
 *
 * @example A pipe that pauses the source early and leaves the end of input to onEnd
 * ```ts
 * import type { PipeOptions } from "@pants/pants";
 *
 * const options: PipeOptions = { highWaterMark: 16 * 1024, end: false };
 * ```
 */
export interface PipeOptions {
  /**
   * The source is paused (`pauseReading()`) when more than this many bytes
   * wait in the target's send queue, and resumed once the target's queue
   * fell to its `writeLowWaterMark` (or emptied, with a low-water mark of
   * `0`) and is not above this mark. Without it, the target's
   * `writeBufferSize` at the time of each write. The pipe owns the source's
   * `pauseReading()` / `resumeReading()` while it is active: calling them
   * yourself meanwhile may be undone.
   *
   * @default {target.writeBufferSize}
   */
  highWaterMark?: number;
  /**
   * Half-close propagation. `true`: the source's end of input (the peer's
   * FIN) ends the target (`target.end()`: a FIN after everything forwarded)
   * instead of reaching the source's `onEnd()`. The source then closes
   * (flushing) unless a pipe still writes into it, as in a proxy: it closes
   * once that pipe ended it too. Likewise a target that already read its
   * own EOF through its pipe out closes once ended. `false`: the source's
   * `onEnd()` runs as without a pipe (its default closes the source, which
   * closes the target after its queued writes).
   *
   * @default {true}
   */
  end?: boolean;
}

/**
 * A pipe between two streams, as returned by `source.pipe(target)`.
 *
 * @example Forward for a minute, then handle the input here
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Tap extends Stream {
 *   override onConnect(): void {
 *     const upstream = new Stream().connect(["127.0.0.1", 4040]);
 *     const pipe = this.pipe(upstream);
 *     this.engine.defer(60_000, () => pipe.unpipe());
 *   }
 *   override onRead(data: Uint8Array): void {
 *     console.log(`${data.length} bytes, no longer forwarded`);
 *   }
 * }
 * ```
 */
export interface Pipe {
  /** Whether frames are still forwarded: `false` after `unpipe()` or once either stream closed. */
  readonly active: boolean;
  /**
   * Stops forwarding: frames reach the source's `onRead()` again, and a
   * source the pipe paused reads again. Neither stream is ended or closed.
   * Calling it again does nothing.
   */
  unpipe(): void;
}
