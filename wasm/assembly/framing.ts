// @ts-nocheck: AssemblyScript, compiled by wasm/build.ts (not by Deno).
// The framing core's exports: receive-buffer regions and the scan.
// wasm/framing.ts wraps them; wasm/README.md documents the memory layout.

import { allocBlock, allocHeader, freeBlock, freeHeader } from "./alloc.ts";
import {
  FRAMES,
  H_ANCHOR,
  H_CAP,
  H_DATA,
  H_KIND,
  H_PARAM,
  H_PENDING_BLOCK,
  H_PENDING_NEXT,
  H_PENDING_SIZE,
  H_READ,
  H_RESUME,
  H_STATIC,
  H_WRITE,
  INLINE_CAPACITY,
  INLINE_OFFSET,
  KIND_BYTE,
  KIND_BYTES,
  KIND_FIXED,
  KIND_NONE,
  KIND_RECORD,
  MAX_CAPACITY,
  RULE_OFFSET,
  SCRATCH,
  STAGE,
  STAGE_BYTES,
  STEP_BYTES,
} from "./layout.ts";
import { overflowCount, scanByte, scanBytes, scanFixed, scanRecord } from "./scan.ts";
import { mask as xorMask } from "./mask.ts";

/** Open regions. */
let regions: u32 = 0;
/** Sum of the capacities of open regions. */
let capacity: u64 = 0;
/** Headers whose trim released a block not yet freed (linked through H_PENDING_NEXT). */
let pendingHead: usize = 0;

/**
 * Frees the blocks released by trim. Deferred to the next open, append or
 * close so that trim writes nothing outside the trimmed region's header and
 * inline area: views handed out before it stay intact.
 */
function flushPending(): void {
  let h = pendingHead;
  while (h != 0) {
    freeBlock(<usize>load<u32>(h, H_PENDING_BLOCK), load<u32>(h, H_PENDING_SIZE));
    store<u32>(h, 0, H_PENDING_BLOCK);
    h = <usize>load<u32>(h, H_PENDING_NEXT);
  }
  pendingHead = 0;
}

/** Shifts the resume point after the unconsumed bytes moved down by `by`. */
function rebase(h: usize, by: u32): void {
  const anchor = load<i32>(h, H_ANCHOR);
  if (anchor >= <i32>by) {
    store<i32>(h, anchor - <i32>by, H_ANCHOR);
    store<u32>(h, load<u32>(h, H_RESUME) - by, H_RESUME);
  } else {
    store<i32>(h, -1, H_ANCHOR);
  }
}

/** Opens a region; returns its id (the header address), or 0 when memory is exhausted. */
export function open(): usize {
  if (pendingHead != 0) flushPending();
  const h = allocHeader();
  if (h == 0) return 0;
  store<u32>(h, <u32>(h + INLINE_OFFSET), H_DATA);
  store<u32>(h, INLINE_CAPACITY, H_CAP);
  store<u32>(h, 0, H_READ);
  store<u32>(h, 0, H_WRITE);
  store<u32>(h, KIND_NONE, H_KIND);
  store<u32>(h, 0, H_PARAM);
  store<i32>(h, -1, H_ANCHOR);
  store<u32>(h, 0, H_RESUME);
  store<u32>(h, 0, H_STATIC);
  store<u32>(h, 0, H_PENDING_BLOCK);
  regions++;
  capacity += INLINE_CAPACITY;
  return h;
}

/** Frees a region and its data block. */
export function close(h: usize): void {
  if (pendingHead != 0) flushPending();
  const cap = load<u32>(h, H_CAP);
  if (cap != INLINE_CAPACITY) freeBlock(<usize>load<u32>(h, H_DATA), cap);
  regions--;
  capacity -= cap;
  freeHeader(h);
}

export function liveRegions(): u32 {
  return regions;
}

export function liveBytes(): f64 {
  return <f64>capacity;
}

/** Where the wrapper writes a rule's delimiter bytes or steps before setting it. */
export function scratch(): usize {
  return SCRATCH;
}

/** Where stageFrame copies a frame. */
export function stage(): usize {
  return STAGE;
}

/**
 * Copies the `n` bytes at `p` (a frame of at most STAGE_BYTES; longer ones
 * are cut to that) to STAGE: one call per short frame, no host view. It
 * moves whole v128s, inline (memory.copy is a call out of the module): up
 * to 15 bytes past the frame are read (the heap's slack keeps that inside
 * memory) and written to STAGE's spare 16 bytes.
 */
export function stageFrame(p: usize, n: u32): void {
  const end = <usize>min(n, STAGE_BYTES);
  for (let i: usize = 0; i < end; i += 16) v128.store(STAGE + i, v128.load(p + i));
}

/** Where scan writes its frame triples. */
export function frames(): usize {
  return FRAMES;
}

export function overflowBytes(): f64 {
  return overflowCount;
}

/** Delimiter rule; its `length` bytes (1..RULE_BYTES) are at SCRATCH. */
export function setDelimiter(h: usize, length: u32): void {
  memory.copy(h + RULE_OFFSET, SCRATCH, length);
  store<u32>(h, length == 1 ? KIND_BYTE : KIND_BYTES, H_KIND);
  store<u32>(h, length, H_PARAM);
  store<i32>(h, -1, H_ANCHOR);
}

/** Fixed-size rule. */
export function setFixed(h: usize, size: u32): void {
  store<u32>(h, KIND_FIXED, H_KIND);
  store<u32>(h, size, H_PARAM);
  store<i32>(h, -1, H_ANCHOR);
}

/** Record rule; its `count` steps (STEP_BYTES each: u32 fixed, u8 prefix, u8 littleEndian) are at SCRATCH. */
export function setRecord(h: usize, count: u32): void {
  memory.copy(h + RULE_OFFSET, SCRATCH, <usize>count * STEP_BYTES);
  let least: u32 = 0;
  for (let i: usize = 0; i < <usize>count; i++) {
    const step = h + RULE_OFFSET + i * STEP_BYTES;
    least += load<u32>(step) + <u32>load<u8>(step, 4);
  }
  store<u32>(h, KIND_RECORD, H_KIND);
  store<u32>(h, count, H_PARAM);
  store<u32>(h, least, H_STATIC);
  store<i32>(h, -1, H_ANCHOR);
}

/**
 * Makes room for `n` more bytes and counts them as buffered; returns the
 * address the caller copies them to, or 0 when the region would exceed
 * MAX_CAPACITY or memory cannot grow.
 */
export function append(h: usize, n: u32): usize {
  if (pendingHead != 0) flushPending();
  const data = <usize>load<u32>(h, H_DATA);
  const cap = load<u32>(h, H_CAP);
  const r = load<u32>(h, H_READ);
  const w = load<u32>(h, H_WRITE);
  if (<u64>w + <u64>n <= <u64>cap) {
    store<u32>(h, w + n, H_WRITE);
    return data + <usize>w;
  }
  const kept = w - r;
  const need = <u64>kept + <u64>n;
  // Compact in place when that frees at least half the capacity.
  if (need <= <u64>cap && (kept <= cap >> 1 || cap >= MAX_CAPACITY)) {
    memory.copy(data, data + <usize>r, kept);
    store<u32>(h, 0, H_READ);
    store<u32>(h, <u32>need, H_WRITE);
    rebase(h, r);
    return data + <usize>kept;
  }
  if (need > <u64>MAX_CAPACITY) return 0;
  // Grow to the next power of two that holds everything, at least doubling.
  let size = <u32>(<u64>1 << (64 - clz<u64>(need - 1)));
  if (size <= cap) size = cap << 1;
  const block = allocBlock(size);
  if (block == 0) return 0;
  memory.copy(block, data + <usize>r, kept);
  if (cap != INLINE_CAPACITY) freeBlock(data, cap);
  store<u32>(h, <u32>block, H_DATA);
  store<u32>(h, size, H_CAP);
  store<u32>(h, 0, H_READ);
  store<u32>(h, <u32>need, H_WRITE);
  rebase(h, r);
  capacity += <u64>(size - cap);
  return block + <usize>kept;
}

export function buffered(h: usize): u32 {
  return load<u32>(h, H_WRITE) - load<u32>(h, H_READ);
}

/** Address of the first unconsumed byte. */
export function base(h: usize): usize {
  return <usize>load<u32>(h, H_DATA) + <usize>load<u32>(h, H_READ);
}

/** Drops `n` unconsumed bytes; returns 0, or -1 (and drops nothing) if fewer are buffered. */
export function consume(h: usize, n: u32): i32 {
  const r = load<u32>(h, H_READ);
  const w = load<u32>(h, H_WRITE);
  if (n > w - r) return -1;
  if (n == w - r) {
    // Empty: start again at the front, so the next append needs no move.
    store<u32>(h, 0, H_READ);
    store<u32>(h, 0, H_WRITE);
    store<i32>(h, -1, H_ANCHOR);
  } else {
    store<u32>(h, r + n, H_READ);
  }
  return 0;
}

/**
 * Moves a region holding at most INLINE_CAPACITY bytes back into its inline
 * area and releases its block (freed by the next open, append or close).
 */
export function trim(h: usize): void {
  const cap = load<u32>(h, H_CAP);
  if (cap == INLINE_CAPACITY) return;
  const r = load<u32>(h, H_READ);
  const kept = load<u32>(h, H_WRITE) - r;
  if (kept > INLINE_CAPACITY) return;
  const data = <usize>load<u32>(h, H_DATA);
  memory.copy(h + INLINE_OFFSET, data + <usize>r, kept);
  store<u32>(h, <u32>(h + INLINE_OFFSET), H_DATA);
  store<u32>(h, INLINE_CAPACITY, H_CAP);
  store<u32>(h, 0, H_READ);
  store<u32>(h, kept, H_WRITE);
  rebase(h, r);
  capacity -= <u64>(cap - INLINE_CAPACITY);
  store<u32>(h, <u32>data, H_PENDING_BLOCK);
  store<u32>(h, cap, H_PENDING_SIZE);
  store<u32>(h, <u32>pendingHead, H_PENDING_NEXT);
  pendingHead = h;
}

/** Scans with the region's rule; `limit` below 0 counts as 0. See FramingCore.scan. */
export function scan(h: usize, limit: i32): i32 {
  const most = limit < 0 ? 0 : <u32>limit;
  const kind = load<u32>(h, H_KIND);
  if (kind == KIND_BYTE) return scanByte(h, most);
  if (kind == KIND_BYTES) return scanBytes(h, most);
  if (kind == KIND_FIXED) return scanFixed(h, most);
  if (kind == KIND_RECORD) return scanRecord(h, most);
  return 0;
}

/** WebSocket masking: XORs the `n` bytes at `p` with `key` (see mask.ts). */
export function mask(p: usize, n: u32, key: u32): void {
  xorMask(p, n, key);
}
