/**
 * The opt-in soak (not run in CI): a Pants line server
 * (tests/fixtures/hostile_server.ts, a subprocess) under mixed load for a
 * long time, well-behaved echo clients alongside floods, silent and
 * slow-drip peers, peers that never read, half-closes and connect/reset
 * churn. Every few seconds it prints the server's RSS, its counters and
 * the clients' latency; at the end a summary with the RSS trend.
 *
 *     deno run -A bench/soak.ts --minutes 30 [--every 5] [--clients 8]
 *
 * Needs python3 (the churn peers reset with SO_LINGER 0). Loopback only.
 *
 * @module
 */
import {
  churn,
  delay,
  EchoProbe,
  flood,
  halfClose,
  HostileServer,
  memoryOf,
  neverRead,
  type Report,
  silentPeers,
  slowDrip,
  summarize,
} from "../tests/_hostile.ts";

function option(name: string, fallback: number): number {
  const at = Deno.args.indexOf(`--${name}`);
  const value = at >= 0 ? Number(Deno.args[at + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`Invalid --${name} "${Deno.args[at + 1]}"`);
  }
  return value;
}

const minutes = option("minutes", 30);
const everyMs = option("every", 5) * 1000;
const clients = option("clients", 8);
const MiB = 1024 * 1024;

const server = await HostileServer.start({
  timeout: 2000,
  frameTimeout: 1500,
  maxWriteBuffer: 4 * MiB,
});
const started = performance.now();
const deadline = started + minutes * 60_000;
let stopping = false;
const running = () => !stopping && performance.now() < deadline;

// --- load ------------------------------------------------------------------

let window: number[] = [];
let clientFailures = 0;
const attackErrors = new Map<string, number>();

async function wellBehaved(): Promise<void> {
  while (running()) {
    let probe: EchoProbe | null = null;
    try {
      probe = await EchoProbe.open(server.port);
      while (running()) {
        window.push(await probe.roundTrip(5000));
        await delay(5);
      }
    } catch (error) {
      clientFailures++;
      console.error("well-behaved client:", error);
      await delay(100);
    } finally {
      probe?.close();
    }
  }
}

/** Runs `attack` every `intervalMs` until the end, counting its errors. */
async function every(
  name: string,
  intervalMs: number,
  attack: () => Promise<unknown>,
): Promise<void> {
  while (running()) {
    try {
      await attack();
    } catch (error) {
      attackErrors.set(name, (attackErrors.get(name) ?? 0) + 1);
      console.error(`${name}:`, error);
    }
    await delay(intervalMs);
  }
}

const port = server.port;
const loads = [
  ...Array.from({ length: clients }, () => wellBehaved()),
  every("flood", 3000, () => flood(port, { bytes: 8 * MiB, timeoutMs: 5000 })),
  every("silent", 5000, () => silentPeers(port, { peers: 20, timeoutMs: 5000 })),
  every("slow drip", 5000, () => slowDrip(port, { peers: 10, intervalMs: 200, timeoutMs: 5000 })),
  every("never reads", 10_000, () => neverRead(port, "FLOOD", 3000)),
  // A connect during a churn wave may wait seconds in the kernel (accept queue full).
  every("half-close", 1000, () => halfClose(port, "frame\npartial", 15_000)),
  every("churn", 10_000, () => churn(port, { peers: 500, durationMs: 2000, most: 5000 })),
];

// --- sampling ----------------------------------------------------------------

interface Row {
  seconds: number;
  rssMiB: number;
  report: Report;
}
const rows: Row[] = [];
const cells = (values: (string | number)[]) => `| ${values.join(" | ")} |`;
console.log(
  `Soak: ${minutes} min, ${clients} well-behaved clients, sampling every ${everyMs / 1000} s`,
);
console.log(
  cells([
    "t (s)",
    "RSS (MiB)",
    "heap (MiB)",
    "streams",
    "regions",
    "WASM (KiB)",
    "in (MiB)",
    "frames",
    "overflows r/w",
    "timeouts i/f",
    "errors",
    "p50 / p99 (ms)",
  ]),
);
console.log(cells(Array(12).fill("---")));

while (running()) {
  await delay(Math.max(0, Math.min(everyMs, deadline - performance.now())));
  const report = await server.stats();
  const rssMiB = memoryOf(server.pid).rssKiB / 1024;
  const seconds = (performance.now() - started) / 1000;
  const latency = summarize(window);
  window = [];
  rows.push({ seconds, rssMiB, report });
  console.log(
    cells([
      seconds.toFixed(0),
      rssMiB.toFixed(1),
      (report.heapUsed / MiB).toFixed(1),
      report.streams,
      report.engine.wasmRegions,
      (report.engine.wasmBufferBytes / 1024).toFixed(0),
      (report.engine.bytesIn / MiB).toFixed(0),
      report.engine.frames,
      `${report.readOverflows}/${report.writeOverflows}`,
      `${report.timeouts.idle}/${report.timeouts.frame}`,
      report.errors,
      `${latency.p50.toFixed(2)} / ${latency.p99.toFixed(2)}`,
    ]),
  );
}

// --- summary -----------------------------------------------------------------

stopping = true;
await Promise.all(loads);
const after = await server.settle((report) => report.streams === 0, 10_000);
const endRss = memoryOf(server.pid);
await server.stop();

/**
 * The median and the lowest RSS in each quarter of the run. RSS saws up and
 * down as the allocator and the garbage collector work: a leak shows as a
 * median and a floor that keep rising, a plateau as neither.
 */
function quarters(points: Row[]): string {
  const quarter = Math.max(1, Math.ceil(points.length / 4));
  const medians: string[] = [];
  const floors: string[] = [];
  for (let at = 0; at < points.length; at += quarter) {
    const values = points.slice(at, at + quarter).map((row) => row.rssMiB).sort((x, y) => x - y);
    medians.push(values[Math.floor(values.length / 2)]!.toFixed(1));
    floors.push(values[0]!.toFixed(1));
  }
  return `median ${medians.join(", ")} MiB; lowest ${floors.join(", ")} MiB`;
}

const first = rows[0]?.rssMiB ?? NaN;
console.log(`
Summary after ${((performance.now() - started) / 60_000).toFixed(1)} min:
  RSS first sample ${first.toFixed(1)} MiB, peak ${(endRss.hwmKiB / 1024).toFixed(1)} MiB, end ${
  (endRss.rssKiB / 1024).toFixed(1)
} MiB
  RSS per quarter of the run: ${quarters(rows)}
  left after the load: ${after.streams} streams, ${after.engine.wasmRegions} WASM regions (${after.engine.wasmBufferBytes} bytes), ${after.engine.channels.stream} engine streams
  server: ${after.accepted} accepted, ${(after.engine.bytesIn / MiB).toFixed(0)} MiB in, ${
  (after.engine.bytesOut / MiB).toFixed(0)
} MiB out, ${after.engine.frames} frames, ${after.readOverflows} read / ${after.writeOverflows} write overflows, timeouts ${after.timeouts.idle} idle / ${after.timeouts.frame} frame, ${after.errors} errors
  well-behaved client failures: ${clientFailures}; attack errors: ${
  attackErrors.size === 0 ? "none" : JSON.stringify(Object.fromEntries(attackErrors))
}`);
