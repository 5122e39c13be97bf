/**
 * The hashed timing ring that holds every timer of one engine.
 *
 * Internal to the engine (exported for its tests, not from `mod.ts`).
 *
 * Layout: timer state lives in `Float64Array` pages, five numbers (40
 * bytes) per record: list links, list, sequence number, slot tick. What
 * each timer calls sits in plain arrays of 65,536 entries by record number: the
 * function itself, an array of the function and its arguments, or for a
 * `cycle` a `Cycle` holding that and its exact deadline and period
 * (`_timer_call.ts`). Pages of 4,096 records are added, never copied
 * (`_timer_pages.ts`).
 * Scheduling therefore allocates nothing but the returned {@linkcode Timer}
 * handle (and the call array when there are arguments, a `Cycle` for a
 * `cycle`), plus a page
 * each time the records in use pass a multiple of 4,096 they never reached
 * before. Freed records are reused from a free list. Records sit on intrusive doubly
 * linked lists:
 *
 * - lists `0 .. slots-1`: the ring slots. A `defer`/`cycle` timer due at
 *   millisecond tick `t` sits in slot `t & (slots - 1)`, whatever its round;
 *   a visit fires only the entries whose tick has come (overflow rounds).
 * - list `slots`: `callback` timers in scheduling order.
 * - list `slots + 1`: `loop` timers in scheduling order.
 *
 * An occupancy bitmask (one bit per slot, plus a summary bit per 32-slot
 * word; `_slot_bitmask.ts`) finds the next non-empty slot without scanning
 * empty ones, and `slotMin` keeps a lower bound of each slot's earliest
 * tick so the next due time is found without walking lists. A record's
 * identity is its unique sequence number, so a stale handle can never touch
 * a reused record.
 *
 * @module
 */

import { createTimer, type Timer, type TimerOwner } from "./timer.ts";
import { SlotBitmask } from "./_slot_bitmask.ts";
import { callPageOf, callSlotOf, pageOf, slotOf, STRIDE, TimerPages } from "./_timer_pages.ts";
import { Cycle, fnOf, invoke, type TimerCall } from "./_timer_call.ts";

/** Reports an exception thrown by a timer's function. */
export type TimerErrorReporter = (err: unknown, fn: (...args: never[]) => unknown) => void;

const NIL = -1;
const FREE = -2;

// Record fields (offsets in a record's five numbers, `STRIDE`).
const NEXT = 0;
const PREV = 1;
const LIST = 2;
const SEQ = 3; // unique per timer; 0 when free
const TICK = 4; // slot tick: the deadline rounded up, never at or before the cursor

/** Options for {@linkcode TimerRing}. */
export interface TimerRingOptions {
  /**
   * Number of one-millisecond slots; a power of two from 32 to 1,048,576.
   * Longer delays wrap around in rounds.
   *
   * @default {4096}
   */
  slots?: number;
  /**
   * The time (ms) the ring starts at: timers are due at `start` or later.
   *
   * @default {0}
   */
  start?: number;
}

/**
 * One engine's timers: a hashed timing ring of millisecond slots for
 * `defer`/`cycle`, and FIFO lists for `callback` and `loop`. Schedule and
 * cancel are O(1).
 *
 * Deadlines are rounded up to whole milliseconds (ticks); timers due in the
 * same tick fire in scheduling order; a timer never fires before its
 * deadline.
 *
 * @example Usage
 * ```ts
 * import { TimerRing } from "./timer_ring.ts";
 *
 * const ring = new TimerRing();
 * ring.defer(10, 0, () => console.log("due"));
 * ring.runDue(10, (err) => console.error(err)); // logs "due"
 * ```
 */
export class TimerRing implements TimerOwner {
  #slots: number;
  #mask: number;
  #callbackList: number;
  #loopList: number;
  #head: Int32Array;
  #tail: Int32Array;
  #slotMin: Float64Array;
  #occupied: SlotBitmask;

  // Records: numbers at entry `slotOf(id)` of page `pageOf(id)`; the call at
  // entry `callSlotOf(id)` of call page `callPageOf(id)`.
  #used = 0;
  #free = NIL;
  #live = 0;
  readonly #pages = new TimerPages<TimerCall | Cycle>();
  readonly #recPages: Float64Array[] = this.#pages.nums;
  readonly #calls: (TimerCall | Cycle | undefined)[][] = this.#pages.calls;

  #seq = 1;
  #cursor: number;
  #timerCount = 0;
  #callbackCount = 0;
  #loopCount = 0;
  #nextDue = Infinity;
  #nextDueValid = true;
  /** The record a list walk visits next; cancel() moves it past a removed record. */
  #iterNext = NIL;

  /**
   * Called when a cancel leaves no `defer`/`cycle` timer, so the owner can
   * disarm its host timer.
   */
  onTimersEmpty: (() => void) | null = null;

  /**
   * Makes an empty ring.
   *
   * @param options Slot count and start time.
   */
  constructor(options: TimerRingOptions = {}) {
    const slots = options.slots ?? 4096;
    if (!Number.isInteger(slots) || slots < 32 || slots > 1 << 20 || (slots & (slots - 1)) !== 0) {
      throw new RangeError(
        `Invalid slot count "${slots}": pass a power of two from 32 to 1048576`,
      );
    }
    const start = options.start ?? 0;
    if (!Number.isFinite(start)) {
      throw new RangeError(`Invalid start time "${start}": pass a finite number of milliseconds`);
    }
    this.#slots = slots;
    this.#mask = slots - 1;
    this.#callbackList = slots;
    this.#loopList = slots + 1;
    this.#head = new Int32Array(slots + 2).fill(NIL);
    this.#tail = new Int32Array(slots + 2).fill(NIL);
    this.#slotMin = new Float64Array(slots).fill(Infinity);
    this.#occupied = new SlotBitmask(slots);
    this.#cursor = Math.floor(start) - 1;
  }

  /**
   * Pending `defer` and `cycle` timers.
   *
   * @returns The count.
   */
  get timerCount(): number {
    return this.#timerCount;
  }

  /**
   * Pending `callback` timers.
   *
   * @returns The count.
   */
  get callbackCount(): number {
    return this.#callbackCount;
  }

  /**
   * Active `loop` timers.
   *
   * @returns The count.
   */
  get loopCount(): number {
    return this.#loopCount;
  }

  /**
   * All pending timers of every kind.
   *
   * @returns The count.
   */
  get size(): number {
    return this.#live;
  }

  /**
   * Records the ring's pages hold: it grows by a page (4,096 records) when
   * every record is in use, and never shrinks.
   *
   * @returns The record capacity.
   */
  get capacity(): number {
    return this.#pages.capacity;
  }

  /**
   * The sequence number the next timer will get; timers scheduled from now on
   * compare `>=` it. Used to snapshot "scheduled before this iteration".
   *
   * @returns The next sequence number.
   */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Queues a `callback` timer (runs once, in scheduling order).
   *
   * @param call The function, or an array of it and its arguments (kept, not copied).
   * @returns The handle.
   */
  callback(call: TimerCall): Timer {
    const id = this.#alloc(call);
    this.#append(this.#callbackList, id, this.#recPages[pageOf(id)]!, slotOf(id) * STRIDE);
    this.#callbackCount++;
    return createTimer(this, id, this.#seq - 1);
  }

  /**
   * Adds a `loop` timer (runs once per iteration until cancelled).
   *
   * @param call The function, or an array of it and its arguments (kept, not copied).
   * @returns The handle.
   */
  loop(call: TimerCall): Timer {
    const id = this.#alloc(call);
    this.#append(this.#loopList, id, this.#recPages[pageOf(id)]!, slotOf(id) * STRIDE);
    this.#loopCount++;
    return createTimer(this, id, this.#seq - 1);
  }

  /**
   * Adds a `defer` (`period === 0`) or `cycle` (`period > 0`) timer due at
   * time `due` (ms, absolute).
   *
   * @param due The deadline in milliseconds on the ring's clock.
   * @param period `0` for one-shot, else the fixed-rate period in ms.
   * @param call The function, or an array of it and its arguments (kept, not copied).
   * @returns The handle.
   */
  defer(due: number, period: number, call: TimerCall): Timer {
    const id = this.#alloc(period > 0 ? new Cycle(call, due, period) : call);
    const rec = this.#recPages[pageOf(id)]!;
    const base = slotOf(id) * STRIDE;
    rec[base + TICK] = due;
    this.#insert(id, rec, base);
    this.#timerCount++;
    return createTimer(this, id, this.#seq - 1);
  }

  /**
   * The tick (ms) at which the earliest `defer`/`cycle` timer is due, or
   * `Infinity` if there is none. It may be earlier than the true deadline
   * after cancels (a lower bound), never later.
   *
   * @returns The time to arm the host timer for.
   */
  nextDue(): number {
    if (!this.#nextDueValid) {
      this.#nextDue = this.#timerCount === 0 ? Infinity : this.#findDue(this.#cursor);
      this.#nextDueValid = true;
    }
    return this.#nextDue;
  }

  /**
   * Runs the `callback` timers scheduled before sequence number `limit`, in
   * scheduling order.
   *
   * @param limit Only timers with a smaller sequence number run.
   * @param report Receives exceptions thrown by the functions.
   */
  runCallbacks(limit: number, report: TimerErrorReporter): void {
    const list = this.#callbackList;
    let id: number;
    while ((id = this.#head[list]!) !== NIL && this.#field(id, SEQ) < limit) {
      const rec = this.#recPages[pageOf(id)]!;
      const base = slotOf(id) * STRIDE;
      this.#unlink(rec, base);
      this.#callbackCount--;
      const call = this.#calls[callPageOf(id)]![callSlotOf(id)] as TimerCall;
      this.#release(id, rec, base);
      try {
        invoke(call);
      } catch (err) {
        report(err, fnOf(call));
      }
    }
  }

  /**
   * Runs each `loop` timer added before sequence number `limit` once, in
   * scheduling order.
   *
   * @param limit Only timers with a smaller sequence number run.
   * @param report Receives exceptions thrown by the functions.
   */
  runLoops(limit: number, report: TimerErrorReporter): void {
    let id = this.#head[this.#loopList]!;
    while (id !== NIL && this.#field(id, SEQ) < limit) {
      this.#iterNext = this.#field(id, NEXT);
      const call = this.#calls[callPageOf(id)]![callSlotOf(id)] as TimerCall;
      try {
        invoke(call);
      } catch (err) {
        report(err, fnOf(call));
      }
      id = this.#iterNext;
    }
    this.#iterNext = NIL;
  }

  /**
   * Fires every `defer`/`cycle` timer due at or before `now`, in deadline
   * order (ties in scheduling order). `cycle` timers re-arm before their
   * function runs, at their previous deadline plus the period; periods
   * already missed by `now` are skipped. Timers added while this runs fire
   * in a later call at the earliest.
   *
   * @param now The current time in milliseconds.
   * @param report Receives exceptions thrown by the functions.
   * @returns The number of timers fired.
   */
  runDue(now: number, report: TimerErrorReporter): number {
    const target = Math.floor(now);
    if (target <= this.#cursor) return 0;
    let from = this.#cursor;
    this.#cursor = target; // later inserts land after this run
    this.#nextDueValid = false;
    let fired = 0;
    while (this.#timerCount > 0) {
      const t = this.#findDue(from);
      if (t > target) break;
      fired += this.#fireSlot(t, now, report);
      from = t;
    }
    return fired;
  }

  /** Cancels every pending timer; every handle becomes inactive. */
  cancelAll(): void {
    for (let id = 0; id < this.#used; id++) {
      const rec = this.#recPages[pageOf(id)]!;
      const base = slotOf(id) * STRIDE;
      if (rec[base + LIST] !== FREE) {
        rec[base + LIST] = FREE;
        rec[base + SEQ] = 0;
        this.#calls[callPageOf(id)]![callSlotOf(id)] = undefined;
      }
    }
    this.#head.fill(NIL);
    this.#tail.fill(NIL);
    this.#slotMin.fill(Infinity);
    this.#occupied.clearAll();
    this.#used = 0;
    this.#free = NIL;
    this.#live = 0;
    this.#timerCount = 0;
    this.#callbackCount = 0;
    this.#loopCount = 0;
    this.#nextDue = Infinity;
    this.#nextDueValid = true;
    this.#iterNext = NIL;
  }

  /**
   * Whether record `id` is still the pending timer numbered `seq`.
   *
   * @param id The record index.
   * @param seq The timer's sequence number.
   * @returns `true` while pending.
   */
  isTimerActive(id: number, seq: number): boolean {
    return id < this.#used && this.#field(id, SEQ) === seq;
  }

  /**
   * Cancels record `id` if it is still the timer numbered `seq`; otherwise
   * does nothing.
   *
   * @param id The record index.
   * @param seq The timer's sequence number.
   */
  cancelTimer(id: number, seq: number): void {
    if (id >= this.#used) return;
    const rec = this.#recPages[pageOf(id)]!;
    const base = slotOf(id) * STRIDE;
    if (rec[base + SEQ] !== seq) return;
    const list = rec[base + LIST]!;
    if (id === this.#iterNext) this.#iterNext = rec[base + NEXT]!;
    this.#unlink(rec, base);
    this.#release(id, rec, base);
    if (list < this.#slots) {
      if (this.#head[list] === NIL) this.#occupied.clear(list);
      if (--this.#timerCount === 0) {
        this.#nextDue = Infinity;
        this.#nextDueValid = true;
        this.onTimersEmpty?.();
      }
    } else if (list === this.#callbackList) {
      this.#callbackCount--;
    } else {
      this.#loopCount--;
    }
  }

  // --- records -------------------------------------------------------------

  /** Field `field` of record `id`. */
  #field(id: number, field: number): number {
    return this.#recPages[pageOf(id)]![(slotOf(id) * STRIDE) + field]!;
  }

  #alloc(call: TimerCall | Cycle): number {
    let id = this.#free;
    if (id !== NIL) {
      this.#free = this.#recPages[pageOf(id)]![(slotOf(id) * STRIDE) + NEXT]!;
    } else {
      if (this.#used === this.#pages.capacity) this.#pages.add();
      id = this.#used++;
    }
    this.#live++;
    this.#recPages[pageOf(id)]![(slotOf(id) * STRIDE) + SEQ] = this.#seq++;
    this.#calls[callPageOf(id)]![callSlotOf(id)] = call;
    return id;
  }

  /** Frees record `id` (`rec` is its page, `base` its first number there). */
  #release(id: number, rec: Float64Array, base: number): void {
    rec[base + LIST] = FREE;
    rec[base + SEQ] = 0;
    this.#calls[callPageOf(id)]![callSlotOf(id)] = undefined;
    if (--this.#live === 0) {
      // Everything is free: restart allocation from record 0 (sequence
      // numbers keep stale handles harmless). Pages stay for the next burst.
      this.#used = 0;
      this.#free = NIL;
    } else {
      rec[base + NEXT] = this.#free;
      this.#free = id;
    }
  }

  // --- lists ---------------------------------------------------------------

  // Record `id`'s page and the offset of its numbers there are passed along
  // (`rec`, `base`): each is looked up once per operation.

  #append(list: number, id: number, rec: Float64Array, base: number): void {
    const pages = this.#recPages;
    const tail = this.#tail[list]!;
    rec[base + LIST] = list;
    rec[base + NEXT] = NIL;
    rec[base + PREV] = tail;
    if (tail !== NIL) pages[pageOf(tail)]![(slotOf(tail) * STRIDE) + NEXT] = id;
    else this.#head[list] = id;
    this.#tail[list] = id;
  }

  #unlink(rec: Float64Array, base: number): void {
    const pages = this.#recPages;
    const list = rec[base + LIST]!;
    const prev = rec[base + PREV]!;
    const next = rec[base + NEXT]!;
    if (prev !== NIL) pages[pageOf(prev)]![(slotOf(prev) * STRIDE) + NEXT] = next;
    else this.#head[list] = next;
    if (next !== NIL) pages[pageOf(next)]![(slotOf(next) * STRIDE) + PREV] = prev;
    else this.#tail[list] = prev;
  }

  // --- ring ----------------------------------------------------------------

  /**
   * Puts record `id` in the slot of its deadline, which its `TICK` holds
   * (the exact time: rounded up here; a double passed as an argument to a
   * call that is not inlined would be boxed).
   */
  #insert(id: number, rec: Float64Array, base: number): void {
    let tick = Math.ceil(rec[base + TICK]!);
    if (tick <= this.#cursor) tick = this.#cursor + 1;
    rec[base + TICK] = tick;
    const slot = tick & this.#mask;
    if (this.#head[slot] === NIL) {
      this.#occupied.set(slot);
      this.#slotMin[slot] = tick;
    } else if (tick < this.#slotMin[slot]!) {
      this.#slotMin[slot] = tick;
    }
    this.#append(slot, id, rec, base);
    if (this.#nextDueValid && tick < this.#nextDue) this.#nextDue = tick;
  }

  /**
   * The earliest tick (a lower bound) over all slots, given that every entry
   * is due after tick `from`. Walks non-empty slots in ring order from
   * `from + 1` and stops once a slot's first possible tick passes the best
   * found so far.
   */
  #findDue(from: number): number {
    const start = (from + 1) & this.#mask;
    let best = Infinity;
    let slot = this.#occupied.find(start);
    while (slot !== NIL) {
      if (from + 1 + slot - start >= best) return best; // first tick > from in this slot
      const min = this.#slotMin[slot]!;
      if (min < best) best = min;
      slot = this.#occupied.find(slot + 1);
    }
    slot = this.#occupied.find(0);
    while (slot !== NIL && slot < start) {
      if (from + 1 + this.#slots - start + slot >= best) return best;
      const min = this.#slotMin[slot]!;
      if (min < best) best = min;
      slot = this.#occupied.find(slot + 1);
    }
    return best;
  }

  /**
   * Fires the entries of tick `t`'s slot that are due by `t`, in list
   * (scheduling) order, and recomputes the slot's lower bound: from the
   * entries left, plus (through `#insert`) any appended meanwhile. Entries
   * appended while this runs (new timers, re-armed cycles) are due after
   * this run's target tick, so they never fire here.
   */
  #fireSlot(t: number, now: number, report: TimerErrorReporter): number {
    const slot = t & this.#mask;
    const slotMin = this.#slotMin;
    slotMin[slot] = Infinity;
    let fired = 0;
    let id = this.#head[slot]!;
    while (id !== NIL) {
      const rec = this.#recPages[pageOf(id)]!;
      const base = slotOf(id) * STRIDE;
      this.#iterNext = rec[base + NEXT]!;
      const tick = rec[base + TICK]!;
      if (tick > t) {
        if (tick < slotMin[slot]!) slotMin[slot] = tick;
      } else {
        this.#unlink(rec, base);
        const stored = this.#calls[callPageOf(id)]![callSlotOf(id)]!;
        let call: TimerCall;
        if (stored instanceof Cycle) {
          call = stored.call;
          const period = stored.period;
          let next = stored.due + period;
          if (next <= now) next += period * Math.floor((now - next) / period + 1);
          stored.due = next;
          rec[base + TICK] = next;
          this.#insert(id, rec, base);
        } else {
          call = stored;
          this.#timerCount--;
          this.#release(id, rec, base);
        }
        fired++;
        try {
          invoke(call);
        } catch (err) {
          report(err, fnOf(call));
        }
      }
      id = this.#iterNext;
    }
    this.#iterNext = NIL;
    if (this.#head[slot] === NIL) this.#occupied.clear(slot);
    return fired;
  }
}
