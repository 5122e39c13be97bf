/**
 * The contract between streams and the framing core.
 *
 * Two implementations exist: the WebAssembly core (`framing/_wasm_core.ts`, used
 * in production) and a plain TypeScript reference (`tests/_reference_core.ts`,
 * the test oracle). One spec suite runs against both.
 *
 * Only numbers cross this boundary on the hot path: a stream sets its rule
 * once (`setRule`) and then calls `append` / `scan` / `consume` with ids and
 * lengths. Frame boundaries come back in the `frames` array.
 *
 * @module
 */

import type { FrameRule } from "./frame_rule.ts";

/** Most frames one `scan` call reports; callers loop while a scan returns this many. */
export const MAX_FRAMES_PER_SCAN = 1024;

/** `scan` result: the pending frame can never complete within the limit. */
export const SCAN_OVERFLOW: number = -1;

/**
 * Receive buffers ("regions", one per stream) and the frame scanner.
 *
 * Offsets in `frames` are relative to the first unconsumed byte of the
 * region at the time of the scan. A view returned by `bytes(id)` is valid
 * until the next `open`, `append` or `close` call on any region.
 */
export interface FramingCore {
  /** Opens a new empty region and returns its id (an integer > 0). */
  open(): number;
  /** Frees a region; its id must not be used again. */
  close(id: number): void;
  /** How many regions are open. */
  readonly liveRegions: number;
  /** Bytes of memory held by open regions (their capacities). */
  readonly liveBytes: number;

  /** Sets the framing rule of a region; rescanning starts afresh. */
  setRule(id: number, rule: FrameRule): void;
  /** Copies `chunk` to the end of the region, growing it if needed. */
  append(id: number, chunk: Uint8Array): void;
  /** Bytes buffered and not yet consumed. */
  buffered(id: number): number;
  /** Drops the first `n` unconsumed bytes (n <= buffered). */
  consume(id: number, n: number): void;
  /** Releases spare capacity of a region that holds few or no bytes. */
  trim(id: number): void;

  /**
   * Scans the unconsumed bytes with the region's rule and writes up to
   * `MAX_FRAMES_PER_SCAN` frames to `frames` as triples
   * `(start, end, next)`: the frame is `[start, end)`, and `next` is where
   * the following frame starts (after the delimiter).
   *
   * Bytes searched without a match are not searched again by the next scan
   * as long as the rule and the consumed position are unchanged, so a frame
   * arriving one byte at a time costs linear time.
   *
   * @param limit The most bytes one frame (with its delimiter) may take.
   * @returns The number of complete frames found (>= 0), or `SCAN_OVERFLOW`
   * when no complete frame is buffered and the next frame cannot complete
   * within `limit` bytes (then `overflowBytes` tells how many it needs or has).
   * A length-prefixed record whose declared length exceeds `limit` overflows
   * as soon as its prefix is buffered.
   */
  scan(id: number, limit: number): number;
  /** Frame triples written by the last `scan`. Rebuilt views: read it after each scan. */
  readonly frames: Int32Array;
  /** The byte count behind the last `SCAN_OVERFLOW`. */
  readonly overflowBytes: number;

  /**
   * A byte array holding the region's unconsumed bytes from index
   * `base(id)` on. Valid until the next `open`, `append` or `close`.
   */
  bytes(id: number): Uint8Array;
  /** Index in `bytes(id)` of the region's first unconsumed byte. */
  base(id: number): number;
  /**
   * The `length` bytes at index `at` of `bytes(id)`, for a frame callback.
   * Valid until the next `frame`, `open`, `append` or `close` call: a short
   * frame may come as a copy in a staging area, and the same object may
   * come back for a later frame of the same length. Call it after
   * `bytes(id)`, with no `open`, `append` or `close` in between.
   */
  frame(id: number, at: number, length: number): Uint8Array;
}
