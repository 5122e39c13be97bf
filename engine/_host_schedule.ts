/**
 * How an engine gets the host to run its next turn: at once, as an
 * immediate task, or later, through the single host timer armed for the
 * next due timer slot. An engine holds at most one of each.
 *
 * @module
 */

import type { Clock } from "./clock.ts";

/**
 * The task queue for immediate turns. Deno's global `setImmediate` (Node's
 * check phase) lets pending I/O through between tasks: measured here, ~3.6 µs
 * per turn with a TCP echo round trip still ~0.2 ms, whereas a
 * `MessageChannel` starved that echo (~24 ms) and a chained `setTimeout(0)`
 * costs ~2 ms per turn. Typed by hand: importing `node:timers` would need
 * `@types/node` for `deno check`.
 */
const host = globalThis as unknown as {
  setImmediate?: (fn: () => void) => unknown;
  clearImmediate?: (handle: unknown) => void;
};
const setImmediate: (fn: () => void) => unknown = host.setImmediate ?? ((fn) => setTimeout(fn, 0));
const clearImmediate: (handle: unknown) => void = host.clearImmediate ??
  ((handle) => clearTimeout(handle as number));

/** The engine's pending immediate task and host timer. */
export class HostSchedule {
  readonly #clock: Clock;
  readonly #onImmediate: () => void;
  readonly #onTimer: (lateMs: number) => void;
  #immediate: unknown = null;
  #timer: unknown = null;
  #at = Infinity;

  /**
   * Makes a schedule with nothing pending.
   *
   * @param clock Arms and clears the host timer.
   * @param onImmediate Called when an immediate task runs.
   * @param onTimer Called when the host timer fires, with how late it fired (ms).
   */
  constructor(clock: Clock, onImmediate: () => void, onTimer: (lateMs: number) => void) {
    this.#clock = clock;
    this.#onImmediate = onImmediate;
    this.#onTimer = onTimer;
  }

  /**
   * When the host timer is armed for (ms on the clock).
   *
   * @returns The time, or `Infinity` if it is not armed.
   */
  get timerAt(): number {
    return this.#at;
  }

  /**
   * Whether an immediate task is pending.
   *
   * @returns `true` until it ran or was cancelled.
   */
  get immediatePending(): boolean {
    return this.#immediate !== null;
  }

  /** Queues an immediate task, unless one is pending. */
  scheduleImmediate(): void {
    if (this.#immediate === null) this.#immediate = setImmediate(this.#runImmediate);
  }

  /** Drops the pending immediate task, if any. */
  cancelImmediate(): void {
    if (this.#immediate !== null) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
  }

  /**
   * Arms the host timer for time `at`, re-arming it if it was armed for
   * another time.
   *
   * @param at The time in milliseconds on the clock.
   */
  armAt(at: number): void {
    if (this.#timer !== null) {
      if (this.#at === at) return;
      this.#clock.clearTimer(this.#timer);
    }
    this.#at = at;
    this.#timer = this.#clock.setTimer(this.#fire, Math.max(0, at - this.#clock.now()));
  }

  /** Disarms the host timer, if armed. */
  disarm(): void {
    if (this.#timer !== null) {
      this.#clock.clearTimer(this.#timer);
      this.#timer = null;
    }
    this.#at = Infinity;
  }

  readonly #runImmediate = (): void => {
    this.#immediate = null;
    this.#onImmediate();
  };

  readonly #fire = (): void => {
    const lateMs = Math.max(0, this.#clock.now() - this.#at);
    this.#timer = null;
    this.#at = Infinity;
    this.#onTimer(lateMs);
  };
}
