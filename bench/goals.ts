/**
 * The performance goals of issue 18 in one command: runs the network
 * benchmark (`bench/net/run.ts`, every scenario, its chart written too), the
 * records benchmark and the timer benchmark, each measuring Pants against
 * its peers in the same run, and prints one table: each workload, Pants,
 * the best peer, the goal, and whether it is met or by how much it is
 * missed.
 *
 * ```sh
 * deno run -A bench/goals.ts [--quick] [--chart docs/bench.svg] [--note TEXT]...
 * ```
 *
 * `--quick` passes `--quick` to the network benchmark (one short round: a
 * smoke check, not a measurement); `--chart` and `--note` are passed to it
 * as well. The three benchmarks run one after the other, never at once.
 * A full run takes 10 to 30 minutes on a 2-core machine.
 *
 * @module
 */

import type { Row } from "./net/_table.ts";
import type { RunResult } from "./net/_harness.ts";
import { SERVERS } from "./net/_scenarios.ts";

/** One line of the goals table. */
interface Goal {
  workload: string;
  pants: string;
  peer: string;
  goal: string;
  /** `null`: not measured (its benchmark failed). */
  met: boolean | null;
  /** What is missing when not met. */
  gap: string;
}

interface NetReport {
  rows: Row[];
  runs: RunResult[];
  machine: { cpu: string; cores: string; memory: string; kernel: string };
  versions: Record<string, string>;
}

const here = new URL(".", import.meta.url);
const deno = Deno.execPath();

/** Runs a command, streaming its stderr; returns its stdout. */
async function run(args: string[]): Promise<string> {
  console.error(`$ deno ${args.join(" ")}`);
  const output = await new Deno.Command(deno, {
    args,
    cwd: new URL("..", here).pathname,
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  if (!output.success) throw new Error(`deno ${args.join(" ")} failed:\n${stdout}`);
  return stdout;
}

const x = (ratio: number | null): string => ratio === null ? "n/a" : `${ratio.toFixed(2)}x`;
const count = (value: number | null, unit: string): string =>
  value === null ? "n/a" : `${Math.round(value).toLocaleString("en-US")} ${unit}`;

/** A Pants server (`SERVERS`' own flag). */
const isPants = (server: string): boolean => SERVERS.get(server)?.pants === true;
/** Pants or the C reference: not a peer a Deno user would pick. */
const notPeer = (server: string): boolean =>
  isPants(server) || SERVERS.get(server)?.runtime === "c";

/** The Pants row of a scenario's rows. */
function pantsRow(rows: Row[]): Row | null {
  return rows.find((row) => isPants(row.server)) ?? null;
}

function scenarioRows(report: NetReport, id: string): Row[] {
  return report.rows.filter((row) => row.scenario === id);
}

/** The best peer of a scenario by median (lowest for a "lower is better" one). */
function bestPeer(rows: Row[], lowerIsBetter = false): Row | null {
  const peers = rows.filter((row) => !notPeer(row.server) && row.median !== null);
  peers.sort((a, b) => lowerIsBetter ? a.median! - b.median! : b.median! - a.median!);
  return peers[0] ?? null;
}

function ratioGoal(report: NetReport, id: string, workload: string, atLeast: number): Goal {
  const rows = scenarioRows(report, id);
  const pants = pantsRow(rows);
  const peer = bestPeer(rows);
  const ratio = pants?.ratio ?? null;
  return {
    workload,
    pants: `${count(pants?.median ?? null, pants?.unit ?? "")} = ${x(ratio)} raw Deno`,
    peer: peer === null ? "n/a" : `${peer.server} ${x(peer.ratio)}`,
    goal: `>= ${atLeast}x raw Deno`,
    met: ratio === null ? null : ratio >= atLeast,
    gap: ratio === null ? "" : `${((1 - ratio / atLeast) * 100).toFixed(0)}% short`,
  };
}

/** Echo at C=100: Pants at or above raw Deno in every round (rounds run interleaved). */
function everyRoundGoal(report: NetReport): Goal {
  const id = "echo-c100";
  const value = (server: string, round: number) =>
    report.runs.find((r) => r.scenario === id && r.server === server && r.round === round)?.value ??
      null;
  const rounds = [...new Set(report.runs.filter((r) => r.scenario === id).map((r) => r.round))];
  const ratios = rounds.map((round) => {
    const pants = value("pants", round);
    const raw = value("raw-deno", round);
    return pants === null || raw === null ? null : pants / raw;
  }).filter((ratio): ratio is number => ratio !== null);
  const rows = scenarioRows(report, id);
  const peer = bestPeer(rows);
  const worst = ratios.length === 0 ? null : Math.min(...ratios);
  return {
    workload: "echo 64 B, C=100",
    pants: `${x(pantsRow(rows)?.ratio ?? null)} (rounds ${
      ratios.map((ratio) => ratio.toFixed(2)).join(", ")
    })`,
    peer: peer === null ? "n/a" : `${peer.server} ${x(peer.ratio)}`,
    goal: ">= 1.0x raw Deno in every round",
    met: worst === null ? null : worst >= 1,
    gap: worst === null ? "" : `worst round ${x(worst)}`,
  };
}

function churnGoal(report: NetReport): Goal {
  const rows = scenarioRows(report, "churn-10000");
  const pants = pantsRow(rows)?.median ?? null;
  const node = rows.find((row) => row.server === "node")?.median ?? null;
  const peer = bestPeer(rows);
  return {
    workload: "churn, 10,000 connections",
    pants: count(pants, "conns/s"),
    peer: peer === null ? "n/a" : `${peer.server} ${count(peer.median, "conns/s")}`,
    goal: `>= Node (${count(node, "conns/s")})`,
    met: pants === null || node === null ? null : pants >= node,
    gap: pants === null || node === null ? "" : `${x(pants / node)} Node`,
  };
}

function idleGoal(report: NetReport): Goal {
  const rows = scenarioRows(report, "idle-5000");
  const pants = pantsRow(rows)?.median ?? null;
  const peer = bestPeer(rows, true);
  return {
    workload: "idle memory, 5,000 connections",
    pants: pants === null ? "n/a" : `${pants.toFixed(1)} KiB/conn`,
    peer: peer === null ? "n/a" : `${peer.server} ${peer.median!.toFixed(1)} KiB/conn`,
    goal: "<= 8 KiB per connection",
    met: pants === null ? null : pants <= 8,
    gap: pants === null ? "" : `${(pants - 8).toFixed(1)} KiB over`,
  };
}

async function netGoals(passed: string[]): Promise<[Goal[], NetReport]> {
  const stdout = await run(["run", "-A", "bench/net/run.ts", ...passed]);
  console.log(stdout);
  const path = /Raw results: (.*\.json)/.exec(stdout)?.[1];
  if (path === undefined) throw new Error("bench/net/run.ts printed no results file");
  const report = JSON.parse(await Deno.readTextFile(path)) as NetReport;
  return [[
    ratioGoal(report, "lines40-c1", "40-byte lines, onRead per line, C=1", 1.6),
    ratioGoal(report, "lines40-c50", "40-byte lines, C=50", 1.4),
    ratioGoal(report, "crlf40-c50", "40-byte \\r\\n lines, C=50", 1.4),
    everyRoundGoal(report),
    churnGoal(report),
    idleGoal(report),
    ratioGoal(report, "lines1024-c1", "1 KiB lines, C=1", 2),
  ], report];
}

async function recordGoals(): Promise<Goal[]> {
  const stdout = await run(["run", "-A", "bench/records_bench.ts"]);
  console.log(stdout);
  const goals: Goal[] = [];
  const cases: [RegExp, string, number][] = [
    [/^\| 16-byte Struct.*$/m, "16-byte Struct records/s", 0.5],
    [/^\| 100-byte NetStruct.*$/m, "100-byte NetStruct records/s", 0.8],
  ];
  for (const [pattern, workload, atLeast] of cases) {
    const cells = pattern.exec(stdout)?.[0].split("|").map((cell) => cell.trim()) ?? [];
    const ratio = cells.length > 4 ? Number(cells[4]) : null;
    goals.push({
      workload,
      pants: cells.length > 4 ? `${cells[2]} = ${x(ratio)}` : "n/a",
      peer: cells.length > 4 ? `raw DataView ${cells[3]}` : "n/a",
      goal: `>= ${atLeast}x raw DataView`,
      met: ratio === null ? null : ratio >= atLeast,
      gap: ratio === null ? "" : `${((1 - ratio / atLeast) * 100).toFixed(0)}% short`,
    });
  }
  return goals;
}

async function timerGoals(): Promise<Goal[]> {
  const stdout = await run(["bench", "--no-check", "--filter", "summary", "bench/timers_bench.ts"]);
  console.log(stdout);
  const cell = (measure: string): [number, number] | null => {
    const match = new RegExp(`^\\| ${measure}\\s*\\|\\s*([\\d.,]+)\\s*\\|\\s*([\\d.,]+)`, "m")
      .exec(stdout);
    return match === null
      ? null
      : [Number(match[1]!.replaceAll(",", "")), Number(match[2]!.replaceAll(",", ""))];
  };
  const goals: Goal[] = [];
  const cases: [string, string, number][] = [
    ["schedule\\+cancel 1M, new \\(ms\\)", "1M defer + cancel, new engine", 150],
    ["schedule\\+cancel 1M, warm \\(ms\\)", "1M defer + cancel, warm engine", 60],
  ];
  for (const [measure, workload, atMost] of cases) {
    const found = cell(measure);
    goals.push({
      workload,
      pants: found === null ? "n/a" : `${found[0]} ms`,
      peer: found === null ? "n/a" : `setTimeout ${found[1]} ms`,
      goal: `<= ${atMost} ms`,
      met: found === null ? null : found[0] <= atMost,
      gap: found === null ? "" : `${(found[0] - atMost).toFixed(0)} ms over`,
    });
  }
  return goals;
}

function render(goals: Goal[]): string {
  const header = ["workload", "Pants", "best peer in the same run", "goal", "result"];
  const rows = goals.map((goal) => [
    goal.workload,
    goal.pants,
    goal.peer,
    goal.goal,
    goal.met === null ? "not measured" : goal.met ? "met" : `MISSED (${goal.gap})`,
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i]!.length))
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)]
    .join("\n");
}

if (import.meta.main) {
  const started = Date.now();
  const [net, report] = await netGoals(Deno.args);
  const records = await recordGoals();
  const timers = await timerGoals();
  console.log(
    `\nIssue 18's goals, ${new Date().toISOString()}, ${
      ((Date.now() - started) / 60000).toFixed(1)
    } min`,
  );
  console.log(
    `Machine: ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memory}, ` +
      `Linux ${report.machine.kernel}; ${
        Object.entries(report.versions).map(([k, v]) => `${k} ${v}`).join(", ")
      }`,
  );
  console.log(render([...records, ...net, ...timers]));
}
