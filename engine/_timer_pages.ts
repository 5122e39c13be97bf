/**
 * Where the timer ring keeps its records: pages that are added, never
 * copied.
 *
 * Page 0 holds 1,024 records and each next page twice as many as the one
 * before, so record `id` is at index `id + 1024 - 2^k` of page `k = floor(log2(id
 * + 1024)) - 10` (one `Math.clz32`). Growing adds one page: the records
 * already held stay where they are, so a new engine scheduling a million
 * timers allocates ten pages instead of copying ever larger arrays (and
 * touching each copy's fresh memory); a small engine keeps one 64 KiB page.
 * Pages of 16,384 records and more are large enough for V8 to allocate
 * their function and argument arrays outside the young generation, so
 * scavenges do not copy them.
 *
 * A page is a `Float64Array` of eight numbers per record (the layout is in
 * `timer_ring.ts`) and two plain arrays, the records' functions and their
 * arguments.
 *
 * @module
 */

/** Records of page 0. */
const FIRST = 1024;
/** Numbers per record. */
export const STRIDE = 8;
/** The most records the pages can hold (then `add` throws). */
export const MAX_RECORDS = 2 ** 31 - FIRST;

/**
 * The page holding record `id`.
 *
 * @param id The record number.
 * @returns The page index.
 */
export function pageOf(id: number): number {
  return 21 - Math.clz32(id + FIRST);
}

/**
 * Record `id`'s index in its page.
 *
 * @param id The record number.
 * @returns The index.
 */
export function slotOf(id: number): number {
  const n = id + FIRST;
  return n - (0x8000_0000 >>> Math.clz32(n));
}

/** The pages of one ring; `nums[k]`, `fns[k]` and `args[k]` are page `k`. */
export class TimerPages<F> {
  /** Each page's numbers, `STRIDE` per record. */
  readonly nums: Float64Array[] = [];
  /** Each page's functions. */
  readonly fns: (F | undefined)[][] = [];
  /** Each page's argument arrays. */
  readonly args: (unknown[] | undefined)[][] = [];
  /** Records the pages hold. */
  capacity = 0;

  /**
   * Adds the next page (twice the last one's records).
   *
   * @throws {RangeError} Once `MAX_RECORDS` are held.
   */
  add(): void {
    const records = FIRST << this.nums.length;
    if (this.capacity + records > MAX_RECORDS) {
      throw new RangeError(
        `Cannot hold more than ${this.capacity} timers: cancel timers or let them fire first`,
      );
    }
    this.nums.push(new Float64Array(records * STRIDE));
    this.fns.push(new Array<F | undefined>(records).fill(undefined));
    this.args.push(new Array<unknown[] | undefined>(records).fill(undefined));
    this.capacity += records;
  }
}
