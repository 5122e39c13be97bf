/**
 * Hostile peers against a Pants server running as a subprocess
 * (tests/fixtures/hostile_server.ts, with `--allow-net` for its own address
 * only): floods, peers that never read, silent and slow-drip peers, resets
 * mid-frame, half-closes, 1,000 peers connecting and resetting in a loop,
 * floods of streams paused or closing after STARTTLS, and silent peers
 * piling up on a full TLS server. The server keeps serving, its memory
 * stays bounded, and afterwards no stream and no WebAssembly region is left. Each test prints its figures
 * (`[hostile]` lines); bench/hostile_report.ts prints them as a table.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  churn,
  EchoProbe,
  empty,
  HostileServer,
  type Latency,
  mib,
  runScenario,
  type ScenarioResult,
  scenarios,
  type StallResult,
} from "./_hostile.ts";
import { freePort } from "./_subprocess.ts";

const MiB = 1024 * 1024;
/** Growth of the server's RSS an attack may cause, in KiB: far below what the attacks send. */
const RSS_BUDGET_KIB = 48 * 1024;

const ms = (latency: Latency | null) =>
  latency === null || latency.n === 0
    ? "-"
    : `p50 ${latency.p50.toFixed(2)} / p99 ${latency.p99.toFixed(2)} / max ${
      latency.max.toFixed(1)
    } ms`;

function figures(result: ScenarioResult, extra = ""): void {
  const parts = [
    `peak RSS ${mib(result.peakKiB)} MiB (before ${mib(result.baselineKiB)} MiB)`,
    `server CPU ${result.cpuMs.toFixed(0)} ms`,
  ];
  if (result.idle !== null) {
    parts.push(`echo idle ${ms(result.idle)}, under attack ${ms(result.underAttack)}`);
    parts.push(
      `connect+echo idle ${ms(result.idleConnect)}, under attack ${ms(result.underAttackConnect)}`,
    );
  }
  if (extra) parts.push(extra);
  console.log(`[hostile] ${result.name}: ${parts.join("; ")}`);
}

function assertRecovered(result: ScenarioResult): void {
  strictEqual(result.after.errors, 0, "errors reached onError");
  strictEqual(result.after.streams, 0, "streams left open");
  strictEqual(result.after.engine.channels.stream, 0, "streams left attached to the engine");
  strictEqual(result.after.engine.channels.server, 1, "the server stopped listening");
  strictEqual(result.after.engine.wasmRegions, 0, "WASM regions left open");
  strictEqual(result.after.engine.wasmBufferBytes, 0, "WASM buffer bytes left");
}

function assertBoundedMemory(result: ScenarioResult): void {
  ok(
    result.peakKiB - result.baselineKiB < RSS_BUDGET_KIB,
    `RSS grew from ${mib(result.baselineKiB)} to ${mib(result.peakKiB)} MiB`,
  );
}

Deno.test("Server closes a peer sending 100 MiB without a delimiter once bufferSize overflows", async () => {
  const result = await runScenario(scenarios.floodClosed, { probe: true });
  figures(result, `sent ${(result.attack.sent / MiB).toFixed(1)} MiB before the reset`);
  strictEqual(result.attack.end, "closed");
  ok(result.attack.sent < 100 * MiB);
  strictEqual(result.after.readOverflows, 1);
  ok(result.probeOk, "the well-behaved client was not served");
  assertBoundedMemory(result);
  assertRecovered(result);
});

Deno.test("Server holds memory bounded while a peer kept open sends 100 MiB without a delimiter", async () => {
  const result = await runScenario(scenarios.floodKept, { probe: true });
  figures(result, `${result.after.readOverflows} overflows`);
  strictEqual(result.attack.end, "sent");
  ok(result.after.engine.bytesIn >= 100 * MiB);
  ok(result.after.readOverflows >= (100 * MiB) / (128 * 1024), `${result.after.readOverflows}`);
  ok(result.probeOk, "the well-behaved client was not served");
  assertBoundedMemory(result);
  assertRecovered(result);
});

Deno.test("Server holds memory bounded while a RegExp delimiter never matches", async () => {
  const result = await runScenario(scenarios.regexFlood, { probe: true });
  figures(result, `${result.after.readOverflows} overflows`);
  strictEqual(result.attack.end, "sent");
  ok(result.after.readOverflows >= result.attack.sent / (128 * 1024));
  ok(result.probeOk, "the well-behaved client was not served");
  assertBoundedMemory(result);
  assertRecovered(result);
});

Deno.test("Server keeps its send queue at the high-water mark for a peer that never reads", async () => {
  const result = await runScenario(scenarios.neverReadsFlood, { probe: true });
  figures(result, `max queued ${result.attack.maxQueued} bytes`);
  ok(result.attack.maxQueued > 0, "the server never wrote");
  ok(result.attack.maxQueued <= 128 * 1024, `queued ${result.attack.maxQueued} bytes`);
  ok(result.probeOk, "the well-behaved client was not served");
  assertBoundedMemory(result);
  assertRecovered(result);
});

Deno.test("Server stops queueing at maxWriteBuffer for a peer that never reads", async () => {
  const result = await runScenario(scenarios.neverReadsBlast, { probe: true });
  figures(result, `max queued ${result.attack.maxQueued} bytes`);
  strictEqual(result.attack.writeOverflows, 1);
  ok(result.attack.maxQueued <= 4 * MiB, `queued ${result.attack.maxQueued} bytes`);
  ok(result.probeOk, "the well-behaved client was not served");
  assertBoundedMemory(result);
  assertRecovered(result);
});

Deno.test("Server closes a stalled writer to a peer that never reads at the idle timeout", async () => {
  const result = await runScenario({
    ...scenarios.neverReadsFlood,
    attack: async (server) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(new TextEncoder().encode("FLOOD\n"));
      const report = await server.settle((report) => report.timeouts.idle === 1, 10_000);
      conn.close();
      return report;
    },
  });
  figures(result, `closed after the send buffers filled`);
  strictEqual(result.attack.timeouts.idle, 1);
  assertRecovered(result);
});

Deno.test("Server closes peers that connect and send nothing at the idle timeout", async () => {
  const result = await runScenario(scenarios.silent);
  const closed = result.attack.closedMs;
  figures(
    result,
    `closed after ${Math.min(...closed).toFixed(0)}-${Math.max(...closed).toFixed(0)} ms`,
  );
  strictEqual(result.attack.open, 0);
  strictEqual(closed.length, 20);
  // Measured from our connect, which the server may see a little earlier.
  ok(closed.every((at) => at >= 500 - 25), `closed before the idle timeout: ${closed}`);
  deepStrictEqual(result.after.timeouts, { idle: 20, frame: 0 });
  assertRecovered(result);
});

Deno.test("Server closes slow-drip peers at the frame timeout", async () => {
  const result = await runScenario(scenarios.slowDrip);
  const closed = result.attack.closedMs;
  figures(
    result,
    `closed after ${Math.min(...closed).toFixed(0)}-${Math.max(...closed).toFixed(0)} ms`,
  );
  strictEqual(result.attack.open, 0);
  strictEqual(closed.length, 5);
  ok(closed.every((at) => at >= 800 - 25), `closed before the frame timeout: ${closed}`);
  deepStrictEqual(result.after.timeouts, { idle: 0, frame: 5 });
  assertRecovered(result);
});

Deno.test("Server forgets 1,000 peers that reset mid-frame", async () => {
  const result = await runScenario(scenarios.resetMidFrame, { probe: true });
  figures(result, `${result.attack.connections} resets`);
  strictEqual(result.attack.connections, 1000);
  ok(result.probeOk, "the well-behaved client was not served");
  assertRecovered(result);
});

Deno.test("Server answers the complete frames of a half-closed peer, then closes", async () => {
  const result = await runScenario(scenarios.halfClose);
  figures(result);
  deepStrictEqual(result.attack, ["frame 0\n", "frame 1\n", "frame 2\n", "frame 3\n", "frame 4\n"]);
  assertRecovered(result);
});

Deno.test("Server keeps answering a well-behaved client while 1,000 peers connect and reset", async () => {
  const result = await runScenario(scenarios.churn, { probe: true });
  figures(
    result,
    `${result.attack.connections} connections in ${result.attack.waves} waves of 1,000`,
  );
  ok(result.attack.connections >= 1000, `${result.attack.connections} connections`);
  ok(result.probeOk, "the well-behaved client was not served");
  ok(result.underAttack!.n > 0, "no round trip during the attack");
  assertRecovered(result);
});

const stallFigure = (flood: StallResult) =>
  `the peer ${flood.stalled ? "stalled after" : "sent all of"} ${
    (flood.sent / MiB).toFixed(2)
  } MiB`;

for (const key of ["startTlsFlood", "startTlsCloseFlood"] as const) {
  const what = key === "startTlsFlood" ? "paused" : "closing with a flush";
  Deno.test(`Server stalls a peer flooding a stream ${what} after STARTTLS`, async () => {
    const result = await runScenario(scenarios[key], { probe: true });
    figures(result, stallFigure(result.attack));
    ok(result.attack.stalled, `the peer sent ${result.attack.sent} bytes without stalling`);
    ok(result.attack.sent < 16 * MiB, `the peer sent ${result.attack.sent} bytes`);
    ok(result.probeOk, "the well-behaved client was not served");
    assertBoundedMemory(result);
    assertRecovered(result);
  });
}

Deno.test("Server on TLS closes silent refused peers within handshakeTimeout", async () => {
  const result = await runScenario(scenarios.tlsRefusals);
  const closed = result.attack.closedMs;
  figures(
    result,
    `${closed.length} closed after ${Math.min(...closed).toFixed(0)}-${
      Math.max(...closed).toFixed(0)
    } ms, ${result.attack.open} left open`,
  );
  strictEqual(result.attack.open, 0);
  strictEqual(closed.length, 30);
  ok(closed.every((at) => at < 300 + 700), `closed after ${closed} ms`);
  strictEqual(result.after.engine.rejected, 30);
  strictEqual(result.after.rejectReplies, 0, "a silent peer got a reply");
  assertBoundedMemory(result);
  assertRecovered(result);
});

Deno.test("Server run with --allow-net for its own address reports an out-of-scope connect", async () => {
  const other = freePort();
  const server = await HostileServer.start({ connect: other });
  try {
    await server.process.waitFor("CONNECT_", 10_000);
    const probe = await EchoProbe.open(server.port);
    await probe.roundTrip();
    probe.close();
    const report = await server.stats();
    console.log(`[hostile] permission-scoped connect: ${report.connectError}`);
    ok(report.connectError?.includes(`127.0.0.1:${other}`), report.connectError ?? "connected");
    ok(report.connectError?.includes(`--allow-net=127.0.0.1:${other}`), report.connectError!);
    strictEqual(report.engine.channels.server, 1);
    ok(!server.process.stderr.includes("Uncaught"), server.process.stderr);
  } finally {
    await server.stop();
  }
});

// A peer that resets before accept() makes Deno fail it with NotConnected:
// the accept loop goes on at once, silently.
Deno.test({
  name: "Server skips peers that reset before being accepted, without pausing or logging",
  fn: async () => {
    const server = await HostileServer.start({});
    try {
      const result = await churn(server.port, {
        peers: 1000,
        durationMs: 3000,
        most: 60_000,
        payload: "",
      });
      ok(result.connections >= 1000);
      await server.settle(empty);
    } finally {
      await server.stop();
    }
    ok(!server.process.stderr.includes("accept failed"), server.process.stderr.slice(0, 600));
  },
});

for (
  const [key, setting] of [
    ["oversizedBufferSize", "bufferSize"],
    ["oversizedDelimiter", "readDelimiter"],
    ["oversizedBlock", "readDelimiter"],
    ["oversizedTimeout", "timeout"],
  ] as const
) {
  Deno.test(`Server survives ${scenarios[key].name}: the setter throws, that stream closes, memory stays flat`, async () => {
    const result = await runScenario(scenarios[key], { probe: true });
    figures(result, `sent ${(result.attack.sent / MiB).toFixed(1)} MiB before the close`);
    strictEqual(result.attack.end, "closed", `the stream with a bad ${setting} closed`);
    ok(result.attack.sent < 256 * MiB);
    strictEqual(result.after.errors, 1, "the RangeError reached that stream's onError");
    strictEqual(result.after.engine.channels.server, 1, "the server kept listening");
    ok(result.probeOk, "another client was served meanwhile");
    assertBoundedMemory(result);
  });
}
