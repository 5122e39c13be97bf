/**
 * The benchmark's summary: medians, min–max, ratios against raw Deno, the
 * targets for Pants, and the printed table.
 *
 * @module
 */

import type { RunResult } from "./_harness.ts";
import type { Scenario } from "./_scenarios.ts";

/** One row of the table: a server in a scenario, over its rounds. */
export interface Row {
  /** Scenario id. */
  scenario: string;
  /** Server name. */
  server: string;
  /** The metric's unit. */
  unit: string;
  /** The metric of each successful round. */
  values: number[];
  /** Median of `values` (`null` when no round succeeded). */
  median: number | null;
  /** Smallest value. */
  min: number | null;
  /** Largest value. */
  max: number | null;
  /** Median divided by the raw Deno baseline's median. */
  ratio: number | null;
  /** Median p50 latency in µs (ping-pong). */
  p50us: number | null;
  /** Median p99 latency in µs (ping-pong). */
  p99us: number | null;
  /** Rounds that failed or reported errors. */
  failedRounds: number;
  /** Median server CPU use during the runs, in % of one core. */
  serverCpuPercent: number | null;
  /** Median CPU use of other processes during the runs, in cores. */
  otherCores: number | null;
  /** The target, for the Pants row. */
  target: string;
  /** Whether the target is met (`null`: no target, or not this row). */
  met: boolean | null;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function numbers(
  results: RunResult[],
  pick: (r: RunResult) => unknown,
): number[] {
  return results.map(pick).filter((v): v is number => typeof v === "number" && isFinite(v));
}

/**
 * Summarises the runs of one scenario into rows, one per server.
 *
 * @example Usage
 * ```ts
 * import { summarise } from "./_table.ts";
 * import { SCENARIOS } from "./_scenarios.ts";
 *
 * console.log(summarise(SCENARIOS[0]!, []));
 * ```
 *
 * @param scenario The scenario.
 * @param results Every run result (other scenarios' are ignored).
 * @returns The rows, in the scenario's server order (servers never run are left out).
 */
export function summarise(scenario: Scenario, results: RunResult[]): Row[] {
  const rows: Row[] = [];
  for (const server of scenario.servers) {
    const runs = results.filter((r) => r.scenario === scenario.id && r.server === server);
    if (runs.length === 0) continue;
    const values = numbers(runs, (r) => r.value);
    rows.push({
      scenario: scenario.id,
      server,
      unit: scenario.unit,
      values,
      median: median(values),
      min: values.length ? Math.min(...values) : null,
      max: values.length ? Math.max(...values) : null,
      ratio: null,
      p50us: median(numbers(runs, (r) => r.loadgen?.p50us)),
      p99us: median(numbers(runs, (r) => r.loadgen?.p99us)),
      failedRounds: runs.filter((r) => r.value === null || r.errors > 0).length,
      serverCpuPercent: median(
        runs.filter((r) => r.wallSeconds > 0).map((r) => 100 * r.serverCpuSeconds / r.wallSeconds),
      ),
      otherCores: median(runs.map((r) => r.otherCpuCores)),
      target: "",
      met: null,
    });
  }
  const base = rows.find((r) => r.server === scenario.baseline)?.median ?? null;
  for (const row of rows) {
    if (base !== null && base > 0 && row.median !== null) {
      row.ratio = row.median / base;
    }
  }
  const pants = rows.find((r) => r.server === scenario.pants);
  if (pants !== undefined) judge(scenario, pants, results);
  return rows;
}

function judge(scenario: Scenario, row: Row, results: RunResult[]): void {
  const target = scenario.target;
  const runs = results.filter((r) => r.scenario === scenario.id && r.server === row.server);
  switch (target.kind) {
    case "ratio":
      row.target = `>= ${target.atLeast.toFixed(1)}x raw Deno`;
      row.met = row.ratio !== null && row.ratio >= target.atLeast &&
        row.failedRounds === 0;
      break;
    case "max":
      row.target = `<= ${target.atMost} ${scenario.unit}`;
      row.met = row.median !== null && row.median <= target.atMost &&
        row.failedRounds === 0;
      break;
    case "churn": {
      row.target = "0 errors, streams back to 0";
      row.met = runs.length > 0 &&
        runs.every((r) => r.errors === 0 && r.value !== null && r.stats?.streams === 0);
      break;
    }
    case "none":
      row.target = "(measured)";
      row.met = null;
  }
}

function fmt(value: number | null, unit: string): string {
  if (value === null) return "-";
  if (unit === "KiB/conn") return value.toFixed(2);
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(1);
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/**
 * Renders the table: one block per scenario, one line per server.
 *
 * @example Usage
 * ```ts
 * import { renderTable } from "./_table.ts";
 *
 * console.log(renderTable([]));
 * ```
 *
 * @param blocks Each scenario with its rows.
 * @returns The table as text.
 */
export function renderTable(
  blocks: { scenario: Scenario; rows: Row[] }[],
): string {
  const lines: string[] = [];
  const header = [
    pad("server", 22),
    pad("median", 11, true),
    pad("min-max", 21, true),
    pad("x raw Deno", 11, true),
    pad("p50/p99 us", 16, true),
    pad("srv CPU", 8, true),
    pad("other", 6, true),
    "  target",
  ].join(" ");
  for (const { scenario, rows } of blocks) {
    lines.push("");
    lines.push(`${scenario.title} [${scenario.unit}]`);
    lines.push(header);
    for (const row of rows) {
      const range = row.min === null ? "-" : `${fmt(row.min, row.unit)}-${fmt(row.max, row.unit)}`;
      const latency = row.p50us === null ? "" : `${row.p50us.toFixed(0)}/${row.p99us!.toFixed(0)}`;
      let target = "";
      if (row.target !== "") {
        target = `${row.target}: ${row.met === null ? "-" : row.met ? "MET" : "MISSED"}`;
      }
      const failed = row.failedRounds > 0 ? ` (${row.failedRounds} failed round(s))` : "";
      lines.push(
        [
          pad(row.server, 22),
          pad(fmt(row.median, row.unit), 11, true),
          pad(range, 21, true),
          pad(row.ratio === null ? "-" : `${row.ratio.toFixed(2)}x`, 11, true),
          pad(latency, 16, true),
          pad(
            row.serverCpuPercent === null ? "-" : `${row.serverCpuPercent.toFixed(0)}%`,
            8,
            true,
          ),
          pad(
            row.otherCores === null ? "-" : row.otherCores.toFixed(2),
            6,
            true,
          ),
          `  ${target}${failed}`,
        ].join(" ").trimEnd(),
      );
    }
  }
  return lines.join("\n");
}
