/**
 * Figures for the hostile-peer suite: the peak RSS of a Pants server
 * (tests/fixtures/hostile_server.ts, a subprocess) under each attack, and
 * the echo latency of a well-behaved client idle and under attack.
 *
 *     deno run -A bench/hostile_report.ts [--quick] [--only NAME,NAME]
 *
 * Needs python3 (the reset attacks use SO_LINGER 0). Loopback only. Takes
 * about a minute at full size; `--quick` uses the test suite's sizes.
 *
 * @module
 */
import {
  type Latency,
  mib,
  runScenario,
  type Scenario,
  type ScenarioResult,
  scenarios,
} from "../tests/_hostile.ts";

const quick = Deno.args.includes("--quick");
const onlyAt = Deno.args.indexOf("--only");
const only = onlyAt >= 0 ? new Set((Deno.args[onlyAt + 1] ?? "").split(",")) : null;

function describe(key: string, result: ScenarioResult): string {
  const after = result.after;
  const attack = result.attack as Record<string, unknown> | undefined;
  switch (key) {
    case "floodClosed":
    case "floodKept":
    case "regexFlood": {
      const flood = attack as { sent: number; end: string; ms: number };
      return `sent ${mib(flood.sent / 1024)} MiB in ${flood.ms.toFixed(0)} ms (${flood.end}); ` +
        `read overflows ${after.readOverflows}`;
    }
    case "neverReadsFlood":
    case "neverReadsBlast": {
      const during = attack as unknown as { maxQueued: number };
      return `max queued ${
        mib(during.maxQueued / 1024)
      } MiB; write overflows ${after.writeOverflows}; ` +
        `idle timeouts ${after.timeouts.idle}`;
    }
    case "silent":
    case "slowDrip": {
      const closed = attack as unknown as { closedMs: number[]; open: number };
      const last = Math.max(...closed.closedMs);
      return `${closed.closedMs.length} closed (last after ${
        last.toFixed(0)
      } ms), ${closed.open} left; ` +
        `timeouts idle ${after.timeouts.idle} frame ${after.timeouts.frame}`;
    }
    case "resetMidFrame":
    case "heldPartial":
    case "churn": {
      const churn = attack as unknown as {
        connections: number;
        waves: number;
        failed: number;
        ms: number;
      };
      return `${churn.connections} connections in ${churn.waves} waves, ${
        churn.ms.toFixed(0)
      } ms, ` +
        `${churn.failed} failed; accepted ${after.accepted}`;
    }
    case "startTlsFlood":
    case "startTlsCloseFlood": {
      const flood = attack as unknown as { sent: number; stalled: boolean; ms: number };
      return `the peer ${flood.stalled ? "stalled" : "did not stall"} after ${
        mib(flood.sent / 1024)
      } MiB (${flood.ms.toFixed(0)} ms); idle timeouts ${after.timeouts.idle}`;
    }
    case "tlsRefusals": {
      const closed = attack as unknown as { closedMs: number[]; open: number };
      return `${closed.closedMs.length} closed (last after ${
        Math.max(...closed.closedMs).toFixed(0)
      } ms), ${closed.open} left; rejected ${after.engine.rejected}`;
    }
    case "regexDense": {
      const report = attack as unknown as { engine: { frames: number } };
      return `${report.engine.frames} frames`;
    }
    case "oversizedBufferSize":
    case "oversizedDelimiter":
    case "oversizedBlock":
    case "oversizedTimeout": {
      const flood = attack as unknown as { sent: number; end: string };
      return `the setter threw: ${after.errors} stream closed after ${
        mib(flood.sent / 1024)
      } MiB (${flood.end})`;
    }
    case "halfClose":
      return `${(attack as unknown as string[]).length} peers, replies ok`;
    default:
      return `frames ${after.engine.frames}, loop lag ${after.engine.loopLagMs.toFixed(1)} ms`;
  }
}

const latency = (figures: Latency | null): string =>
  figures === null || figures.n === 0
    ? "-"
    : `${figures.p50.toFixed(2)} / ${figures.p99.toFixed(2)} / ${figures.max.toFixed(1)}`;

const rows: string[][] = [];
for (const [key, scenario] of Object.entries(scenarios) as [string, Scenario][]) {
  if (only !== null && !only.has(key)) continue;
  const result = await runScenario(scenario, { quick, probe: true });
  const left = `${result.after.streams} streams, ${result.after.engine.wasmRegions} regions, ` +
    `RSS ${mib(result.after.rss / 1024)} MiB`;
  rows.push([
    result.name,
    mib(result.baselineKiB),
    mib(result.peakKiB),
    result.cpuMs.toFixed(0),
    latency(result.idle),
    latency(result.underAttack),
    latency(result.idleConnect),
    latency(result.underAttackConnect),
    left,
    describe(key, result),
  ]);
  console.error(`done: ${result.name}`);
}

const header = [
  "attack",
  "RSS before (MiB)",
  "peak RSS (MiB)",
  "server CPU (ms)",
  "echo idle p50/p99/max (ms)",
  "echo under attack",
  "connect+echo idle",
  "connect+echo under attack",
  "left after",
  "notes",
];
const table = [header, header.map(() => "---"), ...rows];
console.log(`Hostile peers (${quick ? "quick" : "full"} sizes), Deno ${Deno.version.deno}\n`);
for (const row of table) console.log(`| ${row.join(" | ")} |`);
