/**
 * Hostile WebSocket peers against a Pants `WebSocketServer`, over real
 * sockets: each protocol violation closes only that connection, with the
 * right close code, while a well-behaved neighbour keeps working.
 */
import assert from "node:assert/strict";
import { type Engine, WebSocketChannel, WebSocketServer } from "../mod.ts";
import { connectTo, until, withEngine } from "./_helpers.ts";
import { listening } from "./_ws_frames.ts";
import { closeOf, type Decoded, decodeFrames, frame, upgradeRequest } from "./_ws_frames.ts";

const closes: { code: number; reason: string }[] = [];

class Echo extends WebSocketChannel {
  override onRead(message: string | Uint8Array): void {
    this.write(message);
  }
  override onClose(code: number, reason: string): void {
    closes.push({ code, reason });
  }
}

/** A raw TCP client that upgrades, then sends whatever bytes a test gives it. */
class RawClient {
  #buffer: Uint8Array = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}

  static async open(address: Deno.Addr, request = upgradeRequest()): Promise<RawClient> {
    const client = new RawClient(await connectTo(address));
    await client.conn.write(new TextEncoder().encode(request));
    return client;
  }

  /** Reads until the response head is complete; returns it. */
  async head(): Promise<string> {
    for (;;) {
      const text = new TextDecoder("latin1").decode(this.#buffer);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        this.#buffer = this.#buffer.slice(end + 4);
        return text.slice(0, end);
      }
      if (!(await this.#read())) return text;
    }
  }

  async #read(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    const joined = new Uint8Array(this.#buffer.length + n);
    joined.set(this.#buffer);
    joined.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = joined;
    return true;
  }

  /** Reads frames until `count` arrived or the connection ended. */
  async frames(count = Infinity): Promise<{ frames: Decoded[]; ended: boolean }> {
    const frames: Decoded[] = [];
    for (;;) {
      const decoded = decodeFrames(this.#buffer);
      frames.push(...decoded.frames);
      this.#buffer = decoded.rest;
      if (frames.length >= count) return { frames, ended: false };
      let more = false;
      try {
        more = await this.#read();
      } catch {
        more = false;
      }
      if (!more) return { frames, ended: true };
    }
  }

  send(bytes: Uint8Array): Promise<number> {
    return this.conn.write(bytes);
  }

  /** Writes all of `bytes` (a write may take only part of them). */
  async sendAll(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) at += await this.conn.write(bytes.subarray(at));
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * Runs `attack` against a fresh server next to a neighbour connection, and
 * checks the hostile connection got a close frame with `code` and was closed,
 * and the neighbour still echoes.
 */
async function expectClose(
  code: number,
  attack: (client: RawClient) => Promise<void>,
  setup: (server: WebSocketServer<Echo>) => void = () => {},
): Promise<void> {
  closes.length = 0;
  await withEngine(async (engine: Engine) => {
    const server = new WebSocketServer({ ConnectionClass: Echo, engine });
    setup(server);
    server.listen(["127.0.0.1", 0]);
    const address = await listening(server);
    const neighbour = await RawClient.open(address);
    assert.match(await neighbour.head(), /^HTTP\/1\.1 101 /);
    const hostile = await RawClient.open(address);
    assert.match(await hostile.head(), /^HTTP\/1\.1 101 /);
    await attack(hostile);
    const { frames, ended } = await hostile.frames();
    assert.equal(ended, true, "the hostile connection is closed");
    const last = frames.at(-1);
    assert.equal(last?.opcode, 0x8, "a close frame came last");
    assert.equal(closeOf(last.payload).code, code);
    await until(() => closes.length === 1, "the hostile channel's onClose");
    assert.equal(closes[0]!.code, code);
    await neighbour.send(frame({ opcode: 0x1, payload: "still here" }));
    const echoed = await neighbour.frames(1);
    assert.equal(new TextDecoder().decode(echoed.frames[0]!.payload), "still here");
    assert.equal(server.channels.size, 1);
    hostile.close();
    neighbour.close();
  });
}

Deno.test("WebSocketServer closes a client's unmasked frame with 1002", async () => {
  await expectClose(1002, (c) => c.send(frame({ opcode: 0x1, payload: "hi", mask: null })).then());
});

Deno.test("WebSocketServer closes a frame with a reserved bit set with 1002", async () => {
  await expectClose(1002, (c) => c.send(frame({ opcode: 0x1, payload: "hi", rsv: 0x40 })).then());
});

Deno.test("WebSocketServer closes a control frame over 125 bytes with 1002", async () => {
  await expectClose(1002, (c) => c.send(frame({ opcode: 0x9, payload: "x".repeat(126) })).then());
});

Deno.test("WebSocketServer closes a fragmented control frame with 1002", async () => {
  await expectClose(1002, (c) => c.send(frame({ opcode: 0x9, payload: "p", fin: false })).then());
});

Deno.test("WebSocketServer closes a continuation without a start with 1002", async () => {
  await expectClose(1002, (c) => c.send(frame({ opcode: 0x0, payload: "orphan" })).then());
});

Deno.test("WebSocketServer closes an unknown opcode with 1002", async () => {
  await expectClose(1002, (c) => c.send(frame({ opcode: 0x3, payload: "?" })).then());
});

Deno.test("WebSocketServer refuses a 64-bit length beyond bufferSize on the header, with 1009", async () => {
  // Only the header is sent: the close must come before any payload.
  await expectClose(1009, async (c) => {
    const header = frame({ opcode: 0x2, declaredLength: 2 ** 40 });
    await c.send(header);
  });
});

Deno.test("WebSocketServer refuses a fragmented message growing past bufferSize with 1009", async () => {
  await expectClose(1009, async (c) => {
    await c.send(frame({ opcode: 0x2, payload: new Uint8Array(600), fin: false }));
    await c.send(frame({ opcode: 0x0, payload: new Uint8Array(600) }));
  }, (server) => {
    server.onAccept = (channel) => void (channel.bufferSize = 1000);
  });
});

Deno.test("WebSocketServer closes invalid UTF-8 split across fragments with 1007", async () => {
  await expectClose(1007, async (c) => {
    // E2 82 starts a 3-byte sequence; 28 cannot continue it.
    await c.send(frame({ opcode: 0x1, payload: new Uint8Array([0x61, 0xe2, 0x82]), fin: false }));
    await c.send(frame({ opcode: 0x0, payload: new Uint8Array([0x28, 0x62]) }));
  });
});

Deno.test("WebSocketServer closes a text message ending mid-character with 1007", async () => {
  await expectClose(
    1007,
    (c) => c.send(frame({ opcode: 0x1, payload: new Uint8Array([0xe2, 0x82]) })).then(),
  );
});

Deno.test("WebSocketServer closes a close frame with an invalid code with 1002", async () => {
  await expectClose(
    1002,
    (c) => c.send(frame({ opcode: 0x8, payload: new Uint8Array([0x03, 0xed]) })).then(),
  );
});

Deno.test("WebSocketServer closes a slow handshake after handshakeTimeout, before onConnect", async () => {
  let connected = 0;
  class Counted extends WebSocketChannel {
    override onConnect(): void {
      connected++;
    }
  }
  await withEngine(async (engine) => {
    const server = new WebSocketServer({ ConnectionClass: Counted, engine });
    server.handshakeTimeout = 200;
    server.listen(["127.0.0.1", 0]);
    const client = await RawClient.open(await listening(server), "GET / HTTP/1.1\r\nHost: x\r\n");
    const started = Date.now();
    const { frames, ended } = await client.frames();
    assert.equal(ended, true);
    assert.equal(frames.length, 0);
    const took = Date.now() - started;
    assert.ok(took >= 150 && took < 3000, `closed after ${took} ms`);
    assert.equal(connected, 0);
    client.close();
  });
});

Deno.test("WebSocketServer answers a request head over 8 KiB with 431 and closes", async () => {
  await withEngine(async (engine) => {
    const server = new WebSocketServer({ ConnectionClass: Echo, engine });
    server.listen(["127.0.0.1", 0]);
    const big = upgradeRequest("/", { "X-Filler": "a".repeat(9000) });
    const client = await RawClient.open(await listening(server), big);
    assert.match(await client.head(), /^HTTP\/1\.1 431 /);
    client.close();
  });
});

Deno.test("WebSocketServer reads no more while paused: a flood stays bounded, then all of it arrives", async () => {
  let received = 0;
  let paused: WebSocketChannel | null = null;
  class Slow extends WebSocketChannel {
    override onConnect(): void {
      this.pauseReading();
      paused = this;
    }
    override onRead(): void {
      received++;
    }
  }
  await withEngine(async (engine) => {
    const server = new WebSocketServer({ ConnectionClass: Slow, engine });
    server.listen(["127.0.0.1", 0]);
    const client = await RawClient.open(await listening(server));
    await client.head();
    await until(() => paused !== null, "onConnect");
    const message = frame({ opcode: 0x2, payload: new Uint8Array(1000) });
    const batch = new Uint8Array(message.length * 64);
    for (let i = 0; i < 64; i++) batch.set(message, i * message.length);
    // Write until the peer stalls (kernel buffers full): bounded in count and time.
    let sent = 0;
    const deadline = Date.now() + 3000;
    while (sent < 20_000 && Date.now() < deadline) {
      const wrote = await Promise.race([
        client.sendAll(batch).then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 200)),
      ]);
      if (!wrote) break;
      sent += 64;
    }
    // The write that stalled completes once reading resumes: count it too.
    const total = sent + 64;
    assert.ok(sent < 20_000, "the flood stalled");
    const bytesIn = engine.stats().bytesIn;
    assert.ok(bytesIn < 200 * 1024, `read ${bytesIn} bytes while paused`);
    assert.equal(received, 0);
    paused!.resumeReading();
    await until(() => received === total, `all ${total} messages`, 20_000);
    client.close();
  });
});
