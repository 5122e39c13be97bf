// @ts-nocheck: AssemblyScript, compiled by wasm/build.ts (not by Deno).
// WebSocket masking (RFC 6455, section 5.3): the payload XOR a 4-byte key,
// in place. The same call masks (client) and unmasks (server).

/**
 * XORs the `n` bytes at `p` with `key` repeated: byte i takes byte (i % 4)
 * of `key` in little-endian order (its low byte first). 64 bytes per step
 * as four v128 XORs, then 16 at a time, then the tail byte by byte; every
 * block starts at a multiple of 4 from `p`, so the key never rotates there.
 */
export function mask(p: usize, n: u32, key: u32): void {
  const k = i32x4.splat(<i32>key);
  const end = p + <usize>n;
  let q = p;
  while (q + 64 <= end) {
    v128.store(q, v128.xor(v128.load(q), k));
    v128.store(q, v128.xor(v128.load(q, 16), k), 16);
    v128.store(q, v128.xor(v128.load(q, 32), k), 32);
    v128.store(q, v128.xor(v128.load(q, 48), k), 48);
    q += 64;
  }
  while (q + 16 <= end) {
    v128.store(q, v128.xor(v128.load(q), k));
    q += 16;
  }
  let rest = key;
  while (q < end) {
    store<u8>(q, load<u8>(q) ^ <u8>rest);
    rest = rotr<u32>(rest, 8);
    q++;
  }
}
