/**
 * The framing core streams use: the WebAssembly one, instantiated once per
 * process from the embedded module.
 *
 * @module
 */

import type { FramingCore } from "./_core.ts";
import { WasmFramingCore } from "../wasm/framing.ts";

let shared: FramingCore | null = null;

/** The process-wide framing core (created on first use). */
export function defaultFramingCore(): FramingCore {
  shared ??= new WasmFramingCore();
  return shared;
}
