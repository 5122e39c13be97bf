/**
 * Clocks for the {@linkcode Engine}: the real one, and a manual one for tests.
 *
 * An engine reads the time and arms its single host timer through a
 * {@linkcode Clock}, so a test can give it a {@linkcode ManualClock} and move
 * time forward by hand instead of sleeping.
 *
 * @module
 */

/**
 * The time source and host timer an {@linkcode Engine} uses.
 *
 * `now()` is a monotonic time in milliseconds. `setTimer()` arms a one-shot
 * host timer; the engine keeps at most one armed at a time.
 *
 * @example Usage
 * ```ts
 * import { Engine, realClock } from "@pants/pants";
 *
 * const engine = new Engine({ clock: realClock });
 * console.log(engine.now() >= 0); // true
 * ```
 */
export interface Clock {
  /**
   * The current time in milliseconds; never goes backwards.
   *
   * @returns The time in milliseconds.
   */
  now(): number;
  /**
   * Arms a one-shot timer.
   *
   * @param callback Called once, when the delay has elapsed.
   * @param delayMs The delay in milliseconds (`>= 0`).
   * @returns A handle for {@linkcode Clock.clearTimer}.
   */
  setTimer(callback: () => void, delayMs: number): unknown;
  /**
   * Disarms a timer armed by {@linkcode Clock.setTimer}; a handle that already
   * fired or was cleared is ignored.
   *
   * @param handle The handle `setTimer()` returned.
   */
  clearTimer(handle: unknown): void;
}

/** Largest delay `setTimeout` takes without firing at once (about 24.8 days). */
const MAX_HOST_DELAY = 2 ** 31 - 1;

/**
 * The real clock: `performance.now()` and `setTimeout`. A pending timer keeps
 * the process alive, like any `setTimeout`. Delays longer than about 24.8 days
 * are capped (the engine re-arms when the timer fires early).
 *
 * @example Usage
 * ```ts
 * import { realClock } from "@pants/pants";
 *
 * const handle = realClock.setTimer(() => console.log("tick"), 10);
 * realClock.clearTimer(handle);
 * ```
 */
export const realClock: Clock = {
  now(): number {
    return performance.now();
  },
  setTimer(callback: () => void, delayMs: number): unknown {
    return setTimeout(callback, delayMs > MAX_HOST_DELAY ? MAX_HOST_DELAY : delayMs);
  },
  clearTimer(handle: unknown): void {
    clearTimeout(handle as number);
  },
};

/** One armed timer of a {@linkcode ManualClock}. */
interface ManualTimer {
  id: number;
  at: number;
  callback: () => void;
}

/** Bound on timers fired by one `advance()`, so a timer that re-arms itself at delay 0 cannot hang a test. */
const MAX_FIRES_PER_ADVANCE = 1_000_000;

/**
 * A virtual clock for tests: time only moves when {@linkcode ManualClock.advance}
 * is called, and timers armed on it fire inside that call, in due order (ties
 * in arming order), with `now()` set to each timer's due time as it fires.
 * Nothing real is scheduled, so tests need no sleeps and leak no timers.
 *
 * @example Drive an engine's timers by hand
 * ```ts
 * import { Engine, ManualClock } from "@pants/pants";
 * import assert from "node:assert/strict";
 *
 * const clock = new ManualClock();
 * const engine = new Engine({ clock });
 * let fired = false;
 * engine.defer(100, () => fired = true);
 * clock.advance(100);
 * await engine.poll();
 * assert.equal(fired, true);
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: ManualTimer[] = [];
  #nextId = 1;

  /**
   * Makes a clock that reads `start` until advanced.
   *
   * @param start The initial time in milliseconds.
   * @default {0}
   */
  constructor(start = 0) {
    if (!Number.isFinite(start)) {
      throw new RangeError(`Invalid start time "${start}": pass a finite number of milliseconds`);
    }
    this.#now = start;
  }

  /**
   * The current virtual time.
   *
   * @returns The time in milliseconds.
   */
  now(): number {
    return this.#now;
  }

  /**
   * Arms a virtual timer; it fires during a later {@linkcode ManualClock.advance}.
   *
   * @param callback Called once when virtual time reaches the due time.
   * @param delayMs The delay in milliseconds.
   * @returns A handle for {@linkcode ManualClock.clearTimer}.
   */
  setTimer(callback: () => void, delayMs: number): unknown {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, delayMs), callback };
    // Keep the list sorted by due time, ties in arming order.
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    return timer.id;
  }

  /**
   * Disarms a virtual timer; unknown or fired handles are ignored.
   *
   * @param handle The handle `setTimer()` returned.
   */
  clearTimer(handle: unknown): void {
    const i = this.#timers.findIndex((t) => t.id === handle);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /**
   * The number of armed virtual timers.
   *
   * @returns How many timers are waiting for `advance()`.
   */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way
   * (including timers armed by those callbacks), each with `now()` at its due
   * time. `advance(0)` fires timers already due.
   *
   * @param ms How far to move, in milliseconds (`>= 0`).
   */
  advance(ms: number): void {
    if (!(ms >= 0) || ms === Infinity) {
      throw new RangeError(`Invalid advance "${ms}": pass a finite number of milliseconds >= 0`);
    }
    const end = this.#now + ms;
    for (let fired = 0; fired < MAX_FIRES_PER_ADVANCE; fired++) {
      const first = this.#timers[0];
      if (first === undefined || first.at > end) break;
      this.#timers.shift();
      if (first.at > this.#now) this.#now = first.at;
      first.callback();
    }
    this.#now = end;
  }
}
