/**
 * bench/net/_chart.ts: the network benchmark's SVG chart, parsed by a real
 * XML parser (Python's `xml.etree.ElementTree`) and measured: a bar per
 * server and scenario, heights proportional to the ratios, target lines.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { type ChartGroup, chartGroups, chartOfReport, renderChart } from "../bench/net/_chart.ts";
import { summarise } from "../bench/net/_table.ts";
import { SCENARIOS } from "../bench/net/_scenarios.ts";
import type { RunResult } from "../bench/net/_harness.ts";
import { python } from "./_subprocess.ts";

/** What the parser found: the root's tag, and every bar and target line. */
interface Parsed {
  root: string;
  bars: { scenario: string; server: string; ratio: number; y: number; height: number }[];
  targets: { scenario: string; target: number; y: number }[];
  texts: string[];
}

/** Parses an SVG with Python's XML parser (it fails on a document that is not well-formed). */
async function parse(svg: string): Promise<Parsed> {
  const file = await Deno.makeTempFile({ suffix: ".svg" });
  try {
    await Deno.writeTextFile(file, svg);
    const out = await python(
      `
import json, sys, xml.etree.ElementTree as ET
NS = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
bars, targets = [], []
for group in root.iter(NS + "g"):
    for rect in group.iter(NS + "rect"):
        if rect.get("class") == "bar":
            bars.append({"scenario": rect.get("data-scenario"), "server": rect.get("data-server"),
                         "ratio": float(rect.get("data-ratio")), "y": float(rect.get("y")),
                         "height": float(rect.get("height"))})
    for line in group.iter(NS + "line"):
        if line.get("class") == "target":
            targets.append({"scenario": group.get("data-scenario"),
                            "target": float(line.get("data-target")), "y": float(line.get("y1"))})
texts = ["".join(t.itertext()) for t in root.iter(NS + "text")]
print(json.dumps({"root": root.tag, "bars": bars, "targets": targets, "texts": texts}))
`,
      [file],
    );
    return JSON.parse(out) as Parsed;
  } finally {
    await Deno.remove(file);
  }
}

const GROUPS: ChartGroup[] = [
  {
    id: "echo-c100",
    title: "echo ping-pong 64 B, C=100",
    higherIsBetter: true,
    target: 1,
    targetLabel: ">= 1.0x raw Deno",
    met: false,
    bars: [
      { server: "pants", ratio: 0.94, median: 94_000, unit: "msgs/s" },
      { server: "raw-deno", ratio: 1, median: 100_000, unit: "msgs/s" },
      { server: "bun", ratio: 1.2, median: 120_000, unit: "msgs/s" },
    ],
  },
  {
    id: "lines40-c1",
    title: "lines 40 B \\n, C=1 <&>",
    higherIsBetter: true,
    target: 1.6,
    targetLabel: ">= 1.6x raw Deno",
    met: null,
    bars: [
      { server: "pants-lines", ratio: 1.4, median: 700, unit: "MB/s" },
      { server: "raw-deno-lines", ratio: 1, median: 500, unit: "MB/s" },
      { server: "node-readline", ratio: 0.3, median: 150, unit: "MB/s" },
      { server: "c-lines", ratio: 5.95, median: 2975, unit: "MB/s" },
    ],
  },
];

Deno.test("renderChart writes a well-formed SVG document", async () => {
  const parsed = await parse(renderChart(GROUPS, { title: "A & B <chart>", notes: ["x < y"] }));
  strictEqual(parsed.root, "{http://www.w3.org/2000/svg}svg");
  ok(parsed.texts.includes("A & B <chart>"), parsed.texts.join("|"));
  ok(parsed.texts.includes("x < y"));
});

Deno.test("renderChart draws one bar per server in each scenario", async () => {
  const parsed = await parse(renderChart(GROUPS, { title: "t", notes: [] }));
  deepStrictEqual(
    parsed.bars.map((b) => `${b.scenario}/${b.server}`),
    GROUPS.flatMap((g) => g.bars.map((b) => `${g.id}/${b.server}`)),
  );
});

Deno.test("renderChart makes bar heights proportional to the ratios, on one baseline", async () => {
  const parsed = await parse(renderChart(GROUPS, { title: "t", notes: [] }));
  const perUnit = parsed.bars[0]!.height / parsed.bars[0]!.ratio;
  const bottom = parsed.bars[0]!.y + parsed.bars[0]!.height;
  for (const bar of parsed.bars) {
    ok(Math.abs(bar.height - bar.ratio * perUnit) < 0.02, `${bar.server}: ${bar.height}`);
    ok(Math.abs(bar.y + bar.height - bottom) < 0.02, `${bar.server} does not start at the axis`);
  }
  // The tallest bar (5.95x) fits in the plot: its top is below the heading.
  ok(Math.min(...parsed.bars.map((b) => b.y)) > 40);
});

Deno.test("renderChart draws each group's target at the height of that ratio", async () => {
  const parsed = await parse(renderChart(GROUPS, { title: "t", notes: [] }));
  const bar = parsed.bars[0]!;
  const bottom = bar.y + bar.height;
  const perUnit = bar.height / bar.ratio;
  deepStrictEqual(parsed.targets.map((t) => [t.scenario, t.target]), [
    ["echo-c100", 1],
    ["lines40-c1", 1.6],
  ]);
  for (const target of parsed.targets) {
    ok(Math.abs(bottom - target.y - target.target * perUnit) < 0.02, target.scenario);
  }
});

Deno.test("renderChart states under each group whether Pants met its target", async () => {
  const parsed = await parse(renderChart(GROUPS, { title: "t", notes: [] }));
  const labels = parsed.texts.join("|");
  ok(labels.includes("|target >= 1.0x|missed|"), labels);
  const unjudged = parsed.texts.indexOf("target >= 1.6x");
  ok(unjudged > 0, labels);
  ok(!["met", "missed"].includes(parsed.texts[unjudged + 1]!), labels);
});

Deno.test("renderChart leaves out the bar of a server without a ratio and says n/a", async () => {
  const groups: ChartGroup[] = [{
    ...GROUPS[0]!,
    bars: [{ server: "pants", ratio: null, median: null, unit: "msgs/s" }, GROUPS[0]!.bars[1]!],
  }];
  const parsed = await parse(renderChart(groups, { title: "t", notes: [] }));
  deepStrictEqual(parsed.bars.map((b) => b.server), ["raw-deno"]);
  ok(parsed.texts.includes("n/a"));
});

/** A successful run result with the given metric value. */
function run(scenario: string, server: string, value: number): RunResult {
  return {
    scenario,
    server,
    round: 1,
    value,
    loadgen: null,
    errors: 0,
    error: "",
    wallSeconds: 1,
    serverCpuSeconds: 1,
    otherCpuCores: 0,
    stats: { streams: 0 },
    drainSeconds: null,
    serverStderr: "",
  };
}

Deno.test("chartGroups turns the idle memory limit into a ratio through raw Deno's median", () => {
  const idle = SCENARIOS.find((s) => s.id === "idle-5000")!;
  const rows = summarise(idle, [run("idle-5000", "pants", 7.5), run("idle-5000", "raw-deno", 60)]);
  const [group] = chartGroups([{ scenario: idle, rows }]);
  strictEqual(group!.target, 8 / 60);
  strictEqual(group!.higherIsBetter, false);
  deepStrictEqual(group!.bars.map((b) => [b.server, b.ratio]), [["pants", 0.125], [
    "raw-deno",
    1,
  ]]);
});

Deno.test("chartGroups draws no target line for churn (its target is no ratio)", () => {
  const churn = SCENARIOS.find((s) => s.id === "churn-10000")!;
  const rows = summarise(churn, [
    run("churn-10000", "pants", 9000),
    run("churn-10000", "raw-deno", 9500),
  ]);
  strictEqual(chartGroups([{ scenario: churn, rows }])[0]!.target, null);
});

Deno.test("chartOfReport heads the chart with the machine and the notes", async () => {
  const echo = SCENARIOS.find((s) => s.id === "echo-c1")!;
  const rows = summarise(echo, [run("echo-c1", "pants", 900), run("echo-c1", "raw-deno", 1000)]);
  const svg = chartOfReport({
    finished: "2026-12-03T11:00:00.000Z",
    options: { rounds: 3, quick: false },
    machine: { cpu: "AMD EPYC 7B13", cores: "2", memory: "7.8 GiB", kernel: "6.1.0" },
    versions: { deno: "2.9.6", v8: "15", gcc: "12" },
    scenarios: [echo],
    rows,
  }, ["shared with other work"]);
  const parsed = await parse(svg);
  ok(
    parsed.texts.some((t) =>
      t.startsWith("2026-12-03 11:00 UTC, 3 round(s); AMD EPYC 7B13, 2 cores") &&
      t.endsWith("deno 2.9.6")
    ),
    parsed.texts.join("|"),
  );
  ok(parsed.texts.includes("shared with other work"));
  deepStrictEqual(parsed.bars.map((b) => [b.server, b.ratio]), [["pants", 0.9], ["raw-deno", 1]]);
});

Deno.test("the XML check fails on a document that is not well-formed (the check can fail)", async () => {
  const broken = renderChart(GROUPS, { title: "t", notes: [] }).replace("</svg>", "");
  await parse(broken).then(
    () => {
      throw new Error("parsed a broken document");
    },
    (error: Error) => ok(/ParseError|no element found/.test(error.message), error.message),
  );
});
