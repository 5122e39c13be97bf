/**
 * `source.pipe(target)`: one stream's input written to another, with
 * back-pressure and half-close and close propagation.
 *
 * The pipe sits between the two streams' hooks rather than in their
 * callbacks, so a user's `onRead` / `onWrite` / `onEnd` overrides are never
 * needed and never bypassed by accident:
 *
 * - the source's `[frameReady]` offers each frame to `forward()`: a byte or
 *   text frame is written to the target (copied once, into the target's
 *   send queue, as every `write()` is) and does not reach `onRead`; a
 *   RegExp match-mode result goes to `onRead` as before (records of a
 *   `Struct` or `NetStruct` never reach the pipe);
 * - over the high-water mark the pipe pauses the source; the target's
 *   `[sendLow]` / `[sendDrained]` call `drained()`, which resumes it;
 * - the source's end of input calls `sourceEnded()`, which ends the target
 *   and closes each stream that has both read its EOF and been ended;
 * - either stream's close calls `closed()`: the pipe unlinks and closes the
 *   other stream, flushing its queued writes.
 *
 * A stream has at most one pipe out (`[pipeOut]`) and one pipe in
 * (`[pipeIn]`); `a.pipe(b); b.pipe(a)` is a proxy, `a.pipe(a)` an echo.
 *
 * @module
 */

import { describe } from "../framing/_describe.ts";
import { reportError } from "./channel.ts";
import type { Channel } from "./channel.ts";
import { ChannelClosedError } from "./errors.ts";
import type { Pipe, PipeOptions } from "./pipe_options.ts";
import { phase, writer } from "./_symbols.ts";

/** `stream[pipeOut]`: the pipe this stream's input goes to, or `null`. */
export const pipeOut: unique symbol = Symbol("pants.pipeOut");
/** `stream[pipeIn]`: the pipe that writes into this stream, or `null`. */
export const pipeIn: unique symbol = Symbol("pants.pipeIn");

/** What a pipe needs of each of its streams (a `Stream`). */
export interface PipeEnd extends Channel {
  readonly writeBufferSize: number;
  readonly writeQueueSize: number;
  readonly readDelimiter: unknown;
  write(data: Uint8Array | string): boolean;
  end(): void;
  pauseReading(): void;
  resumeReading(): void;
  readonly [phase]: string;
  readonly [writer]: { readonly ended: boolean };
  [pipeOut]: StreamPipe | null;
  [pipeIn]: StreamPipe | null;
}

function checkOptions(options: PipeOptions): number {
  const mark = options.highWaterMark;
  if (mark !== undefined && (typeof mark !== "number" || !(mark >= 0))) {
    throw new RangeError(
      `Invalid highWaterMark ${describe(mark)}: expected a number of bytes, 0 or more`,
    );
  }
  if (options.end !== undefined && typeof options.end !== "boolean") {
    throw new TypeError(`Invalid end ${describe(options.end)}: expected a boolean`);
  }
  return mark ?? -1;
}

/** Forwards one stream's input to another. */
export class StreamPipe implements Pipe {
  readonly #source: PipeEnd;
  readonly #target: PipeEnd;
  /** The high-water mark, or -1 for the target's `writeBufferSize`. */
  readonly #mark: number;
  readonly #end: boolean;
  #active = true;
  /** The pipe paused the source (and must resume it). */
  #paused = false;
  /** The source's end of input arrived (with `end: true`). */
  eof = false;

  /**
   * Links `source` to `target`.
   *
   * @throws {RangeError} For a bad `highWaterMark`.
   * @throws {TypeError} For an `end` that is not a boolean.
   * @throws {ChannelClosedError} If either stream is closed or closing, or the target idle.
   * @throws {Error} If the source is piped already, or something pipes into the target already.
   */
  constructor(source: PipeEnd, target: PipeEnd, options: PipeOptions) {
    this.#mark = checkOptions(options);
    this.#end = options.end ?? true;
    if (source.closed || target.closed) {
      throw new ChannelClosedError(
        `Cannot pipe: the ${source.closed ? "source" : "target"} stream is closed or closing`,
      );
    }
    if (target[phase] === "idle") {
      throw new ChannelClosedError(
        "Cannot pipe: the target is not connected; call connect() first",
      );
    }
    if (source[pipeOut] !== null) {
      throw new Error("Cannot pipe: the source is piped already; call unpipe() on its pipe first");
    }
    if (target[pipeIn] !== null) {
      throw new Error(
        "Cannot pipe: another stream pipes into the target already; call unpipe() on that pipe first",
      );
    }
    this.#source = source;
    this.#target = target;
    source[pipeOut] = this;
    target[pipeIn] = this;
  }

  /** Whether frames are still forwarded. */
  get active(): boolean {
    return this.#active;
  }

  /** Stops forwarding; resumes a source the pipe paused. */
  unpipe(): void {
    if (!this.#active) return;
    this.#unlink();
    if (this.#paused) {
      this.#paused = false;
      this.#source.resumeReading();
    }
  }

  /**
   * Writes a frame of the source to the target (followed by a string or
   * bytes delimiter, which framing removed), and pauses the source over the
   * high-water mark. An exception (the target was ended) reaches the
   * source's `onError` through the deframer.
   *
   * @returns `false` for a frame the pipe does not take (a RegExp match).
   */
  forward(frame: Uint8Array | string | RegExpExecArray): boolean {
    if (!(frame instanceof Uint8Array) && typeof frame !== "string") return false;
    const target = this.#target;
    if (target.closed) {
      // Closing after a flush: its close will close the source; drop this frame.
      if (!this.#paused) this.#pause();
      return true;
    }
    target.write(frame);
    const delimiter = this.#source.readDelimiter;
    if (typeof delimiter === "string" || delimiter instanceof Uint8Array) target.write(delimiter);
    if (!this.#paused && target.writeQueueSize > this.#limit()) this.#pause();
    return true;
  }

  #pause(): void {
    this.#paused = true;
    this.#source.pauseReading();
  }

  /** The target's queue fell to its low-water mark or emptied: resume the source. */
  drained(): void {
    if (!this.#paused || this.#target.writeQueueSize > this.#limit()) return;
    this.#paused = false;
    this.#source.resumeReading();
  }

  /**
   * The source read its EOF (all frames delivered).
   *
   * @returns `true` when the pipe handled it (`end: true`), so `onEnd()` does not run.
   */
  sourceEnded(): boolean {
    if (!this.#end) return false;
    this.eof = true;
    const source = this.#source;
    const target = this.#target;
    try {
      if (!target.closed) {
        target.end();
        if (target[pipeOut]?.eof) target.close();
      }
      if (!source.closed && (source[pipeIn] === null || source[writer].ended)) source.close();
    } catch (error) {
      reportError(source, error);
    }
    return true;
  }

  /** One of the streams closed: unlink, and close the other after its queued writes. */
  closed(): void {
    if (!this.#active) return;
    this.#unlink();
    if (!this.#target.closed) this.#target.close();
    if (!this.#source.closed) this.#source.close();
  }

  #limit(): number {
    return this.#mark < 0 ? this.#target.writeBufferSize : this.#mark;
  }

  #unlink(): void {
    this.#active = false;
    if (this.#source[pipeOut] === this) this.#source[pipeOut] = null;
    if (this.#target[pipeIn] === this) this.#target[pipeIn] = null;
  }
}

/** A stream closed: each of its pipes unlinks and closes the stream at its other end. */
export function closePipes(stream: PipeEnd): void {
  stream[pipeOut]?.closed();
  stream[pipeIn]?.closed();
}
