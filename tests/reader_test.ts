/**
 * The read buffer follows the traffic: what a stream's pending read holds
 * while the peer is idle, after each kind of traffic. Checked with a
 * scripted transport that records the size of every read buffer.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Stream } from "../mod.ts";
import { TestEngine } from "../testing.ts";
import { adopt, begin } from "../channels/_symbols.ts";
import type { Transport } from "../transport/_socket.ts";

const ADDRESS: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };

/** Hands out scripted chunks, one per read; with none left, the read waits (an idle peer). */
class Scripted implements Transport {
  readonly localAddr = ADDRESS;
  readonly remoteAddr = ADDRESS;
  /** The size of every buffer read into, in order. */
  readonly sizes: number[] = [];
  #chunks: Uint8Array[];
  #waiting: ((n: number | null) => void) | null = null;
  constructor(chunks: Uint8Array[]) {
    this.#chunks = chunks;
  }
  read(buffer: Uint8Array): Promise<number | null> {
    this.sizes.push(buffer.length);
    const chunk = this.#chunks.shift();
    if (chunk === undefined) return new Promise((resolve) => (this.#waiting = resolve));
    buffer.set(chunk.subarray(0, buffer.length));
    if (chunk.length > buffer.length) this.#chunks.unshift(chunk.subarray(buffer.length));
    return Promise.resolve(Math.min(chunk.length, buffer.length));
  }
  write(data: Uint8Array): Promise<number> {
    return Promise.resolve(data.length);
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    this.#waiting?.(null);
    this.#waiting = null;
  }
}

/** Runs a stream over the script until it waits, and returns the read buffer sizes. */
async function readSizes(chunks: Uint8Array[]): Promise<number[]> {
  await using engine = new TestEngine();
  const transport = new Scripted(chunks);
  const stream = new Stream({ engine });
  stream[adopt](transport, null);
  stream[begin]();
  await engine.flush();
  stream.close();
  return transport.sizes;
}

Deno.test("Stream's pending read holds 1 KiB, not 64 KiB, after one 256-byte message", async () => {
  const sizes = await readSizes([new Uint8Array(256)]);
  deepStrictEqual(sizes, [256, 1024]);
});

Deno.test("Stream grows its read buffer to 64 KiB in four full reads of a bulk transfer", async () => {
  const sizes = await readSizes([new Uint8Array(1 << 20)]);
  deepStrictEqual(sizes.slice(0, 6), [256, 1024, 4096, 16384, 65536, 65536]);
});

Deno.test("Stream returns to a 256-byte read as soon as a bulk transfer ends with a small read", async () => {
  const sizes = await readSizes([
    new Uint8Array(256 + 1024 + 4096 + 16384 + 65536),
    new Uint8Array(10),
  ]);
  strictEqual(sizes.at(-2), 65536);
  strictEqual(sizes.at(-1), 256, "the idle read after a 10-byte read");
});

Deno.test("Stream keeps its read buffer while reads use more than an eighth of it", async () => {
  const bulk = new Uint8Array(256 + 1024 + 4096 + 16384 + 65536);
  const sizes = await readSizes([bulk, new Uint8Array(9000), new Uint8Array(9000)]);
  deepStrictEqual(sizes.slice(-3), [65536, 65536, 65536]);
  ok(sizes.every((size) => size <= 65536));
});
