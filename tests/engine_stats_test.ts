/** engine.stats() counters and engine.stopOnSignals(). */
import { ok, strictEqual } from "node:assert/strict";
import { Server } from "../channels/server.ts";
import { Stream } from "../channels/stream.ts";
import { Engine } from "../engine/engine.ts";
import { connectTo, listening, readExactly, until, utf8, withEngine } from "./_helpers.ts";
import { freePort, runDeno, waitForPort } from "./_subprocess.ts";

class LineEcho extends Stream {
  override onConnect(): void {
    this.readDelimiter = "\n";
  }
  override onRead(line: Uint8Array): void {
    this.write(line);
  }
}

Deno.test("Engine.stats counts bytes, frames and open channels", async () => {
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: LineEcho, engine }).listen(["127.0.0.1", 0]);
    const conn = await connectTo(await listening(server));
    await conn.write(utf8("ab\ncd\nef\n"));
    await readExactly(conn, 6);
    const stats = engine.stats();
    strictEqual(stats.bytesIn, 9);
    strictEqual(stats.bytesOut, 6);
    strictEqual(stats.frames, 3);
    strictEqual(stats.channels.server, 1);
    strictEqual(stats.channels.stream, 1);
    ok(stats.wasmRegions >= 1);
    conn.close();
    await until(() => engine.stats().channels.stream === 0, "the stream to close");
  });
});

Deno.test("Engine.stats counts overflows", async () => {
  class Small extends LineEcho {
    override onConnect(): void {
      super.onConnect();
      this.bufferSize = 8;
    }
  }
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Small, engine }).listen(["127.0.0.1", 0]);
    const conn = await connectTo(await listening(server));
    await conn.write(new Uint8Array(64).fill(0x61));
    await until(() => engine.stats().overflows === 1, "an overflow");
    conn.close();
  });
});

Deno.test("Engine.stopOnSignals stops a server gracefully on SIGTERM", async () => {
  const port = freePort();
  const server = runDeno(
    [`--allow-net=127.0.0.1:${port}`],
    new URL("./fixtures/signal_server.ts", import.meta.url).pathname,
    [String(port)],
  );
  await waitForPort(port);
  await server.waitFor("listening");
  server.child.kill("SIGTERM");
  const status = await server.status();
  strictEqual(status.code, 0, server.stderr);
  ok(server.stdout.includes("stopped with 0 channels"), server.stdout);
});

Deno.test("Engine.stopOnSignals does not keep a finished engine's process alive", async () => {
  const engine = new Engine();
  const remove = engine.stopOnSignals();
  engine.defer(1, () => {});
  await engine.start();
  remove();
});
