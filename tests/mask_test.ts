/** WebSocket masking (framing/_mask.ts over the WASM `mask` export) against a plain XOR. */
import assert from "node:assert/strict";
import { applyMask, maskKey } from "../framing/_mask.ts";

/** The RFC 6455 definition, byte by byte. */
function xorReference(bytes: Uint8Array, key: Uint8Array, phase: number): Uint8Array {
  return bytes.map((byte, i) => byte ^ key[(i + phase) % 4]!);
}

function pattern(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 7919 + (i >> 8)) & 0xff;
  return bytes;
}

Deno.test("applyMask equals the byte-by-byte XOR for every length class and key phase", () => {
  const key = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
  // Below the WASM threshold, SIMD blocks with tails, and several 64 KiB batches.
  for (
    const n of [0, 1, 3, 4, 5, 63, 127, 128, 129, 130, 191, 1000, 65535, 65536, 65537, 200_003]
  ) {
    for (const phase of [0, 1, 2, 3]) {
      const bytes = pattern(n);
      applyMask(bytes, maskKey(key, 0, phase));
      assert.deepEqual(bytes, xorReference(pattern(n), key, phase), `length ${n}, phase ${phase}`);
    }
  }
});

Deno.test("applyMask twice restores the payload (masking and unmasking are one operation)", () => {
  const bytes = pattern(100_000);
  const key = maskKey(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
  applyMask(bytes, key);
  assert.notDeepEqual(bytes, pattern(100_000));
  applyMask(bytes, key);
  assert.deepEqual(bytes, pattern(100_000));
});

Deno.test("maskKey reads the key at an offset of a larger buffer", () => {
  const frame = new Uint8Array([0x81, 0x85, 1, 2, 3, 4]);
  assert.equal(maskKey(frame, 2), 0x04030201);
});
