/**
 * examples/resp_client.ts against a real redis-server (skipped when it is
 * not installed: `apt-get install -y redis-server`).
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import type { Engine } from "../mod.ts";
import { RespClient, RespError } from "../examples/resp_client.ts";
import { until, withEngine } from "./_helpers.ts";
import { explainSkip, installed, redisArgs, RestartableDaemon, withDaemon } from "./_daemons.ts";
import { freePort, runDeno } from "./_subprocess.ts";

const hasRedis = installed("redis-server");
if (!hasRedis) explainSkip("redis-server", "redis-server");

const RECONNECT = { reconnect: { initialDelay: 50, maxDelay: 200, jitter: 0 } };

/** Runs `body` with a redis-server it may kill and start again, and an engine. */
async function withRestartableRedis(
  body: (daemon: RestartableDaemon, engine: Engine) => Promise<void>,
): Promise<void> {
  const daemon = await new RestartableDaemon("redis-server", redisArgs).start();
  try {
    await withEngine((engine) => body(daemon, engine));
  } finally {
    await daemon.kill();
  }
}

/** A test with a fresh redis-server and a connected client. */
function redisTest(name: string, body: (redis: RespClient, engine: Engine) => Promise<void>) {
  Deno.test({
    name,
    ignore: !hasRedis,
    fn: () =>
      withDaemon("redis-server", redisArgs, (port) =>
        withEngine(async (engine) => {
          const redis = new RespClient({ engine }).connect(["127.0.0.1", port]);
          try {
            await body(redis, engine);
          } finally {
            redis.close();
          }
        })),
  });
}

redisTest("RespClient reads simple strings and bulk strings (SET, GET)", async (redis) => {
  strictEqual(await redis.command("SET", "k", "value"), "OK");
  strictEqual(await redis.command("GET", "k"), "value");
});

redisTest("RespClient reads a missing key as null", async (redis) => {
  strictEqual(await redis.command("GET", "missing"), null);
});

redisTest("RespClient reads integers (INCR, INCRBY beyond 2^53)", async (redis) => {
  strictEqual(await redis.command("INCR", "n"), 1);
  strictEqual(await redis.command("INCRBY", "n", 41), 42);
  strictEqual(await redis.command("SET", "big", "9007199254740993"), "OK");
  strictEqual(await redis.command("INCR", "big"), 9007199254740994n);
});

redisTest("RespClient reads a bulk string holding CRLF and multi-byte UTF-8", async (redis) => {
  const value = "line one\r\nline two\r\n€ and 🎉\r\n";
  await redis.command("SET", "k", value);
  strictEqual(await redis.command("GET", "k"), value);
  strictEqual(await redis.command("SET", "empty", ""), "OK");
  strictEqual(await redis.command("GET", "empty"), "");
});

redisTest("RespClient reads a bulk string larger than its bufferSize", async (redis) => {
  const value = "x".repeat(300_000);
  ok(value.length > redis.bufferSize);
  await redis.command("SET", "big", value);
  strictEqual(await redis.command("GET", "big"), value);
  strictEqual(await redis.command("PING"), "PONG");
});

redisTest("RespClient returns bulk strings as bytes in binary mode", async (redis) => {
  redis.binary = true;
  const bytes = new Uint8Array([0, 13, 10, 255, 128, 36]);
  await redis.command("SET", "bin", bytes);
  deepStrictEqual(await redis.command("GET", "bin"), bytes);
});

redisTest("RespClient reads arrays, empty arrays and nested arrays", async (redis) => {
  strictEqual(await redis.command("RPUSH", "list", "a", "b", "c"), 3);
  deepStrictEqual(await redis.command("LRANGE", "list", 0, -1), ["a", "b", "c"]);
  deepStrictEqual(await redis.command("LRANGE", "nothing", 0, -1), []);
  deepStrictEqual(
    await redis.command("EVAL", "return {1, {'two', {3}}, 'four'}", 0),
    [1, ["two", [3]], "four"],
  );
});

redisTest("RespClient rejects an error reply with RespError and carries on", async (redis) => {
  await rejects(redis.command("NO-SUCH-COMMAND"), (error: unknown) => {
    ok(error instanceof RespError);
    ok(error.message.startsWith("ERR unknown command"), error.message);
    return true;
  });
  await redis.command("SET", "s", "string");
  await rejects(redis.command("LPUSH", "s", "x"), /^RespError: WRONGTYPE/);
  strictEqual(await redis.command("GET", "s"), "string");
});

redisTest("RespClient keeps errors inside an array reply as values (EXEC)", async (redis) => {
  await redis.command("SET", "s", "string");
  await redis.command("MULTI");
  await redis.command("INCR", "counter");
  await redis.command("LPUSH", "s", "x");
  const replies = await redis.command("EXEC") as unknown[];
  strictEqual(replies[0], 1);
  ok(replies[1] instanceof RespError);
});

redisTest("RespClient pipelines 1000 commands and matches replies in order", async (redis) => {
  const sets = Array.from({ length: 1000 }, (_, i) => redis.command("SET", `key:${i}`, `v${i}`));
  const gets = Array.from({ length: 1000 }, (_, i) => redis.command("GET", `key:${i}`));
  deepStrictEqual(new Set(await Promise.all(sets)), new Set(["OK"]));
  deepStrictEqual(await Promise.all(gets), Array.from({ length: 1000 }, (_, i) => `v${i}`));
});

redisTest("RespClient rejects the commands still waiting when it closes", async (redis) => {
  await redis.command("PING");
  const waiting = redis.command("BLPOP", "never", 0);
  redis.close();
  await rejects(waiting, /closed before the reply/);
  await rejects(redis.command("PING"), /connection is closed/);
});

Deno.test({
  name: "RespClient with reconnect survives a redis-server restart on its port",
  ignore: !hasRedis,
  fn: () =>
    withRestartableRedis(async (daemon, engine) => {
      const redis = new RespClient({ engine }).connect(["127.0.0.1", daemon.port], RECONNECT);
      strictEqual(await redis.command("SET", "k", "before"), "OK");
      const waiting = rejects(redis.command("BLPOP", "never", 0), /lost before the reply/);
      await daemon.kill();
      await waiting;
      const queued = redis.command("SET", "k", "after"); // sent once reconnected
      await daemon.start();
      strictEqual(await queued, "OK");
      strictEqual(await redis.command("GET", "k"), "after");
      redis.close();
    }),
});

/** A subscriber that keeps what it hears. */
class Listener extends RespClient {
  readonly heard: string[] = [];
  override onMessage(channel: string, message: string | Uint8Array): void {
    this.heard.push(`${channel} ${message}`);
  }
}

redisTest(
  "RespClient delivers messages of subscribed channels to onMessage",
  async (redis, engine) => {
    await redis.ready;
    const listener = new Listener({ engine }).connect(redis.remoteAddress!);
    try {
      strictEqual(await listener.subscribe("news", "sport"), 2);
      strictEqual(await redis.command("PUBLISH", "news", "one"), 1);
      strictEqual(await redis.command("PUBLISH", "sport", "two"), 1);
      strictEqual(await redis.command("PUBLISH", "weather", "unheard"), 0);
      await until(() => listener.heard.length === 2, "two messages");
      deepStrictEqual(listener.heard, ["news one", "sport two"]);
    } finally {
      listener.close();
    }
  },
);

Deno.test({
  name: "RespClient joins its channels again after reconnecting to a restarted redis-server",
  ignore: !hasRedis,
  fn: () =>
    withRestartableRedis(async (daemon, engine) => {
      const listener = new Listener({ engine }).connect(["127.0.0.1", daemon.port], RECONNECT);
      await listener.subscribe("news");
      await daemon.kill();
      await daemon.start();
      const publisher = new RespClient({ engine }).connect(["127.0.0.1", daemon.port]);
      // Published until the listener is back: PUBLISH counts the subscribers reached.
      await until(() => listener.connected, "the listener to reconnect", 5000);
      let reached = 0;
      for (let i = 0; i < 100 && reached === 0; i++) {
        reached = await publisher.command("PUBLISH", "news", "again") as number;
        if (reached === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      strictEqual(reached, 1);
      await until(() => listener.heard.includes("news again"), "the message");
      publisher.close();
      listener.close();
    }),
});

Deno.test("RespClient rejects its commands when the connection is refused", async () => {
  const port = freePort();
  await withEngine(async (engine) => {
    const redis = new RespClient({ engine }).connect(["127.0.0.1", port]);
    await rejects(redis.command("PING"), /connection refused/i);
  });
});

Deno.test({
  name: "examples/resp_client.ts runs with only --allow-net for the server",
  ignore: !hasRedis,
  fn: () =>
    withDaemon("redis-server", redisArgs, async (port) => {
      const script = new URL("../examples/resp_client.ts", import.meta.url).pathname;
      const client = runDeno([`--allow-net=127.0.0.1:${port}`], script, [String(port)]);
      const status = await client.status();
      strictEqual(status.code, 0, client.stderr);
      deepStrictEqual(client.stdout.trim().split("\n").slice(0, 6), [
        '"OK"',
        '"hello\\r\\nworld"',
        "1",
        "3",
        '["a","b","c"]',
        "null",
      ]);
      ok(client.stdout.includes("ERR unknown command"), client.stdout);
    }),
});
