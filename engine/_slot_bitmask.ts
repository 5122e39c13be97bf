/**
 * The timer ring's occupancy bitmask: one bit per slot, set while the
 * slot's list is non-empty, plus a summary bit per 32-slot word, set while
 * that word is non-zero. Finding the next non-empty slot then costs a few
 * word reads instead of a scan of empty slots (as in tokio's timer wheel).
 *
 * @module
 */

/** The index of the lowest set bit of `x` (non-zero). */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Which of a ring's slots are non-empty. */
export class SlotBitmask {
  readonly #slots: number;
  readonly #words: Uint32Array;
  readonly #summary: Uint32Array;

  /**
   * Makes a mask with every slot empty.
   *
   * @param slots The slot count (a power of two, at least 32).
   */
  constructor(slots: number) {
    this.#slots = slots;
    this.#words = new Uint32Array(slots >>> 5);
    this.#summary = new Uint32Array(Math.ceil((slots >>> 5) / 32));
  }

  /**
   * Marks `slot` non-empty.
   *
   * @param slot The slot index.
   */
  set(slot: number): void {
    const w = slot >>> 5;
    if (this.#words[w] === 0) this.#summary[w >>> 5]! |= 1 << (w & 31);
    this.#words[w]! |= 1 << (slot & 31);
  }

  /**
   * Marks `slot` empty.
   *
   * @param slot The slot index.
   */
  clear(slot: number): void {
    const w = slot >>> 5;
    const word = this.#words[w]! & ~(1 << (slot & 31));
    this.#words[w] = word;
    if (word === 0) this.#summary[w >>> 5]! &= ~(1 << (w & 31));
  }

  /** Marks every slot empty. */
  clearAll(): void {
    this.#words.fill(0);
    this.#summary.fill(0);
  }

  /**
   * The first non-empty slot at index `>= p`.
   *
   * @param p The index to search from (may be past the last slot).
   * @returns The slot index, or `-1` (the ring's `NIL`) if there is none.
   */
  find(p: number): number {
    if (p >= this.#slots) return -1;
    let w = p >>> 5;
    const bits = this.#words[w]! & (-1 << (p & 31));
    if (bits !== 0) return (w << 5) + ctz(bits);
    const q = w + 1;
    let s = q >>> 5;
    if (s >= this.#summary.length) return -1;
    let summary = this.#summary[s]! & (-1 << (q & 31));
    while (summary === 0) {
      if (++s >= this.#summary.length) return -1;
      summary = this.#summary[s]!;
    }
    w = (s << 5) + ctz(summary);
    return (w << 5) + ctz(this.#words[w]!);
  }
}
