/**
 * The {@linkcode Engine}: Pants' event dispatch, lifecycle and timers.
 *
 * @module
 */

import {
  bufferGauges,
  type ChannelCounts,
  EngineStatistics,
  type EngineStats,
  statistics,
} from "./stats.ts";
import { type Clock, realClock } from "./clock.ts";
import type { Timer } from "./timer.ts";
import { TimerRing } from "./timer_ring.ts";

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

/**
 * Options for {@linkcode Engine}.
 *
 * @example Usage
 * ```ts
 * import { Engine, ManualClock } from "@pants/pants";
 *
 * const engine = new Engine({ clock: new ManualClock(), graceMs: 1000 });
 * ```
 */
export interface EngineOptions {
  /**
   * Time source and host timer; a `ManualClock` makes tests deterministic.
   *
   * @default {realClock}
   */
  clock?: Clock;
  /**
   * How long `stop()` lets channels flush before it closes them without
   * flushing, in milliseconds.
   *
   * @default {5000}
   */
  graceMs?: number;
  /**
   * Slots of the timer ring (a power of two; one slot per millisecond).
   *
   * @default {4096}
   */
  timerSlots?: number;
}

/** A timer or engine-queued function, as stored. */
type Fn = (...args: unknown[]) => unknown;

type State = "idle" | "started" | "polling" | "stopping";

/** Bound on the iterations `stop()` runs to deliver the last close notifications. */
const MAX_SETTLE_TURNS = 1000;

function checkFunction(fn: unknown, method: string): void {
  if (typeof fn !== "function") {
    throw new TypeError(`Invalid function "${String(fn)}" for ${method}(): pass a function`);
  }
}

function checkDelay(ms: unknown, method: string, allowZero: boolean): void {
  if (typeof ms !== "number" || !(allowZero ? ms >= 0 : ms > 0) || ms === Infinity) {
    throw new RangeError(
      `Invalid delay "${String(ms)}" for ${method}(): pass a finite number of milliseconds ${
        allowZero ? ">= 0" : "> 0"
      }`,
    );
  }
}

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
 * ## When iterations run
 *
 * After `start()`, an iteration runs only when there is something for it:
 * at once (as a `setImmediate` task, so pending I/O is served between
 * iterations) while anything is queued, or when the single host timer fires
 * for the next due timer slot. With nothing queued and no timer, the engine
 * sleeps (no busy polling). With `loop` timers present it iterates
 * continuously, one `setImmediate` task per iteration, so I/O is not starved
 * (measured with one `loop` timer: ~390,000 iterations/s while a TCP echo
 * on the same process kept a median round trip of ~0.16 ms, against
 * ~0.02 ms with the engine idle).
 *
 * ## Liveness
 *
 * The engine keeps the process alive only while it has work: the pending
 * host timer and the channels' own socket operations do. `start()` resolves
 * when `stop()` finishes, and also when the engine runs out of work (no
 * attached channel, no pending timer, nothing queued), so a finished script
 * exits by itself.
 *
 * ## Timers
 *
 * `callback`, `loop`, `defer` and `cycle` return a {@linkcode Timer}. Delays
 * are milliseconds, rounded up to the ring's 1 ms resolution; a timer never
 * fires early. Equal deadlines fire in scheduling order. `cycle` is fixed
 * rate: each deadline is the previous one plus the period (no drift); if the
 * engine fell behind by several periods it fires once and skips the missed
 * ones. Timer functions are called with `this` undefined. An exception
 * thrown by one goes to {@linkcode Engine.onTimerError} and the engine keeps
 * running.
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
  #clock: Clock;
  #graceMs: number;
  #ring: TimerRing;
  #channels = new Set<EngineChannel>();
  #counts: ChannelCounts = { stream: 0, server: 0, datagram: 0 };
  /**
   * Counters bumped by channels; read them with `stats()`.
   *
   * @ignore
   */
  readonly [statistics]: EngineStatistics = new EngineStatistics();
  #finishHooks: (() => void)[] = [];
  #whenRunning: Fn[] = [];
  #whenRunningSpare: Fn[] = [];
  #closeQueue: Fn[] = [];
  #closeQueueSpare: Fn[] = [];

  #state: State = "idle";
  #inIteration = false;
  #now: number;
  #timeValid = false;

  #immediate: unknown = null;
  #hostTimer: unknown = null;
  #hostAt = Infinity;

  #startResolve: (() => void) | null = null;
  #startPromise: Promise<void> | null = null;
  #stopPromise: Promise<void> | null = null;
  #pollWake: (() => void) | null = null;
  #detachedWaiter: (() => void) | null = null;
  #settleWaiter: (() => void) | null = null;
  #settleTurns = 0;
  #cacheOutside: boolean;

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
    this.#clock = options.clock ?? realClock;
    const graceMs = options.graceMs ?? 5000;
    checkDelay(graceMs, "new Engine({ graceMs })", true);
    this.#graceMs = graceMs;
    this.#cacheOutside = this.#clock === realClock;
    this.#now = this.#clock.now();
    this.#ring = new TimerRing({ slots: options.timerSlots, start: this.#now });
    this.#ring.onTimersEmpty = this.#onTimersEmpty;
  }

  /**
   * Whether the engine is running: from `start()` to the end of `stop()`
   * (or until it ran out of work), and during a `poll()`.
   *
   * @returns `true` while running.
   */
  get running(): boolean {
    return this.#state !== "idle";
  }

  /**
   * Number of attached channels.
   *
   * @returns The count.
   */
  get channelCount(): number {
    return this.#channels.size;
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
    return { ...this.#counts };
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
    const counters = this[statistics];
    return {
      channels: this.counts(),
      bytesIn: counters.bytesIn,
      bytesOut: counters.bytesOut,
      frames: counters.frames,
      overflows: counters.overflows,
      timeouts: counters.timeouts,
      rejected: counters.rejected,
      wasmRegions: bufferGauges.regions(),
      wasmBufferBytes: bufferGauges.bytes(),
      loopLagMs: counters.loopLagMs,
    };
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
    const onSignal = (): void => void this.stop();
    for (const signal of signals) Deno.addSignalListener(signal, onSignal);
    let removed = false;
    const remove = (): void => {
      if (removed) return;
      removed = true;
      for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    };
    this.#finishHooks.push(remove);
    if (this.#state === "idle") {
      queueMicrotask(() => this.#state === "idle" && this.#runFinishHooks());
    }
    return remove;
  }

  #runFinishHooks(): void {
    const hooks = this.#finishHooks;
    this.#finishHooks = [];
    for (const hook of hooks) hook();
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
    if (!this.#timeValid) {
      this.#now = this.#clock.now();
      if (this.#inIteration) this.#timeValid = true;
      else if (this.#cacheOutside) {
        this.#timeValid = true;
        queueMicrotask(this.#invalidateTime);
      }
    }
    return this.#now;
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
   * ```
   *
   * @param channel The channel.
   */
  attach(channel: EngineChannel): void {
    if (this.#channels.has(channel)) return;
    this.#channels.add(channel);
    this.#counts[channel.kind]++;
    if (this.#state === "stopping") {
      this.whenRunning(() => {
        if (this.#channels.has(channel)) channel.close({ flush: true });
      });
    }
  }

  /**
   * Removes a closed channel. Idempotent.
   *
   * @example Usage
   * ```ts
   * import { Engine, type EngineChannel } from "@pants/pants";
   *
   * const engine = new Engine();
   * const channel: EngineChannel = { kind: "stream", close: () => {} };
   * engine.attach(channel);
   * engine.detach(channel);
   * engine.detach(channel); // no effect
   * console.log(engine.channelCount); // 0
   * ```
   *
   * @param channel The channel.
   */
  detach(channel: EngineChannel): void {
    if (!this.#channels.delete(channel)) return;
    this.#counts[channel.kind]--;
    if (this.#channels.size === 0) {
      const waiter = this.#detachedWaiter;
      if (waiter !== null) waiter();
      this.#wake(); // the engine may now be out of work
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
    this.#whenRunning.push(fn);
    this.#wake();
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
    this.#closeQueue.push(fn);
    this.#wake();
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
    const timer = this.#ring.callback(fn as Fn, args);
    if (!this.#inIteration && this.#immediate === null) this.#wake();
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
    const timer = this.#ring.loop(fn as Fn, args);
    this.#wake();
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
    const timer = this.#ring.defer(this.now() + ms, 0, fn as Fn, args);
    this.#timerAdded();
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
    const timer = this.#ring.defer(this.now() + ms, ms, fn as Fn, args);
    this.#timerAdded();
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
   * @example Usage
   * ```ts
   * import { engine } from "@pants/pants";
   *
   * engine.defer(10, () => engine.stop());
   * await engine.start();
   * ```
   *
   * @returns A promise resolved when the engine stopped or went idle.
   * @throws {Error} If the engine is already started, stopping or polling.
   */
  start(): Promise<void> {
    if (this.#state !== "idle") {
      throw new Error(
        `Engine is already ${this.#state === "started" ? "running" : this.#state}: ` +
          "call start() once, and await stop() (or the previous start()) before starting it again",
      );
    }
    this.#state = "started";
    this.#startPromise = new Promise((resolve) => this.#startResolve = resolve);
    this.#scheduleImmediate();
    return this.#startPromise;
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
    if (this.#stopPromise === null) {
      this.#stopPromise = this.#shutdown().finally(() => this.#stopPromise = null);
    }
    return this.#stopPromise;
  }

  /**
   * Runs one iteration, for applications that own their loop. If nothing is
   * ready and `timeoutMs > 0`, first waits up to `timeoutMs` for a timer to
   * fall due or for work to be queued (socket reads are dispatched as they
   * arrive and do not end the wait). `poll(Infinity)` returns at once when
   * the engine has no work at all.
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
  async poll(timeoutMs = 0): Promise<void> {
    if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
      throw new RangeError(
        `Invalid timeout "${String(timeoutMs)}" for poll(): pass milliseconds >= 0 or Infinity`,
      );
    }
    if (this.#state !== "idle") {
      throw new Error(
        this.#state === "polling"
          ? "Engine.poll() is already running: await the previous poll() before calling it again"
          : "Engine.poll() cannot run while the engine is started: use either start() or poll(), " +
            "or await stop() first",
      );
    }
    this.#state = "polling";
    try {
      if (timeoutMs > 0 && !this.#ready()) {
        const idle = this.#channels.size === 0 && this.#ring.size === 0;
        if (timeoutMs !== Infinity || !idle) await this.#pollWait(timeoutMs);
      }
      this.#iterate();
    } finally {
      this.#disarm();
      this.#state = "idle";
    }
  }

  // --- iteration -----------------------------------------------------------

  #iterate(): void {
    this.#inIteration = true;
    // 1. Update the cached clock.
    this.#now = this.#clock.now();
    this.#timeValid = true;
    const limit = this.#ring.seq;
    const whenRunning = this.#whenRunning;
    this.#whenRunning = this.#whenRunningSpare;
    const closes = this.#closeQueue;
    this.#closeQueue = this.#closeQueueSpare;
    try {
      // 2. Deliver ready I/O events (queued listens, connects, completions).
      this.#runQueue(whenRunning);
      this.#whenRunningSpare = whenRunning;
      // 3. Callbacks scheduled before this iteration.
      this.#ring.runCallbacks(limit, this.#report);
      // 4. Loops.
      this.#ring.runLoops(limit, this.#report);
      // 5. Due defer/cycle timers.
      this.#ring.runDue(this.#now, this.#report);
      // 6. Close notifications queued before this iteration.
      this.#runQueue(closes);
      this.#closeQueueSpare = closes;
    } finally {
      this.#inIteration = false;
      this.#timeValid = false;
    }
  }

  #runQueue(queue: Fn[]): void {
    for (let i = 0; i < queue.length; i++) {
      const fn = queue[i]!;
      try {
        fn();
      } catch (err) {
        this.#report(err, fn);
      }
    }
    queue.length = 0;
  }

  #report = (err: unknown, fn: (...args: never[]) => unknown): void => {
    try {
      this.onTimerError(err, fn);
    } catch (err2) {
      console.error("Pants: onTimerError threw:", err2, "while reporting:", err);
    }
  };

  #invalidateTime = (): void => {
    if (!this.#inIteration) this.#timeValid = false;
  };

  /** Whether an iteration has something to do right now. */
  #ready(): boolean {
    return this.#hasQueued() || this.#ring.nextDue() <= Math.floor(this.#clock.now());
  }

  #hasQueued(): boolean {
    return this.#whenRunning.length > 0 || this.#closeQueue.length > 0 ||
      this.#ring.callbackCount > 0 || this.#ring.loopCount > 0;
  }

  /** One engine turn (started or stopping): iterate, then plan the next. */
  #turn(): void {
    if (this.#state !== "started" && this.#state !== "stopping") return;
    this.#iterate();
    this.#plan();
  }

  /** After a turn: schedule the next one, arm the host timer, or go idle. */
  #plan(): void {
    if (this.#state !== "started" && this.#state !== "stopping") return;
    const queued = this.#hasQueued();
    const next = this.#ring.nextDue();
    if (next !== Infinity) this.#armAt(next);
    else this.#disarm();
    if (this.#state === "stopping") {
      const settle = this.#settleWaiter;
      if (settle !== null && (!queued || ++this.#settleTurns > MAX_SETTLE_TURNS)) {
        settle(); // timers left are cancelled by #shutdown()
        return;
      }
    } else if (!queued && next === Infinity && this.#channels.size === 0) {
      this.#finishStart(); // out of work
      return;
    }
    if (queued) this.#scheduleImmediate();
  }

  /** Something was queued: make sure an iteration will see it. */
  #wake(): void {
    if (this.#inIteration) return; // #plan() runs after the iteration
    if (this.#state === "started" || this.#state === "stopping") this.#scheduleImmediate();
    else if (this.#pollWake !== null) this.#pollWake();
  }

  #timerAdded(): void {
    if (this.#inIteration || this.#state === "idle") return;
    const next = this.#ring.nextDue();
    if (next < this.#hostAt) this.#armAt(next); // while polling, it ends the wait
  }

  #onTimersEmpty = (): void => {
    if (this.#state === "started" || this.#state === "stopping") {
      this.#disarm();
      this.#wake();
    }
  };

  #scheduleImmediate(): void {
    if (this.#immediate === null) this.#immediate = setImmediate(this.#onImmediate);
  }

  #onImmediate = (): void => {
    this.#immediate = null;
    this.#turn();
  };

  #armAt(at: number): void {
    if (this.#hostTimer !== null) {
      if (this.#hostAt === at) return;
      this.#clock.clearTimer(this.#hostTimer);
    }
    this.#hostAt = at;
    this.#hostTimer = this.#clock.setTimer(this.#onHostTimer, Math.max(0, at - this.#clock.now()));
  }

  #disarm(): void {
    if (this.#hostTimer !== null) {
      this.#clock.clearTimer(this.#hostTimer);
      this.#hostTimer = null;
    }
    this.#hostAt = Infinity;
  }

  #onHostTimer = (): void => {
    this[statistics].loopLagMs = Math.max(0, this.#clock.now() - this.#hostAt);
    this.#hostTimer = null;
    this.#hostAt = Infinity;
    if (this.#state === "polling") this.#pollWake?.();
    else this.#turn();
  };

  #pollWait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.#pollWake = () => {
        this.#pollWake = null;
        this.#disarm();
        resolve();
      };
      const end = this.#clock.now() + timeoutMs;
      const at = Math.min(end, this.#ring.nextDue());
      if (at !== Infinity) this.#armAt(at);
    });
  }

  #finishStart(): void {
    this.#runFinishHooks();
    this.#disarm();
    if (this.#immediate !== null) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    this.#state = "idle";
    const resolve = this.#startResolve;
    this.#startResolve = null;
    this.#startPromise = null;
    resolve?.();
  }

  // --- stop ----------------------------------------------------------------

  async #shutdown(): Promise<void> {
    if (this.#state === "polling") {
      throw new Error("Engine.stop() cannot run during poll(): await the poll() first");
    }
    this.#state = "stopping";
    this.#ring.cancelAll();
    this.#disarm();
    for (const channel of [...this.#channels]) {
      if (channel.kind === "server") this.#closeChannel(channel, undefined);
    }
    for (const channel of [...this.#channels]) {
      if (channel.kind !== "server") this.#closeChannel(channel, { flush: true });
    }
    if (this.#channels.size > 0) await this.#waitDetached();
    for (const channel of [...this.#channels]) this.#closeChannel(channel, { flush: false });
    this.#ring.cancelAll();
    await this.#settle();
    this.#ring.cancelAll();
    this.#disarm();
    this.#finishStart();
  }

  #closeChannel(channel: EngineChannel, options: { flush: boolean } | undefined): void {
    try {
      channel.close(options);
    } catch (err) {
      this.#report(err, channel.close);
    }
  }

  /** Waits until every channel detached or the grace period elapsed. */
  #waitDetached(): Promise<void> {
    return new Promise((resolve) => {
      const grace = this.#clock.setTimer(() => done(), this.#graceMs);
      const done = () => {
        this.#detachedWaiter = null;
        this.#clock.clearTimer(grace);
        resolve();
      };
      this.#detachedWaiter = done;
    });
  }

  /** Iterates until nothing is queued (at most MAX_SETTLE_TURNS iterations). */
  #settle(): Promise<void> {
    this.#settleTurns = 0;
    return new Promise((resolve) => {
      this.#settleWaiter = () => {
        this.#settleWaiter = null;
        resolve();
      };
      this.#scheduleImmediate();
    });
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
