/**
 * The framing core in production: the `FramingCore` contract on the
 * WebAssembly module (`wasm/framing.ts`), and the instance the whole process
 * shares.
 *
 * @module
 */

import { type FramingCore, MAX_FRAMES_PER_SCAN } from "./_core.ts";
import { type FrameRule, MAX_INT32 } from "./frame_rule.ts";
import { checkRule } from "./_rule.ts";
import {
  type FramingExports,
  instantiateFraming,
  MAX_REGION_BYTES,
  MAX_STAGED_FRAME,
} from "../wasm/framing.ts";
import { bufferGauges } from "../engine/stats.ts";

/**
 * The framing core running in WebAssembly. Region ids are addresses of
 * region headers in the instance's memory: pass only ids from `open` that
 * are not closed yet (a stale id corrupts other regions, not the host).
 *
 * `bytes(id)` is a view of the whole memory (`base(id)` is an address in
 * it); it and `frames` are rebuilt whenever memory grew, so fetch them after
 * each `open` / `append` / `close` rather than keeping them.
 *
 * @example Usage
 * ```ts
 * import { WasmFramingCore } from "./_wasm_core.ts";
 * const core = new WasmFramingCore();
 * const id = core.open();
 * core.setRule(id, { kind: "delimiter", delimiter: new TextEncoder().encode("\r\n") });
 * core.append(id, new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n"));
 * const count = core.scan(id, 65536); // 2
 * const frames = core.frames;
 * const bytes = core.bytes(id);
 * const base = core.base(id);
 * for (let i = 0; i < count; i++) {
 *   const line = bytes.subarray(base + frames[3 * i]!, base + frames[3 * i + 1]!);
 *   console.log(new TextDecoder().decode(line));
 * }
 * core.consume(id, frames[3 * count - 1]!);
 * core.close(id);
 * ```
 */
export class WasmFramingCore implements FramingCore {
  #wasm: FramingExports;
  #memory: WebAssembly.Memory;
  #buffer: ArrayBufferLike;
  #bytes: Uint8Array;
  #frames: Int32Array;
  #framesAt: number;
  #scratchAt: number;
  #stageAt: number;
  /** Views of the staging area by length (index), made on first use, dropped when memory grows. */
  #staged: (Uint8Array | null)[] = Array.from({ length: MAX_STAGED_FRAME + 1 }, () => null);

  /** Instantiates the module (synchronously) with a memory of its own. */
  constructor() {
    this.#wasm = instantiateFraming();
    this.#memory = this.#wasm.memory;
    this.#framesAt = this.#wasm.frames() >>> 0;
    this.#scratchAt = this.#wasm.scratch() >>> 0;
    this.#stageAt = this.#wasm.stage() >>> 0;
    this.#buffer = this.#memory.buffer;
    this.#bytes = new Uint8Array(this.#buffer);
    this.#frames = new Int32Array(this.#buffer, this.#framesAt, 3 * MAX_FRAMES_PER_SCAN);
  }

  /** Rebuilds the views if memory grew (growing detaches the old buffer). */
  #views(): void {
    const buffer = this.#memory.buffer;
    if (buffer === this.#buffer) return;
    this.#buffer = buffer;
    this.#bytes = new Uint8Array(buffer);
    this.#frames = new Int32Array(buffer, this.#framesAt, 3 * MAX_FRAMES_PER_SCAN);
    this.#staged.fill(null);
  }

  /**
   * Opens a new empty region (capacity `MIN_REGION_BYTES`).
   *
   * @returns Its id (> 0).
   */
  open(): number {
    const id = this.#wasm.open() >>> 0;
    if (id === 0) {
      throw new RangeError(
        "Cannot open a region: WebAssembly memory is exhausted; close idle streams",
      );
    }
    return id;
  }

  /**
   * Frees a region and its buffer.
   *
   * @param id The region.
   */
  close(id: number): void {
    this.#wasm.close(id);
  }

  /** How many regions are open. */
  get liveRegions(): number {
    return this.#wasm.liveRegions();
  }

  /** Sum of the capacities of open regions, in bytes. */
  get liveBytes(): number {
    return this.#wasm.liveBytes();
  }

  /**
   * Sets the framing rule of a region; never grows memory.
   *
   * @param id The region.
   * @param rule The rule (validated: `TypeError` / `RangeError` if invalid).
   */
  setRule(id: number, rule: FrameRule): void {
    checkRule(rule);
    this.#views();
    switch (rule.kind) {
      case "delimiter":
        this.#bytes.set(rule.delimiter, this.#scratchAt);
        this.#wasm.setDelimiter(id, rule.delimiter.length);
        return;
      case "fixed":
        this.#wasm.setFixed(id, rule.size);
        return;
      case "record": {
        const view = new DataView(this.#buffer, this.#scratchAt, 8 * rule.steps.length);
        rule.steps.forEach((step, i) => {
          view.setUint32(8 * i, step.fixed, true);
          view.setUint8(8 * i + 4, step.prefix);
          view.setUint8(8 * i + 5, step.littleEndian ? 1 : 0);
          view.setUint16(8 * i + 6, 0);
        });
        this.#wasm.setRecord(id, rule.steps.length);
        return;
      }
    }
  }

  /**
   * Copies a chunk to the end of a region, compacting or growing it.
   *
   * @param id The region.
   * @param chunk The bytes (copied before this returns).
   */
  append(id: number, chunk: Uint8Array): void {
    // A view of this memory would be detached if the call below grows it.
    if (chunk.buffer === this.#memory.buffer) chunk = chunk.slice();
    const n = chunk.length;
    const at = this.#wasm.append(id, n) >>> 0;
    if (at === 0) {
      const need = this.#wasm.buffered(id) + n;
      throw new RangeError(
        need > MAX_REGION_BYTES
          ? `Cannot buffer "${need}" bytes in one region: the most is ${MAX_REGION_BYTES}; consume bytes first`
          : `Cannot buffer "${need}" bytes: WebAssembly memory is exhausted; close idle streams`,
      );
    }
    this.#views();
    this.#bytes.set(chunk, at);
  }

  /**
   * Bytes buffered and not consumed.
   *
   * @param id The region.
   * @returns The byte count.
   */
  buffered(id: number): number {
    return this.#wasm.buffered(id);
  }

  /**
   * Drops the first `n` unconsumed bytes (an empty region restarts at the front of its buffer).
   *
   * @param id The region.
   * @param n How many (an integer, at most `buffered(id)`; `RangeError` otherwise).
   */
  consume(id: number, n: number): void {
    if (this.#wasm.consume(id, n) !== 0) {
      throw new RangeError(
        `Cannot consume "${n}" bytes: the region holds ${this.#wasm.buffered(id)}`,
      );
    }
  }

  /**
   * Moves a region holding at most `MIN_REGION_BYTES` back into its
   * `MIN_REGION_BYTES` inline area and releases its larger buffer. Never
   * grows memory; views fetched before it stay readable until the next
   * `open`, `append` or `close`.
   *
   * @param id The region.
   */
  trim(id: number): void {
    this.#wasm.trim(id);
  }

  /**
   * Scans the unconsumed bytes; see `FramingCore.scan`. Never grows memory.
   *
   * @param id The region.
   * @param limit The most bytes one frame (with its delimiter) may take
   * (an integer; above 2^31 - 1 counts as 2^31 - 1).
   * @returns The frame count, or `SCAN_OVERFLOW`.
   */
  scan(id: number, limit: number): number {
    return this.#wasm.scan(id, limit >= MAX_INT32 ? MAX_INT32 : limit);
  }

  /** Frame triples written by the last `scan` (a view of WASM memory, rebuilt after growth). */
  get frames(): Int32Array {
    if (this.#memory.buffer !== this.#buffer) this.#views();
    return this.#frames;
  }

  /** The byte count behind the last `SCAN_OVERFLOW` (saturated at 2^53). */
  get overflowBytes(): number {
    return this.#wasm.overflowBytes();
  }

  /**
   * A view of the whole WASM memory.
   *
   * @param _id The region (the view is the same for all).
   * @returns The view; the region's bytes start at `base(id)`.
   */
  bytes(_id: number): Uint8Array {
    if (this.#memory.buffer !== this.#buffer) this.#views();
    return this.#bytes;
  }

  /**
   * A frame for a callback. Up to `MAX_STAGED_FRAME` bytes it is copied
   * into the staging area (one call into the module) and handed out through
   * the one view of that length, made once: a short frame costs a copy of
   * its bytes instead of a new `Uint8Array` (which, with the garbage it
   * leaves, costs more than the rest of a frame's path together). Longer
   * frames get a view of their region.
   *
   * @param _id The region (the memory is the same for all).
   * @param at The address of the frame's first byte (in `bytes(id)`, fetched after the last `append`).
   * @param length Its length.
   * @returns A view valid until the next `frame`, `open`, `append` or `close` call.
   */
  frame(_id: number, at: number, length: number): Uint8Array {
    if (length > MAX_STAGED_FRAME) return new Uint8Array(this.#buffer, at, length);
    this.#wasm.stageFrame(at, length);
    return this.#staged[length] ??
      (this.#staged[length] = new Uint8Array(this.#buffer, this.#stageAt, length));
  }

  /**
   * Address in `bytes(id)` of the region's first unconsumed byte.
   *
   * @param id The region.
   * @returns The address.
   */
  base(id: number): number {
    return this.#wasm.base(id) >>> 0;
  }
}

/**
 * The framing core shared by the process (one WebAssembly instance, created
 * when this module is imported: a synchronous compile of a few kilobytes).
 *
 * @example Usage
 * ```ts
 * import { framingCore } from "./_wasm_core.ts";
 * const id = framingCore.open();
 * framingCore.setRule(id, { kind: "fixed", size: 4 });
 * framingCore.close(id);
 * ```
 */
export const framingCore: WasmFramingCore = new WasmFramingCore();

bufferGauges.regions = () => framingCore.liveRegions;
bufferGauges.bytes = () => framingCore.liveBytes;
