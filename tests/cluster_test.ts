/** examples/cluster.ts: several workers serving one port with reusePort. */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { freePort, runDeno, waitForPort } from "./_subprocess.ts";
import { readExactly, text, utf8 } from "./_helpers.ts";

const cluster = new URL("../examples/cluster.ts", import.meta.url).pathname;
const repo = new URL("..", import.meta.url).pathname;
const linux = Deno.build.os === "linux";

Deno.test({
  name: "examples/cluster.ts serves one port from two workers",
  ignore: !linux,
  async fn() {
    const port = freePort();
    const server = runDeno(
      ["--unstable-net", `--allow-read=${repo}`, `--allow-net=127.0.0.1:${port}`],
      cluster,
      ["2", String(port), "127.0.0.1"],
    );
    try {
      await server.waitFor("worker 1 listening");
      await server.waitFor("worker 2 listening");
      await waitForPort(port);
      // SO_REUSEPORT spreads connections by a hash of their addresses: with 40
      // connections, the chance that one worker gets none is 2^-39.
      for (let i = 0; i < 40; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(utf8(`line ${i}\n`));
        const expected = `line ${i}\n`;
        strictEqual(text(await readExactly(conn, expected.length)), expected);
        conn.close();
      }
    } finally {
      await server.stop();
    }
    const summary = /worker 1 served (\d+), worker 2 served (\d+)/.exec(server.stdout);
    ok(summary !== null, server.stdout + server.stderr);
    // The probe of waitForPort is one more connection.
    const served = [Number(summary[1]), Number(summary[2])];
    strictEqual(served[0]! + served[1]!, 41, server.stdout);
    ok(served.every((n) => n > 0), `both workers served: ${served}`);
  },
});

Deno.test("examples/cluster.ts without --unstable-net says so and exits", async () => {
  const port = freePort();
  const server = runDeno([`--allow-read=${repo}`, `--allow-net=127.0.0.1:${port}`], cluster, [
    "2",
    String(port),
    "127.0.0.1",
  ]);
  const status = await server.status();
  strictEqual(status.code, 2);
  deepStrictEqual(
    server.stderr.trim(),
    "cluster.ts needs --unstable-net: Deno 2.9 treats reusePort as unstable",
  );
});
