/**
 * The benchmark's table as an SVG bar chart, written by hand (no chart
 * library, no external service): one group per scenario, one bar per server
 * with its height the median's ratio to raw Deno (raw Deno is 1), and the
 * target for Pants drawn across the group as a dashed line.
 *
 * Each bar is a `<rect class="bar">` with `data-scenario`, `data-server` and
 * `data-ratio` attributes, so the chart can be checked (and restyled) by
 * machine; a `<title>` in each bar gives the figures as a tooltip.
 *
 * @module
 */

import type { Row } from "./_table.ts";
import type { Scenario } from "./_scenarios.ts";

/** One bar: a server's ratio to raw Deno in one scenario. */
export interface ChartBar {
  /** Server name. */
  readonly server: string;
  /** Median divided by raw Deno's median (`null`: no successful round). */
  readonly ratio: number | null;
  /** The median itself, for the tooltip. */
  readonly median: number | null;
  /** The median's unit. */
  readonly unit: string;
}

/** One group of bars: a scenario. */
export interface ChartGroup {
  /** Scenario id, the group's label. */
  readonly id: string;
  /** Scenario title, for the tooltip. */
  readonly title: string;
  /** Whether a higher value is better (the label says so when not). */
  readonly higherIsBetter: boolean;
  /** The target for Pants as a ratio to raw Deno, or `null` when it is no ratio. */
  readonly target: number | null;
  /** The target as the table states it. */
  readonly targetLabel: string;
  /** Whether Pants met the target (`null`: nothing to judge). */
  readonly met: boolean | null;
  /** The bars, in table order. */
  readonly bars: readonly ChartBar[];
}

/** What a chart shows besides its groups. */
export interface ChartInfo {
  /** The heading. */
  readonly title: string;
  /** Lines under the heading: the machine, the date, the rounds. */
  readonly notes: readonly string[];
}

/**
 * The groups of a chart, from the table's scenarios and rows. A `max`
 * target (idle memory) becomes a ratio through raw Deno's median; a churn
 * target (no errors) has no line.
 *
 * @example Usage
 * ```ts
 * import { chartGroups } from "./_chart.ts";
 *
 * console.log(chartGroups([]));
 * ```
 *
 * @param blocks Each scenario with its rows (as `summarise` made them).
 * @returns One group per scenario that has rows.
 */
export function chartGroups(
  blocks: readonly {
    scenario: Pick<
      Scenario,
      "id" | "title" | "higherIsBetter" | "target" | "baseline"
    >;
    rows: readonly Row[];
  }[],
): ChartGroup[] {
  const groups: ChartGroup[] = [];
  for (const { scenario, rows } of blocks) {
    if (rows.length === 0) continue;
    const base = rows.find((r) => r.server === scenario.baseline)?.median ??
      null;
    const t = scenario.target;
    let target: number | null = null;
    if (t.kind === "ratio") target = t.atLeast;
    else if (t.kind === "max" && base !== null && base > 0) {
      target = t.atMost / base;
    }
    groups.push({
      id: scenario.id,
      title: scenario.title,
      higherIsBetter: scenario.higherIsBetter,
      target,
      targetLabel: rows.find((r) => r.target !== "")?.target ?? "",
      met: rows.find((r) => r.target !== "")?.met ?? null,
      bars: rows.map((r) => ({
        server: r.server,
        ratio: r.ratio,
        median: r.median,
        unit: r.unit,
      })),
    });
  }
  return groups;
}

/** Colours by server family (the name's prefix), in legend order. */
const FAMILIES: readonly (readonly [string, string, string])[] = [
  ["pants", "#e8590c", "Pants"],
  ["raw-deno", "#868e96", "raw Deno"],
  ["node", "#2f9e44", "Node net"],
  ["node-readline", "#8ce99a", "Node readline"],
  ["bun", "#f0a6ca", "Bun"],
  ["c", "#1c7ed6", "C epoll"],
];

function colour(server: string): string {
  let fill = "#495057";
  let longest = 0;
  for (const [prefix, f] of FAMILIES) {
    const matches = server === prefix || server.startsWith(`${prefix}-`);
    if (matches && prefix.length > longest) [fill, longest] = [f, prefix.length];
  }
  return fill;
}

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A coordinate with at most two decimals. */
function px(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/** Splits `text` at spaces into lines of at most `width` characters (longer words stay whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** The step of the y axis's grid for values up to `max`. */
function gridStep(max: number): number {
  for (const step of [0.25, 0.5, 1, 2, 5, 10, 20, 50]) {
    if (max / step <= 8) return step;
  }
  return 100;
}

const BAR = 19;
const BAR_GAP = 3;
const GROUP_GAP = 30;
const LEFT = 58;
const RIGHT = 24;
const PLOT_HEIGHT = 300;
const FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\"";

/**
 * Renders the chart: one group per scenario, one bar per server, its
 * height proportional to the ratio to raw Deno; a dashed line for each
 * group's target; a line at 1 (raw Deno); a legend by server family.
 *
 * @example Usage
 * ```ts
 * import { renderChart } from "./_chart.ts";
 *
 * const svg = renderChart([{
 *   id: "echo-c1",
 *   title: "echo ping-pong 64 B, C=1",
 *   higherIsBetter: true,
 *   target: 1,
 *   targetLabel: ">= 1.0x raw Deno",
 *   met: true,
 *   bars: [
 *     { server: "pants", ratio: 1.1, median: 9000, unit: "msgs/s" },
 *     { server: "raw-deno", ratio: 1, median: 8200, unit: "msgs/s" },
 *   ],
 * }], { title: "Pants network benchmark", notes: [] });
 * console.log(svg.startsWith("<svg"));
 * ```
 *
 * @param groups The scenarios, in order.
 * @param info The heading and the lines under it.
 * @returns A standalone SVG document.
 */
export function renderChart(
  groups: readonly ChartGroup[],
  info: ChartInfo,
): string {
  const values = groups.flatMap((g) => [
    ...g.bars.map((b) => b.ratio ?? 0),
    g.target ?? 0,
  ]);
  const step = gridStep(Math.max(1, ...values));
  const yMax = Math.ceil(Math.max(1, ...values) / step) * step;
  const scale = PLOT_HEIGHT / yMax;
  const top = 58 + 16 * info.notes.length;
  const bottom = top + PLOT_HEIGHT;
  const groupWidth = (g: ChartGroup) => g.bars.length * (BAR + BAR_GAP) - BAR_GAP;
  const plotWidth = groups.reduce(
    (sum, g) => sum + groupWidth(g) + GROUP_GAP,
    GROUP_GAP,
  );
  const width = LEFT + plotWidth + RIGHT;
  const height = bottom + 110;
  const y = (ratio: number) => bottom - ratio * scale;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" ` +
      `viewBox="0 0 ${px(width)} ${px(height)}" ${FONT} font-size="11">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(
    `<text x="${LEFT}" y="24" font-size="16" font-weight="bold">${escapeXml(info.title)}</text>`,
  );
  info.notes.forEach((note, i) => {
    out.push(
      `<text x="${LEFT}" y="${44 + 16 * i}" fill="#495057">${escapeXml(note)}</text>`,
    );
  });

  // Legend, top right of the notes.
  let lx = LEFT;
  const ly = top - 12;
  for (const [, fill, label] of FAMILIES) {
    if (!groups.some((g) => g.bars.some((b) => colour(b.server) === fill))) {
      continue;
    }
    out.push(
      `<rect x="${px(lx)}" y="${ly - 9}" width="10" height="10" fill="${fill}"/>`,
    );
    out.push(`<text x="${px(lx + 14)}" y="${ly}">${escapeXml(label)}</text>`);
    lx += 14 + 7 * label.length + 16;
  }
  out.push(
    `<line x1="${px(lx)}" y1="${ly - 4}" x2="${px(lx + 22)}" y2="${ly - 4}" stroke="#c92a2a" ` +
      `stroke-width="2" stroke-dasharray="5 3"/>`,
  );
  out.push(`<text x="${px(lx + 28)}" y="${ly}">target for Pants</text>`);

  // Grid and axis.
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    const gy = px(y(v));
    out.push(
      `<line x1="${LEFT}" y1="${gy}" x2="${px(LEFT + plotWidth)}" y2="${gy}" ` +
        `stroke="${v === 0 ? "#343a40" : "#e9ecef"}" stroke-width="1"/>`,
    );
    out.push(
      `<text x="${LEFT - 6}" y="${px(y(v) + 4)}" text-anchor="end" fill="#495057">` +
        `${v}x</text>`,
    );
  }
  out.push(
    `<line x1="${LEFT}" y1="${px(y(1))}" x2="${px(LEFT + plotWidth)}" y2="${px(y(1))}" ` +
      `stroke="#868e96" stroke-width="1" stroke-dasharray="2 2"/>`,
  );
  out.push(
    `<text transform="translate(14 ${px(top + PLOT_HEIGHT / 2)}) rotate(-90)" ` +
      `text-anchor="middle" fill="#495057">median / raw Deno's median</text>`,
  );

  let x = LEFT + GROUP_GAP;
  for (const group of groups) {
    const w = groupWidth(group);
    out.push(`<g class="group" data-scenario="${escapeXml(group.id)}">`);
    out.push(`<title>${escapeXml(group.title)}</title>`);
    group.bars.forEach((bar, i) => {
      const bx = x + i * (BAR + BAR_GAP);
      if (bar.ratio === null) {
        out.push(
          `<text x="${px(bx + BAR / 2)}" y="${px(bottom - 4)}" text-anchor="middle" ` +
            `font-size="9" fill="#c92a2a">n/a</text>`,
        );
        return;
      }
      const h = bar.ratio * scale;
      const median = bar.median === null ? "-" : `${bar.median} ${bar.unit}`;
      out.push(
        `<rect class="bar" data-scenario="${escapeXml(group.id)}" ` +
          `data-server="${escapeXml(bar.server)}" data-ratio="${bar.ratio}" ` +
          `x="${px(bx)}" y="${px(bottom - h)}" width="${BAR}" height="${px(h)}" ` +
          `fill="${colour(bar.server)}"><title>${escapeXml(group.id)} ${escapeXml(bar.server)}: ${
            bar.ratio.toFixed(2)
          }x raw Deno (median ${escapeXml(median)})</title></rect>`,
      );
      out.push(
        `<text x="${px(bx + BAR / 2)}" y="${px(bottom - h - 3)}" text-anchor="middle" ` +
          `font-size="8" fill="#343a40">${bar.ratio.toFixed(bar.ratio < 10 ? 2 : 1)}</text>`,
      );
    });
    if (group.target !== null) {
      const ty = px(y(group.target));
      out.push(
        `<line class="target" data-target="${group.target}" x1="${px(x - 4)}" y1="${ty}" ` +
          `x2="${px(x + w + 4)}" y2="${ty}" stroke="#c92a2a" stroke-width="2" ` +
          `stroke-dasharray="5 3"><title>${escapeXml(group.targetLabel)}</title></line>`,
      );
    }
    const cx = px(x + w / 2);
    out.push(
      `<text x="${cx}" y="${bottom + 16}" text-anchor="middle" font-weight="bold">` +
        `${escapeXml(group.id)}</text>`,
    );
    const label = group.targetLabel.replace(" raw Deno", "");
    const lines: [string, string][] = wrap(
      /^[<>]=/.test(label) ? `target ${label}` : label,
      Math.floor((w + GROUP_GAP - 6) / 4.5),
    ).map((line) => [line, "#495057"]);
    if (group.met !== null) {
      lines.push(group.met ? ["met", "#2b8a3e"] : ["missed", "#c92a2a"]);
    }
    if (!group.higherIsBetter) lines.push(["lower is better", "#495057"]);
    lines.forEach(([line, tint], i) => {
      out.push(
        `<text x="${cx}" y="${bottom + 30 + 11 * i}" text-anchor="middle" font-size="9" ` +
          `fill="${tint}">${escapeXml(line)}</text>`,
      );
    });
    out.push(`</g>`);
    x += w + GROUP_GAP;
  }
  out.push(
    `<text x="${LEFT}" y="${bottom + 80}" fill="#495057">Bars: each server's median over ` +
      `the rounds divided by raw Deno's median in the same run (raw Deno = 1x, dotted line); ` +
      `dashed: the target for Pants.</text>`,
  );
  out.push(
    `<text x="${LEFT}" y="${bottom + 96}" fill="#495057">Scenarios and servers: ` +
      `bench/net/README.md. Generated by bench/net/run.ts.</text>`,
  );
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/** The parts of a saved run (`bench/results/net-*.json`) a chart is drawn from. */
export interface ChartReport {
  /** When the run finished (ISO 8601). */
  readonly finished: string;
  /** The run's options. */
  readonly options: { readonly rounds: number; readonly quick: boolean };
  /** The machine it ran on. */
  readonly machine: {
    readonly cpu: string;
    readonly cores: string;
    readonly memory: string;
    readonly kernel: string;
  };
  /** Program versions, by name. */
  readonly versions: Readonly<Record<string, string>>;
  /** The scenarios run. */
  readonly scenarios: readonly Pick<
    Scenario,
    "id" | "title" | "higherIsBetter" | "target" | "baseline"
  >[];
  /** The table's rows, every scenario's. */
  readonly rows: readonly Row[];
}

/**
 * The chart of a saved run: its scenarios and rows, headed by the machine,
 * the date, the rounds, the versions and `notes`.
 *
 * @example Usage
 * ```ts
 * import { chartOfReport } from "./_chart.ts";
 *
 * const svg = chartOfReport({
 *   finished: "2026-12-03T10:00:00.000Z",
 *   options: { rounds: 3, quick: false },
 *   machine: { cpu: "AMD EPYC", cores: "2", memory: "8.0 GiB", kernel: "6.1" },
 *   versions: { deno: "2.9.6" },
 *   scenarios: [],
 *   rows: [],
 * }, ["quiet machine"]);
 * console.log(svg.includes("AMD EPYC"));
 * ```
 *
 * @param report The saved run.
 * @param notes Lines added under the heading (e.g. how busy the machine was).
 * @returns A standalone SVG document.
 */
export function chartOfReport(
  report: ChartReport,
  notes: readonly string[] = [],
): string {
  const blocks = report.scenarios.map((scenario) => ({
    scenario,
    rows: report.rows.filter((r) => r.scenario === scenario.id),
  }));
  const m = report.machine;
  const versions = Object.entries(report.versions)
    .filter(([name]) => ["deno", "pants", "node", "bun"].includes(name))
    .map(([name, version]) => `${name} ${version}`).join(", ");
  return renderChart(chartGroups(blocks), {
    title: "Pants network benchmark: each server's median as a ratio to raw Deno's",
    notes: [
      `${report.finished.slice(0, 16).replace("T", " ")} UTC, ` +
      `${report.options.rounds} round(s)${report.options.quick ? " (quick)" : ""}; ` +
      `${m.cpu}, ${m.cores} cores, ${m.memory}, Linux ${m.kernel}; ${versions}`,
      ...notes,
    ],
  });
}
