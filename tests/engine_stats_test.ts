/** engine.stats() counters and engine.stopOnSignals(). */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Engine, ManualClock, Server, Stream } from "../mod.ts";
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

Deno.test("Engine.stopOnSignals removes its signal listeners when the engine finishes", async () => {
  // The listeners are watched directly: whether one keeps a process alive
  // depends on the Deno version (Deno 2.9's do not), so a subprocess that
  // exits would prove nothing.
  const listeners: [Deno.Signal, () => void][] = [];
  const { addSignalListener, removeSignalListener } = Deno;
  Deno.addSignalListener = (signal, handler) => {
    listeners.push([signal, handler]);
    addSignalListener(signal, handler);
  };
  Deno.removeSignalListener = (signal, handler) => {
    const i = listeners.findIndex(([s, h]) => s === signal && h === handler);
    if (i >= 0) listeners.splice(i, 1);
    removeSignalListener(signal, handler);
  };
  try {
    const clock = new ManualClock();
    const engine = new Engine({ clock });
    engine.stopOnSignals();
    engine.defer(1, () => {});
    const started = engine.start();
    await until(() => clock.pendingTimers > 0, "the engine's first iteration");
    deepStrictEqual(listeners.map(([signal]) => signal), ["SIGINT", "SIGTERM"]);
    clock.advance(1);
    await started;
    deepStrictEqual(listeners, [], "listeners left after the engine finished");
  } finally {
    Deno.addSignalListener = addSignalListener;
    Deno.removeSignalListener = removeSignalListener;
    for (const [signal, handler] of listeners) removeSignalListener(signal, handler);
  }
});
