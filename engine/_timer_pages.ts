/**
 * Where the timer ring keeps its records: fixed-size pages that are added,
 * never copied.
 *
 * A page holds 4,096 records; record `id` is entry `id & 4095` of page
 * `id >> 12`. Growing adds one page: the records already held stay where
 * they are, so a new engine scheduling a million timers allocates 245
 * pages instead of copying ever larger arrays (and touching each copy's
 * fresh memory). (Pages doubling in size, whose index takes a
 * `Math.clz32` where these take a shift and a mask, made a warm engine's
 * million timers about 15% slower.)
 *
 * A page is a `Float64Array` of five numbers per record (160 KiB, the
 * layout is in `timer_ring.ts`; the system hands its memory over lazily, so
 * an engine with a few timers touches a few KiB of it). Five, not eight:
 * what only a `cycle` needs (its exact deadline and period) lives in its
 * call (`_timer_call.ts`), and a new engine's first million then touches
 * 40 MB of pages instead of 64 MB (its first touch of each was a large
 * part of the time, and the pages' external memory brings on full
 * collections sooner).
 *
 * What the records call (the function, or an array of it and its
 * arguments) is in plain arrays of 65,536 entries (512 KiB, which V8 keeps
 * in its large-object space and never moves), one per 16 pages: record
 * `id` is entry `id & 65535` of call page `id >> 16`. Against one array
 * grown by appending, a warm engine's million timers took about 15% less
 * CPU time (medians of 12 alternating processes each, collector on one
 * thread for steadier figures) and a new engine's first million about the
 * same. (Two arrays, functions and arguments apart,
 * were about half of a new engine's first million; call pages of 4,096
 * entries made a warm engine about 40% slower, likely the collector moving
 * and marking hundreds of small arrays.)
 *
 * @module
 */

/** Record number bits of the index in a page. */
const PAGE_SHIFT = 12;
/** Record number bits of the index in a call page. */
const CALL_PAGE_SHIFT = 16;
const CALL_PAGE_MASK = (1 << CALL_PAGE_SHIFT) - 1;
/** Records of a page. */
export const PAGE_RECORDS: number = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE_RECORDS - 1;
/** Numbers per record. */
export const STRIDE = 5;
/** The most records the pages can hold (then `add` throws). */
export const MAX_RECORDS: number = 2 ** 31 - PAGE_RECORDS;

/**
 * The page holding record `id`.
 *
 * @param id The record number.
 * @returns The page index.
 */
export function pageOf(id: number): number {
  return id >> PAGE_SHIFT;
}

/**
 * Record `id`'s index in its page.
 *
 * @param id The record number.
 * @returns The index.
 */
export function slotOf(id: number): number {
  return id & PAGE_MASK;
}

/**
 * The call page holding record `id`'s call.
 *
 * @param id The record number.
 * @returns The call page index.
 */
export function callPageOf(id: number): number {
  return id >> CALL_PAGE_SHIFT;
}

/**
 * Record `id`'s index in its call page.
 *
 * @param id The record number.
 * @returns The index.
 */
export function callSlotOf(id: number): number {
  return id & CALL_PAGE_MASK;
}

/** The pages of one ring (`nums[k]` is page `k`), and its records' calls. */
export class TimerPages<C> {
  /** Each page's numbers, `STRIDE` per record. */
  readonly nums: Float64Array[] = [];
  /** The records' calls: call page `k` holds records `k << 16` to `(k << 16) + 65535`. */
  readonly calls: (C | undefined)[][] = [];
  /** Records the pages hold. */
  capacity = 0;

  /**
   * Adds a page.
   *
   * @throws {RangeError} Once `MAX_RECORDS` are held.
   */
  add(): void {
    if (this.capacity >= MAX_RECORDS) {
      throw new RangeError(
        `Cannot hold more than ${this.capacity} timers: cancel timers or let them fire first`,
      );
    }
    if ((this.capacity & CALL_PAGE_MASK) === 0) this.calls.push(new Array(CALL_PAGE_MASK + 1));
    this.nums.push(new Float64Array(PAGE_RECORDS * STRIDE));
    this.capacity += PAGE_RECORDS;
  }
}
