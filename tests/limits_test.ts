/**
 * Limits and timeouts: idle and frame timeouts on the engine's timer ring,
 * the hard write-buffer cap, per-address connection limits and draining.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  ChannelClosedError,
  type RejectReason,
  Server,
  Stream,
  StreamBufferOverflow,
  type StreamTimeout,
} from "../mod.ts";
import { attach, TestEngine } from "../testing.ts";
// Internal on purpose: one test needs a connection whose writes never complete.
import { adopt, begin } from "../channels/_symbols.ts";
import { connectTo, listening, readAll, text, until, withEngine } from "./_helpers.ts";

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

Deno.test("Stream.timeout closes a stream idle for that long", async () => {
  await using engine = new TestEngine();
  const stream = new Watched({ engine });
  stream.timeout = 1000;
  attach(stream);
  await engine.advance(999);
  ok(!stream.closed);
  await engine.advance(1);
  deepStrictEqual(stream.timeouts, ["idle"]);
  ok(stream.closed);
});

Deno.test("Stream.timeout is pushed back by traffic", async () => {
  await using engine = new TestEngine();
  const stream = new Watched({ engine });
  stream.timeout = 1000;
  const peer = attach(stream);
  for (let i = 0; i < 5; i++) {
    await engine.advance(600);
    await peer.send("ping\n");
  }
  ok(!stream.closed);
  strictEqual(stream.frames.length, 5);
  await engine.advance(1000);
  deepStrictEqual(stream.timeouts, ["idle"]);
});

Deno.test("Stream.frameTimeout closes a slow-drip peer that never completes a frame", async () => {
  await using engine = new TestEngine();
  const stream = new Watched({ engine });
  stream.frameTimeout = 5000;
  stream.timeout = 3000;
  const peer = attach(stream);
  for (let i = 0; i < 10 && !stream.closed; i++) {
    await peer.send("x");
    await engine.advance(1000);
  }
  deepStrictEqual(stream.timeouts, ["frame"]);
  ok(stream.closed);
});

Deno.test("Stream.frameTimeout leaves a peer alone while frames keep completing", async () => {
  await using engine = new TestEngine();
  const stream = new Watched({ engine });
  stream.frameTimeout = 1500;
  const peer = attach(stream);
  for (let i = 0; i < 10; i++) {
    await peer.send(`line ${i}\npart`);
    await engine.advance(1000);
  }
  ok(!stream.closed);
  deepStrictEqual(stream.timeouts, []);
});

Deno.test("Stream.timeout rejects negative and non-finite values", () => {
  const stream = new Stream();
  throws(() => (stream.timeout = -1), RangeError);
  throws(() => (stream.frameTimeout = Infinity), RangeError);
});

Deno.test("Stream.write throws StreamBufferOverflow beyond maxWriteBuffer", async () => {
  await using engine = new TestEngine();
  const stream = new Stream({ engine });
  stream.maxWriteBuffer = 1000;
  attach(stream);
  stream.write(new Uint8Array(900));
  throws(() => stream.write(new Uint8Array(200)), StreamBufferOverflow);
  ok(!stream.closed);
  strictEqual(stream.writeQueueSize, 900);
});

Deno.test("Stream.write closes the stream beyond maxWriteBuffer with writeOverflow close", async () => {
  await using engine = new TestEngine();
  const stream = new Stream({ engine });
  stream.maxWriteBuffer = 1000;
  stream.writeOverflow = "close";
  attach(stream);
  throws(() => stream.write(new Uint8Array(2000)), ChannelClosedError);
  ok(stream.closed);
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
  await using engine = new TestEngine();
  const server = new Server({ ConnectionClass: Stuck, engine });
  const stream = new Stuck({ engine });
  stream[adopt](transport, server);
  server.channels.set(stream.id, stream);
  stream[begin]();
  stream.write("x");
  server.close({ drain: 500 });
  await engine.advance(499);
  strictEqual(closes, 0);
  strictEqual(server.channels.size, 1);
  await engine.advance(1);
  strictEqual(closes, 1);
  strictEqual(server.channels.size, 0);
});
