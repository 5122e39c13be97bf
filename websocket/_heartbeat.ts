/**
 * A WebSocket channel's heartbeat: the interval (checked at assignment) and
 * the timer of an open session's pings, on the engine's timing ring.
 *
 * @module
 */

import type { Engine } from "../engine/engine.ts";
import type { Timer } from "../engine/timer.ts";

/** The `heartbeat` setting of one channel and its running timer. */
export class Heartbeat {
  #interval = 0;
  #timer: Timer | null = null;

  /** Milliseconds between pings, 0 for none. */
  get interval(): number {
    return this.#interval;
  }

  /**
   * Sets the interval; the running timer stops (`start` it again).
   *
   * @throws {RangeError} For a negative or non-finite value.
   */
  set interval(ms: number) {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`heartbeat must be a finite number of ms >= 0, not ${ms}`);
    }
    this.#interval = ms;
    this.stop();
  }

  /**
   * Runs `beat` every interval, unless the interval is 0 or it runs already.
   *
   * @param engine The channel's engine.
   * @param beat One heartbeat.
   */
  start(engine: Engine, beat: () => void): void {
    if (this.#interval === 0 || this.#timer !== null) return;
    this.#timer = engine.cycle(this.#interval, beat);
  }

  /** Stops the timer. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }
}
