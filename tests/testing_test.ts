/**
 * `testing.ts` (`@pants/pants/testing`): the virtual-clock engine and the
 * in-memory peers, shown on the chat server of `examples/chat.ts`.
 */
import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import { Engine, Server, Stream } from "../mod.ts";
import { accept, attach, connectStreams, TestEngine } from "../testing.ts";
import { Chat } from "../examples/chat.ts";

class Echo extends Stream {
  override onRead(data: Uint8Array): void {
    this.write(data);
  }
}

class Lines extends Stream {
  lines: string[] = [];
  ended = false;
  override onConnect(): void {
    this.readDelimiter = "\n";
    this.encoding = "utf-8";
  }
  override onRead(line: string): void {
    this.lines.push(line);
  }
  override onEnd(): void {
    this.ended = true;
    this.write("bye\n");
    this.close();
  }
}

const host = (port: number): Deno.NetAddr => ({ transport: "tcp", hostname: "10.0.0.1", port });

Deno.test("TestEngine.flush runs callback timers queued by callbacks", async () => {
  const engine = new TestEngine();
  const order: string[] = [];
  engine.callback(() => {
    order.push("first");
    engine.callback(() => order.push("second"));
  });
  strictEqual(order.length, 0);
  await engine.flush();
  deepStrictEqual(order, ["first", "second"]);
});

Deno.test("TestEngine.advance fires each timer at its own virtual time", async () => {
  const engine = new TestEngine();
  const seen: string[] = [];
  const ticker = engine.cycle(10, () => seen.push(`cycle@${engine.now()}`));
  engine.defer(15, () => seen.push(`defer@${engine.now()}`));
  await engine.advance(35);
  ticker.cancel();
  deepStrictEqual(seen, ["cycle@10", "defer@15", "cycle@20", "cycle@30"]);
  strictEqual(engine.now(), 35);
});

Deno.test("TestEngine.advance moves the clock with nothing scheduled", async () => {
  const engine = new TestEngine({ start: 1000 });
  await engine.advance(250);
  strictEqual(engine.now(), 1250);
  await rejects(() => engine.advance(-1), RangeError);
});

Deno.test("TestEngine.advance keeps moving while a loop timer runs", async () => {
  const engine = new TestEngine();
  let iterations = 0;
  const spin = engine.loop(() => iterations++);
  let fired = -1;
  engine.defer(5, () => fired = engine.now());
  await engine.advance(10);
  spin.cancel();
  strictEqual(fired, 5);
  strictEqual(engine.now(), 10);
  ok(iterations > 0);
});

Deno.test("TestEngine.flush gives up on a loop timer that writes in every iteration", async () => {
  const engine = new TestEngine();
  const peer = attach(new Stream({ engine }));
  const chatter = engine.loop(() => peer.stream.write("x"));
  await rejects(() => engine.flush(), /gave up after 10000 rounds/);
  chatter.cancel();
  await peer.close();
});

Deno.test("attach runs onConnect at once and frames what the peer sends", async () => {
  const engine = new TestEngine();
  const peer = attach(new Lines({ engine }));
  strictEqual(peer.stream.connected, true);
  await peer.send("one\ntw");
  deepStrictEqual(peer.stream.lines, ["one"]);
  await peer.send("o\n");
  deepStrictEqual(peer.stream.lines, ["one", "two"]);
  await peer.close();
});

Deno.test("Peer.received returns what the stream wrote since the last call", async () => {
  const engine = new TestEngine();
  const peer = attach(new Echo({ engine }));
  await peer.send("hello ");
  await peer.send("world");
  strictEqual(await peer.received(), "hello world");
  strictEqual(await peer.received(), "");
  await peer.send(new Uint8Array([0, 255]));
  deepStrictEqual(await peer.receivedBytes(), new Uint8Array([0, 255]));
  await peer.close();
});

Deno.test("Peer.end half-closes: onEnd runs and the stream may still reply", async () => {
  const engine = new TestEngine();
  const peer = attach(new Lines({ engine }));
  await peer.send("last\n");
  await peer.end();
  strictEqual(peer.stream.ended, true);
  strictEqual(await peer.received(), "bye\n");
  strictEqual(peer.ended, true);
  strictEqual(peer.stream.closed, true);
});

Deno.test("Peer.close ends the stream and its onClose runs", async () => {
  class Closing extends Stream {
    closedAt = -1;
    override onClose(): void {
      this.closedAt = this.engine.now();
    }
  }
  const engine = new TestEngine({ start: 500 });
  const peer = attach(new Closing({ engine }));
  await peer.close();
  await peer.close(); // idempotent
  strictEqual(peer.stream.closed, true);
  strictEqual(peer.stream.closedAt, 500);
  strictEqual(peer.ended, true);
  strictEqual(engine.channelCount, 0);
});

Deno.test("attach gives the stream the addresses asked for", () => {
  const engine = new TestEngine();
  const peer = attach(new Stream({ engine }), { remoteAddress: host(1234) });
  deepStrictEqual(peer.stream.remoteAddress, host(1234));
  strictEqual((peer.stream.localAddress as Deno.NetAddr).port, 4040);
  peer.stream.close();
});

Deno.test("attach refuses a stream on a real engine, or one already attached", () => {
  throws(() => attach(new Stream({ engine: new Engine() })), TypeError);
  const engine = new TestEngine();
  const stream = new Stream({ engine });
  attach(stream);
  throws(() => attach(stream), /needs a new stream/);
  stream.close();
});

Deno.test("accept adds the stream to server.channels and runs onAccept before onConnect", async () => {
  const order: string[] = [];
  class Tracked extends Stream {
    override onConnect(): void {
      order.push(`connect ${this.server!.channels.size}`);
    }
  }
  class Tracking extends Server<Tracked> {
    override ConnectionClass = Tracked;
    override onAccept(stream: Tracked): void {
      order.push(`accept ${stream.server === this}`);
    }
  }
  const engine = new TestEngine();
  const server = new Tracking({ engine });
  const peer = accept(server);
  deepStrictEqual(order, ["accept true", "connect 1"]);
  ok(server.channels.get(peer.stream.id) === peer.stream);
  await peer.close();
  strictEqual(server.channels.size, 0);
});

Deno.test("Chat (examples/chat.ts) announces joins to everyone", async () => {
  await using engine = new TestEngine();
  const chat = new Chat({ engine });
  const alice = accept(chat, { remoteAddress: host(1) });
  strictEqual(await alice.received(), "Connected: 10.0.0.1\r\n");
  const bob = accept(chat, { remoteAddress: { ...host(2), hostname: "10.0.0.2" } });
  strictEqual(await alice.received(), "Connected: 10.0.0.2\r\n");
  strictEqual(await bob.received(), "Connected: 10.0.0.2\r\n");
});

Deno.test("Chat (examples/chat.ts) relays each complete line to everyone", async () => {
  await using engine = new TestEngine();
  const chat = new Chat({ engine });
  const alice = accept(chat, { remoteAddress: host(1) });
  const bob = accept(chat, { remoteAddress: { ...host(2), hostname: "10.0.0.2" } });
  await alice.received();
  await bob.received();
  await bob.send("hi all\r\nhalf a li");
  strictEqual(await alice.received(), "10.0.0.2: hi all\r\n");
  strictEqual(await bob.received(), "10.0.0.2: hi all\r\n");
  await bob.send("ne\r\n");
  strictEqual(await alice.received(), "10.0.0.2: half a line\r\n");
});

Deno.test("Chat (examples/chat.ts) announces departures to those still there", async () => {
  await using engine = new TestEngine();
  const chat = new Chat({ engine });
  const alice = accept(chat, { remoteAddress: host(1) });
  const bob = accept(chat, { remoteAddress: { ...host(2), hostname: "10.0.0.2" } });
  await alice.received();
  await bob.close();
  strictEqual(await alice.received(), "Disconnected: 10.0.0.2\r\n");
  strictEqual(chat.channels.size, 1);
});

Deno.test("connectStreams links two streams so they talk to each other", async () => {
  class Client extends Stream {
    reply = "";
    override onConnect(): void {
      this.encoding = "utf-8";
      this.write("ping");
    }
    override onRead(data: string): void {
      this.reply += data;
      this.close();
    }
  }
  const engine = new TestEngine();
  const client = new Client({ engine });
  const echo = new Echo({ engine });
  connectStreams(client, echo);
  await engine.flush();
  strictEqual(client.reply, "ping");
  strictEqual(client.closed, true);
  strictEqual(echo.closed, true);
});

Deno.test("TestEngine stops its channels when disposed with await using", async () => {
  let peer;
  {
    await using engine = new TestEngine();
    peer = attach(new Lines({ engine }));
    peer.stream.write("pending\n");
  }
  strictEqual(peer.stream.closed, true);
  strictEqual(await peer.received(), "pending\n");
  strictEqual(peer.ended, true);
});

Deno.test("An idle timeout is tested in virtual time without sleeping", async () => {
  class Idle extends Stream {
    #timer = this.engine.defer(30_000, () => this.close());
    override onRead(): void {
      this.#timer.cancel();
      this.#timer = this.engine.defer(30_000, () => this.close());
    }
  }
  const engine = new TestEngine();
  const peer = attach(new Idle({ engine }));
  await engine.advance(20_000);
  await peer.send("still here");
  await engine.advance(29_999);
  strictEqual(peer.stream.closed, false);
  await engine.advance(1);
  strictEqual(peer.stream.closed, true);
  strictEqual(engine.now(), 50_000);
});

Deno.test("accept gives the stream the server's idle timeout, run in virtual time", async () => {
  const engine = new TestEngine();
  const server = new Server({ ConnectionClass: Echo, engine });
  server.timeout = 30_000;
  const peer = accept(server);
  strictEqual(peer.stream.timeout, 30_000);
  await engine.advance(29_999);
  strictEqual(peer.stream.closed, false);
  await engine.advance(1);
  strictEqual(peer.stream.closed, true);
  strictEqual(server.channels.size, 0);
});
