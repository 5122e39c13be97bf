import assert from "node:assert/strict";
import {
  Engine,
  engine as defaultEngine,
  type EngineChannel,
  ManualClock,
  type Timer,
} from "../mod.ts";
import { until } from "./_helpers.ts";

/** A manual-clock engine whose timer errors are rethrown into the test. */
function manualEngine(graceMs?: number): { engine: Engine; clock: ManualClock } {
  const clock = new ManualClock();
  const engine = new Engine({ clock, graceMs });
  engine.onTimerError = (err) => {
    throw err;
  };
  return { engine, clock };
}

interface FakeChannel extends EngineChannel {
  closes: ({ flush?: boolean } | undefined)[];
}

/**
 * A fake channel recording its close() calls. `detachOn` says which close
 * makes it detach (and queue its close notification): any close, or only
 * a forced (`flush: false`) one, as a stream stuck flushing would.
 */
function fakeChannel(
  engine: Engine,
  kind: EngineChannel["kind"],
  detachOn: "any" | "forced" = "any",
  onClose?: () => void,
): FakeChannel {
  const channel: FakeChannel = {
    kind,
    closes: [],
    close(options) {
      channel.closes.push(options);
      if (detachOn === "any" || options?.flush === false) {
        engine.detach(channel);
        if (onClose) engine.queueClose(onClose);
      }
    },
  };
  engine.attach(channel);
  return channel;
}

// --- phases ------------------------------------------------------------------

Deno.test("Engine runs an iteration's phases in the documented order", async () => {
  const { engine } = manualEngine();
  const log: string[] = [];
  engine.queueClose(() => log.push("6 close notification"));
  engine.defer(0, () => log.push("5 due timer"));
  const loop = engine.loop(() => {
    log.push("4 loop");
    loop.cancel();
  });
  engine.callback(() => log.push("3 callback"));
  engine.whenRunning(() => log.push("2 whenRunning"));
  await engine.poll();
  assert.deepEqual(log, [
    "2 whenRunning",
    "3 callback",
    "4 loop",
    "5 due timer",
    "6 close notification",
  ]);
});

Deno.test("Engine.now stays at the iteration's start time during the iteration", async () => {
  const { engine, clock } = manualEngine();
  clock.advance(10);
  const seen: number[] = [];
  engine.callback(() => {
    seen.push(engine.now());
    clock.advance(5);
    seen.push(engine.now());
  });
  await engine.poll();
  assert.deepEqual(seen, [10, 10]);
  assert.equal(engine.now(), 15);
});

Deno.test("Engine.callback runs callbacks scheduled during an iteration in the next one", async () => {
  const { engine } = manualEngine();
  const log: string[] = [];
  engine.callback(() => {
    log.push("first");
    engine.callback(() => log.push("scheduled during"));
  });
  await engine.poll();
  assert.deepEqual(log, ["first"]);
  await engine.poll();
  assert.deepEqual(log, ["first", "scheduled during"]);
});

Deno.test("Engine.callback runs callbacks in scheduling order with their arguments", async () => {
  const { engine } = manualEngine();
  const log: unknown[] = [];
  engine.callback((a: number, b: string) => log.push([a, b]), 1, "x");
  engine.callback(() => log.push("no args"));
  await engine.poll();
  assert.deepEqual(log, [[1, "x"], "no args"]);
});

Deno.test("Engine timers pass exactly the arguments given, from none to five", async () => {
  const { engine, clock } = manualEngine();
  const seen: unknown[][] = [];
  const record = (...args: unknown[]) => seen.push(args);
  const lists = [[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4, 5]];
  for (const args of lists) engine.callback(record, ...args);
  await engine.poll();
  for (const args of lists) engine.defer(1, record, ...args);
  clock.advance(1);
  await engine.poll();
  const loop = engine.loop(record, undefined); // an explicit undefined is an argument
  await engine.poll();
  loop.cancel();
  assert.deepEqual(seen, [...lists, ...lists, [undefined]]);
});

Deno.test("Engine.cycle passes its arguments on every run", async () => {
  const { engine, clock } = manualEngine();
  const seen: unknown[][] = [];
  const ticker = engine.cycle(5, (a: string, b: number) => seen.push([a, b]), "tick", 7);
  for (let i = 0; i < 3; i++) {
    clock.advance(5);
    await engine.poll();
  }
  ticker.cancel();
  assert.deepEqual(seen, [["tick", 7], ["tick", 7], ["tick", 7]]);
});

Deno.test("Engine.loop runs once per iteration until cancelled", async () => {
  const { engine } = manualEngine();
  let runs = 0;
  const loop = engine.loop(() => runs++);
  for (let i = 0; i < 3; i++) await engine.poll();
  assert.equal(runs, 3);
  loop.cancel();
  await engine.poll();
  assert.equal(runs, 3);
});

Deno.test("Engine.loop added during an iteration first runs in the next one", async () => {
  const { engine } = manualEngine();
  const log: string[] = [];
  engine.callback(() => engine.loop(() => log.push("loop")));
  await engine.poll();
  assert.deepEqual(log, []);
  await engine.poll();
  assert.deepEqual(log, ["loop"]);
});

Deno.test("Engine.whenRunning runs queued functions in order at the first iteration", async () => {
  const { engine } = manualEngine();
  const log: number[] = [];
  engine.whenRunning(() => log.push(1));
  engine.whenRunning(() => log.push(2));
  assert.deepEqual(log, []);
  await engine.poll();
  assert.deepEqual(log, [1, 2]);
});

Deno.test("Engine.whenRunning called while running runs in the next iteration", async () => {
  const { engine } = manualEngine();
  const log: string[] = [];
  engine.callback(() => engine.whenRunning(() => log.push("later")));
  await engine.poll();
  assert.deepEqual(log, []);
  await engine.poll();
  assert.deepEqual(log, ["later"]);
});

Deno.test("Engine.queueClose runs in the last phase of the next iteration, not the current", async () => {
  const { engine, clock } = manualEngine();
  const log: string[] = [];
  engine.callback(() => {
    engine.queueClose(() => log.push("close"));
    log.push("closing");
  });
  await engine.poll();
  assert.deepEqual(log, ["closing"]);
  engine.defer(0, () => log.push("due timer"));
  clock.advance(1);
  await engine.poll();
  assert.deepEqual(log, ["closing", "due timer", "close"]);
});

// --- defer and cycle ----------------------------------------------------------

Deno.test("Engine.defer fires at its deadline and not before", async () => {
  const { engine, clock } = manualEngine();
  let fired = false;
  engine.defer(10, () => fired = true);
  clock.advance(9.9);
  await engine.poll();
  assert.equal(fired, false);
  clock.advance(0.1);
  await engine.poll();
  assert.equal(fired, true);
});

Deno.test("Engine.defer fires equal deadlines in scheduling order", async () => {
  const { engine, clock } = manualEngine();
  const log: number[] = [];
  for (let i = 0; i < 10; i++) engine.defer(i % 2 === 0 ? 20 : 10, () => log.push(i));
  clock.advance(20);
  await engine.poll();
  assert.deepEqual(log, [1, 3, 5, 7, 9, 0, 2, 4, 6, 8]);
});

Deno.test("Engine.defer fires long delays in deadline order across ring rounds", async () => {
  const clock = new ManualClock();
  const engine = new Engine({ clock, timerSlots: 32 });
  const log: number[] = [];
  for (const ms of [100, 36, 4, 68, 1000]) engine.defer(ms, () => log.push(ms));
  clock.advance(2000);
  await engine.poll();
  assert.deepEqual(log, [4, 36, 68, 100, 1000]);
});

Deno.test("Engine.defer scheduled by a due timer fires in a later iteration", async () => {
  const { engine, clock } = manualEngine();
  const log: string[] = [];
  engine.defer(5, () => {
    log.push("outer");
    engine.defer(0, () => log.push("inner"));
  });
  clock.advance(5);
  await engine.poll();
  assert.deepEqual(log, ["outer"]);
  clock.advance(1);
  await engine.poll();
  assert.deepEqual(log, ["outer", "inner"]);
});

Deno.test("Engine.defer throws RangeError for negative or non-finite delays", () => {
  const { engine } = manualEngine();
  for (const ms of [-1, NaN, Infinity, -Infinity]) {
    assert.throws(() => engine.defer(ms, () => {}), RangeError);
    assert.throws(() => engine.cycle(ms, () => {}), RangeError);
  }
  assert.throws(() => engine.cycle(0, () => {}), RangeError);
  assert.throws(() => engine.defer("5" as unknown as number, () => {}), RangeError);
});

Deno.test("Engine timer methods throw TypeError for a non-function", () => {
  const { engine } = manualEngine();
  const notFn = 42 as unknown as () => void;
  assert.throws(() => engine.callback(notFn), TypeError);
  assert.throws(() => engine.loop(notFn), TypeError);
  assert.throws(() => engine.defer(1, notFn), TypeError);
  assert.throws(() => engine.cycle(1, notFn), TypeError);
  assert.throws(() => engine.whenRunning(notFn), TypeError);
  assert.throws(() => engine.queueClose(notFn), TypeError);
});

Deno.test("Engine.cycle re-arms at fixed rate from its previous deadline", async () => {
  const { engine, clock } = manualEngine();
  const at: number[] = [];
  engine.cycle(10, () => at.push(engine.now()));
  for (const step of [13, 7, 10, 12]) {
    clock.advance(step);
    await engine.poll();
  }
  // Firing late (at 13, at 42) does not shift the deadlines 10, 20, 30, 40, 50.
  assert.deepEqual(at, [13, 20, 30, 42]);
  clock.advance(7); // 49
  await engine.poll();
  assert.equal(at.length, 4);
  clock.advance(1); // 50
  await engine.poll();
  assert.deepEqual(at, [13, 20, 30, 42, 50]);
});

Deno.test("Engine.cycle fires once and skips missed periods after falling behind", async () => {
  const { engine, clock } = manualEngine();
  let runs = 0;
  engine.cycle(10, () => runs++);
  clock.advance(35);
  await engine.poll();
  assert.equal(runs, 1);
  clock.advance(4); // 39: the 40 deadline is not due yet
  await engine.poll();
  assert.equal(runs, 1);
  clock.advance(1);
  await engine.poll();
  assert.equal(runs, 2);
});

// --- Timer handles ------------------------------------------------------------

Deno.test("Timer.cancel prevents every kind of timer from running", async () => {
  const { engine, clock } = manualEngine();
  let runs = 0;
  const timers = [
    engine.callback(() => runs++),
    engine.loop(() => runs++),
    engine.defer(1, () => runs++),
    engine.cycle(1, () => runs++),
  ];
  for (const t of timers) t.cancel();
  clock.advance(10);
  await engine.poll();
  assert.equal(runs, 0);
});

Deno.test("Timer.cancel is idempotent and safe after the timer fired", async () => {
  const { engine, clock } = manualEngine();
  let runs = 0;
  const once = engine.defer(1, () => runs++);
  const other = engine.defer(2, () => runs++);
  clock.advance(1);
  await engine.poll();
  once.cancel();
  once.cancel();
  clock.advance(1);
  await engine.poll();
  assert.equal(runs, 2);
  assert.equal(other.active, false);
});

Deno.test("Timer.cancel from inside a cycle stops it", async () => {
  const { engine, clock } = manualEngine();
  let runs = 0;
  const ticker: Timer = engine.cycle(5, () => {
    if (++runs === 2) ticker.cancel();
  });
  for (let i = 0; i < 5; i++) {
    clock.advance(5);
    await engine.poll();
  }
  assert.equal(runs, 2);
  assert.equal(ticker.active, false);
});

Deno.test("Timer.cancel by an earlier timer stops a later one due in the same iteration", async () => {
  const { engine, clock } = manualEngine();
  const log: string[] = [];
  engine.defer(1, () => {
    log.push("first");
    later.cancel();
  });
  const later = engine.defer(2, () => log.push("later"));
  clock.advance(5);
  await engine.poll();
  assert.deepEqual(log, ["first"]);
});

Deno.test("Timer.active is true while pending and false after running or cancelling", async () => {
  const { engine, clock } = manualEngine();
  let activeInside: boolean | undefined;
  const defer: Timer = engine.defer(1, () => activeInside = defer.active);
  const cycle = engine.cycle(1, () => {});
  const callback = engine.callback(() => {});
  assert.deepEqual([defer.active, cycle.active, callback.active], [true, true, true]);
  clock.advance(1);
  await engine.poll();
  assert.equal(activeInside, false);
  assert.deepEqual([defer.active, cycle.active, callback.active], [false, true, false]);
  cycle.cancel();
  assert.equal(cycle.active, false);
});

// --- errors -------------------------------------------------------------------

Deno.test("Engine.onTimerError receives a timer's exception and the engine keeps running", async () => {
  const clock = new ManualClock();
  const engine = new Engine({ clock });
  const reported: [unknown, string][] = [];
  engine.onTimerError = (err, fn) => reported.push([err, fn.name]);
  const log: string[] = [];
  const boom = new Error("boom");
  engine.callback(function failing() {
    throw boom;
  });
  engine.callback(() => log.push("next callback"));
  engine.defer(0, function failingTimer() {
    throw boom;
  });
  engine.defer(0, () => log.push("next timer"));
  await engine.poll();
  assert.deepEqual(reported, [[boom, "failing"], [boom, "failingTimer"]]);
  assert.deepEqual(log, ["next callback", "next timer"]);
});

Deno.test("Engine.onTimerError receives the function of a cycle and of a timer with arguments", async () => {
  const { engine, clock } = manualEngine();
  const reported: string[] = [];
  engine.onTimerError = (_err, fn) => reported.push(fn.name);
  const ticker = engine.cycle(1, function failingCycle(_n: number) {
    throw new Error("cycle");
  }, 1);
  engine.defer(
    1,
    function failingWithArgs(_a: string, _b: string) {
      throw new Error("defer");
    },
    "a",
    "b",
  );
  clock.advance(1);
  await engine.poll();
  clock.advance(1);
  await engine.poll();
  ticker.cancel();
  assert.deepEqual(reported, ["failingCycle", "failingWithArgs", "failingCycle"]);
});

Deno.test("Engine.onTimerError by default logs the function's name", async () => {
  const engine = new Engine({ clock: new ManualClock() });
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    engine.callback(function namedTimer() {
      throw new Error("boom");
    });
    await engine.poll();
  } finally {
    console.error = original;
  }
  assert.equal(logged.length, 1);
  assert.match(String(logged[0]![0]), /namedTimer/);
});

// --- lifecycle ------------------------------------------------------------------

Deno.test("Engine.start resolves when the engine runs out of work", async () => {
  const engine = new Engine();
  const log: string[] = [];
  engine.defer(2, () => log.push("timer"));
  engine.callback(() => log.push("callback"));
  await engine.start();
  assert.deepEqual(log, ["callback", "timer"]);
  assert.equal(engine.running, false);
});

Deno.test("Engine.start resolves at once with nothing to do", async () => {
  const engine = new Engine();
  await engine.start();
  assert.equal(engine.running, false);
});

Deno.test("Engine.start resolves when cancelling leaves no work", async () => {
  const { engine, clock } = manualEngine();
  const timer = engine.defer(60_000, () => {});
  engine.defer(1, () => timer.cancel());
  let resolvedAt: number | null = null;
  const started = engine.start().then(() => resolvedAt = clock.now());
  await until(() => clock.pendingTimers > 0, "the host timer to be armed");
  assert.equal(resolvedAt, null, "resolved before the cancelling timer ran");
  clock.advance(1);
  await new Promise((resolve) => setTimeout(resolve, 0)); // start()'s promise settles
  // Not a minute later: as soon as the cancelling timer ran, at 1 ms.
  assert.equal(resolvedAt, 1, "start() waited for the cancelled timer");
  assert.equal(clock.pendingTimers, 0, "a host timer is left armed for the cancelled timer");
  await started;
});

Deno.test("Engine.start keeps running while a channel is attached", async () => {
  const engine = new Engine();
  const channel = fakeChannel(engine, "stream");
  let resolved = false;
  const started = engine.start().then(() => resolved = true);
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(resolved, false);
  assert.equal(engine.running, true);
  engine.detach(channel);
  await started;
  assert.equal(engine.running, false);
});

Deno.test("Engine.start throws when the engine is already started", async () => {
  const engine = new Engine();
  const channel = fakeChannel(engine, "server");
  const started = engine.start();
  assert.throws(() => engine.start(), { name: "Error", message: /already running/ });
  await assert.rejects(() => engine.poll(), { name: "Error", message: /started/ });
  engine.detach(channel);
  await started;
});

Deno.test("Engine.poll throws when a poll is already running", async () => {
  const { engine, clock } = manualEngine();
  engine.defer(10, () => {});
  const first = engine.poll(10);
  await assert.rejects(() => engine.poll(), { message: /already running/ });
  assert.throws(() => engine.start(), { message: /already polling/ });
  clock.advance(10);
  await first;
});

Deno.test("Engine.poll waits up to timeoutMs for the next due timer", async () => {
  const { engine, clock } = manualEngine();
  let fired = false;
  let polled = false;
  engine.defer(50, () => fired = true);
  const poll = engine.poll(1000).then(() => polled = true);
  await Promise.resolve();
  assert.equal(polled, false);
  clock.advance(50);
  await poll;
  assert.equal(fired, true);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("Engine.poll returns after timeoutMs when nothing falls due", async () => {
  const { engine, clock } = manualEngine();
  engine.defer(5000, () => {});
  const poll = engine.poll(100);
  clock.advance(100);
  await poll;
  assert.equal(engine.now(), 100);
});

Deno.test("Engine.poll(Infinity) returns at once when there is no work", async () => {
  const { engine } = manualEngine();
  await engine.poll(Infinity);
  assert.equal(engine.running, false);
});

Deno.test("Engine.poll ends its wait when work is queued", async () => {
  const { engine } = manualEngine();
  const channel = fakeChannel(engine, "stream");
  const log: string[] = [];
  const poll = engine.poll(Infinity);
  engine.whenRunning(() => log.push("queued"));
  await poll;
  assert.deepEqual(log, ["queued"]);
  engine.detach(channel);
});

Deno.test("Engine.running is true from start() to the end of stop() and during poll()", async () => {
  const { engine } = manualEngine();
  let duringPoll: boolean | undefined;
  engine.callback(() => duringPoll = engine.running);
  assert.equal(engine.running, false);
  await engine.poll();
  assert.equal(duringPoll, true);
  assert.equal(engine.running, false);
  fakeChannel(engine, "stream");
  const started = engine.start();
  assert.equal(engine.running, true);
  const stopped = engine.stop();
  assert.equal(engine.running, true);
  await stopped;
  assert.equal(engine.running, false);
  await started;
});

Deno.test("Engine.stop cancels timers, closes servers, then flushes other channels", async () => {
  const { engine } = manualEngine();
  const order: string[] = [];
  const stream = fakeChannel(engine, "stream", "any", () => order.push("stream onClose"));
  const server = fakeChannel(engine, "server", "any", () => order.push("server onClose"));
  const datagram = fakeChannel(engine, "datagram");
  const timer = engine.cycle(10, () => {});
  const started = engine.start();
  await engine.stop();
  await started;
  assert.equal(timer.active, false);
  assert.deepEqual(server.closes, [undefined]);
  assert.deepEqual(stream.closes, [{ flush: true }]);
  assert.deepEqual(datagram.closes, [{ flush: true }]);
  assert.deepEqual(order, ["server onClose", "stream onClose"]);
  assert.equal(engine.channelCount, 0);
});

Deno.test("Engine.stop closes channels without flushing once the grace period ends", async () => {
  const { engine, clock } = manualEngine(100);
  let notified = false;
  const stuck = fakeChannel(engine, "stream", "forced", () => notified = true);
  const started = engine.start();
  let stopped = false;
  const stopping = engine.stop().then(() => stopped = true);
  assert.deepEqual(stuck.closes, [{ flush: true }]);
  clock.advance(99);
  await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(stopped, false);
  assert.equal(engine.channelCount, 1);
  clock.advance(1);
  await stopping;
  await started;
  assert.deepEqual(stuck.closes, [{ flush: true }, { flush: false }]);
  assert.equal(notified, true);
  assert.equal(engine.channelCount, 0);
});

Deno.test("Engine.stop asks channels attached while stopping to close", async () => {
  const { engine, clock } = manualEngine(100);
  const stuck = fakeChannel(engine, "stream", "forced");
  const stopping = engine.stop();
  const late = fakeChannel(engine, "stream");
  await until(() => late.closes.length > 0, "the late channel's close");
  assert.deepEqual(late.closes, [{ flush: true }]);
  clock.advance(100);
  await stopping;
  assert.equal(stuck.closes.length, 2);
});

Deno.test("Engine.start may be called again after stop()", async () => {
  const engine = new Engine();
  fakeChannel(engine, "server");
  const first = engine.start();
  await engine.stop();
  await first;
  const log: string[] = [];
  engine.callback(() => log.push("again"));
  await engine.start();
  assert.deepEqual(log, ["again"]);
});

Deno.test("Engine.stop called from a timer stops the running engine", async () => {
  const engine = new Engine();
  fakeChannel(engine, "server");
  let later = false;
  engine.cycle(1, () => engine.stop());
  engine.defer(60_000, () => later = true);
  await engine.start();
  assert.equal(later, false);
  assert.equal(engine.channelCount, 0);
});

Deno.test("Engine.stop returns the same promise while stopping", async () => {
  const engine = new Engine();
  fakeChannel(engine, "stream");
  const first = engine.stop();
  assert.equal(engine.stop(), first);
  await first;
});

Deno.test("Engine.stop rejects during a poll", async () => {
  const { engine, clock } = manualEngine();
  engine.defer(10, () => {});
  const poll = engine.poll(10);
  await assert.rejects(() => engine.stop(), { message: /during poll/ });
  clock.advance(10);
  await poll;
});

Deno.test("Engine.attach and detach count channels by kind, idempotently", () => {
  const { engine } = manualEngine();
  const a = fakeChannel(engine, "stream");
  const b = fakeChannel(engine, "stream");
  const server = fakeChannel(engine, "server");
  engine.attach(a);
  assert.equal(engine.channelCount, 3);
  assert.deepEqual(engine.counts(), { stream: 2, server: 1, datagram: 0 });
  engine.detach(server);
  engine.detach(server);
  assert.deepEqual(engine.counts(), { stream: 2, server: 0, datagram: 0 });
  engine.detach(a);
  engine.detach(b); // none left: no "never started" warning when the test process exits
});

Deno.test("Engine runs queued work when started, not before", async () => {
  const engine = new Engine();
  const log: string[] = [];
  engine.whenRunning(() => log.push("listen"));
  engine.callback(() => log.push("callback"));
  await new Promise((resolve) => setTimeout(resolve, 1));
  assert.deepEqual(log, []);
  await engine.start();
  assert.deepEqual(log, ["listen", "callback"]);
});

Deno.test("Engine loop iterations yield to other tasks", async () => {
  const engine = new Engine();
  let iterations = 0;
  let taskRan = false;
  const loop = engine.loop(() => {
    if (taskRan || ++iterations >= 1_000_000) loop.cancel();
  });
  setTimeout(() => taskRan = true, 2);
  await engine.start();
  assert.equal(taskRan, true);
  assert.ok(iterations < 1_000_000, `${iterations} iterations before the task ran`);
});

Deno.test("Engine host timer fires a defer on time", async () => {
  const engine = new Engine();
  const start = performance.now();
  let firedAt = 0;
  engine.defer(30, () => firedAt = performance.now());
  await engine.start();
  const elapsed = firedAt - start;
  assert.ok(elapsed >= 30, `fired early, after ${elapsed} ms`);
  assert.ok(elapsed < 30 + 50, `fired ${elapsed - 30} ms late`);
});

Deno.test("Engine.instance returns the default engine", () => {
  assert.equal(Engine.instance(), defaultEngine);
  assert.equal(Engine.instance(), Engine.instance());
});

Deno.test("ManualClock.advance fires timers in due order with now() at their due time", () => {
  const clock = new ManualClock(5);
  const seen: [string, number][] = [];
  clock.setTimer(() => seen.push(["b", clock.now()]), 20);
  clock.setTimer(() => seen.push(["a", clock.now()]), 10);
  const cleared = clock.setTimer(() => seen.push(["x", clock.now()]), 10);
  clock.clearTimer(cleared);
  clock.advance(30);
  assert.deepEqual(seen, [["a", 15], ["b", 25]]);
  assert.equal(clock.now(), 35);
  assert.throws(() => clock.advance(-1), RangeError);
});
