/**
 * The {@linkcode Engine}: Pants' event dispatch, lifecycle and timers.
 *
 * This file is the engine's public face and its documentation (the class
 * comment describes the loop); `_run_loop.ts` and the parts it drives do
 * the work (see ARCHITECTURE.md).
 *
 * @module
 */

import { type ChannelCounts, EngineStatistics, type EngineStats, statistics } from "./stats.ts";
import { realClock } from "./clock.ts";
import type { EngineChannel } from "./engine_channel.ts";
import type { Timer } from "./timer.ts";
import { timerCall } from "./_timer_call.ts";
import { checkDelay, checkFunction } from "./_checks.ts";
import { RunLoop } from "./_run_loop.ts";
import { listenForSignals } from "./_signals.ts";
import { NeverStarted, neverStartedWarning } from "./_never_started.ts";
import type { EngineOptions } from "./engine_options.ts";
import { drivenByHand, unhandledError } from "./_symbols.ts";

// Channels and `mod.ts` take these from here, with the engine.
export type { EngineChannel, EngineOptions };
export { drivenByHand, unhandledError };

let defaultEngine: Engine | undefined;

/**
 * The event engine: it runs channels' queued work and all timers, and owns
 * the application's lifecycle (`start`, `stop`, `poll`).
 *
 * ## One iteration
 *
 * Deno owns the real event loop, so an iteration is an engine turn. Each
 * runs these phases, in this order:
 *
 * 1. Update the cached clock ({@linkcode Engine.now}).
 * 2. Deliver ready I/O events: run the {@linkcode Engine.whenRunning}
 *    functions queued before this iteration (pending listens and connects,
 *    and accept/connect completions channels queue there). Socket reads are
 *    not queued: a channel frames and dispatches them in the read's own
 *    continuation, as soon as Deno delivers them, between iterations.
 * 3. Run the `callback` timers scheduled before this iteration, in order
 *    (ones scheduled during it wait for the next).
 * 4. Run each `loop` timer added before this iteration, once.
 * 5. Run the due `defer`/`cycle` timers, in deadline order (ties in
 *    scheduling order).
 * 6. Run the close notifications queued (by {@linkcode Engine.queueClose})
 *    before this iteration, so `onClose` never fires inside `close()`.
 *
 * After `start()`, an iteration runs only when there is something for it
 * (how turns are scheduled: `_run_loop.ts`); an idle engine sleeps.
 *
 * ## Liveness
 *
 * The engine keeps the process alive only while it has work: the pending
 * host timer and the channels' own socket operations do. `start()` resolves
 * when `stop()` finishes, and also when the engine runs out of work (no
 * attached channel, no pending timer, nothing queued), so a finished script
 * exits by itself. It rejects instead when a channel's listen or connect
 * failed and no handler took the error (see {@linkcode Engine.start}). An
 * engine given work but never started warns once at exit.
 *
 * ## Timers
 *
 * `callback`, `loop`, `defer` and `cycle` return a {@linkcode Timer} (its
 * documentation gives the timing rules). An exception thrown by one goes to
 * {@linkcode Engine.onTimerError} and the engine keeps running.
 *
 * @example Run timers until there is nothing left to do
 * ```ts
 * import { engine } from "@pants/pants";
 *
 * engine.defer(10, (name: string) => console.log(`hello ${name}`), "world");
 * await engine.start(); // resolves once the timer ran: no work left
 * ```
 */
export class Engine {
  /**
   * Counters bumped by channels; read them with `stats()`.
   *
   * @ignore
   */
  readonly [statistics]: EngineStatistics = new EngineStatistics();
  readonly #loop: RunLoop;
  readonly #neverStarted: NeverStarted = new NeverStarted((finished) =>
    neverStartedWarning(
      this.#loop.channels.describe(),
      this.#loop.ring.size,
      this === defaultEngine,
      finished,
    )
  );

  /**
   * The default engine, shared by every channel not given one (also
   * exported as `engine`).
   *
   * @example Usage
   * ```ts
   * import { Engine, engine } from "@pants/pants";
   *
   * console.log(Engine.instance() === engine); // true
   * ```
   *
   * @returns The default engine.
   */
  static instance(): Engine {
    return defaultEngine ??= new Engine();
  }

  /**
   * Makes an engine. Most applications use the default `engine` instead.
   *
   * @example An engine on a manual clock, for tests
   * ```ts
   * import { Engine, ManualClock } from "@pants/pants";
   *
   * const clock = new ManualClock();
   * const engine = new Engine({ clock, graceMs: 100 });
   * ```
   *
   * @param options Clock, stop grace period and timer ring size.
   */
  constructor(options: EngineOptions = {}) {
    const clock = options.clock ?? realClock;
    const graceMs = options.graceMs ?? 5000;
    checkDelay(graceMs, "new Engine({ graceMs })", true);
    this.#loop = new RunLoop({
      clock,
      graceMs,
      timerSlots: options.timerSlots,
      statistics: this[statistics],
      onError: (err, fn) => this.onTimerError(err, fn),
    });
  }

  /**
   * Whether the engine is running: from `start()` to the end of `stop()`
   * (or until it ran out of work), and during a `poll()`.
   *
   * @returns `true` while running.
   */
  get running(): boolean {
    return this.#loop.running;
  }

  /**
   * Number of attached channels.
   *
   * @returns The count.
   */
  get channelCount(): number {
    return this.#loop.channels.size;
  }

  /**
   * Attached channels by kind.
   *
   * @example Usage
   * ```ts
   * import { engine } from "@pants/pants";
   *
   * console.log(engine.counts()); // { stream: 0, server: 0, datagram: 0 }
   * ```
   *
   * @returns A fresh `{ stream, server, datagram }` object.
   */
  counts(): ChannelCounts {
    return this.#loop.channels.counts();
  }

  /**
   * The engine's counters: open channels by kind, bytes in and out, frames
   * delivered, overflows, timeouts, rejected connections, the framing
   * core's live receive buffers, and loop lag.
   *
   * @example Usage
   * ```ts
   * import { engine } from "@pants/pants";
   *
   * const { channels, bytesIn, loopLagMs } = engine.stats();
   * console.log(channels.stream, bytesIn, loopLagMs);
   * ```
   *
   * @returns A fresh snapshot.
   */
  stats(): EngineStats {
    return this[statistics].snapshot(this.counts());
  }

  /**
   * Stops the engine gracefully (`stop()`) when the process receives one of
   * `signals`. The listeners are removed when the engine finishes, so they
   * never keep a finished script alive.
   *
   * @example An echo server that shuts down cleanly on Ctrl-C
   * ```ts
   * import { engine, Server, Stream } from "@pants/pants";
   *
   * new Server(Stream).listen(4040);
   * engine.stopOnSignals();
   * await engine.start();
   * ```
   *
   * @param signals The signals to stop on.
   * @returns A function that removes the listeners early.
   */
  stopOnSignals(signals: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"]): () => void {
    const remove = listenForSignals(signals, () => void this.stop());
    this.#loop.addFinishHook(remove);
    return remove;
  }

  /**
   * The engine's cached clock in milliseconds. Inside an iteration it is the
   * time the iteration began (phase 1). Outside one (e.g. in a socket read's
   * continuation) the clock is read afresh; with the real clock that reading
   * is cached until the next microtask checkpoint, as `performance.now()`
   * costs about 0.13 µs. `defer` and `cycle` count from it.
   *
   * @example Usage
   * ```ts
   * import { engine } from "@pants/pants";
   *
   * const started = engine.now();
   * engine.defer(5, () => console.log(engine.now() - started >= 5)); // true
   * ```
   *
   * @returns The time in milliseconds.
   */
  now(): number {
    return this.#loop.time.now();
  }

  /**
   * Adds a channel to the engine. An attached channel counts as work: it
   * keeps `start()` running. Attaching twice is harmless. A channel attached
   * while the engine is stopping is asked to close in the next iteration.
   *
   * @example Usage
   * ```ts
   * import { Engine, type EngineChannel } from "@pants/pants";
   *
   * const engine = new Engine();
   * const channel: EngineChannel = { kind: "server", close: () => engine.detach(channel) };
   * engine.attach(channel);
   * console.log(engine.channelCount); // 1
   * engine.detach(channel);
   * engine.detach(channel); // no effect
   * console.log(engine.channelCount); // 0
   * ```
   *
   * @param channel The channel.
   */
  attach(channel: EngineChannel): void {
    const channels = this.#loop.channels;
    if (!channels.add(channel)) return;
    this.#neverStarted.note();
    if (this.#loop.stopping) {
      this.whenRunning(() => {
        if (channels.has(channel)) channel.close({ flush: true });
      });
    }
  }

  /**
   * Removes a closed channel. Idempotent (see {@linkcode Engine.attach}'s example).
   *
   * @param channel The channel.
   */
  detach(channel: EngineChannel): void {
    const channels = this.#loop.channels;
    if (channels.delete(channel) && channels.size === 0) {
      this.#loop.wake(); // the engine may now be out of work
    }
  }

  /**
   * Runs `fn` when the engine runs: at the first iteration of `start()` or
   * the next `poll()` (in call order) if it is not running, else in the next
   * iteration (phase 2). Channels queue listens and connects with it, so
   * nothing is listened on or connected to before the engine runs.
   *
   * @example Usage
   * ```ts
   * import { Engine } from "@pants/pants";
   *
   * const engine = new Engine();
   * engine.whenRunning(() => console.log("running"));
   * await engine.poll(); // logs "running"
   * ```
   *
   * @param fn Called once, with no arguments.
   */
  whenRunning(fn: () => void): void {
    checkFunction(fn, "whenRunning");
    this.#neverStarted.note();
    this.#loop.whenRunningQueue.push(fn);
    this.#loop.wake();
  }

  /**
   * Queues a close notification: `fn` runs in the last phase of the next
   * iteration, so a channel's `onClose` never fires inside `close()`.
   *
   * @example Usage
   * ```ts
   * import { Engine } from "@pants/pants";
   *
   * const engine = new Engine();
   * engine.queueClose(() => console.log("closed"));
   * await engine.poll(); // logs "closed"
   * ```
   *
   * @param fn Called once, with no arguments.
   */
  queueClose(fn: () => void): void {
    checkFunction(fn, "queueClose");
    this.#loop.closeQueue.push(fn);
    this.#loop.wake();
  }

  /**
   * Runs `fn(...args)` once, in the next iteration (phase 3).
   *
   * @example Usage
   * ```ts
   * import { engine } from "@pants/pants";
   *
   * engine.callback((n: number) => console.log(n), 42);
   * ```
   *
   * @param fn The function.
   * @param args Its arguments.
   * @returns The timer's handle.
   */
  callback<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Timer {
    checkFunction(fn, "callback");
    this.#neverStarted.note();
    const timer = this.#loop.ring.callback(timerCall(fn, args));
    this.#loop.callbackAdded();
    return timer;
  }

  /**
   * Runs `fn(...args)` once in every iteration (phase 4), from the next one
   * on, until cancelled. While a loop timer exists the engine iterates
   * continuously, yielding to I/O between iterations.
   *
   * @example Usage
   * ```ts
   * import { engine } from "@pants/pants";
   *
   * let n = 0;
   * const timer = engine.loop(() => {
   *   if (++n === 3) timer.cancel();
   * });
   * ```
   *
   * @param fn The function.
   * @param args Its arguments.
   * @returns The timer's handle.
   */
  loop<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Timer {
    checkFunction(fn, "loop");
    this.#neverStarted.note();
    const timer = this.#loop.ring.loop(timerCall(fn, args));
    this.#loop.wake();
    return timer;
  }

  /**
   * Runs `fn(...args)` once, `ms` milliseconds from {@linkcode Engine.now}
   * (phase 5).
   *
   * @example Usage
   * ```ts
   * import { engine } from "@pants/pants";
   *
   * const timeout = engine.defer(1000, () => console.log("late"));
   * timeout.cancel();
   * ```
   *
   * @param ms The delay in milliseconds (finite, `>= 0`).
   * @param fn The function.
   * @param args Its arguments.
   * @returns The timer's handle.
   * @throws {RangeError} If `ms` is negative or not finite.
   */
  defer<A extends unknown[]>(ms: number, fn: (...args: A) => unknown, ...args: A): Timer {
    checkDelay(ms, "defer", true);
    checkFunction(fn, "defer");
    this.#neverStarted.note();
    const timer = this.#loop.ring.defer(this.now() + ms, 0, timerCall(fn, args));
    this.#loop.timerAdded();
    return timer;
  }

  /**
   * Runs `fn(...args)` every `ms` milliseconds, first `ms` from
   * {@linkcode Engine.now}, until cancelled. Fixed rate: each deadline is the
   * previous deadline plus `ms`; if the engine fell behind by several
   * periods, it fires once and skips the missed ones.
   *
   * @example Usage
   * ```ts
   * import { engine } from "@pants/pants";
   *
   * let n = 0;
   * const ticker = engine.cycle(100, () => {
   *   if (++n === 3) ticker.cancel();
   * });
   * ```
   *
   * @param ms The period in milliseconds (finite, `> 0`).
   * @param fn The function.
   * @param args Its arguments.
   * @returns The timer's handle.
   * @throws {RangeError} If `ms` is not a finite number above zero.
   */
  cycle<A extends unknown[]>(ms: number, fn: (...args: A) => unknown, ...args: A): Timer {
    checkDelay(ms, "cycle", false);
    checkFunction(fn, "cycle");
    this.#neverStarted.note();
    const timer = this.#loop.ring.defer(this.now() + ms, ms, timerCall(fn, args));
    this.#loop.timerAdded();
    return timer;
  }

  /**
   * Called with an exception thrown by a timer's function (or by a queued
   * `whenRunning`/`queueClose` function); the engine keeps running. The
   * default logs it with the function's name through `console.error`.
   * Override it on an instance or in a subclass.
   *
   * @example Collect timer errors
   * ```ts
   * import { Engine } from "@pants/pants";
   *
   * const engine = new Engine();
   * const errors: unknown[] = [];
   * engine.onTimerError = (err) => errors.push(err);
   * ```
   *
   * @param err What was thrown.
   * @param fn The function that threw.
   */
  onTimerError(err: unknown, fn: (...args: never[]) => unknown): void {
    console.error(`Pants: timer function "${fn.name || "(anonymous)"}" threw:`, err);
  }

  /**
   * Runs the engine until {@linkcode Engine.stop} finishes or it runs out of
   * work (no attached channel, no pending timer, nothing queued). The first
   * iteration runs in a later task, not inside this call.
   *
   * An error nothing handled ends it, as an unhandled `'error'` event ends a
   * Node process: when a `listen()` or `connect()` fails (address in use,
   * permission denied, connection refused) and the channel's `onListenError`
   * / `onConnectError` is not overridden (or the override calls the default
   * through `super`), the engine stops gracefully (as `stop()` does: other
   * channels flush and close) and the promise rejects with that error, so a
   * script that awaits it, or does not handle it, exits with a non-zero
   * code. Override the handler to keep running. On an engine driven by
   * {@linkcode Engine.poll} instead, the next `poll()` throws the error.
   *
   * An engine given work but never started warns at exit (see Liveness above).
   *
   * @example Usage
   * ```ts
   * import { engine } from "@pants/pants";
   *
   * engine.defer(10, () => engine.stop());
   * await engine.start();
   * ```
   *
   * @example Exiting with a message when the server cannot listen
   * ```ts
   * import { engine, ListenError, Server, Stream } from "@pants/pants";
   *
   * new Server(Stream).listen(4040);
   * try {
   *   await engine.start();
   * } catch (error) {
   *   if (!(error instanceof ListenError)) throw error;
   *   console.error(error.message);
   *   Deno.exitCode = 2;
   * }
   * ```
   *
   * @returns A promise resolved when the engine stopped or went idle, or
   * rejected with the first listen or connect error nothing handled (once
   * the engine stopped).
   * @throws {Error} If the engine is already started, stopping or polling.
   */
  start(): Promise<void> {
    const started = this.#loop.start();
    this.#neverStarted.disarm();
    this.#loop.addFinishHook(() => this.#neverStarted.finished());
    return started;
  }

  /**
   * Stops the engine: cancels every timer, closes servers, asks every other
   * channel to close with `flush: true`, waits until all detached or
   * `graceMs` elapsed, closes the rest with `flush: false`, runs the pending
   * close notifications, then resolves both `stop()` and `start()`. The
   * engine iterates while stopping, so flushes and close notifications
   * proceed. Calling it again while stopping returns the same promise;
   * `start()` may be called again afterwards. On an engine that is not
   * started it runs iterations just long enough to close everything;
   * during a `poll()` the promise rejects (stop after the poll).
   *
   * @example Usage
   * ```ts
   * import { engine } from "@pants/pants";
   *
   * engine.cycle(1000, () => console.log("tick"));
   * const done = engine.start();
   * await engine.stop();
   * await done;
   * ```
   *
   * @returns A promise resolved once everything is closed.
   */
  stop(): Promise<void> {
    this.#neverStarted.disarm();
    return this.#loop.stop();
  }

  /**
   * Runs one iteration, for applications that own their loop. If nothing is
   * ready and `timeoutMs > 0`, first waits up to `timeoutMs` for a timer to
   * fall due or for work to be queued (socket reads are dispatched as they
   * arrive and do not end the wait). `poll(Infinity)` returns at once when
   * the engine has no work at all. A listen or connect error nothing
   * handled since the previous `poll()` is thrown (rejected) by this one,
   * before it iterates (see {@linkcode Engine.start}).
   *
   * @example Usage
   * ```ts
   * import { Engine } from "@pants/pants";
   *
   * const engine = new Engine();
   * engine.callback(() => console.log("one"));
   * await engine.poll(); // logs "one"
   * ```
   *
   * @param timeoutMs Longest wait in milliseconds (`>= 0`, may be `Infinity`).
   * @returns A promise resolved after the iteration.
   * @throws {Error} If the engine is started or already polling.
   * @throws {RangeError} If `timeoutMs` is negative or NaN.
   */
  poll(timeoutMs = 0): Promise<void> {
    this.#neverStarted.disarm();
    return this.#loop.poll(timeoutMs);
  }

  /**
   * Takes a channel's error that nothing handled: the default
   * `onListenError` / `onConnectError` of `Server`, `Stream` and `Datagram`
   * call it. While `start()` runs, the engine stops gracefully and
   * `start()` rejects with the first such error; on an engine driven by
   * `poll()`, the next `poll()` throws it.
   *
   * @ignore
   * @param error The error.
   * @returns `true` if `start()` will reject with it (no need to log it).
   */
  [unhandledError](error: unknown): boolean {
    return this.#loop.fail(error);
  }

  /**
   * Never warns at exit that this engine was not started (`TestEngine`).
   *
   * @ignore
   */
  [drivenByHand](): void {
    this.#neverStarted.off();
  }
}

/**
 * The default engine (`Engine.instance()`): channels join it unless given
 * `{ engine }`.
 *
 * @example Usage
 * ```ts
 * import { engine } from "@pants/pants";
 *
 * engine.defer(10, () => console.log("done"));
 * await engine.start();
 * ```
 */
export const engine: Engine = Engine.instance();
