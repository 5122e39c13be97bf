/**
 * Profiles a Pants server under one benchmark scenario: runs it with
 * `deno run --cpu-prof`, drives it with the load generator as `run.ts` does,
 * stops it, and prints where the time went: the top functions by self time
 * (and by total time), and self time per source file.
 *
 *     deno run -A bench/net/profile.ts SCENARIO [--server NAME] [--quick] [--top N] [--keep DIR]
 *     deno run -A bench/net/profile.ts --file PROFILE.cpuprofile [--top N]
 *
 * SCENARIO is an id from `run.ts` (`echo-c100`, `lines40-c1`, ...); the
 * server defaults to the scenario's Pants server. `--keep DIR` copies the
 * `.cpuprofile` there (open it in Chrome DevTools); `--file` prints the
 * tables of a kept profile again.
 *
 * Besides the top functions, self time is summed per part of the path a
 * byte takes (`GROUPS`: the read op, the read loop, the copy into
 * WebAssembly, the scan, the frame loop, dispatch, the callbacks, the
 * write path, GC, other), so profiles taken before and after a change
 * compare part by part. V8 counts the builtins a function calls (such as
 * the `Uint8Array` constructor) as that function's own time.
 *
 * @module
 */

import { measure, prepare, startServer, stopServer, waitQuiet } from "./_harness.ts";
import { SCENARIOS, SERVERS } from "./_scenarios.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const ROOT = new URL("../../", import.meta.url).href;

function label(frame: CallFrame): string {
  const name = frame.functionName || "(anonymous)";
  if (frame.url === "") return name;
  const url = frame.url.startsWith(ROOT) ? frame.url.slice(ROOT.length) : frame.url;
  return `${name} ${url}:${frame.lineNumber + 1}`;
}

function fileOf(frame: CallFrame): string {
  if (frame.url === "") {
    return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  }
  return frame.url.startsWith(ROOT) ? frame.url.slice(ROOT.length) : frame.url;
}

/** The parts of the path self time is summed into, in the order printed; `other` takes the rest. */
export const GROUPS: readonly string[] = [
  "Deno op: read (native)",
  "read loop (Reader, Deno's read(), promise resolution)",
  "copy into WASM (append)",
  "WASM scan and region calls",
  "frame loop (deframer JS; a view per frame)",
  "dispatch (Stream bytesRead / frameReady)",
  "callbacks (onRead ...)",
  "write path (Writer, Deno op: write)",
  "garbage collector",
  "other (startup, event loop, program)",
];

/** The group of a function's self time. */
export function groupOf(frame: CallFrame): string {
  const name = frame.functionName;
  const file = fileOf(frame);
  if (name === "op_read" || name.startsWith("op_net_recv")) return GROUPS[0]!;
  if (
    file === "channels/_reader.ts" || file.startsWith("ext:deno_net/") ||
    file === "ext:core/00_infra.js"
  ) return GROUPS[1]!;
  if (file === "framing/_wasm_core.ts" && name === "append") return GROUPS[2]!;
  if (file.startsWith("wasm://") || name === "js-to-wasm" || name === "wasm-to-js") {
    return GROUPS[3]!;
  }
  if (file.startsWith("framing/") || file.startsWith("wasm/")) return GROUPS[4]!;
  if (file === "channels/stream.ts" || file === "channels/_record_call.ts") return GROUPS[5]!;
  if (file.startsWith("bench/") || file.startsWith("examples/")) return GROUPS[6]!;
  if (
    name.startsWith("op_write") || file === "channels/_writer.ts" ||
    file === "channels/_send_queue.ts" || file === "channels/buffered_channel.ts"
  ) return GROUPS[7]!;
  if (name === "(garbage collector)") return GROUPS[8]!;
  return GROUPS[9]!;
}

/** Self and total sample counts per function, and self per file and per group. */
function analyse(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfHits = new Map<number, number>();
  for (const id of profile.samples) {
    selfHits.set(id, (selfHits.get(id) ?? 0) + 1);
  }
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const files = new Map<string, number>();
  const groups = new Map<string, number>(GROUPS.map((g) => [g, 0]));
  let idle = 0;
  let all = 0;
  for (const [id, hits] of selfHits) {
    const node = byId.get(id)!;
    all += hits;
    const key = label(node.callFrame);
    if (node.callFrame.functionName === "(idle)") idle += hits;
    self.set(key, (self.get(key) ?? 0) + hits);
    const file = fileOf(node.callFrame);
    files.set(file, (files.get(file) ?? 0) + hits);
    if (node.callFrame.functionName !== "(idle)" && node.callFrame.functionName !== "(root)") {
      const group = groupOf(node.callFrame);
      groups.set(group, groups.get(group)! + hits);
    }
    // Total time: count each function once per sample along the stack.
    const seen = new Set<string>();
    for (
      let at: number | undefined = id;
      at !== undefined;
      at = parent.get(at)
    ) {
      const k = label(byId.get(at)!.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + hits);
    }
  }
  return { self, total, files, groups, idle, all };
}

function top(
  map: Map<string, number>,
  n: number,
  busy: number,
  all: number,
): string[] {
  return [...map.entries()]
    .filter(([key]) => key !== "(idle)" && key !== "(root)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, hits]) =>
      `${(100 * hits / busy).toFixed(1).padStart(5)}% busy ${
        (100 * hits / all).toFixed(1).padStart(5)
      }% all  ${key}`
    );
}

/** The tables of one profile, under `heading`. */
function report(profile: CpuProfile, heading: string[], count: number): string {
  const { self, total, files, groups, idle, all } = analyse(profile);
  const busy = Math.max(1, all - idle);
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  return [
    ...heading,
    `${all} samples over ${seconds.toFixed(2)} s; idle ${(100 * idle / all).toFixed(1)}%; ` +
    `"busy" = samples not idle`,
    "",
    "Self time by part of the path:",
    ...GROUPS.map((group) => {
      const hits = groups.get(group)!;
      return `${(100 * hits / busy).toFixed(1).padStart(5)}% busy ${
        (100 * hits / all).toFixed(1).padStart(5)
      }% all  ${group}`;
    }),
    "",
    `Top ${count} by self time:`,
    ...top(self, count, busy, all),
    "",
    `Top ${count} by total time (function and its callees):`,
    ...top(total, count, busy, all),
    "",
    "Self time by file:",
    ...top(files, 20, busy, all),
  ].join("\n");
}

async function main(): Promise<void> {
  const args = [...Deno.args];
  let count = 25;
  if (args[0] === "--file") {
    const path = args[1];
    if (path === undefined) throw new TypeError("--file needs a .cpuprofile path");
    if (args[2] === "--top") count = Number(args[3] ?? count);
    const profile: CpuProfile = JSON.parse(await Deno.readTextFile(path));
    console.log(report(profile, [`Profile ${path}`], count));
    return;
  }
  const id = args.shift();
  const scenario = SCENARIOS.find((s) => s.id === id);
  if (scenario === undefined) {
    throw new TypeError(
      `Unknown scenario "${id}": use one of ${SCENARIOS.map((s) => s.id).join(", ")}`,
    );
  }
  let serverName = scenario.pants;
  let quick = false;
  let keep: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--quick") quick = true;
    else if (arg === "--server") serverName = args[++i] ?? serverName;
    else if (arg === "--top") count = Number(args[++i] ?? count);
    else if (arg === "--keep") keep = args[++i] ?? null;
    else throw new TypeError(`Unknown argument "${arg}"`);
  }
  const def = SERVERS.get(serverName);
  if (def === undefined || def.runtime !== "deno") {
    throw new TypeError(
      `Cannot profile "${serverName}": only Deno servers can be profiled`,
    );
  }
  const tools = await prepare((line) => console.error(line));
  const dir = `${tools.dir}/profile`;
  await Deno.mkdir(dir);
  await waitQuiet(0.3, 60);
  const server = await startServer(
    tools,
    def,
    scenario.serverArg ? [scenario.serverArg] : [],
    ["--cpu-prof", `--cpu-prof-dir=${dir}`],
  );
  let result;
  try {
    result = await measure(tools, scenario, server, quick);
  } finally {
    await stopServer(server);
  }
  const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".cpuprofile"));
  if (files.length === 0) {
    throw new Error(`No profile written: ${server.stderr.trim()}`);
  }
  const path = `${dir}/${files[0]!.name}`;
  const profile: CpuProfile = JSON.parse(await Deno.readTextFile(path));
  console.log(report(profile, [
    `Profile of ${serverName} under ${scenario.id} (${scenario.title})`,
    `load generator: ${JSON.stringify(result.loadgen)}`,
  ], count));
  if (keep !== null) {
    await Deno.mkdir(keep, { recursive: true });
    const target = `${keep}/${scenario.id}-${serverName}.cpuprofile`;
    await Deno.copyFile(path, target);
    console.log(`\nProfile saved: ${target}`);
  }
  await Deno.remove(tools.dir, { recursive: true });
}

if (import.meta.main) await main();
