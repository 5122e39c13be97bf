/**
 * WebSocket masking (RFC 6455, section 5.3) for the channels above: a
 * payload XOR a 4-byte key, in place. Short payloads are masked here in
 * TypeScript; longer ones are copied in batches of up to 64 KiB into a
 * scratch region of a WebAssembly instance of their own, masked there 64
 * bytes per step with SIMD (`wasm/assembly/mask.ts`), and copied back.
 * Only this file of framing/ knows the module has a `mask` export.
 *
 * @module
 */

import { type FramingExports, instantiateFraming } from "../wasm/framing.ts";

/** Payloads shorter than this are masked in TypeScript (the copies would cost more). */
const WASM_FROM = 128;
/** Bytes masked per WebAssembly call; a multiple of 4, so the key never rotates between batches. */
const BATCH = 64 * 1024;

let wasm: FramingExports | null = null;
let scratch = 0;

function instance(): FramingExports {
  if (wasm === null) {
    const made = instantiateFraming();
    const id = made.open() >>> 0;
    if (id === 0) throw new RangeError("Cannot open the masking scratch region: memory exhausted");
    scratch = id;
    wasm = made;
  }
  return wasm;
}

/**
 * The key's 4 bytes as the little-endian u32 the kernel takes, rotated so
 * that masking starts at key byte `phase`.
 *
 * @param key The 4 key bytes (at `at` in `bytes`).
 * @param at Where they start.
 * @param phase Which key byte applies to the first payload byte (0..3).
 * @returns The key as a number.
 */
export function maskKey(key: Uint8Array, at = 0, phase = 0): number {
  const word = (key[at]! | (key[at + 1]! << 8) | (key[at + 2]! << 16) | (key[at + 3]! << 24)) >>> 0;
  const shift = (phase & 3) * 8;
  return shift === 0 ? word : ((word >>> shift) | (word << (32 - shift))) >>> 0;
}

/**
 * Masks (or unmasks: the same operation) `bytes` in place with `key`, key
 * byte 0 applying to `bytes[0]`.
 *
 * @param bytes The payload.
 * @param key The key from {@linkcode maskKey}.
 */
export function applyMask(bytes: Uint8Array, key: number): void {
  const n = bytes.length;
  if (n < WASM_FROM) {
    for (let i = 0; i < n; i++) bytes[i]! ^= (key >>> ((i & 3) * 8)) & 0xff;
    return;
  }
  const core = instance();
  for (let from = 0; from < n; from += BATCH) {
    const length = Math.min(BATCH, n - from);
    const at = core.append(scratch, length) >>> 0;
    if (at === 0) throw new RangeError("Cannot grow the masking scratch region: memory exhausted");
    const memory = new Uint8Array(core.memory.buffer);
    memory.set(bytes.subarray(from, from + length), at);
    core.mask(at, length, key);
    bytes.set(memory.subarray(at, at + length), from);
    core.consume(scratch, length);
  }
}
