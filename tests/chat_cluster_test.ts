/**
 * examples/chat_cluster.ts: chat nodes as separate processes sharing a real
 * redis-server (skipped when it is not installed).
 *
 * @module
 */

import { ok } from "node:assert/strict";
import { until } from "./_helpers.ts";
import { explainSkip, installed, redisArgs, RestartableDaemon } from "./_daemons.ts";
import { freePort, runDeno, waitForPort } from "./_subprocess.ts";

const hasRedis = installed("redis-server");
if (!hasRedis) explainSkip("redis-server", "redis-server");

const example = new URL("../examples/chat_cluster.ts", import.meta.url).pathname;

/** A chat user on a raw socket: sends lines, keeps every line it receives. */
class ChatUser {
  readonly lines: string[] = [];
  #conn: Deno.Conn | null = null;
  #reading: Promise<void> = Promise.resolve();
  closed = false;

  static async connect(port: number): Promise<ChatUser> {
    const user = new ChatUser();
    user.#conn = await Deno.connect({ hostname: "127.0.0.1", port });
    user.#reading = user.#read();
    return user;
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let text = "";
    try {
      for await (const chunk of this.#conn!.readable) {
        text += decoder.decode(chunk, { stream: true });
        const parts = text.split("\r\n");
        text = parts.pop()!;
        this.lines.push(...parts);
      }
    } catch {
      // Reset by a node that was killed.
    }
    this.closed = true;
  }

  async say(line: string): Promise<void> {
    const bytes = new TextEncoder().encode(`${line}\r\n`);
    let written = 0;
    while (written < bytes.length) written += await this.#conn!.write(bytes.subarray(written));
  }

  async close(): Promise<void> {
    try {
      this.#conn?.close();
    } catch {
      // Already closed.
    }
    await this.#reading;
  }
}

/** Runs `body` with a redis-server (it may kill and start again) and `count` chat nodes. */
async function withCluster(
  count: number,
  body: (ports: number[], redis: RestartableDaemon) => Promise<void>,
): Promise<void> {
  const redis = await new RestartableDaemon("redis-server", redisArgs).start();
  const ports = Array.from({ length: count }, () => freePort());
  const nodes = ports.map((port) =>
    runDeno([`--allow-net=127.0.0.1`], example, [
      String(port),
      `127.0.0.1:${redis.port}`,
      "127.0.0.1",
    ])
  );
  try {
    await Promise.all(ports.map((port) => waitForPort(port)));
    await Promise.all(nodes.map((node) => node.waitFor("joined pants:chat\n")));
    await body(ports, redis);
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis.kill();
  }
}

/**
 * Waits until every user heard its own `Connected:` line: its node has
 * registered it (a connect completes in the kernel before the node accepts),
 * so it will hear what is said from now on.
 */
async function joined(users: ChatUser[]): Promise<void> {
  await until(
    () => users.every((user) => user.lines.includes("Connected: 127.0.0.1")),
    "every user's own Connected line",
    10_000,
  );
}

/** Waits until every user heard every line. */
async function allHeard(users: ChatUser[], lines: string[], what: string): Promise<void> {
  await until(
    () => users.every((user) => lines.every((line) => user.lines.includes(line))),
    what,
    10_000,
  );
}

Deno.test({
  name: "examples/chat_cluster.ts: users of three nodes hear each other's lines through Redis",
  ignore: !hasRedis,
  fn: () =>
    withCluster(3, async (ports) => {
      const users = await Promise.all(
        Array.from({ length: 6 }, (_, i) => ChatUser.connect(ports[i % 3]!)),
      );
      try {
        await joined(users);
        await Promise.all(users.map((user, i) => user.say(`hello from ${i}`)));
        const lines = users.map((_, i) => `127.0.0.1: hello from ${i}`);
        await allHeard(users, lines, "every line on every node");
      } finally {
        await Promise.all(users.map((user) => user.close()));
      }
    }),
});

Deno.test({
  name:
    "examples/chat_cluster.ts: a node keeps serving its own users while Redis is away, and rejoins",
  ignore: !hasRedis,
  fn: () =>
    withCluster(2, async (ports, redis) => {
      const [a1, a2, b1] = await Promise.all([
        ChatUser.connect(ports[0]!),
        ChatUser.connect(ports[0]!),
        ChatUser.connect(ports[1]!),
      ]);
      try {
        await joined([a1!, a2!, b1!]);
        await a1!.say("before");
        await allHeard([a1!, a2!, b1!], ["127.0.0.1: before"], "the line before the outage");
        await redis.kill();
        // Said while Redis is away: a1's node-mates hear it, b1 (another node) cannot.
        let heard = false;
        for (let i = 0; i < 50 && !heard; i++) {
          await a1!.say(`during ${i}`);
          await new Promise((resolve) => setTimeout(resolve, 40));
          heard = a2!.lines.some((line) => line.startsWith("127.0.0.1: during"));
        }
        ok(heard, "a node-mate heard a line said during the outage");
        await redis.start();
        // Once both nodes rejoined, lines cross nodes again.
        let crossed = false;
        for (let i = 0; i < 100 && !crossed; i++) {
          await b1!.say(`after ${i}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
          crossed = a1!.lines.some((line) => line.startsWith("127.0.0.1: after"));
        }
        ok(crossed, "a line crossed nodes after Redis came back");
      } finally {
        await Promise.all([a1, a2, b1].map((user) => user!.close()));
      }
    }),
});
