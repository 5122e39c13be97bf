/**
 * Hostile peers and the measuring around them, shared by the hostile-peer
 * suite (tests/hostile_*_test.ts), bench/hostile_report.ts and bench/soak.ts.
 *
 * A `HostileServer` is tests/fixtures/hostile_server.ts run as a subprocess.
 * A Python sampler reads its RSS and CPU time from `/proc/<pid>/` (Deno
 * wants `--allow-all` for that); its counters are asked for on its stdin
 * (not with SIGUSR1, which also opens Deno's inspector on port 9229, as in
 * Node). Attacks are plain functions of the server's port, each bounded in
 * count and in time. Scenarios put an attack, a server configuration and
 * the measuring together; the tests assert on their results, the report
 * prints them.
 *
 * @module
 */

import type { HostileConfig, Report } from "./fixtures/hostile_server.ts";
import { testCerts } from "./_certs.ts";
import { readExactly, until, utf8 } from "./_helpers.ts";
import { freePort, python, Subprocess } from "./_subprocess.ts";

export type { HostileConfig, Report };

const FIXTURE = new URL("./fixtures/hostile_server.ts", import.meta.url).pathname;
const MiB = 1024 * 1024;

/** Resolves after `ms` milliseconds. */
export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

// --- the server under attack -----------------------------------------------

/** Resident memory of a process, from `/proc/<pid>/status`, in KiB. */
export interface Memory {
  /** Current resident set (VmRSS). */
  rssKiB: number;
  /** Peak resident set (VmHWM). */
  hwmKiB: number;
}

/**
 * Reads VmRSS and VmHWM of a process. Deno wants `--allow-all` to read
 * `/proc/<pid>/`: the tests measure with {@linkcode RssSampler} instead.
 */
export function memoryOf(pid: number): Memory {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1]);
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
}

/** tests/fixtures/hostile_server.ts running as a subprocess on 127.0.0.1. */
export class HostileServer {
  readonly port: number;
  readonly process: Subprocess;
  readonly #control: WritableStreamDefaultWriter<Uint8Array>;
  #asked = 0;

  private constructor(port: number, process: Subprocess) {
    this.port = port;
    this.process = process;
    this.#control = process.child.stdin.getWriter();
  }

  /**
   * Starts the fixture with `--allow-net=127.0.0.1:PORT` only (or `flags`)
   * and waits until it listens.
   */
  static async start(config: HostileConfig = {}, flags?: string[]): Promise<HostileServer> {
    const port = freePort();
    const process = new Subprocess(Deno.execPath(), [
      "run",
      ...(flags ?? [`--allow-net=127.0.0.1:${port}`]),
      FIXTURE,
      String(port),
      JSON.stringify(config),
    ], { stdin: "piped" });
    const server = new HostileServer(port, process);
    try {
      await process.waitFor(`LISTENING ${port}`, 30_000);
    } catch (error) {
      await server.stop();
      throw new Error(`The hostile server did not start:\n${process.stderr}`, { cause: error });
    }
    return server;
  }

  /** The server's process id. */
  get pid(): number {
    return this.process.child.pid;
  }

  /** Asks for the server's counters (a line on its stdin) and waits for its `STATS` line. */
  async stats(): Promise<Report> {
    const seq = ++this.#asked;
    const marker = `STATS {"seq":${seq},`;
    await this.#control.write(utf8("STATS\n"));
    await until(() => this.process.stdout.includes(marker), `STATS ${seq}`, 10_000);
    const at = this.process.stdout.indexOf(marker) + "STATS ".length;
    const end = this.process.stdout.indexOf("\n", at);
    return JSON.parse(this.process.stdout.slice(at, end)) as Report;
  }

  /**
   * Polls the counters until `done(report)` holds or `timeoutMs` passed;
   * returns the last report either way (the caller asserts).
   */
  async settle(done: (report: Report) => boolean, timeoutMs = 5000): Promise<Report> {
    const deadline = Date.now() + timeoutMs;
    let report = await this.stats();
    while (!done(report) && Date.now() < deadline) {
      await delay(25);
      report = await this.stats();
    }
    return report;
  }

  /** Stops the server (closes its stdin, then SIGTERM) and waits for it. */
  async stop(): Promise<Deno.CommandStatus> {
    try {
      await this.#control.close();
    } catch {
      // The server exited already.
    }
    return await this.process.stop();
  }
}

const SAMPLER_PY = `
import json, os, signal, sys, time
pid, interval = sys.argv[1], float(sys.argv[2])
def memory():
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
def cpu_ms():
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
try:
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")  # VmHWM := VmRSS
    reset = True
except OSError:
    reset = False
baseline = peak = memory()[0]
cpu = cpu_ms()
stopping = False
def stop(*_):
    global stopping
    stopping = True
signal.signal(signal.SIGTERM, stop)
print("READY", flush=True)
while not stopping:
    try:
        peak = max(peak, memory()[0])
    except OSError:
        break
    time.sleep(interval)
try:
    rss, hwm = memory()
    peak = max(peak, rss, hwm if reset else 0)
    cpu = cpu_ms() - cpu
except OSError:
    cpu = -1
print(json.dumps({"baselineKiB": baseline, "peakKiB": peak, "cpuMs": cpu}), flush=True)
`;

/** A process's RSS (KiB) and CPU time over a measured span. */
export interface RssFigures {
  /** RSS at the start. */
  baselineKiB: number;
  /** Peak RSS. */
  peakKiB: number;
  /** User + system CPU time used, ms (-1 if the process exited). */
  cpuMs: number;
}

/**
 * Measures a process's RSS from outside: a Python sampler reads
 * `/proc/<pid>/status` every `intervalMs` (Deno wants `--allow-all` for
 * that), after resetting VmHWM (Linux `clear_refs` 5) so that the peak
 * between `start` and `stop` is exact even between samples.
 */
export class RssSampler {
  readonly #process: Subprocess;

  private constructor(process: Subprocess) {
    this.#process = process;
  }

  /** Starts sampling `pid`; resolves once the baseline is taken. */
  static async start(pid: number, intervalMs = 20): Promise<RssSampler> {
    const process = new Subprocess("python3", [
      "-c",
      SAMPLER_PY,
      String(pid),
      String(intervalMs / 1000),
    ]);
    try {
      await process.waitFor("READY", 10_000);
    } catch (error) {
      await process.stop();
      throw new Error(`The RSS sampler did not start:\n${process.stderr}`, { cause: error });
    }
    return new RssSampler(process);
  }

  /** Stops sampling; returns the baseline and the peak. */
  async stop(): Promise<RssFigures> {
    await this.#process.stop();
    const line = this.#process.stdout.trim().split("\n").at(-1) ?? "";
    try {
      return JSON.parse(line) as RssFigures;
    } catch {
      throw new Error(`The RSS sampler failed:\n${this.#process.stdout}\n${this.#process.stderr}`);
    }
  }
}

// --- the well-behaved client -----------------------------------------------

/** Round-trip latency figures in milliseconds. */
export interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** Percentiles of round-trip samples (ms). */
export function summarize(samples: readonly number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

const PING_BYTES = 12; // "ping 000000\n"

/** A well-behaved client: one connection, sequential echo round trips of one line. */
export class EchoProbe {
  readonly #conn: Deno.Conn;
  #next = 0;
  #closed = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects to the server on 127.0.0.1; fails after `limitMs`. */
  static async open(port: number, limitMs = 10_000): Promise<EchoProbe> {
    const abort = new AbortController();
    const watchdog = setTimeout(() => abort.abort(), limitMs);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port, signal: abort.signal });
      conn.setNoDelay(true);
      return new EchoProbe(conn);
    } catch (error) {
      if (abort.signal.aborted) throw new Error(`No connection within ${limitMs} ms`);
      throw error;
    } finally {
      clearTimeout(watchdog);
    }
  }

  /**
   * One round trip: writes a line and reads its echo. Fails if the echo is
   * wrong or does not come within `limitMs`.
   *
   * @returns The round trip in milliseconds.
   */
  async roundTrip(limitMs = 5000): Promise<number> {
    const line = `ping ${String(this.#next++ % 1_000_000).padStart(6, "0")}\n`;
    let timedOut = false;
    const watchdog = setTimeout(() => {
      timedOut = true;
      this.close();
    }, limitMs);
    const start = performance.now();
    try {
      await this.#conn.write(utf8(line));
      const reply = new TextDecoder().decode(await readExactly(this.#conn, PING_BYTES));
      if (reply !== line) throw new Error(`Wrong echo ${JSON.stringify(reply)} for ${line}`);
      return performance.now() - start;
    } catch (error) {
      if (timedOut) throw new Error(`No echo within ${limitMs} ms`);
      throw error;
    } finally {
      clearTimeout(watchdog);
    }
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }
}

/**
 * What a new user waits for: connect, one echo round trip, close.
 *
 * @returns The time taken in milliseconds.
 */
export async function connectRoundTrip(port: number, limitMs = 10_000): Promise<number> {
  const start = performance.now();
  const probe = await EchoProbe.open(port, limitMs);
  try {
    await probe.roundTrip(limitMs);
  } finally {
    probe.close();
  }
  return performance.now() - start;
}

// --- attacks -----------------------------------------------------------------

function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

function isPeerGone(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted;
}

/** What `flood` saw. */
export interface FloodResult {
  /** Bytes written before the end. */
  sent: number;
  /** "closed": the server closed (reset) the connection; "sent": all was sent; "time": the time bound hit. */
  end: "closed" | "sent" | "time";
  ms: number;
}

/**
 * Sends `bytes` of `fill` (no delimiter in it) as fast as the server takes
 * them, until the server closes the connection or `timeoutMs` passes.
 */
export async function flood(
  port: number,
  { bytes = 100 * MiB, timeoutMs = 10_000, fill = 0x78, first = "" } = {},
): Promise<FloodResult> {
  const conn = await connect(port);
  if (first !== "") await conn.write(new TextEncoder().encode(first));
  const chunk = new Uint8Array(MiB).fill(fill);
  const start = performance.now();
  let sent = 0;
  let end: FloodResult["end"] = "sent";
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, timeoutMs);
  try {
    while (sent < bytes) {
      const n = await conn.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent)));
      sent += n;
    }
  } catch (error) {
    if (timedOut) end = "time";
    else if (isPeerGone(error)) end = "closed";
    else throw error;
  } finally {
    clearTimeout(watchdog);
    if (!timedOut) conn.close();
  }
  return { sent, end, ms: performance.now() - start };
}

/**
 * Connects, sends `command` as a line (e.g. "FLOOD"), then never reads:
 * holds the connection for `holdMs` and closes it.
 */
export async function neverRead(port: number, command: string, holdMs: number): Promise<void> {
  const conn = await connect(port);
  await conn.write(utf8(`${command}\n`));
  await delay(holdMs);
  conn.close();
}

/** Waits until the server ends a connection (EOF or reset); returns how long that took. */
async function closedByServer(conn: Deno.Conn, buffer: Uint8Array): Promise<number> {
  const start = performance.now();
  try {
    while ((await conn.read(buffer)) !== null) {
      // Discard anything the server sends.
    }
  } catch (error) {
    if (!isPeerGone(error) && !(error instanceof Deno.errors.Interrupted)) throw error;
  }
  return performance.now() - start;
}

/** What a set of peers saw: how long until the server closed each one. */
export interface ClosedAfter {
  /** Milliseconds from each peer's connect to its close, for peers the server closed. */
  closedMs: number[];
  /** Peers still open when the time bound hit (closed by us). */
  open: number;
}

/** A peer connection and when it was made (`performance.now()`). */
interface Peer {
  conn: Deno.Conn;
  at: number;
}

async function connectPeers(port: number, peers: number): Promise<Peer[]> {
  const out: Peer[] = [];
  for (let i = 0; i < peers; i++) {
    const conn = await connect(port);
    out.push({ conn, at: performance.now() });
  }
  return out;
}

async function untilClosed(
  peers: Peer[],
  timeoutMs: number,
  meanwhile?: (conn: Deno.Conn, done: () => boolean) => Promise<void>,
): Promise<ClosedAfter> {
  const closedMs: number[] = [];
  const done = new Set<Deno.Conn>();
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    for (const { conn } of peers) if (!done.has(conn)) conn.close();
  }, timeoutMs);
  await Promise.all(peers.map(async ({ conn, at }) => {
    const side = meanwhile?.(conn, () => done.has(conn) || timedOut);
    await closedByServer(conn, new Uint8Array(1024));
    if (!timedOut) {
      done.add(conn);
      closedMs.push(performance.now() - at);
    }
    await side;
  }));
  clearTimeout(watchdog);
  for (const { conn } of peers) if (done.has(conn)) conn.close();
  return { closedMs, open: peers.length - done.size };
}

/** `peers` connections that send nothing; waits (at most `timeoutMs`) for the server to close them. */
export async function silentPeers(
  port: number,
  { peers = 1, timeoutMs = 10_000 } = {},
): Promise<ClosedAfter> {
  return await untilClosed(await connectPeers(port, peers), timeoutMs);
}

/**
 * `peers` connections that send one byte (never a newline) every
 * `intervalMs`; waits (at most `timeoutMs`) for the server to close them.
 */
export async function slowDrip(
  port: number,
  { peers = 1, intervalMs = 100, timeoutMs = 10_000 } = {},
): Promise<ClosedAfter> {
  const byte = utf8("x");
  return await untilClosed(await connectPeers(port, peers), timeoutMs, async (conn, done) => {
    while (!done()) {
      try {
        await conn.write(byte);
      } catch {
        return;
      }
      await delay(intervalMs);
    }
  });
}

/**
 * Sends `payload`, half-closes (FIN), and reads everything the server sends
 * until it closes.
 *
 * @returns What the server sent back.
 */
export async function halfClose(port: number, payload: string, timeoutMs = 5000): Promise<string> {
  const conn = await connect(port);
  let timedOut = false;
  const watchdog = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, timeoutMs);
  const parts: string[] = [];
  const decoder = new TextDecoder();
  try {
    await conn.write(utf8(payload));
    await conn.closeWrite();
    const buffer = new Uint8Array(4096);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      parts.push(decoder.decode(buffer.subarray(0, n), { stream: true }));
    }
  } catch (error) {
    if (timedOut) {
      throw new Error(
        `The server did not close within ${timeoutMs} ms; got ${JSON.stringify(parts.join(""))}`,
      );
    }
    throw error;
  } finally {
    clearTimeout(watchdog);
  }
  conn.close();
  return parts.join("");
}

/** What a connect-and-reset churn did. */
export interface ChurnResult {
  /** Connections made and reset. */
  connections: number;
  /** Waves of `peers` connections. */
  waves: number;
  /** Connects that failed or timed out. */
  failed: number;
  ms: number;
}

const CHURN_PY = `
import json, socket, struct, sys, time
port, peers, duration, most = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
payload = sys.argv[5].encode()
hold = float(sys.argv[6])
linger = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST
start = time.monotonic()
deadline = start + duration
connections = waves = failed = 0
while time.monotonic() < deadline and connections < most:
    wave = []
    for _ in range(min(peers, most - connections)):
        if time.monotonic() >= deadline:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
            if payload:
                s.send(payload)
            wave.append(s)
        except OSError:
            failed += 1
            s.close()
    if hold > 0:
        time.sleep(hold)
    for s in wave:
        s.close()
    connections += len(wave)
    waves += 1
print(json.dumps({"connections": connections, "waves": waves, "failed": failed,
                  "ms": (time.monotonic() - start) * 1000}))
`;

/**
 * Python peers that connect, send `payload` (a partial frame: no newline)
 * and reset (SO_LINGER 0), in waves of `peers` open at once (held open for
 * `holdMs` before the resets), for at most `durationMs` and `most`
 * connections.
 */
export async function churn(
  port: number,
  { peers = 1000, durationMs = 10_000, most = 50_000, payload = "half a frame", holdMs = 0 } = {},
): Promise<ChurnResult> {
  const out = await python(CHURN_PY, [
    String(port),
    String(peers),
    String(durationMs / 1000),
    String(most),
    payload,
    String(holdMs / 1000),
  ]);
  return JSON.parse(out) as ChurnResult;
}

/** `peers` Python peers that each send a partial frame and reset the connection (one wave). */
export function resetMidFrame(port: number, peers: number): Promise<ChurnResult> {
  return churn(port, {
    peers,
    durationMs: 30_000,
    most: peers,
    payload: "GET /a-frame-that-never-",
  });
}

/** What a flood of a stream that stopped reading saw. */
export interface StallResult {
  /** Bytes the peer's writes took before it stalled (or ended). */
  sent: number;
  /** Whether a write stayed blocked for the stall time: the server applied back-pressure. */
  stalled: boolean;
  ms: number;
}

const STARTTLS_FLOOD_PY = `
import json, socket, ssl, struct, sys, time
port, ca, most, stall, limit = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
raw = socket.create_connection(("127.0.0.1", port), timeout=5)
raw.sendall(b"STARTTLS\\n")
got = b""
while not got.endswith(b"GO\\n"):
    got += raw.recv(1)
s = ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="localhost")
s.settimeout(stall)
chunk = b"x" * 65536
sent, stalled, start = 0, False, time.monotonic()
while sent < most and time.monotonic() - start < limit:
    try:
        sent += s.send(chunk)
    except (socket.timeout, ssl.SSLWantWriteError):
        stalled = True
        break
ms = (time.monotonic() - start) * 1000
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()  # a reset: nothing left for the server to flush
print(json.dumps({"sent": sent, "stalled": stalled, "ms": ms}))
`;

/**
 * A Python peer that upgrades with STARTTLS ("STARTTLS\n", "GO\n", then
 * the TLS handshake as the client) and writes up to `bytes` until a write
 * stays blocked for `stallMs` or `timeoutMs` passed; then resets.
 */
export async function startTlsFlood(
  port: number,
  { bytes = 256 * MiB, stallMs = 500, timeoutMs = 10_000 } = {},
): Promise<StallResult> {
  const { trusted } = await testCerts();
  const out = await python(STARTTLS_FLOOD_PY, [
    String(port),
    trusted.certPath,
    String(bytes),
    String(stallMs / 1000),
    String(timeoutMs / 1000),
  ]);
  return JSON.parse(out) as StallResult;
}

/**
 * Holds the only connection slot of a TLS server with one TLS client, then
 * connects `peers` peers that send nothing, and waits (at most `timeoutMs`)
 * for the server to close them.
 */
export async function tlsRefusalPileUp(
  port: number,
  { peers = 30, timeoutMs = 5000 } = {},
): Promise<ClosedAfter> {
  const { trusted } = await testCerts();
  const holder = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [trusted.cert] });
  try {
    await holder.handshake();
    return await silentPeers(port, { peers, timeoutMs });
  } finally {
    holder.close();
  }
}

/** Certificate and key for a scenario's server (made on first use). */
async function serverKeys(): Promise<{ cert: string; key: string }> {
  const { trusted } = await testCerts();
  return { cert: trusted.cert, key: trusted.key };
}

// --- scenarios -----------------------------------------------------------------

/** How big a scenario runs: `quick` for the test suite, full for the report. */
export interface ScenarioOptions {
  quick?: boolean;
  /** Also measure the well-behaved client's latency, idle and under the attack. */
  probe?: boolean;
}

/** An attack on a freshly started server. */
export interface Scenario<T = unknown> {
  /** A short label for the figures table. */
  name: string;
  /** The server's settings (made when the scenario starts, for certificates). */
  config: HostileConfig | (() => Promise<HostileConfig>);
  /** Whether the plain echo probe can be served (not by a TLS server). @default {true} */
  probe?: boolean;
  /** The attack (bounded). */
  attack(server: HostileServer, quick: boolean): Promise<T>;
  /** When the server has recovered from it (the probe's own stream is not counted). */
  recovered?(report: Report): boolean;
}

/** What a scenario measured. */
export interface ScenarioResult<T = unknown> {
  name: string;
  /** Server RSS before the attack, KiB. */
  baselineKiB: number;
  /** Peak server RSS during the attack, KiB. */
  peakKiB: number;
  /** Server CPU time (user + system) during the attack, ms. */
  cpuMs: number;
  /** What the attack returned. */
  attack: T;
  /** The server's counters once it recovered (or the recovery wait timed out). */
  after: Report;
  /** The probe's round trips before the attack, if probed. */
  idle: Latency | null;
  /** The probe's round trips during the attack, if probed. */
  underAttack: Latency | null;
  /** New connection + one round trip, before the attack, if probed. */
  idleConnect: Latency | null;
  /** New connection + one round trip, during the attack, if probed. */
  underAttackConnect: Latency | null;
  /** Whether every probe round trip got its echo. */
  probeOk: boolean;
}

/** Nothing of the attack left: no stream, no WASM region. */
export const empty = (report: Report): boolean =>
  report.streams === 0 && report.engine.channels.stream === 0 && report.engine.wasmRegions === 0;

/**
 * Starts a server with the scenario's config, measures its RSS during the
 * attack (VmHWM reset before, RSS sampled every 20 ms), optionally measures
 * a well-behaved client's latency idle and during the attack, waits for the
 * server to recover, and stops it.
 */
export async function runScenario<T>(
  scenario: Scenario<T>,
  { quick = true, probe: probeAsked = false }: ScenarioOptions = {},
): Promise<ScenarioResult<T>> {
  const probe = probeAsked && scenario.probe !== false;
  const config = typeof scenario.config === "function" ? await scenario.config() : scenario.config;
  const server = await HostileServer.start(config);
  let phase = "idle" as "idle" | "attack" | "done";
  /** Takes a sample and files it under the phase it started in. */
  const take = async (
    into: { idle: number[]; attack: number[] },
    sample: () => Promise<number>,
  ) => {
    const started = phase;
    const ms = await sample();
    if (started !== "done") into[started].push(ms);
  };
  let probeOk = true;
  const failed = (error: unknown) => {
    probeOk = false;
    console.error("The well-behaved client failed:", error);
  };
  // Round trips on one connection, and over new connections, filed by phase.
  const echo = { idle: [] as number[], attack: [] as number[] };
  const connects = { idle: [] as number[], attack: [] as number[] };
  let probing: Promise<unknown> = Promise.resolve();
  try {
    if (probe) {
      const client = await EchoProbe.open(server.port);
      for (let i = 0; i < 50; i++) await client.roundTrip(); // warm up
      const onOne = async () => {
        try {
          while (phase !== "done") {
            await take(echo, () => client.roundTrip(10_000));
            await delay(2);
          }
        } finally {
          client.close();
        }
      };
      const overNew = async () => {
        while (phase !== "done") {
          await take(connects, () => connectRoundTrip(server.port));
          await delay(20);
        }
      };
      probing = Promise.all([onOne().catch(failed), overNew().catch(failed)]);
      const rounds = quick ? 300 : 1000;
      await until(
        () => !probeOk || (echo.idle.length >= rounds && connects.idle.length >= rounds / 10),
        "idle round trips",
        60_000,
      );
    }
    await delay(50);
    const sampler = await RssSampler.start(server.pid);
    let attack: T;
    let memory: RssFigures;
    phase = "attack";
    try {
      attack = await scenario.attack(server, quick);
    } finally {
      phase = "done";
      await probing;
      memory = await sampler.stop();
    }
    const after = await server.settle(scenario.recovered ?? empty);
    const figures = (samples: number[]) => (probe ? summarize(samples) : null);
    return {
      name: scenario.name,
      baselineKiB: memory.baselineKiB,
      peakKiB: memory.peakKiB,
      cpuMs: memory.cpuMs,
      attack,
      after,
      idle: figures(echo.idle),
      underAttack: figures(echo.attack),
      idleConnect: figures(connects.idle),
      underAttackConnect: figures(connects.attack),
      probeOk,
    };
  } finally {
    phase = "done";
    await probing;
    await server.stop();
  }
}

/** The attacks, with full sizes for the report and `quick` ones for the suite. */
export const scenarios = {
  oversizedBufferSize: {
    name: "bufferSize 2^31 set on command, then 256 MiB without a delimiter",
    config: { oversized: { bufferSize: 2 ** 31 } },
    attack: (server) =>
      flood(server.port, { bytes: 256 * MiB, timeoutMs: 10_000, first: "OVERSIZED\n" }),
    recovered: empty,
  } satisfies Scenario<FloodResult>,
  oversizedDelimiter: {
    name: "a 193-byte delimiter set on command, then 256 MiB",
    config: { oversized: { readDelimiter: "=".repeat(193) } },
    attack: (server) =>
      flood(server.port, { bytes: 256 * MiB, timeoutMs: 10_000, first: "OVERSIZED\n" }),
    recovered: empty,
  } satisfies Scenario<FloodResult>,
  oversizedBlock: {
    name: "block size 2^31 set on command, then 256 MiB",
    config: { oversized: { readDelimiter: 2 ** 31 } },
    attack: (server) =>
      flood(server.port, { bytes: 256 * MiB, timeoutMs: 10_000, first: "OVERSIZED\n" }),
    recovered: empty,
  } satisfies Scenario<FloodResult>,
  oversizedTimeout: {
    name: "timeout Infinity set on command, then 256 MiB",
    config: { oversized: { timeout: Infinity } },
    attack: (server) =>
      flood(server.port, { bytes: 256 * MiB, timeoutMs: 10_000, first: "OVERSIZED\n" }),
    recovered: empty,
  } satisfies Scenario<FloodResult>,
  idle: {
    name: "idle (no attack)",
    config: {},
    attack: async (_server, quick) => await delay(quick ? 300 : 2000),
  } satisfies Scenario<void>,
  floodClosed: {
    name: "100 MiB without a delimiter (overflow closes)",
    config: {},
    attack: (server) => flood(server.port, { bytes: 100 * MiB, timeoutMs: 10_000 }),
  } satisfies Scenario<FloodResult>,
  floodKept: {
    name: "100 MiB without a delimiter (kept open, input discarded)",
    config: { keepOnOverflow: true },
    attack: async (server) => {
      const result = await flood(server.port, { bytes: 100 * MiB, timeoutMs: 30_000 });
      await server.settle((report) => report.engine.bytesIn >= result.sent, 10_000);
      return result;
    },
  } satisfies Scenario<FloodResult>,
  regexFlood: {
    name: "100 MiB no match for a RegExp delimiter (kept open)",
    config: { keepOnOverflow: true, regex: true },
    attack: async (server, quick) => {
      const bytes = (quick ? 16 : 100) * MiB;
      const result = await flood(server.port, { bytes, timeoutMs: 60_000 });
      await server.settle((report) => report.engine.bytesIn >= result.sent, 20_000);
      return result;
    },
  } satisfies Scenario<FloodResult>,
  neverReadsFlood: {
    name: "never reads; server writes with back-pressure",
    config: { timeout: 1000 },
    attack: async (server) => {
      await neverRead(server.port, "FLOOD", 600);
      return await server.stats();
    },
  } satisfies Scenario<Report>,
  neverReadsBlast: {
    name: "never reads; server ignores back-pressure (maxWriteBuffer 4 MiB)",
    config: { timeout: 1000, maxWriteBuffer: 4 * MiB },
    attack: async (server) => {
      await neverRead(server.port, "BLAST", 600);
      return await server.stats();
    },
  } satisfies Scenario<Report>,
  silent: {
    name: "silent peers (idle timeout 500 ms)",
    config: { timeout: 500 },
    attack: (server, quick) => silentPeers(server.port, { peers: quick ? 20 : 500 }),
  } satisfies Scenario<ClosedAfter>,
  slowDrip: {
    name: "slow drip, 1 byte/100 ms (frame timeout 800 ms)",
    config: { timeout: 2000, frameTimeout: 800 },
    attack: (server, quick) => slowDrip(server.port, { peers: quick ? 5 : 200, intervalMs: 100 }),
  } satisfies Scenario<ClosedAfter>,
  resetMidFrame: {
    name: "1,000 peers reset mid-frame (RST)",
    config: {},
    attack: (server) => resetMidFrame(server.port, 1000),
  } satisfies Scenario<ChurnResult>,
  halfClose: {
    name: "half-close after a frame and a partial one",
    config: {},
    attack: async (server, quick) => {
      const replies: string[] = [];
      for (let i = 0; i < (quick ? 5 : 200); i++) {
        replies.push(await halfClose(server.port, `frame ${i}\npartial`));
      }
      return replies;
    },
  } satisfies Scenario<string[]>,
  regexDense: {
    name: "64 KiB of newlines to a RegExp delimiter (known bug: O(n^2))",
    config: { regex: true },
    attack: async (server, quick) => {
      const newlines = (quick ? 16 : 64) * 1024;
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      try {
        await conn.write(new Uint8Array(newlines).fill(0x0a));
        return await server.settle((report) => report.engine.frames >= newlines, 30_000);
      } finally {
        conn.close();
      }
    },
  } satisfies Scenario<Report>,
  heldPartial: {
    name: "1,000 peers each holding a 1 KiB partial frame for 2 s",
    config: {},
    attack: (server) =>
      churn(server.port, {
        peers: 1000,
        durationMs: 60_000,
        most: 1000,
        payload: "x".repeat(1024),
        holdMs: 2000,
      }),
  } satisfies Scenario<ChurnResult>,
  startTlsFlood: {
    name: "256 MiB to a stream paused after STARTTLS",
    config: async () => ({ startTls: await serverKeys(), pauseAfterTls: true, timeout: 2000 }),
    attack: (server, quick) => startTlsFlood(server.port, { bytes: (quick ? 64 : 256) * MiB }),
  } satisfies Scenario<StallResult>,
  startTlsCloseFlood: {
    name: "256 MiB to a stream closing with a flush after STARTTLS",
    config: async () => ({ startTls: await serverKeys(), closeAfterTls: 16 * MiB, timeout: 2000 }),
    attack: (server, quick) => startTlsFlood(server.port, { bytes: (quick ? 64 : 256) * MiB }),
  } satisfies Scenario<StallResult>,
  tlsRefusals: {
    name: "silent peers refused by a full TLS server (handshakeTimeout 300 ms)",
    config: async () => ({
      tls: await serverKeys(),
      maxConnections: 1,
      handshakeTimeout: 300,
      rejectReply: "BUSY\n",
    }),
    probe: false,
    attack: (server, quick) => tlsRefusalPileUp(server.port, { peers: quick ? 30 : 500 }),
  } satisfies Scenario<ClosedAfter>,
  churn: {
    name: "1,000 peers connect, send, reset in a loop",
    config: {},
    attack: (server, quick) =>
      churn(server.port, { peers: 1000, durationMs: quick ? 5000 : 10_000, most: 60_000 }),
  } satisfies Scenario<ChurnResult>,
};

/** KiB as MiB with one decimal. */
export const mib = (kib: number): string => (kib / 1024).toFixed(1);
