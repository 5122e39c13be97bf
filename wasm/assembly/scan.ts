// @ts-nocheck: AssemblyScript, compiled by wasm/build.ts (not by Deno).
// The scan kernels. Each writes frame triples (start, end, next), relative to
// the first unconsumed byte, to FRAMES and returns how many it wrote, or -1
// (overflow) with the byte count in `overflowCount`.

import {
  FRAME_BYTES,
  FRAMES,
  H_ANCHOR,
  H_DATA,
  H_PARAM,
  H_READ,
  H_RESUME,
  H_STATIC,
  H_WRITE,
  MAX_FRAMES,
  RULE_OFFSET,
  STEP_BYTES,
} from "./layout.ts";

/** The byte count behind the last overflow (saturated at 2^53). */
export let overflowCount: f64 = 0;

const TWO_POW_53: u64 = <u64>1 << 53;
const FRAMES_END: usize = FRAMES + <usize>MAX_FRAMES * FRAME_BYTES;

/** Ends a scan at a frame that cannot fit: the frames so far, else an overflow of `bytes`. */
function stop(out: usize, bytes: u64): i32 {
  if (out != FRAMES) return <i32>((out - FRAMES) / FRAME_BYTES);
  overflowCount = <f64>(bytes < TWO_POW_53 ? bytes : TWO_POW_53);
  return -1;
}

/**
 * Ends a delimiter scan that found no delimiter for the frame at `start`:
 * remembers that no delimiter starts in [start, resume), then returns the
 * frames so far, else an overflow if the frame already holds `limit` bytes.
 */
function pending(h: usize, data: usize, out: usize, start: usize, end: usize, resume: usize, limit: u32): i32 {
  store<i32>(h, <i32>(start - data), H_ANCHOR);
  store<u32>(h, <u32>(resume - data), H_RESUME);
  if (out != FRAMES) return <i32>((out - FRAMES) / FRAME_BYTES);
  const held = end - start;
  if (held < <usize>limit) return 0;
  overflowCount = <f64>held;
  return -1;
}

/** Bit i set where byte p + i equals the needle, for i in [0, 64). */
// @ts-ignore: decorator
@inline function mask64(p: usize, needle: v128): u64 {
  const a = <u64><u32>i8x16.bitmask(i8x16.eq(v128.load(p), needle));
  const b = <u64><u32>i8x16.bitmask(i8x16.eq(v128.load(p, 16), needle));
  const c = <u64><u32>i8x16.bitmask(i8x16.eq(v128.load(p, 32), needle));
  const d = <u64><u32>i8x16.bitmask(i8x16.eq(v128.load(p, 48), needle));
  return a | (b << 16) | (c << 32) | (d << 48);
}

/** Bit i set where bytes p + i and p + i + 1 equal `first` and `second`, for i in [0, 64). */
// @ts-ignore: decorator
@inline function pairMask64(p: usize, first: v128, second: v128): u64 {
  const a = <u64><u32>i8x16.bitmask(
    v128.and(i8x16.eq(v128.load(p), first), i8x16.eq(v128.load(p, 1), second)),
  );
  const b = <u64><u32>i8x16.bitmask(
    v128.and(i8x16.eq(v128.load(p, 16), first), i8x16.eq(v128.load(p, 17), second)),
  );
  const c = <u64><u32>i8x16.bitmask(
    v128.and(i8x16.eq(v128.load(p, 32), first), i8x16.eq(v128.load(p, 33), second)),
  );
  const d = <u64><u32>i8x16.bitmask(
    v128.and(i8x16.eq(v128.load(p, 48), first), i8x16.eq(v128.load(p, 49), second)),
  );
  return a | (b << 16) | (c << 32) | (d << 48);
}

/**
 * One-byte delimiter: each 64-byte block gives a bitmask of the matches
 * (four v128 compares + bitmask), walked with ctz. Offsets are kept relative
 * to the first unconsumed byte, so each frame costs three stores.
 */
export function scanByte(h: usize, limit: u32): i32 {
  const data = <usize>load<u32>(h, H_DATA);
  const r = load<u32>(h, H_READ);
  const base = data + <usize>r;
  const end = data + <usize>load<u32>(h, H_WRITE);
  const needle = i8x16.splat(load<i8>(h, RULE_OFFSET));
  let start: u32 = 0;
  let p = base;
  if (load<i32>(h, H_ANCHOR) == <i32>r) p = data + <usize>load<u32>(h, H_RESUME);
  let out = FRAMES;
  while (p < end) {
    let m = mask64(p, needle);
    const left = end - p;
    if (left < 64) m &= (<u64>1 << <u64>left) - 1;
    const at = <u32>(p - base);
    while (m != 0) {
      const q = at + <u32>ctz(m);
      m &= m - 1;
      const next = q + 1;
      if (next - start > limit) return stop(out, <u64>(next - start));
      store<u32>(out, start);
      store<u32>(out, q, 4);
      store<u32>(out, next, 8);
      out += FRAME_BYTES;
      start = next;
      if (out == FRAMES_END) return MAX_FRAMES;
    }
    p += 64;
  }
  return pending(h, data, out, base + <usize>start, end, end, limit);
}

/**
 * Two distinct bytes (`\r\n`): the pair filter is the whole test, and a match
 * cannot overlap another, so the walk is the same as for one byte.
 */
function scanPair(h: usize, limit: u32): i32 {
  const data = <usize>load<u32>(h, H_DATA);
  const r = load<u32>(h, H_READ);
  const base = data + <usize>r;
  const end = data + <usize>load<u32>(h, H_WRITE);
  const first = i8x16.splat(load<i8>(h, RULE_OFFSET));
  const second = i8x16.splat(load<i8>(h, RULE_OFFSET + 1));
  // Candidate positions (where a delimiter may start) are below `last`.
  const last = end - 1;
  let start: u32 = 0;
  let p = base;
  if (load<i32>(h, H_ANCHOR) == <i32>r) p = data + <usize>load<u32>(h, H_RESUME);
  let out = FRAMES;
  while (p < last) {
    let m = pairMask64(p, first, second);
    const left = last - p;
    if (left < 64) m &= (<u64>1 << <u64>left) - 1;
    const at = <u32>(p - base);
    while (m != 0) {
      const q = at + <u32>ctz(m);
      m &= m - 1;
      const next = q + 2;
      if (next - start > limit) return stop(out, <u64>(next - start));
      store<u32>(out, start);
      store<u32>(out, q, 4);
      store<u32>(out, next, 8);
      out += FRAME_BYTES;
      start = next;
      if (out == FRAMES_END) return MAX_FRAMES;
    }
    p += 64;
  }
  const resume = base + <usize>start;
  return pending(h, data, out, resume, end, max(last, resume), limit);
}

/** True if the delimiter's bytes from index 2 on match at q (the first two matched already). */
function restMatches(q: usize, delimiter: usize, length: usize): bool {
  for (let i: usize = 2; i < length; i++) {
    if (load<u8>(q + i) != load<u8>(delimiter + i)) return false;
  }
  return true;
}

/**
 * Delimiter of two bytes or more: SIMD filter on the first two bytes, then
 * verify the rest; a match drops the candidates that overlap it.
 */
export function scanBytes(h: usize, limit: u32): i32 {
  const length = <usize>load<u32>(h, H_PARAM);
  const delimiter = h + RULE_OFFSET;
  if (length == 2 && load<u8>(delimiter) != load<u8>(delimiter, 1)) return scanPair(h, limit);
  const data = <usize>load<u32>(h, H_DATA);
  const r = load<u32>(h, H_READ);
  const base = data + <usize>r;
  const end = data + <usize>load<u32>(h, H_WRITE);
  const first = i8x16.splat(load<i8>(delimiter));
  const second = i8x16.splat(load<i8>(delimiter, 1));
  // Candidate positions (where a delimiter may start) are below `last`.
  const last = end + 1 - length;
  let start = base;
  let p = base;
  if (load<i32>(h, H_ANCHOR) == <i32>r) p = data + <usize>load<u32>(h, H_RESUME);
  let out = FRAMES;
  while (p < last) {
    let m = pairMask64(p, first, second);
    const left = last - p;
    if (left < 64) m &= (<u64>1 << <u64>left) - 1;
    while (m != 0) {
      const q = p + <usize>ctz(m);
      m &= m - 1;
      if (length > 2 && !restMatches(q, delimiter, length)) continue;
      const next = q + length;
      if (next - start > <usize>limit) return stop(out, <u64>(next - start));
      store<i32>(out, <i32>(start - base));
      store<i32>(out, <i32>(q - base), 4);
      store<i32>(out, <i32>(next - base), 8);
      out += FRAME_BYTES;
      start = next;
      if (out == FRAMES_END) return MAX_FRAMES;
      const skip = next - p;
      m = skip >= 64 ? 0 : m & ~((<u64>1 << <u64>skip) - 1);
    }
    p = max(p + 64, start);
  }
  return pending(h, data, out, start, end, max(last, start), limit);
}

/** Fixed-size frames. */
export function scanFixed(h: usize, limit: u32): i32 {
  const size = load<u32>(h, H_PARAM);
  if (size > limit) return stop(FRAMES, <u64>size);
  const held = load<u32>(h, H_WRITE) - load<u32>(h, H_READ);
  let n = held / size;
  if (n > <u32>MAX_FRAMES) n = <u32>MAX_FRAMES;
  let out = FRAMES;
  let at: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    store<i32>(out, <i32>at);
    at += size;
    store<i32>(out, <i32>at, 4);
    store<i32>(out, <i32>at, 8);
    out += FRAME_BYTES;
  }
  return <i32>n;
}

/** An unsigned length prefix of 1, 2, 4 or 8 bytes. */
function readPrefix(p: usize, width: u32, littleEndian: bool): u64 {
  if (width == 1) return <u64>load<u8>(p);
  if (width == 2) {
    const v = load<u16>(p);
    return <u64>(littleEndian ? v : bswap<u16>(v));
  }
  if (width == 4) {
    const v = load<u32>(p);
    return <u64>(littleEndian ? v : bswap<u32>(v));
  }
  const v = load<u64>(p);
  return littleEndian ? v : bswap<u64>(v);
}

/** Length-prefixed records: each step is `fixed` bytes, then a prefix of `width` bytes whose value adds to the length. */
export function scanRecord(h: usize, limit: u32): i32 {
  const data = <usize>load<u32>(h, H_DATA);
  const base = data + <usize>load<u32>(h, H_READ);
  const end = data + <usize>load<u32>(h, H_WRITE);
  const steps = h + RULE_OFFSET;
  const count = <usize>load<u32>(h, H_PARAM);
  const least = <u64>load<u32>(h, H_STATIC);
  const most = <u64>limit;
  let start = base;
  let out = FRAMES;
  while (true) {
    // `length` is the least the record can take given the prefixes read so far.
    let length = least;
    if (length > most) return stop(out, length);
    const held = <u64>(end - start);
    let at: u64 = 0;
    let complete = true;
    for (let i: usize = 0; i < count; i++) {
      const step = steps + i * STEP_BYTES;
      at += <u64>load<u32>(step);
      const width = <u64>load<u8>(step, 4);
      if (width == 0) continue;
      if (at + width > held) {
        complete = false;
        break;
      }
      const value = readPrefix(start + <usize>at, <u32>width, load<u8>(step, 5) != 0);
      if (value > most) return stop(out, value > TWO_POW_53 ? TWO_POW_53 : length + value);
      length += value;
      if (length > most) return stop(out, length);
      at += width + value;
    }
    if (!complete || length > held) break;
    const offset = <i32>(start - base);
    const next = offset + <i32>length;
    store<i32>(out, offset);
    store<i32>(out, next, 4);
    store<i32>(out, next, 8);
    out += FRAME_BYTES;
    start += <usize>length;
    if (out == FRAMES_END) return MAX_FRAMES;
  }
  return <i32>((out - FRAMES) / FRAME_BYTES);
}
