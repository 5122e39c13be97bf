import assert from "node:assert/strict";
import { TimerRing } from "../engine/timer_ring.ts";
import { PAGE_RECORDS, pageOf, slotOf } from "../engine/_timer_pages.ts";
import type { Timer } from "../engine/timer.ts";
import { prng } from "./_helpers.ts";

const fail = (err: unknown): never => {
  throw err;
};

Deno.test("TimerRing fires timers in deadline order, ties in scheduling order", () => {
  const ring = new TimerRing({ slots: 32 });
  const log: string[] = [];
  for (const [due, name] of [[30, "a"], [10, "b"], [20, "c"], [10, "d"], [0, "e"]] as const) {
    ring.defer(due, 0, () => log.push(name));
  }
  ring.runDue(100, fail);
  assert.deepEqual(log, ["e", "b", "d", "c", "a"]);
});

Deno.test("TimerRing fires delays longer than the ring in later rounds, in order", () => {
  const ring = new TimerRing({ slots: 32 });
  const log: number[] = [];
  // 5, 37, 69 share slot 5; 100 and 4 differ.
  for (const due of [69, 37, 100, 5, 4]) ring.defer(due, 0, () => log.push(due));
  ring.runDue(36, fail);
  assert.deepEqual(log, [4, 5]);
  ring.runDue(68, fail);
  assert.deepEqual(log, [4, 5, 37]);
  ring.runDue(1000, fail);
  assert.deepEqual(log, [4, 5, 37, 69, 100]);
});

Deno.test("TimerRing never fires a timer before its deadline", () => {
  const ring = new TimerRing();
  let fired = false;
  ring.defer(10.2, 0, () => fired = true);
  ring.runDue(10.9, fail);
  assert.equal(fired, false);
  assert.equal(ring.nextDue(), 11);
  ring.runDue(11, fail);
  assert.equal(fired, true);
});

Deno.test("TimerRing.nextDue returns the earliest pending tick or Infinity", () => {
  const ring = new TimerRing({ slots: 64 });
  assert.equal(ring.nextDue(), Infinity);
  const late = ring.defer(1000, 0, () => {});
  assert.equal(ring.nextDue(), 1000);
  const early = ring.defer(7.5, 0, () => {});
  assert.equal(ring.nextDue(), 8);
  early.cancel();
  ring.runDue(8, fail); // the stale lower bound is dropped on the next run
  assert.equal(ring.nextDue(), 1000);
  late.cancel();
  assert.equal(ring.nextDue(), Infinity);
});

Deno.test("TimerRing.cancelTimer removes a timer and empties its slot", () => {
  const ring = new TimerRing({ slots: 32 });
  let fired = 0;
  const timers = [3, 3, 35].map((due) => ring.defer(due, 0, () => fired++));
  for (const t of timers) t.cancel();
  assert.equal(ring.timerCount, 0);
  assert.equal(ring.size, 0);
  assert.equal(ring.runDue(100, fail), 0);
  assert.equal(fired, 0);
});

Deno.test("TimerRing.onTimersEmpty runs when a cancel leaves no defer or cycle timer", () => {
  const ring = new TimerRing();
  let calls = 0;
  ring.onTimersEmpty = () => calls++;
  const a = ring.defer(5, 0, () => {});
  const b = ring.defer(5, 5, () => {});
  a.cancel();
  assert.equal(calls, 0);
  b.cancel();
  assert.equal(calls, 1);
});

Deno.test("TimerRing reuses records without reviving stale handles", () => {
  const ring = new TimerRing();
  const first = ring.defer(5, 0, () => {});
  first.cancel();
  let fired = false;
  const second = ring.defer(5, 0, () => fired = true); // reuses record 0
  assert.equal(first.active, false);
  first.cancel(); // must not cancel `second`
  assert.equal(second.active, true);
  ring.runDue(5, fail);
  assert.equal(fired, true);
});

Deno.test("TimerRing keeps a fired timer's handle from cancelling the timer that reuses its record", () => {
  const ring = new TimerRing();
  const first = ring.defer(5, 0, () => {});
  ring.runDue(5, fail); // fires: record 0 is free again
  let fired = false;
  const second = ring.defer(10, 0, () => fired = true); // reuses record 0
  first.cancel(); // stale: must not cancel `second`
  assert.equal(first.active, false);
  assert.equal(second.active, true);
  ring.runDue(10, fail);
  assert.equal(fired, true);
});

Deno.test("TimerRing keeps a cancelled cycle's handle from cancelling the cycle that reuses its record", () => {
  const ring = new TimerRing();
  const first = ring.defer(5, 5, () => {});
  first.cancel();
  let runs = 0;
  const second = ring.defer(5, 5, () => runs++); // reuses record 0
  first.cancel();
  ring.runDue(5, fail);
  ring.runDue(10, fail);
  assert.equal(runs, 2);
  assert.equal(second.active, true);
});

Deno.test("TimerRing.runDue leaves timers added during the run for a later run", () => {
  const ring = new TimerRing();
  const log: string[] = [];
  ring.defer(1, 0, () => {
    log.push("first");
    ring.defer(0, 0, () => log.push("added"));
  });
  ring.runDue(10, fail);
  assert.deepEqual(log, ["first"]);
  ring.runDue(11, fail);
  assert.deepEqual(log, ["first", "added"]);
});

Deno.test("TimerRing.runDue lets a timer cancel a later one due in the same run", () => {
  const ring = new TimerRing();
  const log: string[] = [];
  ring.defer(1, 0, () => {
    log.push("a");
    later.cancel();
  });
  ring.defer(1, 0, () => log.push("b"));
  const later = ring.defer(1, 0, () => log.push("c"));
  ring.defer(2, 0, () => log.push("d"));
  ring.runDue(5, fail);
  assert.deepEqual(log, ["a", "b", "d"]);
});

Deno.test("TimerRing cycle timers re-arm from their previous deadline and skip missed periods", () => {
  const ring = new TimerRing();
  const at: number[] = [];
  let now = 0;
  ring.defer(10, 10, () => at.push(now));
  for (now of [13, 20, 24, 65, 70]) ring.runDue(now, fail);
  // 13 fires the 10 deadline; 20 the 20 one (no drift from the late 13);
  // 65 fires once for 30..60 and skips to 70.
  assert.deepEqual(at, [13, 20, 65, 70]);
});

Deno.test("TimerRing.runCallbacks runs only callbacks scheduled before the limit", () => {
  const ring = new TimerRing();
  const log: number[] = [];
  ring.callback(() => {
    log.push(1);
    ring.callback(() => log.push(3));
  });
  ring.callback([(x) => log.push(x as number), 2]);
  ring.runCallbacks(ring.seq, fail);
  assert.deepEqual(log, [1, 2]);
  ring.runCallbacks(ring.seq, fail);
  assert.deepEqual(log, [1, 2, 3]);
  assert.equal(ring.callbackCount, 0);
});

Deno.test("TimerRing.runLoops survives loops cancelling themselves and each other", () => {
  const ring = new TimerRing();
  const log: string[] = [];
  const timers: Timer[] = [];
  timers.push(ring.loop(() => {
    log.push("a");
    timers[0]!.cancel();
    timers[1]!.cancel();
    ring.loop(() => log.push("new"));
  }));
  timers.push(ring.loop(() => log.push("b")));
  timers.push(ring.loop(() => log.push("c")));
  ring.runLoops(ring.seq, fail); // the loop added by "a" is after the limit
  assert.deepEqual(log, ["a", "c"]);
  ring.runLoops(ring.seq, fail);
  assert.deepEqual(log, ["a", "c", "c", "new"]);
  assert.equal(ring.loopCount, 2);
});

Deno.test("TimerRing reports exceptions and carries on", () => {
  const ring = new TimerRing();
  const errors: unknown[] = [];
  let after = false;
  ring.defer(1, 0, function boom() {
    throw new Error("boom");
  });
  ring.defer(1, 0, () => after = true);
  ring.runDue(1, (err) => errors.push(err));
  assert.equal(errors.length, 1);
  assert.equal(after, true);
});

Deno.test("TimerRing.cancelAll deactivates every handle", () => {
  const ring = new TimerRing();
  const timers = [
    ring.defer(5, 0, () => {}),
    ring.defer(5, 5, () => {}),
    ring.callback(() => {}),
    ring.loop(() => {}),
  ];
  ring.cancelAll();
  assert.deepEqual(timers.map((t) => t.active), [false, false, false, false]);
  assert.equal(ring.size, 0);
  assert.equal(ring.nextDue(), Infinity);
});

Deno.test("TimerRing rejects slot counts that are not powers of two in range", () => {
  for (const slots of [0, 16, 48, 1.5, 1 << 21]) {
    assert.throws(() => new TimerRing({ slots }), RangeError);
  }
});

for (const slots of [32, 1024, 4096, 65536]) {
  Deno.test(`TimerRing matches a reference model under random use (${slots} slots)`, () => {
    const random = prng(slots);
    const ring = new TimerRing({ slots, start: 1000 });
    // Reference: every pending timer with its tick and insertion order.
    interface Entry {
      name: number;
      tick: number;
      order: number;
      period: number;
      due: number;
      timer?: Timer;
    }
    const pending = new Map<number, Entry>();
    let order = 0;
    let cursor = 999;
    let now = 1000;
    let name = 0;
    const fired: number[] = [];
    const expected: number[] = [];
    const add = () => {
      const delay = random() < 0.2 ? random() * slots * 5 : random() * 50;
      const period = random() < 0.1 ? 1 + random() * 40 : 0;
      const entry: Entry = { name: name++, tick: 0, order: 0, period, due: now + delay };
      entry.tick = Math.max(Math.ceil(entry.due), cursor + 1);
      entry.order = order++;
      entry.timer = ring.defer(entry.due, period, () => fired.push(entry.name));
      pending.set(entry.name, entry);
    };
    for (let step = 0; step < 3000; step++) {
      const r = random();
      if (r < 0.6) add();
      else if (r < 0.75 && pending.size > 0) {
        const keys = [...pending.keys()];
        const victim = pending.get(keys[Math.floor(random() * keys.length)]!)!;
        victim.timer!.cancel();
        pending.delete(victim.name);
      } else {
        now += random() < 0.1 ? random() * slots * 3 : random() * 20;
        const target = Math.floor(now);
        // Reference run: fire by (tick, order); cycles re-insert after target.
        for (;;) {
          let best: Entry | undefined;
          for (const e of pending.values()) {
            if (
              e.tick <= target &&
              (!best || e.tick < best.tick || (e.tick === best.tick && e.order < best.order))
            ) best = e;
          }
          if (!best) break;
          expected.push(best.name);
          if (best.period > 0) {
            let next = best.due + best.period;
            if (next <= now) next += best.period * Math.floor((now - next) / best.period + 1);
            best.due = next;
            best.tick = Math.max(Math.ceil(next), target + 1);
            best.order = order++;
          } else {
            pending.delete(best.name);
          }
        }
        cursor = target;
        ring.runDue(now, fail);
        assert.deepEqual(fired, expected, `diverged at step ${step}`);
        let min = Infinity;
        for (const e of pending.values()) min = Math.min(min, e.tick);
        assert.ok(ring.nextDue() <= min, "nextDue is a lower bound");
      }
      assert.equal(ring.timerCount, pending.size);
    }
    assert.ok(fired.length > 500, `only ${fired.length} timers fired`);
  });
}

// --- pages (engine/_timer_pages.ts): 4,096 records each ---

const PAGE = 4096;

Deno.test("pageOf and slotOf number records consecutively through pages of 4,096", () => {
  let page = 0;
  let slot = 0;
  for (let id = 0; id < PAGE * 300; id++) {
    if (slot === PAGE) {
      page++;
      slot = 0;
    }
    if (pageOf(id) !== page || slotOf(id) !== slot) {
      assert.fail(`record ${id}: page ${pageOf(id)} slot ${slotOf(id)}, expected ${page} ${slot}`);
    }
    slot++;
  }
  assert.equal(PAGE_RECORDS, PAGE);
});

Deno.test("TimerRing adds a page of 4,096 records when every record is in use", () => {
  const ring = new TimerRing({ slots: 32 });
  assert.equal(ring.capacity, 0); // no page before the first timer
  const timers: Timer[] = [];
  for (let i = 0; i < PAGE; i++) timers.push(ring.defer(10, 0, () => {}));
  assert.equal(ring.capacity, PAGE);
  timers.push(ring.defer(10, 0, () => {}));
  assert.equal(ring.capacity, 2 * PAGE);
  for (let i = 0; i < PAGE; i++) timers.push(ring.defer(10, 0, () => {}));
  assert.equal(ring.capacity, 3 * PAGE);
  assert.ok(timers.every((timer) => timer.active));
});

Deno.test("TimerRing fires timers spread over four pages in deadline order, ties in scheduling order", () => {
  const ring = new TimerRing({ slots: 32 });
  const count = 3 * PAGE + 100; // into page 3
  const log: number[] = [];
  // Deadlines run backwards with the record numbers, in pairs of equal deadlines.
  for (let i = 0; i < count; i++) ring.defer(count - (i >> 1), 0, () => log.push(i));
  ring.runDue(count + 1, fail);
  const expected = Array.from({ length: count }, (_, i) => i)
    .sort((a, b) => (b >> 1) - (a >> 1) || a - b);
  assert.deepEqual(log, expected);
  assert.equal(ring.timerCount, 0);
});

Deno.test("TimerRing cancels timers at page boundaries without breaking the list they share", () => {
  const ring = new TimerRing({ slots: 32 });
  const count = 2 * PAGE + 10;
  const log: number[] = [];
  // One deadline: all in one slot's list, linked across pages 0, 1 and 2.
  const timers = Array.from({ length: count }, (_, i) => ring.defer(50, 0, () => log.push(i)));
  const cancelled = new Set([0, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE - 1, 2 * PAGE, count - 1]);
  for (const i of cancelled) timers[i]!.cancel();
  for (const i of cancelled) assert.equal(timers[i]!.active, false, `timer ${i}`);
  assert.equal(ring.timerCount, count - cancelled.size);
  ring.runDue(50, fail);
  assert.deepEqual(
    log,
    Array.from({ length: count }, (_, i) => i).filter((i) => !cancelled.has(i)),
  );
});

Deno.test("TimerRing reuses freed records on a grown page before adding a page, without reviving stale handles", () => {
  const ring = new TimerRing({ slots: 32 });
  const old = Array.from({ length: 2 * PAGE }, () => ring.defer(10, 0, () => {}));
  assert.equal(ring.capacity, 2 * PAGE);
  // Free 500 records on page 1.
  const freed = old.slice(PAGE + 1500, PAGE + 2000);
  for (const timer of freed) timer.cancel();
  const fired: number[] = [];
  const reused = Array.from({ length: 500 }, (_, i) => ring.defer(20, 0, () => fired.push(i)));
  assert.equal(ring.capacity, 2 * PAGE, "no page added while freed records remain");
  assert.ok(freed.every((timer) => !timer.active), "a freed record's old handle stays inactive");
  for (const timer of freed) timer.cancel(); // a stale cancel must not touch the new timer
  assert.ok(reused.every((timer) => timer.active));
  ring.runDue(10, fail);
  ring.runDue(20, fail);
  assert.deepEqual(fired, Array.from({ length: 500 }, (_, i) => i));
  assert.equal(ring.size, 0);
});

Deno.test("TimerRing calls each timer's own function across call pages of 65,536 records", () => {
  const ring = new TimerRing({ slots: 32 });
  const count = 65_536 * 2 + 3;
  const seen = new Int32Array(count);
  for (let i = 0; i < count; i++) ring.defer(10, 0, [(n) => seen[n as number]! += 1, i]);
  ring.runDue(10, fail);
  assert.ok(seen.every((n) => n === 1), "every timer ran once, with its own argument");
});

Deno.test("TimerRing restarts from record 0 once every timer is gone, keeping its pages", () => {
  const ring = new TimerRing({ slots: 32 });
  const first = Array.from({ length: 2 * PAGE + 5 }, () => ring.defer(10, 0, () => {}));
  const capacity = ring.capacity;
  for (const timer of first) timer.cancel();
  let fired = 0;
  for (let i = 0; i < first.length; i++) ring.defer(10, 0, () => fired++);
  assert.equal(ring.capacity, capacity);
  assert.ok(first.every((timer) => !timer.active));
  ring.runDue(10, fail);
  assert.equal(fired, first.length);
});

Deno.test("TimerRing fires the rest of a slot after a timer's function made it add a page", () => {
  const ring = new TimerRing({ slots: 32 });
  const log: string[] = [];
  ring.defer(10, 0, () => {
    log.push("first");
    for (let i = 0; i < PAGE; i++) ring.defer(1000, 0, () => {});
  });
  ring.defer(10, 0, () => log.push("second"));
  ring.defer(42, 0, () => log.push("same slot, later round")); // 42 & 31 = 10
  assert.equal(ring.capacity, PAGE);
  ring.runDue(10, fail);
  assert.equal(ring.capacity, 2 * PAGE);
  assert.deepEqual(log, ["first", "second"]);
  ring.runDue(42, fail);
  assert.deepEqual(log, ["first", "second", "same slot, later round"]);
});
