// @ts-nocheck: AssemblyScript, compiled by wasm/build.ts (not by Deno).
// The allocator: region headers (fixed size) and data blocks (powers of two),
// each with free lists, bump-allocated from the heap top. Memory is grown in
// steps of at least GROW_PAGES and never shrinks (nothing is returned to the host).

import { FREE_HEADS, HEADER_SIZE, SLACK } from "./layout.ts";

/** Fewest pages one memory.grow adds (1 MiB), so growth (which detaches host views) is rare. */
const GROW_PAGES: i32 = 16;

/** Next free byte of the heap; 0 until the first allocation. */
let heapTop: usize = 0;
/** Free list of header blocks (linked through their first u32). */
let freeHeaders: usize = 0;

/** Makes sure [0, end + SLACK) is inside memory; false when memory cannot grow. */
function reach(end: u64): bool {
  const have = <u64>memory.size() << 16;
  const want = end + <u64>SLACK;
  if (want <= have) return true;
  if (want > (<u64>65536 << 16)) return false;
  const pages = <i32>((want - have + 0xffff) >> 16);
  if (memory.grow(max(pages, GROW_PAGES)) >= 0) return true;
  return memory.grow(pages) >= 0;
}

/** Reserves `size` bytes at the heap top; 0 on failure. */
function bump(size: usize): usize {
  if (heapTop == 0) heapTop = (__heap_base + 15) & ~15;
  const p = heapTop;
  if (!reach(<u64>p + <u64>size)) return 0;
  heapTop = p + size;
  return p;
}

/** A header block (HEADER_SIZE bytes); 0 on failure. */
export function allocHeader(): usize {
  const h = freeHeaders;
  if (h != 0) {
    freeHeaders = load<u32>(h);
    return h;
  }
  return bump(HEADER_SIZE);
}

export function freeHeader(h: usize): void {
  store<u32>(h, freeHeaders);
  freeHeaders = h;
}

/** A block of `size` bytes (a power of two); 0 on failure. */
export function allocBlock(size: u32): usize {
  const head = FREE_HEADS + (<usize>ctz(size) << 2);
  const p = load<u32>(head);
  if (p != 0) {
    store<u32>(head, load<u32>(p));
    return p;
  }
  return bump(size);
}

/** Returns a block of `size` bytes (a power of two) to its free list. */
export function freeBlock(p: usize, size: u32): void {
  const head = FREE_HEADS + (<usize>ctz(size) << 2);
  store<u32>(p, load<u32>(head));
  store<u32>(head, p);
}
