/**
 * Limits and timeouts: idle and frame timeouts on the engine's timer ring,
 * the hard write-buffer cap, per-address connection limits and draining.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { ChannelClosedError, StreamBufferOverflow } from "../channels/errors.ts";
import { type RejectReason, Server } from "../channels/server.ts";
import { Stream, type StreamTimeout } from "../channels/stream.ts";
import { ManualClock } from "../engine/clock.ts";
import { adopt, begin } from "../channels/_symbols.ts";
import { Engine } from "../engine/engine.ts";
import {
  attachMemory,
  connectTo,
  listening,
  readAll,
  text,
  until,
  utf8,
  withEngine,
} from "./_helpers.ts";

class Watched extends Stream {
  timeouts: StreamTimeout[] = [];
  frames: string[] = [];
  override onConnect(): void {
    this.readDelimiter = "\n";
  }
  override onRead(line: Uint8Array): void {
    this.frames.push(text(line));
  }
  override onTimeout(kind: StreamTimeout): void {
    this.timeouts.push(kind);
    super.onTimeout(kind);
  }
}

async function onManualClock(
  body: (engine: Engine, clock: ManualClock) => Promise<void>,
): Promise<void> {
  const clock = new ManualClock();
  const engine = new Engine({ clock, graceMs: 0 });
  const running = engine.start();
  try {
    await body(engine, clock);
  } finally {
    const stopping = engine.stop();
    clock.advance(1);
    await stopping;
    await running;
  }
}

/** Lets reads and engine turns settle. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

Deno.test("Stream.timeout closes a stream idle for that long", async () => {
  await onManualClock(async (engine, clock) => {
    const stream = new Watched({ engine });
    stream.timeout = 1000;
    const peer = attachMemory(stream);
    clock.advance(999);
    await settle();
    ok(!stream.closed);
    clock.advance(1);
    await settle();
    deepStrictEqual(stream.timeouts, ["idle"]);
    ok(stream.closed);
    peer.close();
  });
});

Deno.test("Stream.timeout is pushed back by traffic", async () => {
  await onManualClock(async (engine, clock) => {
    const stream = new Watched({ engine });
    stream.timeout = 1000;
    const peer = attachMemory(stream);
    for (let i = 0; i < 5; i++) {
      clock.advance(600);
      await peer.write(utf8("ping\n"));
      await settle();
    }
    ok(!stream.closed);
    strictEqual(stream.frames.length, 5);
    clock.advance(1000);
    await settle();
    deepStrictEqual(stream.timeouts, ["idle"]);
    peer.close();
  });
});

Deno.test("Stream.frameTimeout closes a slow-drip peer that never completes a frame", async () => {
  await onManualClock(async (engine, clock) => {
    const stream = new Watched({ engine });
    stream.frameTimeout = 5000;
    stream.timeout = 3000;
    const peer = attachMemory(stream);
    for (let i = 0; i < 10 && !stream.closed; i++) {
      await peer.write(utf8("x"));
      await settle();
      clock.advance(1000);
      await settle();
    }
    deepStrictEqual(stream.timeouts, ["frame"]);
    ok(stream.closed);
    peer.close();
  });
});

Deno.test("Stream.frameTimeout leaves a peer alone while frames keep completing", async () => {
  await onManualClock(async (engine, clock) => {
    const stream = new Watched({ engine });
    stream.frameTimeout = 1500;
    const peer = attachMemory(stream);
    for (let i = 0; i < 10; i++) {
      await peer.write(utf8(`line ${i}\npart`));
      await settle();
      clock.advance(1000);
      await settle();
    }
    ok(!stream.closed);
    deepStrictEqual(stream.timeouts, []);
    peer.close();
  });
});

Deno.test("Stream.timeout rejects negative and non-finite values", () => {
  const stream = new Stream();
  throws(() => (stream.timeout = -1), RangeError);
  throws(() => (stream.frameTimeout = Infinity), RangeError);
});

Deno.test("Stream.write throws StreamBufferOverflow beyond maxWriteBuffer", async () => {
  await withEngine((engine) => {
    const stream = new Stream({ engine });
    stream.maxWriteBuffer = 1000;
    const peer = attachMemory(stream);
    stream.write(new Uint8Array(900));
    throws(() => stream.write(new Uint8Array(200)), StreamBufferOverflow);
    ok(!stream.closed);
    strictEqual(stream.writeQueueSize, 900);
    stream.close({ flush: false });
    peer.close();
  });
});

Deno.test("Stream.write closes the stream beyond maxWriteBuffer with writeOverflow close", async () => {
  await withEngine((engine) => {
    const stream = new Stream({ engine });
    stream.maxWriteBuffer = 1000;
    stream.writeOverflow = "close";
    const peer = attachMemory(stream);
    throws(() => stream.write(new Uint8Array(2000)), ChannelClosedError);
    ok(stream.closed);
    peer.close();
  });
});

Deno.test("Server.maxConnectionsPerAddress rejects extra connections through onReject", async () => {
  const reasons: RejectReason[] = [];
  class Limited extends Server {
    override onReject(stream: Stream, reason: RejectReason): void {
      reasons.push(reason);
      stream.write("busy\n");
    }
  }
  await withEngine(async (engine) => {
    const server = new Limited({ ConnectionClass: Stream, engine });
    server.maxConnectionsPerAddress = 2;
    server.listen(["127.0.0.1", 0]);
    const address = await listening(server);
    const kept = [await connectTo(address), await connectTo(address)];
    await until(() => server.channels.size === 2, "two streams");
    const extra = await connectTo(address);
    strictEqual(text(await readAll(extra)), "busy\n");
    deepStrictEqual(reasons, ["maxConnectionsPerAddress"]);
    strictEqual(server.channels.size, 2);
    for (const conn of kept) conn.close();
    extra.close();
  });
});

Deno.test("Server.close with drain flushes open streams and closes them", async () => {
  class Slow extends Stream {
    override onConnect(): void {
      this.write("bye\n");
    }
  }
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Slow, engine }).listen(["127.0.0.1", 0]);
    const conn = await connectTo(await listening(server));
    await until(() => server.channels.size === 1, "a stream");
    server.close({ drain: 1000 });
    strictEqual(text(await readAll(conn)), "bye\n");
    await until(() => server.channels.size === 0, "no streams");
    conn.close();
  });
});

Deno.test("Server.close with drain closes streams still open at the deadline", async () => {
  let closes = 0;
  class Stuck extends Stream {
    override onClose(): void {
      closes++;
    }
  }
  // A connection whose peer never reads: writes never complete.
  const transport = {
    read: () => new Promise<number | null>(() => {}),
    write: () => new Promise<number>(() => {}),
    close: () => {},
    closeWrite: () => Promise.resolve(),
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 } as Deno.Addr,
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 2 } as Deno.Addr,
  };
  await onManualClock(async (engine, clock) => {
    const server = new Server({ ConnectionClass: Stuck, engine });
    const stream = new Stuck({ engine });
    stream[adopt](transport, server);
    server.channels.set(stream.id, stream);
    stream[begin]();
    stream.write("x");
    server.close({ drain: 500 });
    clock.advance(499);
    await settle();
    strictEqual(closes, 0);
    strictEqual(server.channels.size, 1);
    clock.advance(1);
    await settle();
    strictEqual(closes, 1);
    strictEqual(server.channels.size, 0);
  });
});
