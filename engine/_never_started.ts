/**
 * The warning for an engine given work but never run: a script that makes a
 * server and forgets `engine.start()` would otherwise exit at once, silently,
 * with code 0.
 *
 * The first piece of work queued on an engine that was never started or
 * polled registers one `unload` listener; at exit it prints one line naming
 * what is still waiting (the channels by kind and class, the timers), if
 * anything is. `start()`, `poll()` and `stop()` disarm it; a `start()` that
 * ends (out of work, or stopped) arms it again, since work queued after that
 * does nothing either until the next `start()`. `TestEngine` turns it off
 * for good (tests drive their engine by hand). It never warns twice.
 *
 * @module
 */

/**
 * The warning {@linkcode NeverStarted} prints at exit, or `null` when nothing
 * waits; `finished`: the engine ran before (its `start()` ended).
 */
export type PendingWork = (finished: boolean) => string | null;

/** One engine's "never started" warning. */
export class NeverStarted {
  readonly #pending: PendingWork;
  #armed = false;
  /** `true` while the engine runs, and for good once opted out: nothing to watch. */
  done = false;
  #off = false;
  #finished = false;

  /**
   * Makes a disarmed warning.
   *
   * @param pending Makes the warning (one line) from the work left at exit.
   */
  constructor(pending: PendingWork) {
    this.#pending = pending;
  }

  /** Work was queued: watch for exit, once. */
  note(): void {
    if (this.done || this.#armed) return;
    if (typeof globalThis.addEventListener !== "function") return;
    this.#armed = true;
    globalThis.addEventListener("unload", this.#onUnload);
  }

  /** The engine's `start()` ended: work queued from now on waits for the next one. */
  finished(): void {
    if (this.#off) return;
    this.done = false;
    this.#finished = true;
  }

  /** The engine must never warn (it is driven by hand). */
  off(): void {
    this.#off = true;
    this.disarm();
  }

  /** The engine runs: stop watching. */
  disarm(): void {
    this.done = true;
    if (!this.#armed) return;
    this.#armed = false;
    globalThis.removeEventListener("unload", this.#onUnload);
  }

  readonly #onUnload = (): void => {
    if (this.done) return;
    const warning = this.#pending(this.#finished);
    this.disarm();
    if (warning !== null) console.warn(warning);
  };
}

/**
 * The exit warning for work left on an engine never started, or `null`.
 *
 * @param parts The channels waiting, described by kind and class.
 * @param timers How many timers wait.
 * @param isDefault Whether it is the default engine (`engine`).
 * @param finished Whether the engine ran before (its `start()` ended).
 */
export function neverStartedWarning(
  parts: string[],
  timers: number,
  isDefault: boolean,
  finished = false,
): string | null {
  if (timers > 0) parts.push(`${timers} timer${timers === 1 ? "" : "s"}`);
  if (parts.length === 0) return null;
  const last = parts.pop()!;
  const what = parts.length === 0 ? last : `${parts.join(", ")} and ${last}`;
  if (finished) {
    return `Pants: ${isDefault ? "the engine" : "an Engine"} had already finished (out of work, ` +
      `or stopped), so ${what} ${isDefault ? "" : "on it "}queued after that did nothing: ` +
      `call ${isDefault ? "engine.start()" : "its start()"} again after queueing work`;
  }
  return isDefault
    ? `Pants: the engine was never started, so ${what} did nothing: ` +
      "call engine.start() after creating them"
    : `Pants: an Engine was never started, so ${what} on it did nothing: ` +
      "call its start() after creating them";
}
