/**
 * The benchmark's process plumbing: builds the C programs, installs Bun,
 * starts a server pinned to core 0, runs the load generator pinned to core 1,
 * measures CPU use, reads Pants' engine stats, and stops the server.
 *
 * @module
 */

import { type Scenario, type ServerDef, SERVERS } from "./_scenarios.ts";

const HERE = new URL(".", import.meta.url).pathname;
const SERVERS_DIR = `${HERE}servers/`;
const FD_TARGET = 20000;
const FD_NEEDED = 12000;

/** The tools found (or built) for a run, and what is missing. */
export interface Toolchain {
  /** Temporary directory holding the built binaries. */
  readonly dir: string;
  /** Path of the built load generator. */
  readonly loadgen: string;
  /** Paths of the built C servers, by source file name. */
  readonly cServers: ReadonlyMap<string, string>;
  /** The Deno binary running this script. */
  readonly deno: string;
  /** `node`, or `null` when it is not installed. */
  readonly node: string | null;
  /** The Bun binary from `bench/net/node_modules`, or `null`. */
  readonly bun: string | null;
  /** Command prefix raising the open-files limit, if needed. */
  readonly limitPrefix: readonly string[];
  /** Whether `taskset` pinning is used. */
  readonly pinned: boolean;
  /** Versions of the runtimes, for the report. */
  readonly versions: Record<string, string>;
  /** Things the report should mention (a missing peer, no pinning). */
  readonly notes: string[];
}

/** What one load generator run against one server gave. */
export interface RunResult {
  /** Scenario id. */
  scenario: string;
  /** Server name. */
  server: string;
  /** Round number (1-based). */
  round: number;
  /** The scenario's metric, or `null` when the run failed. */
  value: number | null;
  /** The load generator's JSON output. */
  loadgen: Record<string, unknown> | null;
  /** Load generator error count (connection errors, bad echoes or counts, timeouts). */
  errors: number;
  /** The first error, if any. */
  error: string;
  /** Wall time of the load generator run, seconds. */
  wallSeconds: number;
  /** Server CPU time during the run, seconds. */
  serverCpuSeconds: number;
  /** CPU used by other processes on the machine during the run, in cores. */
  otherCpuCores: number;
  /** For Pants servers: the engine stats after the run (streams should be 0; asked with SIGUSR2, as SIGUSR1 opens the V8 inspector). */
  stats: Record<string, number> | null;
  /** Seconds until the Pants server's stream count was back to zero. */
  drainSeconds: number | null;
  /** Anything the server printed on stderr (trimmed). */
  serverStderr: string;
  /** Hash of Pants' sources when the run started (the tree may change during a benchmark). */
  pantsSource?: string;
  /** Seconds waited for a quiet machine before the run (`--quiet-wait`). */
  quietWaitSeconds?: number;
  /** Other processes' CPU use (cores) in the sample before the run. */
  loadBeforeCores?: number;
}

function quietEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.RUST_BACKTRACE;
  env.NO_COLOR = "1";
  return env;
}

async function output(cmd: string, args: string[], cwd?: string): Promise<{
  ok: boolean;
  text: string;
}> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: quietEnv(),
      clearEnv: true,
    }).output();
    const text = new TextDecoder().decode(out.stdout) +
      new TextDecoder().decode(out.stderr);
    return { ok: out.success, text: text.trim() };
  } catch (error) {
    return {
      ok: false,
      text: error instanceof Error ? error.message : String(error),
    };
  }
}

function openFilesLimit(): { soft: number; hard: number } {
  const limits = Deno.readTextFileSync("/proc/self/limits");
  const line = limits.split("\n").find((l) => l.startsWith("Max open files"));
  const parts = line?.split(/\s+/) ?? [];
  const parse = (s: string | undefined): number => s === "unlimited" ? Infinity : Number(s);
  return { soft: parse(parts[3]), hard: parse(parts[4]) };
}

/**
 * Finds and builds everything a run needs: compiles the load generator and
 * the C servers with gcc, installs Bun into `bench/net/node_modules` when
 * missing, checks pinning and the open-files limit.
 *
 * @example Usage
 * ```ts
 * import { prepare } from "./_harness.ts";
 *
 * const tools = await prepare((line) => console.error(line));
 * console.log(tools.notes);
 * ```
 *
 * @param log Progress output.
 * @returns The toolchain.
 */
export async function prepare(log: (line: string) => void): Promise<Toolchain> {
  const dir = await Deno.makeTempDir({ prefix: "pants_bench_net_" });
  const notes: string[] = [];
  const versions: Record<string, string> = {};
  const loadgen = `${dir}/loadgen`;
  const built = await output("gcc", ["-O2", "-o", loadgen, `${HERE}loadgen.c`]);
  if (!built.ok) {
    throw new Error(`Cannot build the load generator with gcc: ${built.text}`);
  }
  versions.gcc = (await output("gcc", ["-dumpfullversion"])).text;
  const cServers = new Map<string, string>();
  for (const file of ["c_echo.c", "c_lines.c"]) {
    const binary = `${dir}/${file.replace(/\.c$/, "")}`;
    const result = await output("gcc", [
      "-O2",
      "-o",
      binary,
      `${SERVERS_DIR}${file}`,
    ]);
    if (result.ok) cServers.set(file, binary);
    else notes.push(`C server ${file} did not build: ${result.text}`);
  }

  const deno = Deno.execPath();
  versions.deno = Deno.version.deno;
  versions.v8 = Deno.version.v8;
  const head = await output("git", ["-C", `${HERE}../..`, "rev-parse", "--short", "HEAD"]);
  if (head.ok) {
    const dirty = await output("git", [
      "-C",
      `${HERE}../..`,
      "status",
      "--porcelain",
      "--",
      "mod.ts",
      "channels",
      "engine",
      "framing",
      "wasm",
    ]);
    const changed = dirty.ok && dirty.text !== "" ? " + uncommitted changes" : "";
    versions.pants = `${head.text}${changed}`;
  }
  const nodeVersion = await output("node", ["--version"]);
  const node = nodeVersion.ok ? "node" : null;
  if (node === null) {
    notes.push("Node is not installed: its servers were skipped.");
  } else versions.node = nodeVersion.text;

  let bun: string | null = `${HERE}node_modules/.bin/bun`;
  if (!exists(bun)) {
    log("installing Bun (npm install --prefix bench/net) ...");
    const installed = await output("npm", [
      "install",
      "--prefix",
      HERE,
      "--no-audit",
      "--no-fund",
    ]);
    if (!installed.ok) {
      notes.push(`Bun could not be installed: ${lastLine(installed.text)}`);
    }
  }
  const bunVersion = exists(bun) ? await output(bun, ["--version"]) : null;
  if (bunVersion?.ok) versions.bun = bunVersion.text;
  else {
    if (bunVersion !== null) {
      notes.push(`Bun does not run here: ${lastLine(bunVersion.text)}`);
    }
    if (!notes.some((n) => n.startsWith("Bun"))) {
      notes.push("Bun is not available.");
    }
    notes.push("The Bun servers were skipped.");
    bun = null;
  }

  const pinned = (await output("taskset", ["-c", "0", "true"])).ok &&
    navigator.hardwareConcurrency >= 2;
  if (!pinned) {
    notes.push(
      "No pinning: taskset is missing or the machine has fewer than 2 cores.",
    );
  }

  const { soft, hard } = openFilesLimit();
  let limitPrefix: string[] = [];
  if (soft < FD_NEEDED) {
    const isRoot = Deno.uid() === 0;
    const target = isRoot ? FD_TARGET : Math.min(FD_TARGET, hard);
    if (target < FD_NEEDED) {
      notes.push(
        `The open-files limit is ${soft} (hard ${hard}): idle and churn may fail.`,
      );
    }
    const newHard = isRoot ? Math.max(target, hard === Infinity ? target : hard) : hard;
    limitPrefix = [
      "prlimit",
      `--nofile=${target}:${newHard === Infinity ? "unlimited" : newHard}`,
      "--",
    ];
  }
  return {
    dir,
    loadgen,
    cServers,
    deno,
    node,
    bun,
    limitPrefix,
    pinned,
    versions,
    notes,
  };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function lastLine(text: string): string {
  return text.split("\n").filter((l) => l.trim() !== "").pop() ?? text;
}

/**
 * Whether a server can run with this toolchain.
 *
 * @example Usage
 * ```ts
 * import { available, prepare } from "./_harness.ts";
 * import { SERVERS } from "./_scenarios.ts";
 *
 * const tools = await prepare(() => {});
 * console.log(available(tools, SERVERS.get("bun")!));
 * ```
 *
 * @param tools The toolchain.
 * @param server The server.
 * @returns `false` when its runtime is missing.
 */
export function available(tools: Toolchain, server: ServerDef): boolean {
  if (server.runtime === "node") return tools.node !== null;
  if (server.runtime === "bun") return tools.bun !== null;
  if (server.runtime === "c") return tools.cServers.has(server.file);
  return true;
}

/**
 * The command line starting a server (without pinning).
 *
 * @example Usage
 * ```ts
 * import { prepare, serverCommand } from "./_harness.ts";
 * import { SERVERS } from "./_scenarios.ts";
 *
 * const tools = await prepare(() => {});
 * console.log(serverCommand(tools, SERVERS.get("pants")!, 4040, []).join(" "));
 * ```
 *
 * @param tools The toolchain.
 * @param server The server.
 * @param port The port to listen on (127.0.0.1).
 * @param args Extra server arguments (`crlf`).
 * @param denoFlags Extra `deno run` flags (e.g. `--cpu-prof`).
 * @returns The command and its arguments.
 */
export function serverCommand(
  tools: Toolchain,
  server: ServerDef,
  port: number,
  args: readonly string[],
  denoFlags: readonly string[] = [],
): string[] {
  const file = `${SERVERS_DIR}${server.file}`;
  switch (server.runtime) {
    case "deno":
      return [
        tools.deno,
        "run",
        "--allow-net=127.0.0.1",
        ...denoFlags,
        file,
        `${port}`,
        ...args,
      ];
    case "node":
      return [tools.node!, file, `${port}`, ...args];
    case "bun":
      return [tools.bun!, file, `${port}`, ...args];
    case "c":
      return [tools.cServers.get(server.file)!, `${port}`, ...args];
  }
}

let nextPort = 21000;

function freePort(): number {
  for (let tries = 0; tries < 2000; tries++) {
    const port = nextPort;
    nextPort = nextPort >= 29999 ? 21000 : nextPort + 1;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // In use: try the next one.
    }
  }
  throw new Error("No free port in 21000-29999 on 127.0.0.1");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Connects, half-closes, reads to EOF: true when the server answered. */
async function probe(port: number): Promise<boolean> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return false;
  }
  const timer = setTimeout(() => conn.close(), 2000);
  try {
    await conn.closeWrite();
    const buffer = new Uint8Array(256);
    while ((await conn.read(buffer)) !== null) { /* drain */ }
    conn.close();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

interface CpuSample {
  busy: number;
  server: number;
}

function sampleCpu(pid: number): CpuSample {
  const first = Deno.readTextFileSync("/proc/stat").split("\n")[0]!.trim()
    .split(/\s+/);
  const n = (i: number): number => Number(first[i] ?? 0);
  // user nice system idle iowait irq softirq steal: irq and softirq are left
  // out, as loopback traffic is processed there on behalf of the benchmark.
  const busy = n(1) + n(2) + n(3) + n(8);
  let server = 0;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    server = Number(fields[11]) + Number(fields[12]); // utime, stime
  } catch {
    // The server exited.
  }
  return { busy, server };
}

function busyTicks(): number {
  const first = Deno.readTextFileSync("/proc/stat").split("\n")[0]!.trim()
    .split(/\s+/);
  const n = (i: number): number => Number(first[i] ?? 0);
  return n(1) + n(2) + n(3) + n(8); // user nice system steal
}

/**
 * Waits until the machine is quiet: other processes use less than
 * `threshold` cores over a half-second sample, or `maxSeconds` passed.
 *
 * @example Usage
 * ```ts
 * import { waitQuiet } from "./_harness.ts";
 *
 * const { waitedSeconds, cores } = await waitQuiet(0.25, 30);
 * console.log(waitedSeconds, cores);
 * ```
 *
 * @param threshold Cores of CPU use counted as quiet.
 * @param maxSeconds The longest wait.
 * @returns How long it waited, and the last sample in cores.
 */
export async function waitQuiet(
  threshold: number,
  maxSeconds: number,
): Promise<{ waitedSeconds: number; cores: number }> {
  const started = performance.now();
  let cores = 0;
  for (;;) {
    const before = busyTicks();
    const t0 = performance.now();
    await sleep(500);
    cores = (busyTicks() - before) / 100 / ((performance.now() - t0) / 1000);
    const waited = (performance.now() - started) / 1000;
    if (cores < threshold || waited >= maxSeconds) {
      return { waitedSeconds: waited, cores };
    }
  }
}

/**
 * A short hash of Pants' sources (`mod.ts`, `channels/`, `engine/`,
 * `framing/`, `wasm/`), to tell whether they changed during a benchmark.
 *
 * @example Usage
 * ```ts
 * import { pantsSourceHash } from "./_harness.ts";
 *
 * console.log(await pantsSourceHash()); // e.g. "3f2a9c1d"
 * ```
 *
 * @returns 8 hex digits.
 */
export async function pantsSourceHash(): Promise<string> {
  const root = `${HERE}../../`;
  const files: string[] = [`${root}mod.ts`];
  for (const dir of ["channels", "engine", "framing", "wasm"]) {
    try {
      for (const entry of Deno.readDirSync(`${root}${dir}`)) {
        if (entry.isFile && entry.name.endsWith(".ts")) files.push(`${root}${dir}/${entry.name}`);
      }
    } catch {
      // Missing folder.
    }
  }
  files.sort();
  const parts: Uint8Array[] = [];
  for (const file of files) {
    try {
      parts.push(new TextEncoder().encode(file), Deno.readFileSync(file));
    } catch {
      // Removed meanwhile.
    }
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A started server process. */
export interface RunningServer {
  /** The process. */
  readonly child: Deno.ChildProcess;
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Lines it printed on stdout so far. */
  readonly stdoutLines: string[];
  /** What it printed on stderr so far. */
  stderr: string;
}

/**
 * Starts a server pinned to core 0 and waits until it answers on its port.
 *
 * @example Usage
 * ```ts
 * import { prepare, startServer, stopServer } from "./_harness.ts";
 * import { SERVERS } from "./_scenarios.ts";
 *
 * const tools = await prepare(() => {});
 * const server = await startServer(tools, SERVERS.get("pants")!, []);
 * await stopServer(server);
 * ```
 *
 * @param tools The toolchain.
 * @param server The server.
 * @param args Extra server arguments.
 * @param denoFlags Extra `deno run` flags.
 * @returns The running server.
 * @throws {Error} When it does not answer within 15 seconds.
 */
export async function startServer(
  tools: Toolchain,
  server: ServerDef,
  args: readonly string[],
  denoFlags: readonly string[] = [],
): Promise<RunningServer> {
  const port = freePort();
  const command = [
    ...tools.limitPrefix,
    ...(tools.pinned ? ["taskset", "-c", "0"] : []),
    ...serverCommand(tools, server, port, args, denoFlags),
  ];
  const child = new Deno.Command(command[0]!, {
    args: command.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: quietEnv(),
    clearEnv: true,
  }).spawn();
  const running: RunningServer = { child, port, stdoutLines: [], stderr: "" };
  void collect(child.stdout, (text) => {
    for (const line of text.split("\n")) {
      if (line !== "") running.stdoutLines.push(line);
    }
  });
  void collect(child.stderr, (text) => {
    if (running.stderr.length < 8192) running.stderr += text;
  });
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline && !exited) {
    if (await probe(port)) return running;
    await sleep(50);
  }
  await stopServer(running);
  throw new Error(
    `${server.name} did not answer on 127.0.0.1:${port}: ${running.stderr.trim() || "no output"}`,
  );
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  sink: (text: string) => void,
) {
  let carry = "";
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const joined = carry + text;
      const cut = joined.lastIndexOf("\n");
      if (cut === -1) {
        carry = joined;
        continue;
      }
      sink(joined.slice(0, cut + 1));
      carry = joined.slice(cut + 1);
    }
  } catch {
    // The process went away.
  }
  if (carry !== "") sink(carry);
}

/**
 * Stops a server: `SIGTERM`, then `SIGKILL` after 3 seconds.
 *
 * @example Usage
 * ```ts
 * import { prepare, startServer, stopServer } from "./_harness.ts";
 * import { SERVERS } from "./_scenarios.ts";
 *
 * const server = await startServer(await prepare(() => {}), SERVERS.get("c")!, []);
 * await stopServer(server);
 * ```
 *
 * @param server The running server.
 * @returns When the process exited.
 */
export async function stopServer(server: RunningServer): Promise<void> {
  try {
    server.child.kill("SIGTERM");
  } catch {
    // Already gone.
  }
  const killed = await Promise.race([
    server.child.status.then(() => true),
    sleep(3000),
  ]);
  if (killed !== true) {
    try {
      server.child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
  await server.child.status;
  await sleep(20); // let the output collectors finish
}

/** Asks a Pants server for its engine stats until its stream count is 0 (at most 10 s). */
async function drainStats(
  server: RunningServer,
): Promise<{ stats: Record<string, number> | null; seconds: number | null }> {
  const started = performance.now();
  let stats: Record<string, number> | null = null;
  while (performance.now() - started < 10000) {
    const seen = server.stdoutLines.length;
    try {
      Deno.kill(server.child.pid, "SIGUSR2");
    } catch {
      return { stats, seconds: null };
    }
    const asked = performance.now();
    while (
      server.stdoutLines.length === seen && performance.now() - asked < 1000
    ) await sleep(10);
    for (const line of server.stdoutLines.slice(seen)) {
      try {
        const parsed = JSON.parse(line);
        if (parsed.stats === true) stats = parsed;
      } catch {
        // Not a stats line.
      }
    }
    if (stats !== null && stats.streams === 0) {
      return { stats, seconds: (performance.now() - started) / 1000 };
    }
    await sleep(100);
  }
  return { stats, seconds: null };
}

/**
 * Runs the load generator (pinned to core 1) against a running server.
 *
 * @example Usage
 * ```ts
 * import { measure, prepare, startServer, stopServer } from "./_harness.ts";
 * import { SCENARIOS, SERVERS } from "./_scenarios.ts";
 *
 * const tools = await prepare(() => {});
 * const server = await startServer(tools, SERVERS.get("c")!, []);
 * console.log(await measure(tools, SCENARIOS[0]!, server, true));
 * await stopServer(server);
 * ```
 *
 * @param tools The toolchain.
 * @param scenario What to run.
 * @param server The running server.
 * @param quick Short settings.
 * @returns The load generator's JSON, wall time, server and other CPU use.
 */
export async function measure(
  tools: Toolchain,
  scenario: Scenario,
  server: RunningServer,
  quick: boolean,
): Promise<{
  loadgen: Record<string, unknown> | null;
  raw: string;
  wallSeconds: number;
  serverCpuSeconds: number;
  otherCpuCores: number;
}> {
  const timeout = quick ? 30 : 90;
  const args = [
    scenario.mode,
    ...scenario.args(quick),
    "--port",
    `${server.port}`,
    "--timeout",
    `${timeout}`,
    ...(scenario.mode === "idle" ? ["--pid", `${server.child.pid}`] : []),
  ];
  const command = [
    ...tools.limitPrefix,
    ...(tools.pinned ? ["taskset", "-c", "1"] : []),
    tools.loadgen,
    ...args,
  ];
  const before = sampleCpu(server.child.pid);
  const t0 = performance.now();
  const child = new Deno.Command(command[0]!, {
    args: command.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: quietEnv(),
    clearEnv: true,
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), (timeout + 15) * 1000);
  const out = await child.output();
  clearTimeout(killer);
  const wallSeconds = (performance.now() - t0) / 1000;
  const after = sampleCpu(server.child.pid);
  const raw = new TextDecoder().decode(out.stdout).trim() +
    new TextDecoder().decode(out.stderr).trim();
  let loadgen: Record<string, unknown> | null = null;
  try {
    loadgen = JSON.parse(
      new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "",
    );
  } catch {
    loadgen = null;
  }
  const ticks = 100; // USER_HZ on Linux
  const serverCpuSeconds = (after.server - before.server) / ticks;
  const loadgenCpu = Number(loadgen?.loadgenCpuSeconds ?? 0);
  const busy = (after.busy - before.busy) / ticks;
  const otherCpuCores = Math.max(0, busy - serverCpuSeconds - loadgenCpu) /
    wallSeconds;
  return { loadgen, raw, wallSeconds, serverCpuSeconds, otherCpuCores };
}

/**
 * One run: start the server, measure, check Pants' stream count returns to
 * zero, stop the server.
 *
 * @example Usage
 * ```ts
 * import { prepare, runOne } from "./_harness.ts";
 * import { SCENARIOS } from "./_scenarios.ts";
 *
 * const tools = await prepare(() => {});
 * console.log(await runOne(tools, SCENARIOS[0]!, "pants", 1, true));
 * ```
 *
 * @param tools The toolchain.
 * @param scenario What to run.
 * @param serverName Which server.
 * @param round The round number, recorded in the result.
 * @param quick Short settings.
 * @param denoFlags Extra `deno run` flags for Deno servers.
 * @returns The result (never throws for a failing server: `value` is `null`).
 */
export async function runOne(
  tools: Toolchain,
  scenario: Scenario,
  serverName: string,
  round: number,
  quick: boolean,
  denoFlags: readonly string[] = [],
): Promise<RunResult> {
  const def = SERVERS.get(serverName)!;
  const result: RunResult = {
    scenario: scenario.id,
    server: serverName,
    round,
    value: null,
    loadgen: null,
    errors: 0,
    error: "",
    wallSeconds: 0,
    serverCpuSeconds: 0,
    otherCpuCores: 0,
    stats: null,
    drainSeconds: null,
    serverStderr: "",
  };
  let server: RunningServer;
  try {
    server = await startServer(
      tools,
      def,
      scenario.serverArg ? [scenario.serverArg] : [],
      denoFlags,
    );
  } catch (error) {
    result.errors = 1;
    result.error = error instanceof Error ? error.message : String(error);
    return result;
  }
  try {
    const measured = await measure(tools, scenario, server, quick);
    result.loadgen = measured.loadgen;
    result.wallSeconds = measured.wallSeconds;
    result.serverCpuSeconds = measured.serverCpuSeconds;
    result.otherCpuCores = measured.otherCpuCores;
    if (measured.loadgen === null) {
      result.errors = 1;
      result.error = `load generator output: ${measured.raw.slice(0, 300) || "none"}`;
    } else {
      result.errors = Number(measured.loadgen.errors ?? 0);
      result.error = String(measured.loadgen.error ?? "");
      const value = measured.loadgen[scenario.metric];
      if (typeof value === "number" && result.errors === 0) {
        result.value = value;
      }
    }
    if (def.pants) {
      const drained = await drainStats(server);
      result.stats = drained.stats;
      result.drainSeconds = drained.seconds;
    }
  } finally {
    await stopServer(server);
  }
  result.serverStderr = server.stderr.trim().slice(0, 2000);
  return result;
}
