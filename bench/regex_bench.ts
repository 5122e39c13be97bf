/**
 * What one read costs a stream framed by a `RegExp`, with little or much
 * already buffered (issue 14, item 6): a stream reads a prefix of B bytes
 * without a match, then N one-byte reads, then the byte that completes the
 * frame. The reads come from a scripted in-process transport (no sockets),
 * so the figure is the framing path's own cost per read.
 *
 *     deno run -A bench/regex_bench.ts
 *
 * Prints, per expression and encoding, µs per read at B = 1 KB and 60 KB
 * and their ratio (goal: at most 2x).
 *
 * @module
 */

import { Stream } from "../mod.ts";
import { TestEngine } from "../testing.ts";
import { adopt, begin } from "../channels/_symbols.ts";
import { lastCharOf, mostMatchLength } from "../framing/_regex_text.ts";

const ADDRESS: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
const READS = Number(Deno.env.get("READS") ?? 2000);

/** Hands out its chunks one per read, then ends. */
class Scripted {
  readonly localAddr = ADDRESS;
  readonly remoteAddr = ADDRESS;
  #chunks: Uint8Array[];
  constructor(chunks: Uint8Array[]) {
    this.#chunks = chunks.reverse();
  }
  read(buffer: Uint8Array): Promise<number | null> {
    const chunk = this.#chunks.pop();
    if (chunk === undefined) return new Promise(() => {});
    const n = Math.min(chunk.length, buffer.length);
    buffer.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#chunks.push(chunk.subarray(n));
    return Promise.resolve(n);
  }
  write(data: Uint8Array): Promise<number> {
    return Promise.resolve(data.length);
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
}

/** µs per one-byte read with `prefix` bytes buffered (the prefix's own reads excluded). */
async function perRead(re: RegExp, utf8: boolean, prefix: number, filler: number): Promise<number> {
  const engine = new TestEngine();
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  class Framed extends Stream {
    override onRead(): void {
      done();
    }
  }
  const stream = new Framed({ engine });
  stream.bufferSize = 1 << 20;
  stream.readDelimiter = re;
  if (utf8) stream.encoding = "utf-8";
  const one = new Uint8Array([filler]);
  const chunks = [new Uint8Array(prefix).fill(filler)];
  for (let i = 0; i < READS; i++) chunks.push(one);
  chunks.push(new Uint8Array([0x0a]));
  const start = performance.now();
  // deno-lint-ignore no-explicit-any
  (stream as any)[adopt](new Scripted(chunks), null);
  // deno-lint-ignore no-explicit-any
  (stream as any)[begin]();
  await finished;
  const elapsed = performance.now() - start;
  stream.close({ flush: false });
  await engine.flush();
  return (elapsed * 1000) / READS;
}

const CASES: [string, RegExp, boolean, number][] = [
  ["/\\r?\\n/ bytes", /\r?\n/, false, 0x61],
  ["/\\r?\\n/ utf-8", /\r?\n/, true, 0x61],
  ["/;|\\n/ utf-8", /;|\n/, true, 0x61],
  ["/[ \\t]*\\r?\\n/ spaces", /[ \t]*\r?\n/, false, 0x20],
  ["/\\w+\\n/ letters", /\w+\n/, false, 0x61],
  ["/\\w+;|\\n/ letters", /\w+;|\n/, false, 0x61],
];

console.log(`RegExp framing: µs per 1-byte read (${READS} reads), median of 5 runs`);
console.log(
  "expression                 1 KB buffered   60 KB buffered   ratio   goal <= 2x   kind",
);
for (const [name, re, utf8, filler] of CASES) {
  const median = async (prefix: number) => {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) runs.push(await perRead(re, utf8, prefix, filler));
    return runs.sort((a, b) => a - b)[2]!;
  };
  const small = await median(1000);
  const large = await median(60_000);
  const ratio = large / small;
  console.log(
    `${name.padEnd(27)}${small.toFixed(2).padStart(13)}${large.toFixed(2).padStart(17)}` +
      `${ratio.toFixed(2).padStart(8)}x   ${(ratio <= 2 ? "MET" : "MISSED").padEnd(10)}   ` +
      (mostMatchLength(re) < Infinity
        ? "bounded"
        : lastCharOf(re) !== null
        ? `unbounded, ends with ${JSON.stringify(lastCharOf(re))}`
        : "unbounded"),
  );
}
