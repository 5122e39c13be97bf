/**
 * The handle returned by the engine's timer methods.
 *
 * @module
 */

/** What a {@linkcode Timer} handle talks to (the engine's timer ring). */
export interface TimerOwner {
  /** Cancels the record `id` if it still belongs to the timer numbered `seq`. */
  cancelTimer(id: number, seq: number): void;
  /** Whether the record `id` is still the pending timer numbered `seq`. */
  isTimerActive(id: number, seq: number): boolean;
}

let make: (owner: TimerOwner, id: number, seq: number) => Timer;

/**
 * A pending `callback`, `loop`, `defer` or `cycle` timer of an
 * {@linkcode Engine}. Timers are made by those engine methods, never with
 * `new`.
 *
 * Delays are milliseconds, rounded up to the ring's 1 ms resolution; a
 * timer never fires early. Equal deadlines fire in scheduling order. `cycle` is fixed
 * rate: each deadline is the previous one plus the period (no drift); if the
 * engine fell behind by several periods it fires once and skips the missed
 * ones. Timer functions are called with `this` undefined. An exception
 * thrown by one goes to {@linkcode Engine.onTimerError} and the engine keeps
 * running.
 *
 * `cancel()` is idempotent: calling it again, after the timer fired, or from
 * inside the timer's own function is safe (a `cycle` or `loop` cancelled from
 * inside its function does not run again), and never touches another timer,
 * not even one that took this timer's place in the ring. `active` is `true`
 * until a `callback`/`defer` timer runs or any timer is cancelled (or its
 * engine is stopped).
 *
 * @example Cancel a timeout
 * ```ts
 * import { engine } from "@pants/pants";
 *
 * const timeout = engine.defer(5000, () => console.log("too slow"));
 * timeout.cancel();
 * console.log(timeout.active); // false
 * ```
 */
export class Timer {
  #owner: TimerOwner;
  #id: number;
  #seq: number;

  private constructor(owner: TimerOwner, id: number, seq: number) {
    this.#owner = owner;
    this.#id = id;
    this.#seq = seq;
  }

  static {
    make = (owner, id, seq) => new Timer(owner, id, seq);
  }

  /**
   * Whether the timer is still pending (will run again).
   *
   * @returns `true` until it ran (one-shot timers) or was cancelled.
   */
  get active(): boolean {
    return this.#owner.isTimerActive(this.#id, this.#seq);
  }

  /**
   * Cancels the timer. Safe to call any number of times, from anywhere,
   * including the timer's own function.
   */
  cancel(): void {
    this.#owner.cancelTimer(this.#id, this.#seq);
  }
}

/**
 * Makes a handle for a timer record. Internal: used by the timer ring only,
 * not re-exported from `mod.ts`.
 *
 * @param owner The ring holding the record.
 * @param id The record's index.
 * @param seq The timer's unique sequence number.
 * @returns The handle.
 */
export function createTimer(owner: TimerOwner, id: number, seq: number): Timer {
  return make(owner, id, seq);
}
