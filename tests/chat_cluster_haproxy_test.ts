/**
 * examples/chat_cluster.ts as it is meant to run: three nodes behind a real
 * HAProxy (round robin, `send-proxy-v2`, health checks) on a real
 * redis-server, thirty users each bound to its own loopback address. Skipped
 * when haproxy or redis-server is not installed.
 *
 * @module
 */

import { deepStrictEqual, ok } from "node:assert/strict";
import net from "node:net";
import { until } from "./_helpers.ts";
import { explainSkip, installed, redisArgs, RestartableDaemon } from "./_daemons.ts";
import { haproxy, runHaproxy } from "./_haproxy.ts";
import { freePort, runDeno, type Subprocess, waitForPort } from "./_subprocess.ts";

const hasRedis = installed("redis-server");
if (!hasRedis) explainSkip("redis-server", "redis-server");

const example = new URL("../examples/chat_cluster.ts", import.meta.url).pathname;
const USERS = 30;

/** A chat user on its own loopback address (node:net: Deno.connect cannot bind one). */
class User {
  readonly lines: string[] = [];
  #socket: net.Socket | null = null;
  #closed: Promise<void> = Promise.resolve();
  connected = false;

  constructor(readonly address: string) {}

  /** Connects through `port`; resolves once connected. */
  connect(port: number): Promise<void> {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: this.address });
    this.#socket = socket;
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      const parts = text.split("\r\n");
      text = parts.pop()!;
      this.lines.push(...parts);
    });
    socket.on("error", () => {});
    this.#closed = new Promise((resolve) => socket.on("close", () => resolve()));
    this.#closed.then(() => this.connected = false);
    return new Promise((resolve, reject) => {
      socket.once("connect", () => {
        this.connected = true;
        resolve();
      });
      socket.once("error", reject);
    });
  }

  /** Whether the room has greeted this user on its current connection. */
  greeted(since: number): boolean {
    return this.lines.indexOf(`Connected: ${this.address}`, since) >= 0;
  }

  say(line: string): void {
    this.#socket!.write(`${line}\r\n`);
  }

  async close(): Promise<void> {
    this.#socket?.destroy();
    await this.#closed;
  }
}

/**
 * HAProxy in front of the nodes. `ready` is a port that accepts and drops
 * connections: the test waits on it, since a probe of `front` would be
 * relayed to a node as a user from 127.0.0.1.
 */
function haproxyConfig(front: number, ready: number, nodes: number[]): string {
  return `global
  maxconn 256
defaults
  mode tcp
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch
frontend ready
  bind 127.0.0.1:${ready}
  tcp-request connection reject
frontend chat
  bind 127.0.0.1:${front}
  default_backend nodes
backend nodes
  balance roundrobin
${
    nodes.map((port, i) =>
      `  server node${i} 127.0.0.1:${port} send-proxy-v2 check check-send-proxy inter 100 fall 1 rise 1`
    ).join("\n")
  }
`;
}

/** Everyone says a line; resolves once every user in `hearers` heard all of them. */
async function roundOfLines(speakers: User[], hearers: User[], word: string): Promise<string[]> {
  const lines = speakers.map((user) => `${user.address}: ${word} ${user.address}`);
  for (const user of speakers) user.say(`${word} ${user.address}`);
  await until(
    () => hearers.every((user) => lines.every((line) => user.lines.includes(line))),
    `every "${word}" line at every user`,
    15_000,
  );
  return lines;
}

Deno.test({
  name:
    "examples/chat_cluster.ts behind HAProxy: 30 users hear each other with their own addresses, and a node's death loses no line of the others",
  ignore: !hasRedis || haproxy === undefined,
  async fn() {
    const redis = await new RestartableDaemon("redis-server", redisArgs).start();
    const ports = [freePort(), freePort(), freePort()];
    const nodes: Subprocess[] = ports.map((port) =>
      runDeno(["--allow-net=127.0.0.1"], example, [
        String(port),
        `127.0.0.1:${redis.port}`,
        "127.0.0.1",
        "127.0.0.1/32",
      ])
    );
    const front = freePort();
    const users = Array.from({ length: USERS }, (_, i) => new User(`127.0.0.${10 + i}`));
    let balancer: Awaited<ReturnType<typeof runHaproxy>> | null = null;
    try {
      await Promise.all(ports.map((port) => waitForPort(port)));
      await Promise.all(nodes.map((node) => node.waitFor("joined pants:chat\n")));
      const ready = freePort();
      balancer = await runHaproxy(haproxyConfig(front, ready, ports), [ready]);

      // Everyone joins through HAProxy; each node sees its users' own addresses.
      for (const user of users) await user.connect(front);
      await until(() => users.every((user) => user.greeted(0)), "every user greeted", 15_000);
      await roundOfLines(users, users, "hello");
      for (const user of users) {
        ok(!user.lines.includes("Connected: 127.0.0.1"), "no balancer address, no health check");
      }

      // One node dies: its users are disconnected, the others keep talking.
      nodes[1]!.child.kill("SIGKILL");
      await nodes[1]!.status();
      await until(() => users.some((user) => !user.connected), "the dead node's users to drop");
      await new Promise((resolve) => setTimeout(resolve, 100));
      const dropped = users.filter((user) => !user.connected);
      const survivors = users.filter((user) => user.connected);
      ok(dropped.length >= 9 && dropped.length <= 11, `${dropped.length} users were on node 1`);
      const during = await roundOfLines(survivors, survivors, "during");

      // They come back through HAProxy, to the live nodes.
      for (const user of dropped) {
        const since = user.lines.length;
        for (let attempt = 0; attempt < 20 && !user.greeted(since); attempt++) {
          await user.connect(front).catch(() => {});
          await until(() => user.greeted(since) || !user.connected, "a greeting", 5000)
            .catch(() => {});
        }
        ok(user.greeted(since), `${user.address} is back in the room`);
      }
      await roundOfLines(users, users, "after");

      // No one who stayed lost a line: every survivor heard each of the survivors' lines once.
      for (const user of survivors) {
        const heard = user.lines.filter((line) => during.includes(line));
        deepStrictEqual(heard.toSorted(), during.toSorted(), `${user.address} heard every line`);
      }
    } finally {
      await Promise.all(users.map((user) => user.close()));
      await balancer?.stop();
      await Promise.all(nodes.map((node) => node.stop()));
      await redis.kill();
    }
  },
});
