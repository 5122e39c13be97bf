/**
 * Chat lines fanned out per second: one `examples/chat.ts` process (no
 * broker), one `examples/chat_cluster.ts` node on Redis, and three nodes on
 * the same Redis, measured in the same run (see docs/deploying.md,
 * "Running on many machines").
 *
 *     deno run --allow-run --allow-read --allow-net=127.0.0.1 bench/chat_cluster_fanout.ts [users] [lines] [rounds]
 *
 * `users` (30) raw TCP users, spread round robin over the nodes, join the
 * room one after the other; once their greetings settled (1 s, not
 * counted), each says `lines` (200) lines as fast as it can; a run ends when every user has
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

/** A user: its connection, and the lines it heard since `heard` was last reset. */
interface User {
  conn: Deno.Conn;
  heard: number;
  /** Settles when the connection ends (closed by `run()` once everything arrived, or at the limit). */
  reading: Promise<void>;
}

async function join(port: number): Promise<User> {
  const user: User = {
    conn: await Deno.connect({ hostname: "127.0.0.1", port }),
    heard: 0,
    reading: Promise.resolve(),
  };
  user.reading = (async () => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await user.conn.read(buffer);
        if (n === null) return;
        for (let i = 0; i < n; i++) if (buffer[i] === 0x0a) user.heard++;
      }
    } catch {
      // Closed by run().
    }
  })();
  return user;
}

async function speak(user: User, id: number): Promise<void> {
  const lines = new TextEncoder().encode(
    Array.from({ length: linesEach }, (_, i) => `u${id} line ${i}\r\n`).join(""),
  );
  let sent = 0;
  while (sent < lines.length) sent += await user.conn.write(lines.subarray(sent));
}

/** Deliveries per second through `ports` (users spread over them). */
async function run(ports: number[]): Promise<number> {
  // Everyone joins first and the greetings settle (dropped); then everyone speaks at once.
  const joined: User[] = [];
  for (let i = 0; i < users; i++) joined.push(await join(ports[i % ports.length]!));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  for (const user of joined) user.heard = 0;
  const total = users * linesEach;
  const started = performance.now();
  await Promise.all(joined.map((user, i) => speak(user, i)));
  while (
    joined.some((user) => user.heard < total) && performance.now() - started < TIME_LIMIT
  ) await new Promise((resolve) => setTimeout(resolve, 5));
  const heard = joined.map((user) => user.heard);
  for (const user of joined) user.conn.close();
  await Promise.all(joined.map((user) => user.reading));
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
