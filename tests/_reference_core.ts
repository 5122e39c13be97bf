/**
 * A plain TypeScript framing core: the test oracle for the WebAssembly one.
 *
 * It follows the same contract and the same capacity policy (so `liveBytes`
 * agrees), but scans naively from the first unconsumed byte every time.
 *
 * @module
 */

import { type FramingCore, MAX_FRAMES_PER_SCAN, SCAN_OVERFLOW } from "../framing/_core.ts";
import type { FrameRule, RecordStep } from "../framing/frame_rule.ts";
import { checkRule } from "../framing/_rule.ts";

/** Capacity of a new or trimmed region. */
const MIN_CAPACITY = 1024;
/** Most bytes one region can hold. */
const MAX_CAPACITY = 2 ** 30;
/** Largest frame size, step size or scan limit (frame offsets are int32). */
import { MAX_INT32 } from "../framing/frame_rule.ts";
/** Overflow byte counts saturate here. */
const TWO_POW_53 = 2 ** 53;

interface Region {
  data: Uint8Array;
  read: number;
  write: number;
  rule: FrameRule | null;
  /** Record rules: the sum of `fixed + prefix` over the steps. */
  least: number;
}

/** Whether `delimiter` occurs in `bytes` at `at` (which has room for it). */
function matchesAt(bytes: Uint8Array, at: number, delimiter: Uint8Array): boolean {
  for (let i = 0; i < delimiter.length; i++) {
    if (bytes[at + i] !== delimiter[i]) return false;
  }
  return true;
}

/** Reads an unsigned prefix; 8-byte values above 2^53 read as 2^53. */
function readPrefix(view: DataView, at: number, width: number, littleEndian: boolean): number {
  switch (width) {
    case 1:
      return view.getUint8(at);
    case 2:
      return view.getUint16(at, littleEndian);
    case 4:
      return view.getUint32(at, littleEndian);
    default: {
      const value = view.getBigUint64(at, littleEndian);
      return value > BigInt(TWO_POW_53) ? TWO_POW_53 : Number(value);
    }
  }
}

/**
 * The reference framing core: plain TypeScript, one `Uint8Array` per region.
 *
 * @example Usage
 * ```ts
 * import { ReferenceFramingCore } from "./_reference_core.ts";
 * const core = new ReferenceFramingCore();
 * const id = core.open();
 * core.setRule(id, { kind: "delimiter", delimiter: new Uint8Array([10]) });
 * core.append(id, new TextEncoder().encode("a\nb"));
 * console.log(core.scan(id, 100), core.frames.slice(0, 3)); // 1 Int32Array [0, 1, 2]
 * ```
 */
export class ReferenceFramingCore implements FramingCore {
  #regions = new Map<number, Region>();
  #nextId = 1;
  #liveBytes = 0;
  #frames = new Int32Array(3 * MAX_FRAMES_PER_SCAN);
  #overflowBytes = 0;

  /**
   * Opens a new empty region.
   *
   * @returns Its id.
   */
  open(): number {
    const id = this.#nextId++;
    this.#regions.set(id, {
      data: new Uint8Array(MIN_CAPACITY),
      read: 0,
      write: 0,
      rule: null,
      least: 0,
    });
    this.#liveBytes += MIN_CAPACITY;
    return id;
  }

  /**
   * Frees a region.
   *
   * @param id The region.
   */
  close(id: number): void {
    this.#liveBytes -= this.#region(id).data.length;
    this.#regions.delete(id);
  }

  /** How many regions are open. */
  get liveRegions(): number {
    return this.#regions.size;
  }

  /** Sum of the capacities of open regions. */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  /**
   * Sets the framing rule of a region.
   *
   * @param id The region.
   * @param rule The rule.
   */
  setRule(id: number, rule: FrameRule): void {
    const region = this.#region(id);
    region.least = checkRule(rule);
    region.rule = rule.kind === "delimiter"
      ? { kind: "delimiter", delimiter: rule.delimiter.slice() }
      : rule.kind === "record"
      ? { kind: "record", steps: rule.steps.map((step) => ({ ...step })) }
      : { kind: "fixed", size: rule.size };
  }

  /**
   * Copies a chunk to the end of a region.
   *
   * @param id The region.
   * @param chunk The bytes.
   */
  append(id: number, chunk: Uint8Array): void {
    const region = this.#region(id);
    const n = chunk.length;
    const capacity = region.data.length;
    if (region.write + n > capacity) {
      const kept = region.write - region.read;
      const need = kept + n;
      if (need <= capacity && (kept <= capacity / 2 || capacity >= MAX_CAPACITY)) {
        region.data.copyWithin(0, region.read, region.write);
      } else {
        if (need > MAX_CAPACITY) {
          throw new RangeError(
            `Cannot buffer "${need}" bytes in one region: the most is ${MAX_CAPACITY}; consume bytes first`,
          );
        }
        let size = capacity * 2;
        while (size < need) size *= 2;
        const data = new Uint8Array(size);
        data.set(region.data.subarray(region.read, region.write));
        region.data = data;
        this.#liveBytes += size - capacity;
      }
      region.read = 0;
      region.write = kept;
    }
    region.data.set(chunk, region.write);
    region.write += n;
  }

  /**
   * Bytes buffered and not consumed.
   *
   * @param id The region.
   * @returns The byte count.
   */
  buffered(id: number): number {
    const region = this.#region(id);
    return region.write - region.read;
  }

  /**
   * Drops unconsumed bytes.
   *
   * @param id The region.
   * @param n How many.
   */
  consume(id: number, n: number): void {
    const region = this.#region(id);
    const held = region.write - region.read;
    if (!Number.isInteger(n) || n < 0 || n > held) {
      throw new RangeError(`Cannot consume "${n}" bytes: the region holds ${held}`);
    }
    if (n === held) {
      region.read = 0;
      region.write = 0;
    } else {
      region.read += n;
    }
  }

  /**
   * Shrinks a region holding at most 1 KiB back to 1 KiB.
   *
   * @param id The region.
   */
  trim(id: number): void {
    const region = this.#region(id);
    const capacity = region.data.length;
    const kept = region.write - region.read;
    if (capacity === MIN_CAPACITY || kept > MIN_CAPACITY) return;
    const data = new Uint8Array(MIN_CAPACITY);
    data.set(region.data.subarray(region.read, region.write));
    region.data = data;
    region.read = 0;
    region.write = kept;
    this.#liveBytes -= capacity - MIN_CAPACITY;
  }

  /**
   * Scans the unconsumed bytes from the start (no incremental resume).
   *
   * @param id The region.
   * @param limit The most bytes one frame (with its delimiter) may take.
   * @returns The frame count, or `SCAN_OVERFLOW`.
   */
  scan(id: number, limit: number): number {
    const region = this.#region(id);
    const most = limit >= MAX_INT32 ? MAX_INT32 : limit > 0 ? Math.trunc(limit) : 0;
    const bytes = region.data.subarray(region.read, region.write);
    const rule = region.rule;
    if (rule === null) return 0;
    switch (rule.kind) {
      case "delimiter":
        return this.#scanDelimiter(bytes, rule.delimiter, most);
      case "fixed":
        return this.#scanFixed(bytes, rule.size, most);
      case "record":
        return this.#scanRecord(bytes, rule.steps, region.least, most);
    }
  }

  /** Frame triples written by the last `scan`. */
  get frames(): Int32Array {
    return this.#frames;
  }

  /** The byte count behind the last `SCAN_OVERFLOW`. */
  get overflowBytes(): number {
    return this.#overflowBytes;
  }

  /**
   * The region's storage.
   *
   * @param id The region.
   * @returns Bytes holding the unconsumed bytes from `base(id)` on.
   */
  bytes(id: number): Uint8Array {
    return this.#region(id).data;
  }

  /**
   * Index of the first unconsumed byte in `bytes(id)`.
   *
   * @param id The region.
   * @returns The index.
   */
  base(id: number): number {
    return this.#region(id).read;
  }

  /**
   * A view of `length` bytes at index `at` of `bytes(id)` (never a copy here).
   *
   * @param id The region.
   * @param at The index of the first byte.
   * @param length How many bytes.
   * @returns The view.
   */
  frame(id: number, at: number, length: number): Uint8Array {
    return this.#region(id).data.subarray(at, at + length);
  }

  #region(id: number): Region {
    const region = this.#regions.get(id);
    if (region === undefined) {
      throw new RangeError(`Unknown region id "${id}": open a region first`);
    }
    return region;
  }

  #emit(count: number, start: number, end: number, next: number): void {
    this.#frames[3 * count] = start;
    this.#frames[3 * count + 1] = end;
    this.#frames[3 * count + 2] = next;
  }

  /** The frames found so far, or an overflow of `bytes` if there are none. */
  #stop(count: number, bytes: number): number {
    if (count > 0) return count;
    this.#overflowBytes = Math.min(bytes, TWO_POW_53);
    return SCAN_OVERFLOW;
  }

  #scanDelimiter(bytes: Uint8Array, delimiter: Uint8Array, limit: number): number {
    const k = delimiter.length;
    let count = 0;
    let start = 0;
    while (count < MAX_FRAMES_PER_SCAN) {
      let q = bytes.indexOf(delimiter[0]!, start);
      while (q >= 0 && q + k <= bytes.length && !matchesAt(bytes, q, delimiter)) {
        q = bytes.indexOf(delimiter[0]!, q + 1);
      }
      if (q < 0 || q + k > bytes.length) {
        return bytes.length - start >= limit ? this.#stop(count, bytes.length - start) : count;
      }
      const next = q + k;
      if (next - start > limit) return this.#stop(count, next - start);
      this.#emit(count++, start, q, next);
      start = next;
    }
    return count;
  }

  #scanFixed(bytes: Uint8Array, size: number, limit: number): number {
    if (size > limit) return this.#stop(0, size);
    const count = Math.min(MAX_FRAMES_PER_SCAN, Math.floor(bytes.length / size));
    for (let i = 0; i < count; i++) this.#emit(i, i * size, (i + 1) * size, (i + 1) * size);
    return count;
  }

  #scanRecord(
    bytes: Uint8Array,
    steps: readonly RecordStep[],
    least: number,
    limit: number,
  ): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let count = 0;
    let start = 0;
    while (count < MAX_FRAMES_PER_SCAN) {
      let length = least;
      if (length > limit) return this.#stop(count, length);
      const held = bytes.length - start;
      let at = 0;
      for (const step of steps) {
        at += step.fixed;
        if (step.prefix === 0) continue;
        if (at + step.prefix > held) return count;
        const value = readPrefix(view, start + at, step.prefix, step.littleEndian);
        if (value > limit) return this.#stop(count, length + value);
        length += value;
        if (length > limit) return this.#stop(count, length);
        at += step.prefix + value;
      }
      if (length > held) return count;
      this.#emit(count++, start, start + length, start + length);
      start += length;
    }
    return count;
  }
}
