/**
 * Draws the SVG chart of a saved network benchmark run again, e.g. with
 * other notes under its heading (`bench/net/run.ts` already writes one
 * beside each run's JSON):
 *
 *     deno run --allow-read --allow-write bench/net/chart.ts bench/results/net-….json OUT.svg
 *         [--note TEXT]...
 *
 * @module
 */

import { chartOfReport, type ChartReport } from "./_chart.ts";

async function main(): Promise<void> {
  const [input, output, ...rest] = Deno.args;
  if (input === undefined || output === undefined) {
    throw new TypeError(
      "Usage: chart.ts RESULTS.json OUT.svg [--note TEXT]...",
    );
  }
  const notes: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const note = rest[i + 1];
    if (rest[i] !== "--note" || note === undefined) {
      throw new TypeError(`Unknown argument "${rest[i]}": use --note TEXT`);
    }
    notes.push(note);
    i++;
  }
  const report = JSON.parse(await Deno.readTextFile(input)) as ChartReport;
  await Deno.writeTextFile(output, chartOfReport(report, notes));
  console.log(`Chart: ${output}`);
}

if (import.meta.main) await main();
