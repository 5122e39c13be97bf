/**
 * The framing core streams use: the process-wide WebAssembly instance.
 *
 * @module
 */

import type { FramingCore } from "./_core.ts";
import { framingCore } from "../wasm/framing.ts";

/** The process-wide framing core. */
export function defaultFramingCore(): FramingCore {
  return framingCore;
}
