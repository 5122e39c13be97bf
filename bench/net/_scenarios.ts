/**
 * What the network benchmark runs: the servers side by side, and the
 * scenarios (load generator mode and options, the metric, and issue 8's
 * target for Pants).
 *
 * @module
 */

/** A peer server of the suite. */
export interface ServerDef {
  /** Short name used in the table and the JSON. */
  readonly name: string;
  /** What runs it. */
  readonly runtime: "deno" | "node" | "bun" | "c";
  /** Source file, relative to `bench/net/servers/`. */
  readonly file: string;
  /** Whether this is a Pants server (prints engine stats on `SIGUSR2`). */
  readonly pants: boolean;
}

/** How a scenario's Pants row is judged. */
export type Target =
  | { readonly kind: "ratio"; readonly atLeast: number }
  | { readonly kind: "max"; readonly atMost: number }
  | { readonly kind: "churn" }
  | { readonly kind: "none" };

/** One row group of the table: a load generator run against several servers. */
export interface Scenario {
  /** Identifier, also accepted by `--only`. */
  readonly id: string;
  /** Title printed in the table. */
  readonly title: string;
  /** Load generator mode. */
  readonly mode: "pingpong" | "stream" | "idle" | "churn";
  /** Load generator options (full run, then `--quick`). */
  readonly args: (quick: boolean) => string[];
  /** Extra argument passed to each server (`crlf`), if any. */
  readonly serverArg?: string;
  /** Server names, in table order; the raw Deno one is the baseline. */
  readonly servers: readonly string[];
  /** The baseline server's name. */
  readonly baseline: string;
  /** The metric taken from the load generator's JSON. */
  readonly metric: "msgsPerSec" | "mbPerSec" | "kibPerConn" | "connsPerSec";
  /** Unit shown with the metric. */
  readonly unit: string;
  /** Whether a higher value is better. */
  readonly higherIsBetter: boolean;
  /** Issue 8's target for the Pants server. */
  readonly target: Target;
  /** The Pants server judged against the target. */
  readonly pants: string;
}

/** Every server of the suite, by name. */
export const SERVERS: ReadonlyMap<string, ServerDef> = new Map(
  ([
    ["pants", "deno", "pants_echo.ts", true],
    ["raw-deno", "deno", "raw_deno_echo.ts", false],
    ["node", "node", "node_echo.js", false],
    ["bun", "bun", "bun_echo.js", false],
    ["c", "c", "c_echo.c", false],
    ["pants-lines", "deno", "pants_lines.ts", true],
    ["raw-deno-lines", "deno", "raw_deno_lines.ts", false],
    ["node-lines", "node", "node_lines.js", false],
    ["node-readline", "node", "node_readline.js", false],
    ["bun-lines", "bun", "bun_lines.js", false],
    ["c-lines", "c", "c_lines.c", false],
    ["pants-small-writes", "deno", "pants_echo_small_writes.ts", true],
    ["raw-deno-small-writes", "deno", "raw_deno_echo_small_writes.ts", false],
  ] as const).map((
    [name, runtime, file, pants],
  ) => [name, { name, runtime, file, pants }]),
);

const ECHO = ["pants", "raw-deno", "node", "bun", "c"];
const LINES = [
  "pants-lines",
  "raw-deno-lines",
  "node-lines",
  "node-readline",
  "bun-lines",
  "c-lines",
];

function pingpong(
  id: string,
  conns: number,
  size: number,
  servers: string[],
): Scenario {
  const small = servers[0] === "pants-small-writes";
  return {
    id,
    title: small
      ? `small writes: ${size} B echoed as 10 writes, C=${conns}`
      : `echo ping-pong ${size} B, C=${conns}`,
    mode: "pingpong",
    args: (quick) => [
      "--conns",
      `${conns}`,
      "--size",
      `${size}`,
      "--warmup",
      quick ? "0.3" : "1",
      "--duration",
      quick ? "0.7" : "3",
    ],
    servers,
    baseline: servers[1]!,
    metric: "msgsPerSec",
    unit: "msgs/s",
    higherIsBetter: true,
    target: small ? { kind: "none" } : { kind: "ratio", atLeast: 1.0 },
    pants: servers[0]!,
  };
}

function lines(
  id: string,
  line: number,
  conns: number,
  crlf: boolean,
  atLeast: number,
): Scenario {
  const big = line >= 1024;
  const mb = big ? 2000 : 500;
  return {
    id,
    title: `lines ${line} B ${crlf ? "\\r\\n" : "\\n"}, C=${conns}`,
    mode: "stream",
    args: (quick) => [
      "--conns",
      `${conns}`,
      "--line",
      `${line}`,
      "--mb",
      `${quick ? mb / 10 : mb}`,
      "--warmup-mb",
      quick ? "5" : "20",
      ...(crlf ? ["--crlf"] : []),
    ],
    serverArg: crlf ? "crlf" : undefined,
    servers: LINES,
    baseline: "raw-deno-lines",
    metric: "mbPerSec",
    unit: "MB/s",
    higherIsBetter: true,
    target: { kind: "ratio", atLeast },
    pants: "pants-lines",
  };
}

/** The scenarios, in table order. */
export const SCENARIOS: readonly Scenario[] = [
  pingpong("echo-c1", 1, 64, ECHO),
  pingpong("echo-c100", 100, 64, ECHO),
  // Targets: issue 18's goals for 40-byte lines, issue 8's for the rest.
  lines("lines40-c1", 40, 1, false, 1.6),
  lines("lines40-c50", 40, 50, false, 1.4),
  lines("lines1024-c1", 1024, 1, false, 2.0),
  lines("crlf40-c1", 40, 1, true, 1.2),
  lines("crlf40-c50", 40, 50, true, 1.4),
  lines("crlf1024-c1", 1024, 1, true, 2.0),
  {
    id: "idle-5000",
    title: "idle RSS per connection, 5,000 connections (lower is better)",
    mode: "idle",
    args: (
      quick,
    ) => [
      "--conns",
      "5000",
      "--settle",
      quick ? "0.5" : "1",
      "--sources",
      "16",
    ],
    servers: ECHO,
    baseline: "raw-deno",
    metric: "kibPerConn",
    unit: "KiB/conn",
    higherIsBetter: false,
    target: { kind: "max", atMost: 8 },
    pants: "pants",
  },
  {
    id: "churn-10000",
    title: "churn: 10,000 connections held, echoed once, closed",
    mode: "churn",
    args: () => ["--conns", "10000", "--sources", "16"],
    servers: ECHO,
    baseline: "raw-deno",
    metric: "connsPerSec",
    unit: "conns/s",
    higherIsBetter: true,
    target: { kind: "churn" },
    pants: "pants",
  },
  pingpong("small-writes-c1", 1, 100, [
    "pants-small-writes",
    "raw-deno-small-writes",
  ]),
  pingpong("small-writes-c100", 100, 100, [
    "pants-small-writes",
    "raw-deno-small-writes",
  ]),
];
