/**
 * Pants' network benchmark (issue 8): Pants against raw Deno, Node, Bun and a
 * C reference server, in one run on one machine. Each server is pinned to
 * core 0 and the C load generator (`loadgen.c`, built with gcc) to core 1;
 * each scenario/server pair runs 3 times, interleaved; the table shows
 * medians, min–max and ratios against raw Deno, and the raw results are
 * saved as JSON under `bench/results/`.
 *
 *     deno run -A bench/net/run.ts [--quick] [--rounds N] [--only id,id] [--servers name,name]
 *         [--quiet-wait S] [--quiet-threshold CORES] [--chart FILE.svg] [--note TEXT]
 *
 * Before each run of a full benchmark the runner waits (up to `--quiet-wait`
 * seconds, default 60; 0 with `--quick`) until other processes use less than
 * `--quiet-threshold` cores (default 0.3), so a shared machine's noise is
 * kept out where possible; the "other" column shows what remained.
 *
 * Beside the JSON the runner writes the table as an SVG chart (`_chart.ts`);
 * `--chart` writes it to another file too, and each `--note` adds a line
 * under its heading.
 *
 * `--quick` runs one short round of everything (a smoke check). See
 * `bench/net/README.md` for what each scenario measures.
 *
 * @module
 */

import {
  available,
  pantsSourceHash,
  prepare,
  runOne,
  type RunResult,
  type Toolchain,
  waitQuiet,
} from "./_harness.ts";
import { type Scenario, SCENARIOS, SERVERS } from "./_scenarios.ts";
import { renderTable, type Row, summarise } from "./_table.ts";
import { chartOfReport } from "./_chart.ts";

interface Options {
  quick: boolean;
  rounds: number;
  quietWait: number | null;
  quietThreshold: number;
  only: string[] | null;
  servers: string[] | null;
  chart: string | null;
  notes: string[];
}

function parseArgs(args: string[]): Options {
  const options: Options = {
    quick: false,
    rounds: 3,
    quietWait: null,
    quietThreshold: 0.3,
    only: null,
    servers: null,
    chart: null,
    notes: [],
  };
  let roundsGiven = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new TypeError(`Missing value after "${arg}"`);
      return v;
    };
    if (arg === "--quick") options.quick = true;
    else if (arg === "--rounds") {
      options.rounds = Number(value());
      roundsGiven = true;
    } else if (arg === "--quiet-wait") options.quietWait = Number(value());
    else if (arg === "--quiet-threshold") {
      options.quietThreshold = Number(value());
    } else if (arg === "--only") options.only = value().split(",");
    else if (arg === "--servers") options.servers = value().split(",");
    else if (arg === "--chart") options.chart = value();
    else if (arg === "--note") options.notes.push(value());
    else {
      throw new TypeError(
        `Unknown argument "${arg}": use --quick, --rounds N, --only id,id, --servers name,name, ` +
          "--quiet-wait S, --quiet-threshold CORES, --chart FILE.svg or --note TEXT",
      );
    }
  }
  if (options.quick && !roundsGiven) options.rounds = 1;
  options.quietWait ??= options.quick ? 0 : 60;
  if (!Number.isInteger(options.rounds) || options.rounds < 1) {
    throw new RangeError(
      `Invalid --rounds "${options.rounds}": expected a positive integer`,
    );
  }
  return options;
}

/** The machine a run ran on. */
interface Machine {
  cpu: string;
  cores: string;
  memory: string;
  kernel: string;
  loadAverage: string;
}

function machine(): Machine {
  const read = (path: string): string => {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return "";
    }
  };
  const cpuinfo = read("/proc/cpuinfo");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  const memKiB = Number(
    /MemTotal:\s*(\d+)/.exec(read("/proc/meminfo"))?.[1] ?? 0,
  );
  return {
    cpu: model,
    cores: `${navigator.hardwareConcurrency}`,
    memory: `${(memKiB / 1024 / 1024).toFixed(1)} GiB`,
    kernel: read("/proc/sys/kernel/osrelease").trim(),
    loadAverage: read("/proc/loadavg").trim(),
  };
}

function log(line: string): void {
  console.error(line);
}

function describe(result: RunResult, scenario: Scenario): string {
  const value = result.value === null ? "FAILED" : `${result.value} ${scenario.unit}`;
  const extra = result.errors > 0 ? ` errors=${result.errors} (${result.error})` : "";
  const stats = result.stats === null ? "" : ` streams after=${result.stats.streams}`;
  const stderr = result.serverStderr === "" ? "" : " [server stderr]";
  return `${value}${extra}${stats}${stderr} other=${result.otherCpuCores.toFixed(2)} cores`;
}

async function main(): Promise<void> {
  const options = parseArgs(Deno.args);
  const started = new Date();
  const tools: Toolchain = await prepare(log);
  const scenarios = SCENARIOS.filter((s) => options.only === null || options.only.includes(s.id));
  if (scenarios.length === 0) {
    throw new RangeError(
      `No scenario matches --only: known ids are ${SCENARIOS.map((s) => s.id).join(", ")}`,
    );
  }
  const serversOf = (scenario: Scenario): string[] =>
    scenario.servers.filter((name) =>
      available(tools, SERVERS.get(name)!) &&
      (options.servers === null || options.servers.includes(name))
    );
  const machineBefore = machine();
  log(
    `pants bench:net ${options.quick ? "(quick) " : ""}${options.rounds} round(s), ` +
      `${scenarios.length} scenarios; load ${machineBefore.loadAverage}`,
  );
  for (const note of tools.notes) log(`note: ${note}`);

  const results: RunResult[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const scenario of scenarios) {
      const servers = serversOf(scenario);
      // Interleave: each round starts with a different server.
      const shift = (round - 1) % Math.max(1, servers.length);
      const order = [...servers.slice(shift), ...servers.slice(0, shift)];
      for (const server of order) {
        const quiet = options.quietWait! > 0
          ? await waitQuiet(options.quietThreshold, options.quietWait!)
          : null;
        const source = SERVERS.get(server)!.pants ? await pantsSourceHash() : undefined;
        const result = await runOne(tools, scenario, server, round, options.quick);
        result.pantsSource = source;
        if (quiet !== null) {
          result.quietWaitSeconds = quiet.waitedSeconds;
          result.loadBeforeCores = quiet.cores;
        }
        results.push(result);
        log(
          `[${round}/${options.rounds}] ${scenario.id} ${server}: ${describe(result, scenario)}`,
        );
      }
    }
  }

  const blocks: { scenario: Scenario; rows: Row[] }[] = scenarios.map((
    scenario,
  ) => ({
    scenario,
    rows: summarise(scenario, results),
  }));
  const finished = new Date();
  const info = machine();
  const lines: string[] = [];
  lines.push(
    `Pants network benchmark, ${finished.toISOString()}, ${options.rounds} round(s)` +
      `${options.quick ? " (quick)" : ""}, ${((+finished - +started) / 60000).toFixed(1)} min`,
  );
  lines.push(
    `Machine: ${info.cpu}, ${info.cores} cores, ${info.memory}, Linux ${info.kernel}; ` +
      `servers pinned to core 0, load generator to core 1: ${tools.pinned ? "yes" : "no"}`,
  );
  lines.push(
    `Versions: ${Object.entries(tools.versions).map(([k, v]) => `${k} ${v}`).join(", ")}`,
  );
  lines.push(renderTable(blocks));
  lines.push("");
  lines.push(
    "median/min-max over rounds; x raw Deno = median / raw Deno's median; p50/p99 = latency " +
      "medians; srv CPU = server CPU in % of one core; other = CPU used by other processes " +
      "(cores) during the runs (noise).",
  );
  for (const note of tools.notes) lines.push(`Note: ${note}`);
  const sources = [...new Set(results.flatMap((r) => r.pantsSource ?? []))];
  if (sources.length > 1) {
    lines.push(
      `Warning: Pants' sources changed during the run (${sources.join(", ")}): ` +
        "its rows mix versions; see pantsSource in the JSON.",
    );
  }
  const failures = results.filter((r) => r.errors > 0 || r.value === null);
  for (const f of failures) {
    lines.push(
      `Failed: ${f.scenario} ${f.server} round ${f.round}: ${f.error}`,
    );
  }
  const noisy = results.filter((r) => r.serverStderr !== "");
  for (const r of noisy) {
    lines.push(
      `Server stderr: ${r.scenario} ${r.server} round ${r.round}: ` +
        r.serverStderr.split("\n").slice(0, 3).join(" | "),
    );
  }
  const table = lines.join("\n");
  console.log(table);

  const dir = new URL("../results/", import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true });
  const stamp = finished.toISOString().replace(/[-:]/g, "").replace(/\..*/, "")
    .replace("T", "-");
  const path = `${dir}net-${stamp}${options.quick ? "-quick" : ""}.json`;
  const report = {
    started: started.toISOString(),
    finished: finished.toISOString(),
    options,
    machine: { ...info, loadAverageBefore: machineBefore.loadAverage },
    versions: tools.versions,
    pinned: tools.pinned,
    notes: tools.notes,
    scenarios: scenarios.map((s) => ({
      ...s,
      args: s.args(options.quick),
    })),
    rows: blocks.flatMap((b) => b.rows),
    runs: results,
    table,
  };
  await Deno.writeTextFile(path, JSON.stringify(report, null, 2) + "\n");
  console.log(`\nRaw results: ${path}`);
  const svg = chartOfReport(report, options.notes);
  const charts = [
    path.replace(/\.json$/, ".svg"),
    ...(options.chart === null ? [] : [options.chart]),
  ];
  for (const chart of charts) await Deno.writeTextFile(chart, svg);
  console.log(`Chart: ${charts.join(", ")}`);
  await Deno.remove(tools.dir, { recursive: true });
}

if (import.meta.main) await main();
