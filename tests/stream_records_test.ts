/**
 * Binary records on streams: `Struct` and `NetStruct` delimiters deliver
 * unpacked fields to `onRead`, `writePacked` packs them, and a hostile
 * length prefix closes only its own stream.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  NetStruct,
  type ReadDelimiter,
  Server,
  Stream,
  type StreamBufferOverflow,
  Struct,
} from "../mod.ts";
import { attach, type Peer, TestEngine } from "../testing.ts";
import { concat, connectTo, listening, readExactly, text, until, withEngine } from "./_helpers.ts";

/** Records every `onRead` call's arguments, copying byte fields. */
class Recorder extends Stream {
  calls: unknown[][] = [];
  overflows: StreamBufferOverflow[] = [];
  setup: (stream: Recorder) => void = () => {};

  override onConnect(): void {
    this.setup(this);
  }

  override onRead(...fields: unknown[]): void {
    this.calls.push(fields.map((field) => field instanceof Uint8Array ? text(field) : field));
  }

  override onOverflowError(error: StreamBufferOverflow): void {
    this.overflows.push(error);
    this.close({ flush: false });
  }
}

/** Runs a Recorder attached to an in-memory peer; `body` feeds it through the peer. */
async function withRecorder(
  setup: (stream: Recorder) => void,
  body: (stream: Recorder, peer: Peer<Recorder>) => Promise<void>,
): Promise<void> {
  await using engine = new TestEngine();
  const stream = new Recorder({ engine });
  stream.setup = setup;
  await body(stream, attach(stream));
}

/** Feeds `input` split in two at every position; checks the calls. */
async function everySplit(
  delimiter: ReadDelimiter,
  input: Uint8Array,
  expected: unknown[][],
): Promise<void> {
  for (let split = 0; split <= input.length; split++) {
    await withRecorder((stream) => (stream.readDelimiter = delimiter), async (stream, peer) => {
      await peer.send(input.subarray(0, split));
      await peer.send(input.subarray(split));
      deepStrictEqual(stream.calls, expected, `split at ${split}`);
    });
  }
}

const header = new Struct("!IHb");
const message = new NetStruct("!BH$I");

Deno.test("Stream with a Struct delimiter passes each record's fields to onRead", async () => {
  const input = concat([header.pack(0xdeadbeef, 513, -2), header.pack(7, 0, 127)]);
  await everySplit(header, input, [[0xdeadbeef, 513, -2], [7, 0, 127]]);
});

Deno.test("Stream with a NetStruct delimiter passes each record's fields to onRead", async () => {
  const input = concat([message.pack(1, "hello", 42), message.pack(2, "", 0xffffffff)]);
  await everySplit(message, input, [[1, "hello", 42], [2, "", 0xffffffff]]);
});

Deno.test("Stream with a Struct delimiter passes bigint and byte-string fields", async () => {
  const record = new Struct("<q4s?");
  await everySplit(record, record.pack(-5n, "ab", true), [[-5n, "ab\0\0", true]]);
});

Deno.test("Stream raises the buffer cap to a Struct larger than bufferSize", async () => {
  const big = new Struct("!I60s");
  const bytes = big.pack(9, "x".repeat(60));
  await withRecorder((stream) => {
    stream.bufferSize = 16;
    stream.readDelimiter = big;
  }, async (stream, peer) => {
    await peer.send(bytes.subarray(0, 30));
    await peer.send(bytes.subarray(30));
    strictEqual(stream.overflows.length, 0);
    strictEqual(stream.calls.length, 1);
    strictEqual(stream.calls[0]![0], 9);
    strictEqual(stream.calls[0]![1], "x".repeat(60));
  });
});

Deno.test("Stream.writePacked packs with the current Struct delimiter", async () => {
  await withRecorder((stream) => (stream.readDelimiter = header), async (stream, peer) => {
    ok(stream.writePacked(1, 2, -3));
    deepStrictEqual(header.unpack(await peer.receivedBytes()), [1, 2, -3]);
  });
});

Deno.test("Stream.writePacked packs with the current NetStruct delimiter", async () => {
  await withRecorder((stream) => (stream.readDelimiter = message), async (stream, peer) => {
    stream.writePacked(5, "abc", 9);
    const [type, payload, trailer] = message.unpack(await peer.receivedBytes());
    deepStrictEqual([type, text(payload as Uint8Array), trailer], [5, "abc", 9]);
  });
});

Deno.test("Stream.writePacked packs with { format } given last", async () => {
  await withRecorder(() => {}, async (stream, peer) => {
    stream.writePacked(0x0102, 0x03, { format: "!HB" });
    deepStrictEqual([...await peer.receivedBytes()], [1, 2, 3]);
  });
});

Deno.test("Stream.writePacked throws a TypeError without a struct delimiter", async () => {
  await withRecorder((stream) => (stream.readDelimiter = "\n"), (stream) => {
    throws(() => stream.writePacked(1, 2), TypeError);
    return Promise.resolve();
  });
});

Deno.test("Stream.writePacked throws a RangeError for out-of-range values, queuing nothing", async () => {
  await withRecorder((stream) => (stream.readDelimiter = header), async (stream, peer) => {
    throws(() => stream.writePacked(-1, 0, 0), RangeError);
    throws(() => stream.writePacked(0, 70000, 0), RangeError);
    throws(() => stream.writePacked(256, { format: "!B" }), RangeError);
    strictEqual(stream.writeQueueSize, 0);
    stream.writePacked(4, 5, 6);
    deepStrictEqual(header.unpack(await peer.receivedBytes()), [4, 5, 6]);
  });
});

Deno.test("Stream closes at once on a hostile NetStruct length prefix", async () => {
  const prefixed = new NetStruct("!I$");
  await withRecorder((stream) => (stream.readDelimiter = prefixed), async (stream, peer) => {
    // Declares 4 GiB - 1 bytes, and sends only the first few.
    await peer.send(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    ok(stream.closed);
    strictEqual(stream.overflows.length, 1);
    strictEqual(stream.overflows[0]!.bytes, 4 + 0xffffffff);
    strictEqual(stream.overflows[0]!.limit, stream.bufferSize);
    deepStrictEqual(stream.calls, []);
  });
});

/** A server stream echoing each NetStruct "!I$" record back as a Struct "!I" (its length). */
class LengthReply extends Stream {
  static overflows = 0;
  override onConnect(): void {
    this.readDelimiter = new NetStruct("!I$");
  }
  override onRead(payload: Uint8Array): void {
    this.writePacked(payload.length, { format: "!I" });
  }
  override onOverflowError(): void {
    LengthReply.overflows++;
    this.close({ flush: false });
  }
}

Deno.test("Stream over TCP: a hostile length prefix closes only that stream", async () => {
  LengthReply.overflows = 0;
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: LengthReply, engine });
    server.listen(["127.0.0.1", 0]);
    const address = await listening(server as unknown as Server<Stream>);
    const good = await connectTo(address);
    const bad = await connectTo(address);
    const record = new NetStruct("!I$");
    await good.write(record.pack("first"));
    deepStrictEqual(new Struct("!I").unpack(await readExactly(good, 4)), [5]);
    await bad.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0]));
    const buffer = new Uint8Array(16);
    strictEqual(await bad.read(buffer), null, "the hostile stream is closed");
    strictEqual(LengthReply.overflows, 1);
    await good.write(record.pack("still here"));
    deepStrictEqual(new Struct("!I").unpack(await readExactly(good, 4)), [10]);
    good.close();
    bad.close();
  });
});

const request = new Struct("!HI");
const reply = new NetStruct("!BH$");

/** Replies to each "!HI" request with a "!BH$" record: the kind, and the value as text. */
class Decimal extends Stream {
  override onConnect(): void {
    this.readDelimiter = request;
  }
  override onRead(kind: number, value: number): void {
    this.write(reply.pack(kind, String(value)));
  }
}

/** A client that sends requests with writePacked and records the NetStruct replies. */
class DecimalClient extends Stream {
  replies: unknown[][] = [];
  override onConnect(): void {
    this.readDelimiter = reply;
    this.writePacked(1, 100, { format: "!HI" });
    this.writePacked(2, 4000000000, { format: "!HI" });
  }
  override onRead(kind: number, digits: Uint8Array): void {
    this.replies.push([kind, text(digits)]);
  }
}

Deno.test("Stream with a Struct delimiter frames requests over TCP split at every byte", async () => {
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Decimal, engine });
    server.listen(["127.0.0.1", 0]);
    const address = await listening(server as unknown as Server<Stream>);
    const input = concat([request.pack(1, 100), request.pack(2, 4000000000)]);
    const expected = concat([reply.pack(1, "100"), reply.pack(2, "4000000000")]);
    for (let split = 0; split <= input.length; split++) {
      const conn = (await connectTo(address)) as Deno.TcpConn;
      conn.setNoDelay(true);
      await conn.write(input.subarray(0, split));
      await new Promise((resolve) => setTimeout(resolve, 1));
      await conn.write(input.subarray(split));
      deepStrictEqual(await readExactly(conn, expected.length), expected, `split at ${split}`);
      conn.close();
    }
  });
});

Deno.test("Streams exchange Struct and NetStruct records over TCP", async () => {
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Decimal, engine });
    server.listen(["127.0.0.1", 0]);
    const address = (await listening(server as unknown as Server<Stream>)) as Deno.NetAddr;
    const client = new DecimalClient({ engine }).connect(["127.0.0.1", address.port]);
    await until(() => client.replies.length === 2 || client.closed, "two replies");
    deepStrictEqual(client.replies, [[1, "100"], [2, "4000000000"]]);
    client.close();
  });
});

Deno.test("Stream with a NetStruct delimiter frames replies over TCP split at every byte", async () => {
  const bytes = concat([reply.pack(1, "100"), reply.pack(2, "4000000000")]);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    await withEngine(async (engine) => {
      for (let split = 0; split <= bytes.length; split++) {
        const client = new DecimalClient({ engine }).connect(["127.0.0.1", port]);
        const conn = await listener.accept();
        conn.setNoDelay(true);
        await readExactly(conn, 2 * request.size);
        await conn.write(bytes.subarray(0, split));
        await new Promise((resolve) => setTimeout(resolve, 1));
        await conn.write(bytes.subarray(split));
        await until(() => client.replies.length === 2 || client.closed, "two replies");
        deepStrictEqual(client.replies, [[1, "100"], [2, "4000000000"]], `split at ${split}`);
        client.close();
        conn.close();
      }
    });
  } finally {
    listener.close();
  }
});

Deno.test("Stream.writePacked takes a NetStruct format given last", async () => {
  await using engine = new TestEngine();
  const peer = attach(new Stream({ engine }));
  peer.stream.writePacked(1, "abc", { format: "!BH$" });
  deepStrictEqual([...await peer.receivedBytes()], [1, 0, 3, 0x61, 0x62, 0x63]);
});
