/**
 * The scan kernel: the WASM core vs the TypeScript reference vs a plain
 * `Uint8Array.indexOf` loop, on 64 MiB of 40-byte lines fed in 64 KiB
 * chunks, for `\n` and `\r\n`.
 *
 * Each core pass appends every chunk, scans, and consumes the frames found
 * (as a stream would); the indexOf loop only finds the delimiters in each
 * chunk (no buffering, no frame list), so it is a generous baseline.
 *
 * Two sources of the same 64 MiB stream:
 * - "hot": the chunks cycle through 320 KiB of lines (5 chunks), as a
 *   socket's reused read buffer would be, so the source bytes are in cache;
 * - "cold": 64 MiB of distinct bytes, so every chunk is first read from
 *   L3 or RAM (the copy into WASM memory then bounds the core's speed).
 *
 * ```sh
 * deno bench bench/scan_bench.ts      # deno bench: time per pass
 * deno run bench/scan_bench.ts        # a table in GB/s (no permissions needed)
 * ```
 *
 * @module
 */

import { type FramingCore, MAX_FRAMES_PER_SCAN } from "../framing/_core.ts";
import { ReferenceFramingCore } from "../tests/_reference_core.ts";
import { WasmFramingCore } from "../framing/_wasm_core.ts";

const TOTAL = 64 << 20;
const CHUNK = 64 << 10;
const LINE = 40;
const LIMIT = 65536;

/** `size` bytes of 40-byte lines (delimiter included; a partial line at the end is zeros). */
function makeLines(delimiter: Uint8Array, size: number): Uint8Array {
  const data = new Uint8Array(size);
  const body = LINE - delimiter.length;
  for (let at = 0, n = 0; at + LINE <= size; at += LINE, n++) {
    for (let i = 0; i < body; i++) data[at + i] = 97 + ((n + i) % 26);
    data.set(delimiter, at + body);
  }
  return data;
}

/** The 64 MiB stream as 64 KiB chunks, from a hot (cycled, 320 KiB) or cold (64 MiB) source. */
function makeChunks(delimiter: Uint8Array, hot: boolean): Uint8Array[] {
  // 320 KiB is a multiple of the line length, so cycling it keeps lines whole.
  const data = makeLines(delimiter, hot ? 5 * CHUNK : TOTAL);
  return Array.from({ length: TOTAL / CHUNK }, (_, i) => {
    const at = (i * CHUNK) % data.length;
    return data.subarray(at, at + CHUNK);
  });
}

/** Feeds the chunks to a core, consuming every frame; returns the frame count. */
function runCore(core: FramingCore, chunks: Uint8Array[], delimiter: Uint8Array): number {
  const id = core.open();
  core.setRule(id, { kind: "delimiter", delimiter });
  let frames = 0;
  for (const chunk of chunks) {
    core.append(id, chunk);
    for (;;) {
      const count = core.scan(id, LIMIT);
      if (count <= 0) break;
      frames += count;
      core.consume(id, core.frames[3 * count - 1]!);
      if (count < MAX_FRAMES_PER_SCAN) break;
    }
  }
  core.close(id);
  return frames;
}

/** Finds every delimiter with `indexOf`, chunk by chunk; returns the frame count. */
function runIndexOf(chunks: Uint8Array[], delimiter: Uint8Array): number {
  let frames = 0;
  if (delimiter.length === 1) {
    const byte = delimiter[0]!;
    for (const chunk of chunks) {
      for (let i = chunk.indexOf(byte); i >= 0; i = chunk.indexOf(byte, i + 1)) frames++;
    }
    return frames;
  }
  // Two bytes: find the second, check the one before (possibly the previous chunk's last).
  const [first, second] = [delimiter[0]!, delimiter[1]!];
  let last = -1;
  for (const chunk of chunks) {
    for (let i = chunk.indexOf(second); i >= 0; i = chunk.indexOf(second, i + 1)) {
      if ((i > 0 ? chunk[i - 1] : last) === first) frames++;
    }
    last = chunk[chunk.length - 1]!;
  }
  return frames;
}

const DELIMITERS: [string, Uint8Array][] = [
  ["\\n", new Uint8Array([10])],
  ["\\r\\n", new Uint8Array([13, 10])],
];
const SOURCES: [string, boolean][] = [["hot", true], ["cold", false]];
const EXPECTED = Math.floor(TOTAL / LINE);

const wasm = new WasmFramingCore();
const reference = new ReferenceFramingCore();
const IMPLEMENTATIONS: [string, (chunks: Uint8Array[], delimiter: Uint8Array) => number][] = [
  ["WasmFramingCore", (chunks, delimiter) => runCore(wasm, chunks, delimiter)],
  ["ReferenceFramingCore", (chunks, delimiter) => runCore(reference, chunks, delimiter)],
  ["Uint8Array.indexOf loop", runIndexOf],
];

const cases = SOURCES.flatMap(([source, hot]) =>
  DELIMITERS.map(([name, delimiter]) => ({
    source,
    name,
    delimiter,
    chunks: makeChunks(delimiter, hot),
  }))
);

if (!import.meta.main) {
  for (const { source, name: delimiterName, delimiter, chunks } of cases) {
    for (const [name, run] of IMPLEMENTATIONS) {
      Deno.bench({
        name: `${name}, ${delimiterName}, ${source} source`,
        group: `scan ${delimiterName}, ${source} source`,
        baseline: name === "WasmFramingCore",
        fn: () => {
          if (run(chunks, delimiter) !== EXPECTED) throw new Error("wrong frame count");
        },
      });
    }
  }
} else {
  const rows: string[][] = [];
  const ratios: string[] = [];
  for (const { source, name: delimiterName, delimiter, chunks } of cases) {
    const speeds = new Map<string, number>();
    for (const [name, run] of IMPLEMENTATIONS) {
      const times: number[] = [];
      const deadline = performance.now() + 3000;
      for (let i = 0; i < 40 && (i < 6 || performance.now() < deadline); i++) {
        const start = performance.now();
        const frames = run(chunks, delimiter);
        times.push(performance.now() - start);
        if (frames !== EXPECTED) {
          throw new Error(`${name} found ${frames} frames, expected ${EXPECTED}`);
        }
      }
      times.splice(0, 3); // warm-up (the WASM code tiers up from Liftoff to TurboFan)
      times.sort((a, b) => a - b);
      const gbps = (ms: number) => TOTAL / (ms / 1000) / 1e9;
      const median = times[times.length >> 1]!;
      speeds.set(name, gbps(median));
      rows.push([
        source,
        delimiterName,
        name,
        gbps(median).toFixed(2),
        gbps(times[0]!).toFixed(2),
        median.toFixed(1),
      ]);
    }
    const ratio = speeds.get("WasmFramingCore")! / speeds.get("Uint8Array.indexOf loop")!;
    ratios.push(
      `WASM / indexOf loop, ${delimiterName}, ${source} source: ${ratio.toFixed(1)}x (median)`,
    );
  }
  const header = [
    "source",
    "delimiter",
    "implementation",
    "GB/s median",
    "GB/s best",
    "ms / 64 MiB",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
  console.log(ratios.join("\n"));
}
