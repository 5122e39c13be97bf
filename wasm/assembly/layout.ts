// @ts-nocheck: AssemblyScript, compiled by wasm/build.ts (not by Deno).
// Memory layout of the framing core. wasm/README.md draws the same picture.

/** Most frames one scan writes (MAX_FRAMES_PER_SCAN in framing/_core.ts). */
export const MAX_FRAMES: i32 = 1024;
/** Bytes of one frame triple (start, end, next) as three i32. */
export const FRAME_BYTES: usize = 12;

/** Bytes of a region header block; the region id is its address. */
export const HEADER_SIZE: usize = 1280;
/** Offset in the header of the rule area (delimiter bytes or record steps). */
export const RULE_OFFSET: usize = 64;
/** Bytes of the rule area. */
export const RULE_BYTES: u32 = 192;
/** Offset in the header of the inline data area. */
export const INLINE_OFFSET: usize = 256;
/** Capacity of the inline data area: a region's minimum capacity. */
export const INLINE_CAPACITY: u32 = 1024;
/** Bytes of one record step in the rule area. */
export const STEP_BYTES: usize = 8;

/** log2 of the smallest and largest external data block. */
export const MIN_CLASS: u32 = 11;
export const MAX_CLASS: u32 = 30;
/** Largest capacity of one region (1 GiB). */
export const MAX_CAPACITY: u32 = 1 << MAX_CLASS;

/** Bytes always left readable past the heap top, so SIMD loads may run past a buffer's end. */
export const SLACK: usize = 128;

// Header fields (byte offsets).
export const H_DATA: usize = 0; // u32: address of the data bytes (inline area or external block)
export const H_CAP: usize = 4; // u32: capacity of the data bytes
export const H_READ: usize = 8; // u32: offset of the first unconsumed byte
export const H_WRITE: usize = 12; // u32: offset just past the last buffered byte
export const H_KIND: usize = 16; // u32: rule kind (KIND_*)
export const H_PARAM: usize = 20; // u32: delimiter length, fixed size or step count
export const H_ANCHOR: usize = 24; // i32: offset where the resumable pending frame starts, -1 none
export const H_RESUME: usize = 28; // u32: offset where the search for that frame resumes
export const H_STATIC: usize = 32; // u32: record rule: sum of fixed + prefix over its steps
export const H_PENDING_BLOCK: usize = 36; // u32: block released by trim, freed on the next open/append/close
export const H_PENDING_SIZE: usize = 40; // u32: its size
export const H_PENDING_NEXT: usize = 44; // u32: next header in the pending list

// Rule kinds.
export const KIND_NONE: u32 = 0;
export const KIND_BYTE: u32 = 1;
export const KIND_BYTES: u32 = 2;
export const KIND_FIXED: u32 = 3;
export const KIND_RECORD: u32 = 4;

// Static areas.
/** The frame triples written by scan. */
export const FRAMES: usize = memory.data(MAX_FRAMES * 12, 16);
/** Longest frame the wrapper hands out as a copy in STAGE (MAX_STAGED_FRAME in wasm/framing.ts). */
export const STAGE_BYTES: u32 = 256;
/**
 * Where stageFrame copies a short frame, for a view the wrapper reuses per
 * length (16 bytes more: the copy moves whole v128s).
 */
export const STAGE: usize = memory.data(STAGE_BYTES + 16, 16);
/** Where the wrapper stages a rule's delimiter bytes or steps before setDelimiter/setRecord. */
export const SCRATCH: usize = memory.data(RULE_BYTES, 16);
/** Free-list heads, one u32 per size class (index = log2 of the block size). */
export const FREE_HEADS: usize = memory.data(32 * 4, 16);
