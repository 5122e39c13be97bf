/**
 * examples/memcached_client.ts against a real memcached (skipped when it is
 * not installed: `apt-get install -y memcached`).
 */
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { MemcachedClient, MemcachedError } from "../examples/memcached_client.ts";
import { text, utf8, withEngine } from "./_helpers.ts";
import { explainSkip, installed, RestartableDaemon, withDaemon } from "./_daemons.ts";
import { runDeno } from "./_subprocess.ts";

const hasMemcached = installed("memcached", "-V");
if (!hasMemcached) explainSkip("memcached", "memcached");

/** `-U 0`: no UDP; `-u nobody`: memcached refuses to run as root without it. */
function memcachedArgs(port: number): string[] {
  return ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-u", "nobody"];
}

/** A test with a fresh memcached and a connected client. */
function memcachedTest(name: string, body: (cache: MemcachedClient) => Promise<void>) {
  Deno.test({
    name,
    ignore: !hasMemcached,
    fn: () =>
      withDaemon("memcached", memcachedArgs, (port) =>
        withEngine(async (engine) => {
          const cache = new MemcachedClient({ engine }).connect(["127.0.0.1", port]);
          try {
            await body(cache);
          } finally {
            cache.close();
          }
        })),
  });
}

memcachedTest("MemcachedClient stores and reads a value with its flags", async (cache) => {
  strictEqual(await cache.set("k", "value", { flags: 42 }), true);
  const item = await cache.get("k");
  strictEqual(text(item!.value), "value");
  strictEqual(item!.flags, 42);
});

memcachedTest("MemcachedClient reads a missing key as null", async (cache) => {
  strictEqual(await cache.get("missing"), null);
});

memcachedTest("MemcachedClient reads a value holding CRLF, END and VALUE lines", async (cache) => {
  const value = "END\r\nVALUE k 0 3\r\n\r\n€\r\n";
  await cache.set("tricky", value);
  strictEqual(text((await cache.get("tricky"))!.value), value);
  await cache.set("empty", "");
  deepStrictEqual((await cache.get("empty"))!.value, new Uint8Array(0));
});

memcachedTest("MemcachedClient reads a value larger than its bufferSize", async (cache) => {
  const value = new Uint8Array(500_000).map((_, i) => i % 251);
  ok(value.length > cache.bufferSize);
  await cache.set("big", value);
  deepStrictEqual((await cache.get("big"))!.value, value);
});

memcachedTest("MemcachedClient reads several keys in one request", async (cache) => {
  await cache.set("a", "1");
  await cache.set("c", "3");
  const items = await cache.getMany(["a", "b", "c"]);
  deepStrictEqual([...items.keys()], ["a", "c"]);
  deepStrictEqual(items.get("c")!.value, utf8("3"));
});

memcachedTest("MemcachedClient counts with incr and deletes", async (cache) => {
  strictEqual(await cache.incr("n"), null);
  await cache.set("n", "41");
  strictEqual(await cache.incr("n"), 42);
  strictEqual(await cache.incr("n", 8), 50);
  strictEqual(await cache.delete("n"), true);
  strictEqual(await cache.delete("n"), false);
});

memcachedTest("MemcachedClient rejects an error reply and carries on", async (cache) => {
  await cache.set("word", "abc");
  await rejects(cache.incr("word"), (error: unknown) => {
    ok(error instanceof MemcachedError);
    ok(error.message.startsWith("CLIENT_ERROR"), error.message);
    return true;
  });
  strictEqual(text((await cache.get("word"))!.value), "abc");
});

memcachedTest("MemcachedClient refuses keys memcached would misread", async (cache) => {
  throws(() => cache.set("two words", "x"), TypeError);
  throws(() => cache.get("x".repeat(251)), TypeError);
  strictEqual(await cache.set("fine", "x"), true);
});

memcachedTest("MemcachedClient pipelines 500 requests in order", async (cache) => {
  const sets = Array.from({ length: 500 }, (_, i) => cache.set(`key:${i}`, `v${i}`));
  const gets = Array.from({ length: 500 }, (_, i) => cache.get(`key:${i}`));
  ok((await Promise.all(sets)).every((stored) => stored));
  deepStrictEqual(
    (await Promise.all(gets)).map((item) => text(item!.value)),
    Array.from({ length: 500 }, (_, i) => `v${i}`),
  );
});

Deno.test({
  name: "MemcachedClient with reconnect survives a memcached restart on its port",
  ignore: !hasMemcached,
  fn: async () => {
    const daemon = await new RestartableDaemon("memcached", memcachedArgs).start();
    try {
      await withEngine(async (engine) => {
        class Noticing extends MemcachedClient {
          readonly lost = Promise.withResolvers<void>();
          override onReconnecting(attempt: number, delay: number, error: Error | null): void {
            super.onReconnecting(attempt, delay, error);
            this.lost.resolve();
          }
        }
        const cache = new Noticing({ engine }).connect(["127.0.0.1", daemon.port], {
          reconnect: { initialDelay: 50, maxDelay: 200, jitter: 0 },
        });
        strictEqual(await cache.set("k", "before"), true);
        await daemon.kill();
        await cache.lost.promise;
        const stored = cache.set("k", "after"); // sent once reconnected
        await daemon.start();
        strictEqual(await stored, true);
        strictEqual(text((await cache.get("k"))!.value), "after");
        cache.close();
      });
    } finally {
      await daemon.kill();
    }
  },
});

Deno.test({
  name: "examples/memcached_client.ts runs with only --allow-net for the server",
  ignore: !hasMemcached,
  fn: () =>
    withDaemon("memcached", memcachedArgs, async (port) => {
      const script = new URL("../examples/memcached_client.ts", import.meta.url).pathname;
      const client = runDeno([`--allow-net=127.0.0.1:${port}`], script, [String(port)]);
      const status = await client.status();
      strictEqual(status.code, 0, client.stderr);
      deepStrictEqual(client.stdout.trim().split("\n"), [
        "set: true",
        'get: "hello\\r\\nworld" flags 7',
        "incr: 42",
        "missing: null",
        "delete: true",
      ]);
    }),
});
