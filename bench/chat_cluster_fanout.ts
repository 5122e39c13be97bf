/**
 * Chat lines fanned out per second: one `examples/chat.ts` process (no
 * broker), one `examples/chat_cluster.ts` node on Redis, and three nodes on
 * the same Redis, measured in the same run (see docs/deploying.md,
 * "Running on many machines").
 *
 *     deno run --allow-run --allow-read --allow-net=127.0.0.1 bench/chat_cluster_fanout.ts [users] [lines] [rounds]
 *
 * `users` (30) raw TCP users, spread round robin over the nodes, each say
 * `lines` (200) lines as fast as they can; a run ends when every user has
 * heard all `users * lines` lines (every line reaches every user: 180,000
 * deliveries with the defaults), or after 60 s. The figure is deliveries
 * per second; the ratio is against the single chat process. The users run
 * in this process and share the machine's cores with the nodes and Redis:
 * on a 2-core machine three nodes cannot run faster than one, so read the
 * figure as the broker's cost, not as scaling. Needs `redis-server`.
 *
 * @module
 */

const users = Number(Deno.args[0] ?? 30);
const linesEach = Number(Deno.args[1] ?? 200);
const rounds = Number(Deno.args[2] ?? 3);
const TIME_LIMIT = 60_000;
const examples = new URL("../examples/", import.meta.url).pathname;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error(`Nothing listens on ${port}`);
}

async function waitForLine(child: Deno.ChildProcess, line: string): Promise<void> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes(line)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`The node exited: ${out}`);
    out += value;
  }
  reader.releaseLock();
}

function spawn(script: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", `${examples}${script}`, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** One user: says its lines, counts the lines it hears. */
async function user(port: number, id: number, total: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const started = performance.now();
  const lines = new TextEncoder().encode(
    Array.from({ length: linesEach }, (_, i) => `u${id} line ${i}\r\n`).join(""),
  );
  const writing = (async () => {
    let sent = 0;
    while (sent < lines.length) sent += await conn.write(lines.subarray(sent));
  })();
  const buffer = new Uint8Array(64 * 1024);
  let heard = 0;
  // Past the time limit the connection is closed, which ends a read that waits for lines lost.
  const limit = setTimeout(
    () => conn.close(),
    Math.max(0, started + TIME_LIMIT - performance.now()),
  );
  try {
    while (heard < total) {
      const n = await conn.read(buffer);
      if (n === null) break;
      for (let i = 0; i < n; i++) if (buffer[i] === 0x0a) heard++;
    }
    await writing;
  } catch {
    // Closed at the time limit.
  } finally {
    clearTimeout(limit);
  }
  try {
    conn.close();
  } catch {
    // Already closed.
  }
  return heard;
}

/** Deliveries per second through `ports` (users spread over them). */
async function run(ports: number[]): Promise<number> {
  // Everyone connects first, and hears everyone's "Connected:" line.
  const total = users * linesEach + users;
  const started = performance.now();
  const heard = await Promise.all(
    Array.from({ length: users }, (_, i) => user(ports[i % ports.length]!, i, total)),
  );
  const seconds = (performance.now() - started) / 1000;
  const delivered = heard.reduce((a, b) => a + b, 0);
  if (delivered < users * total * 0.99) {
    console.error(`  (only ${delivered} of ${users * total} deliveries within the time limit)`);
  }
  return delivered / seconds;
}

async function setup(nodes: number, redisPort: number): Promise<[number[], () => Promise<void>]> {
  const ports = Array.from({ length: Math.max(nodes, 1) }, () => freePort());
  const children = nodes === 0
    ? [spawn("chat.ts", [String(ports[0]), "127.0.0.1"])]
    : ports.map((port) =>
      spawn("chat_cluster.ts", [String(port), `127.0.0.1:${redisPort}`, "127.0.0.1"])
    );
  await Promise.all(ports.map(waitForPort));
  if (nodes > 0) await Promise.all(children.map((child) => waitForLine(child, "joined")));
  return [ports, async () => {
    for (const child of children) child.kill("SIGKILL");
    await Promise.all(children.map((child) => child.status));
  }];
}

const redisPort = freePort();
const redis = new Deno.Command("redis-server", {
  args: ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
  stdout: "null",
  stderr: "null",
}).spawn();
try {
  await waitForPort(redisPort);
  const setups = [
    { name: "chat.ts, one process", nodes: 0 },
    { name: "chat_cluster.ts, 1 node + Redis", nodes: 1 },
    { name: "chat_cluster.ts, 3 nodes + Redis", nodes: 3 },
  ];
  const results = new Map<string, number[]>(setups.map(({ name }) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const { name, nodes } of setups) {
      const [ports, stop] = await setup(nodes, redisPort);
      try {
        results.get(name)!.push(await run(ports));
      } finally {
        await stop();
      }
    }
  }
  const median = (values: number[]) => values.toSorted((a, b) => a - b)[values.length >> 1]!;
  const base = median(results.get(setups[0]!.name)!);
  console.log(
    `\n${users} users x ${linesEach} lines, every line to every user; ` +
      `${navigator.hardwareConcurrency} cores, median of ${rounds} rounds\n`,
  );
  console.log("| set-up | deliveries/s | ratio | rounds |");
  console.log("|---|---:|---:|---|");
  for (const [name, values] of results) {
    const m = median(values);
    const all = values.map((v) => Math.round(v).toLocaleString("en-US")).join(", ");
    console.log(
      `| ${name} | ${Math.round(m).toLocaleString("en-US")} | ${(m / base).toFixed(2)}x | ${all} |`,
    );
  }
} finally {
  redis.kill("SIGKILL");
  await redis.status;
}
