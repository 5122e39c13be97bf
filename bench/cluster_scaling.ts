/**
 * Echo messages per second through `examples/cluster.ts` with 1 and with 2
 * workers: the multi-core figure of the README.
 *
 *     deno run --allow-run --allow-read --allow-net=127.0.0.1 bench/cluster_scaling.ts [seconds] [connections] [batch] [rounds]
 *
 * The load generator runs in this process: `connections` (16) TCP
 * connections, each keeping one batch of `batch` (256) sixteen-byte lines in
 * flight (a new batch as soon as the previous one is fully echoed). It
 * counts echoed lines over `seconds` (5) after a one-second warm-up, in
 * `rounds` (3) alternating runs per set-up. Not a `deno bench` file: it is a
 * throughput run, not a per-call timing. Machine: see the printed core count;
 * the client shares the cores with the workers.
 *
 * @module
 */

const seconds = Number(Deno.args[0] ?? 5);
const connections = Number(Deno.args[1] ?? 16);
const BATCH = Number(Deno.args[2] ?? 256);
const rounds = Number(Deno.args[3] ?? 3);
const LINE = "0123456789abcde\n";
const batch = new TextEncoder().encode(LINE.repeat(BATCH));
const cluster = new URL("../examples/cluster.ts", import.meta.url).pathname;
const repo = new URL("..", import.meta.url).pathname;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitListening(child: Deno.ChildProcess, workers: number): Promise<void> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const deadline = Date.now() + 15_000;
  while ((out.match(/listening/g) ?? []).length < workers) {
    if (Date.now() > deadline) throw new Error(`The cluster did not start: ${out}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`The cluster exited: ${out}`);
    out += value;
  }
  reader.releaseLock();
  void child.stdout.cancel().catch(() => {});
}

/**
 * CPU seconds (user + system) a process used so far, from Linux's
 * `/proc/<pid>/stat` (read with `cat`: Deno wants `--allow-all` to read
 * /proc itself); NaN elsewhere.
 */
function cpuSeconds(pid: number): number {
  try {
    const out = new Deno.Command("cat", { args: [`/proc/${pid}/stat`], stderr: "null" })
      .outputSync();
    const stat = new TextDecoder().decode(out.stdout);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in 1/100 s ticks
  } catch {
    return NaN;
  }
}

/** One run: echoed lines per second, and the cores the server and the client kept busy. */
interface Run {
  rate: number;
  serverCores: number;
  clientCores: number;
}

/** Runs the load against a port. */
async function load(port: number, server: number): Promise<Run> {
  let lines = 0;
  let running = true;
  const conns = await Promise.all(
    Array.from({ length: connections }, () => Deno.connect({ hostname: "127.0.0.1", port })),
  );
  const pump = async (conn: Deno.Conn): Promise<void> => {
    const buffer = new Uint8Array(64 * 1024);
    await conn.write(batch);
    let pending = batch.length;
    while (running) {
      const n = await conn.read(buffer);
      if (n === null) return;
      lines += n / LINE.length;
      pending -= n;
      if (pending === 0) {
        await conn.write(batch);
        pending = batch.length;
      }
    }
  };
  const pumps = conns.map(pump);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // warm-up
  const start = lines;
  const t0 = performance.now();
  const serverCpu = cpuSeconds(server);
  const clientCpu = cpuSeconds(Deno.pid);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const run = {
    rate: (lines - start) / elapsed,
    serverCores: (cpuSeconds(server) - serverCpu) / elapsed,
    clientCores: (cpuSeconds(Deno.pid) - clientCpu) / elapsed,
  };
  running = false;
  for (const conn of conns) conn.close();
  await Promise.allSettled(pumps);
  return run;
}

async function measure(workers: number): Promise<Run> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-net",
      `--allow-read=${repo}`,
      `--allow-net=127.0.0.1:${port}`,
      cluster,
      String(workers),
      String(port),
      "127.0.0.1",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    await waitListening(child, workers);
    return await load(port, child.pid);
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

// Alternate the two set-ups so a busy machine disturbs both alike; report
// the median run (by rate) and the best rate of each.
const runs: Record<1 | 2, Run[]> = { 1: [], 2: [] };
for (let round = 0; round < rounds; round++) {
  for (const workers of [1, 2] as const) runs[workers].push(await measure(workers));
}
const median = (xs: Run[]) => [...xs].sort((a, b) => a.rate - b.rate)[Math.floor(xs.length / 2)]!;
const best = (xs: Run[]) => Math.max(...xs.map((run) => run.rate));
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(
  `cores: ${navigator.hardwareConcurrency}, ${connections} connections, ${BATCH} lines of ` +
    `${LINE.length} bytes in flight each, ${rounds} runs of ${seconds} s per set-up`,
);
console.log(
  "| workers | echoed lines/s (median run) | best run | vs 1 worker | server CPU | client CPU |",
);
console.log("| ---: | ---: | ---: | ---: | ---: | ---: |");
for (const workers of [1, 2] as const) {
  const run = median(runs[workers]);
  console.log(
    `| ${workers} | ${fmt(run.rate)} | ${fmt(best(runs[workers]))} | ` +
      `${(run.rate / median(runs[1]).rate).toFixed(2)}x | ${run.serverCores.toFixed(2)} cores | ` +
      `${run.clientCores.toFixed(2)} cores |`,
  );
}
