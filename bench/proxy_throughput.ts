/**
 * TCP proxy throughput and memory: `examples/tcp_proxy.ts` (Pants `pipe()`)
 * against a raw Deno proxy (a `read()` / `write()` loop each way, 64 KiB), Node's
 * `net` (`socket.pipe()` both ways) and haproxy in TCP mode, each measured
 * in the same run, one at a time, with the same Python peers on 127.0.0.1:
 *
 * - fast: a writer sends `--fast` MiB (default 512) as fast as it can to a
 *   reader that reads as fast as it can; MiB/s from the writer's first byte
 *   to the reader's answer after the EOF, median of `--rounds` (default 3);
 * - slow: `--slow` MiB (default 256) to a reader that naps 1 ms after each
 *   read of up to 64 KiB; the proxy's peak resident memory (sampled from
 *   /proc every 20 ms) above its idle figure shows whether it buffers what
 *   the reader cannot take yet.
 *
 *     deno run -A bench/proxy_throughput.ts [--fast 512] [--slow 256] [--rounds 3]
 *
 * A peer that is not installed (node, haproxy) is left out with a note.
 *
 * @module
 */

const MiB = 1024 * 1024;
const arg = (name: string, fallback: number): number => {
  const at = Deno.args.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(Deno.args[at + 1]);
};
const FAST = arg("fast", 512);
const SLOW = arg("slow", 256);
const ROUNDS = arg("rounds", 3);
const example = new URL("../examples/tcp_proxy.ts", import.meta.url).pathname;

const RAW_DENO = `
const [port, up] = [Number(Deno.args[0]), Number(Deno.args[1])];
async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      for (let sent = 0; sent < n;) sent += await to.write(buffer.subarray(sent, n));
    }
    await to.closeWrite();
  } catch {
    // The other side went away.
  }
}
for await (const client of Deno.listen({ hostname: "127.0.0.1", port })) {
  Deno.connect({ hostname: "127.0.0.1", port: up }).then(async (upstream) => {
    await Promise.all([pump(client, upstream), pump(upstream, client)]);
    client.close();
    upstream.close();
  }, () => client.close());
}
`;

const NODE = `
const net = require("node:net");
const [port, up] = process.argv.slice(2).map(Number);
net.createServer({ allowHalfOpen: true }, (client) => {
  const upstream = net.connect({ host: "127.0.0.1", port: up, allowHalfOpen: true });
  client.pipe(upstream);
  upstream.pipe(client);
  const end = () => { client.destroy(); upstream.destroy(); };
  client.on("error", end);
  upstream.on("error", end);
}).listen(port, "127.0.0.1");
`;

/** The upstream: accepts connections one after another, counts each to EOF, answers. */
const READER = `
import socket, sys, time
nap = float(sys.argv[1])
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(8)
print("PORT", server.getsockname()[1], flush=True)
buffer = bytearray(65536)
while True:
    conn, _ = server.accept()
    total = 0
    while True:
        n = conn.recv_into(buffer)
        if n == 0: break
        total += n
        if nap: time.sleep(nap)
    conn.sendall(f"{total}\\n".encode())
    conn.close()
`;

/** The client: sends N MiB, half-closes, waits for the answer; prints seconds. */
const WRITER = `
import socket, sys, time
port, mib = int(sys.argv[1]), int(sys.argv[2])
block = bytes(range(256)) * 4096
conn = socket.create_connection(("127.0.0.1", port))
start = time.monotonic()
for _ in range(mib):
    conn.sendall(block)
conn.shutdown(socket.SHUT_WR)
answer = b""
while True:
    data = conn.recv(65536)
    if not data: break
    answer += data
print("RESULT", answer.decode().strip(), time.monotonic() - start, flush=True)
`;

interface Proxy {
  name: string;
  start(port: number, upstream: number, dir: string): Deno.ChildProcess;
}

function spawn(command: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(command, { args, stdin: "null", stdout: "null", stderr: "inherit" })
    .spawn();
}

async function installed(command: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", { args: ["-c", `command -v ${command}`] }).output();
    return out.success;
  } catch {
    return false;
  }
}

const PROXIES: Proxy[] = [
  {
    name: "raw Deno (read/write loop)",
    start: (port, up, dir) => {
      Deno.writeTextFileSync(`${dir}/raw.ts`, RAW_DENO);
      return spawn(Deno.execPath(), ["run", "-A", `${dir}/raw.ts`, String(port), String(up)]);
    },
  },
  {
    name: "Pants pipe()",
    start: (port, up) =>
      spawn(Deno.execPath(), [
        "run",
        "-A",
        example,
        String(port),
        `127.0.0.1:${up}`,
        "127.0.0.1",
      ]),
  },
];
if (await installed("node")) {
  PROXIES.push({
    name: "Node net pipe()",
    start: (port, up, dir) => {
      Deno.writeTextFileSync(`${dir}/node_proxy.cjs`, NODE);
      return spawn("node", [`${dir}/node_proxy.cjs`, String(port), String(up)]);
    },
  });
} else console.log("node is not installed: left out");
if (await installed("haproxy")) {
  PROXIES.push({
    name: "haproxy (tcp mode)",
    start: (port, up, dir) => {
      Deno.writeTextFileSync(
        `${dir}/haproxy.cfg`,
        `defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n` +
          `listen proxy\n  bind 127.0.0.1:${port}\n  server up 127.0.0.1:${up}\n`,
      );
      return spawn("haproxy", ["-db", "-f", `${dir}/haproxy.cfg`]);
    },
  });
} else console.log("haproxy is not installed: left out");

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Whether something listens on 127.0.0.1:port (from /proc, without connecting). */
function listeningOn(port: number): boolean {
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  return Deno.readTextFileSync("/proc/net/tcp").split("\n")
    .some((line) => line.includes(` ${hex} `) && line.split(/\s+/)[4] === "0A");
}

async function rss(pid: number): Promise<number> {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(await Deno.readTextFile(`/proc/${pid}/status`));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startReader(nap: number): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command("python3", {
    args: ["-c", READER, String(nap)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!/PORT \d+\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the reader exited");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void child.stdout.cancel();
  return { child, port: Number(/PORT (\d+)/.exec(text)![1]) };
}

interface Run {
  seconds: number;
  idle: number;
  peak: number;
}

/** One transfer of `mib` MiB through a fresh proxy process. */
async function transfer(proxy: Proxy, mib: number, nap: number, dir: string): Promise<Run> {
  const reader = await startReader(nap);
  const port = freePort();
  const child = proxy.start(port, reader.port, dir);
  try {
    const deadline = Date.now() + 10_000;
    while (!listeningOn(port)) {
      if (Date.now() > deadline) throw new Error(`${proxy.name} did not listen`);
      await sleep(20);
    }
    await sleep(200);
    const idle = await rss(child.pid);
    let peak = idle;
    const writer = new Deno.Command("python3", {
      args: ["-c", WRITER, String(port), String(mib)],
      stdout: "piped",
    }).spawn();
    let done = false;
    const output = writer.output().finally(() => done = true);
    while (!done) {
      peak = Math.max(peak, await rss(child.pid));
      await sleep(20);
    }
    const text = new TextDecoder().decode((await output).stdout);
    const match = /RESULT (\d+) ([\d.]+)/.exec(text);
    if (match === null || Number(match[1]) !== mib * MiB) {
      throw new Error(`${proxy.name}: wrong answer ${JSON.stringify(text)}`);
    }
    return { seconds: Number(match[2]), idle, peak };
  } finally {
    for (const process of [child, reader.child]) {
      try {
        process.kill("SIGKILL");
      } catch {
        // Exited already.
      }
      await process.status;
    }
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const dir = await Deno.makeTempDir({ prefix: "pants_proxy_bench_" });
const fast = new Map<string, Run[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const proxy of PROXIES) { // interleaved, so drift hits every proxy alike
    const runs = fast.get(proxy.name) ?? [];
    runs.push(await transfer(proxy, FAST, 0, dir));
    fast.set(proxy.name, runs);
  }
}
const slow = new Map<string, Run>();
for (const proxy of PROXIES) slow.set(proxy.name, await transfer(proxy, SLOW, 0.001, dir));
await Deno.remove(dir, { recursive: true });

const rate = (name: string) => median(fast.get(name)!.map((run) => FAST / run.seconds));
const base = rate(PROXIES[0]!.name);
const fmt = (bytes: number) => (bytes / MiB).toFixed(1);
console.log(
  `\n| proxy | fast: MiB/s (median of ${ROUNDS}) | vs raw Deno | fast: peak RSS MiB | ` +
    `slow reader: s for ${SLOW} MiB | slow: idle -> peak RSS MiB (growth) |`,
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const proxy of PROXIES) {
  const runs = fast.get(proxy.name)!;
  const s = slow.get(proxy.name)!;
  console.log(
    `| ${proxy.name} | ${rate(proxy.name).toFixed(0)} | ${
      (rate(proxy.name) / base).toFixed(2)
    }x | ` +
      `${fmt(Math.max(...runs.map((run) => run.peak)))} | ${s.seconds.toFixed(1)} | ` +
      `${fmt(s.idle)} -> ${fmt(s.peak)} (+${fmt(s.peak - s.idle)}) |`,
  );
}
