/**
 * The WebAssembly framing module, raw: its exports typed (numbers only cross
 * the boundary) and a synchronous instantiation. `framing/_wasm_core.ts`
 * puts the `FramingCore` contract on top of it.
 *
 * The module is embedded (`framing_wasm.generated.ts`) and compiled
 * synchronously on first use: no `--allow-read`, no top-level await. Each
 * instance has its own memory. Memory layout: `wasm/README.md`.
 *
 * @module
 */

import { FRAMING_WASM_BASE64 } from "./framing_wasm.generated.ts";

/**
 * Most bytes one region can hold (1 GiB); `append` beyond it throws a `RangeError`.
 *
 * @example Usage
 * ```ts
 * import { MAX_REGION_BYTES } from "./framing.ts";
 * console.log(MAX_REGION_BYTES); // 1073741824
 * ```
 */
export const MAX_REGION_BYTES: number = 2 ** 30;

/**
 * Capacity of a new or trimmed region (its inline area in the region header).
 *
 * @example Usage
 * ```ts
 * import { MIN_REGION_BYTES, WasmFramingCore } from "./framing.ts";
 * const core = new WasmFramingCore();
 * core.open();
 * console.log(core.liveBytes === MIN_REGION_BYTES); // true
 * ```
 */
export const MIN_REGION_BYTES = 1024;

/**
 * Longest frame `stageFrame` copies (`STAGE_BYTES` in `wasm/assembly/layout.ts`):
 * shorter frames are handed out as a copy in the staging area, through one
 * view per length; longer ones as a view of their region.
 *
 * @example Usage
 * ```ts
 * import { MAX_STAGED_FRAME } from "./framing.ts";
 * console.log(MAX_STAGED_FRAME); // 256
 * ```
 */
export const MAX_STAGED_FRAME = 256;

/** The module's exports (wasm/assembly/framing.ts). Pointers come back as i32: use `>>> 0`. */
export interface FramingExports {
  readonly memory: WebAssembly.Memory;
  open(): number;
  close(id: number): void;
  liveRegions(): number;
  liveBytes(): number;
  scratch(): number;
  frames(): number;
  stage(): number;
  stageFrame(at: number, length: number): void;
  overflowBytes(): number;
  setDelimiter(id: number, length: number): void;
  setFixed(id: number, size: number): void;
  setRecord(id: number, count: number): void;
  append(id: number, n: number): number;
  buffered(id: number): number;
  base(id: number): number;
  consume(id: number, n: number): number;
  trim(id: number): void;
  scan(id: number, limit: number): number;
  mask(at: number, length: number, key: number): void;
}

let compiled: WebAssembly.Module | undefined;

/**
 * Instantiates the framing module with a memory of its own; the module is
 * decoded and compiled once per process.
 *
 * @example Usage
 * ```ts
 * import { instantiateFraming } from "./framing.ts";
 * const wasm = instantiateFraming();
 * const id = wasm.open();
 * console.log(wasm.liveRegions()); // 1
 * wasm.close(id);
 * ```
 *
 * @returns The instance's exports.
 */
export function instantiateFraming(): FramingExports {
  if (compiled === undefined) {
    const text = atob(FRAMING_WASM_BASE64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    compiled = new WebAssembly.Module(bytes);
  }
  return new WebAssembly.Instance(compiled, {}).exports as unknown as FramingExports;
}
