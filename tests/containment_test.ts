/**
 * Containment: a value a setter accepts works, one that cannot work throws
 * at assignment naming the limit, and a failure inside framing reaches that
 * channel's `onError` and closes that channel only.
 */
import { deepStrictEqual, match, ok, strictEqual, throws } from "node:assert/strict";
import {
  Datagram,
  DatagramError,
  NetStruct,
  Server,
  StartTlsError,
  Stream,
  StreamBufferOverflow,
  Struct,
} from "../mod.ts";
import { attach, TestEngine } from "../testing.ts";
import { MAX_BUFFER_SIZE } from "../framing/read_delimiter.ts";
import { MAX_REGION_BYTES } from "../wasm/framing.ts";
import {
  Deframer,
  frameReady,
  framingFailed,
  inputOverflow,
  recordReady,
} from "../framing/_deframer.ts";
import { framingCore } from "../framing/_wasm_core.ts";
import { ReferenceFramingCore } from "./_reference_core.ts";
import { until, withEngine } from "./_helpers.ts";

Deno.test("Stream rejects a string delimiter over 192 bytes at assignment, naming the limit", () => {
  const stream = new Stream({ engine: new TestEngine() });
  throws(() => (stream.readDelimiter = "x".repeat(193)), (error: Error) => {
    ok(error instanceof RangeError);
    match(error.message, /at most 192 bytes/);
    return true;
  });
  stream.readDelimiter = "x".repeat(192);
});

Deno.test("Stream finds a 192-byte delimiter split across reads", async () => {
  await using engine = new TestEngine();
  const delimiter = "=".repeat(191) + "|";
  const lines: string[] = [];
  class Long extends Stream {
    override onConnect(): void {
      this.readDelimiter = delimiter;
      this.encoding = "utf-8";
    }
    override onRead(line: string): void {
      lines.push(line);
    }
  }
  const peer = attach(new Long({ engine }));
  const input = "one" + delimiter + "two" + delimiter;
  for (let at = 0; at < input.length; at += 50) await peer.send(input.slice(at, at + 50));
  deepStrictEqual(lines, ["one", "two"]);
});

Deno.test("Stream rejects a block size beyond the buffer limit at assignment", () => {
  const stream = new Stream({ engine: new TestEngine() });
  throws(() => (stream.readDelimiter = 2 ** 31), RangeError);
  throws(() => (stream.readDelimiter = MAX_BUFFER_SIZE + 1), /over the limit of/);
  stream.readDelimiter = MAX_BUFFER_SIZE;
});

Deno.test("Stream rejects a bufferSize beyond what one receive buffer holds", () => {
  const stream = new Stream({ engine: new TestEngine() });
  throws(() => (stream.bufferSize = 2 ** 31), /up to 1073676288/);
  stream.bufferSize = MAX_BUFFER_SIZE;
  ok(MAX_BUFFER_SIZE < MAX_REGION_BYTES, "a full buffer plus one read fits a region");
});

Deno.test("Stream rejects a Struct record beyond the buffer limit at assignment", () => {
  const stream = new Stream({ engine: new TestEngine() });
  throws(() => (stream.readDelimiter = new Struct("1073741824s")), RangeError);
});

Deno.test("Stream rejects a RegExp that matches the empty string", () => {
  const stream = new Stream({ engine: new TestEngine() });
  for (const re of [/x*/, /\n?/, /^/, /(?=a)/, /a|/]) {
    throws(() => (stream.readDelimiter = re), /matches the empty string/, String(re));
  }
  stream.readDelimiter = /x+/;
});

Deno.test("Server rejects a timeout that cannot work at assignment, not in the accept loop", () => {
  const server = new Server({ ConnectionClass: Stream, engine: new TestEngine() });
  throws(() => (server.timeout = Infinity), RangeError);
  throws(() => (server.frameTimeout = -1), RangeError);
  throws(() => (server.handshakeTimeout = NaN), RangeError);
  server.timeout = 1000;
  strictEqual(server.timeout, 1000);
});

Deno.test("Datagram rejects a bufferSize beyond what one receive buffer holds", () => {
  const channel = new Datagram({ engine: new TestEngine() });
  throws(() => (channel.bufferSize = 2 ** 31), RangeError);
});

Deno.test("Error messages describe bad delimiters by their value, not [object Object]", () => {
  const stream = new Stream({ engine: new TestEngine() });
  throws(() => (stream.readDelimiter = { a: 1 } as unknown as string), (error: Error) => {
    ok(!error.message.includes("[object"), error.message);
    match(error.message, /\{"a":1\}/);
    return true;
  });
  throws(() => (stream.readDelimiter = [1, 2] as unknown as string), /\[1,2\]/);
});

/** A host that records what the deframer reports. */
class Host {
  frames: unknown[] = [];
  failures: unknown[] = [];
  [frameReady](data: unknown): void {
    this.frames.push(data instanceof Uint8Array ? new TextDecoder().decode(data) : data);
  }
  [recordReady](values: unknown[]): void {
    this.frames.push([...values]);
  }
  [inputOverflow](): void {}
  [framingFailed](error: unknown): void {
    this.failures.push(error);
  }
}

Deno.test("A framing core failure reaches the channel's onError and closes that channel only", async () => {
  await using engine = new TestEngine();
  const errors: unknown[] = [];
  class Fragile extends Stream {
    override onConnect(): void {
      this.readDelimiter = "\n";
    }
    override onError(error: unknown): void {
      errors.push(error);
      this.close({ flush: false });
    }
  }
  const victim = attach(new Fragile({ engine }));
  const bystander = attach(new Fragile({ engine }));
  await bystander.send("half");
  const append = framingCore.append;
  framingCore.append = () => {
    throw new RangeError("Cannot buffer: WebAssembly memory is exhausted");
  };
  try {
    await victim.send("boom\n");
  } finally {
    framingCore.append = append;
  }
  ok(victim.stream.closed, "the failing stream closed");
  strictEqual(errors.length, 1);
  match(String(errors[0]), /memory is exhausted/);
  ok(!bystander.stream.closed, "the other stream is untouched");
  await bystander.send(" line\n");
  strictEqual(bystander.stream.framesDelivered, 1);
});

Deno.test("Deframer reports a core that cannot open a region as a framing failure, not a throw", () => {
  const core = new ReferenceFramingCore();
  core.open = () => {
    throw new RangeError("WebAssembly memory is exhausted");
  };
  const host = new Host();
  const deframer = new Deframer(host, "stream", core);
  deframer.readDelimiter = "\n";
  deframer.push(new TextEncoder().encode("a\n"));
  strictEqual(host.failures.length, 1);
  deepStrictEqual(host.frames, []);
});

Deno.test("Deframer searches a bounded RegExp only near the end of the buffer on each read", () => {
  const host = new Host();
  const deframer = new Deframer(host, "stream", new ReferenceFramingCore());
  deframer.readDelimiter = /\r?\n/;
  deframer.bufferSize = 1 << 20;
  const searched: number[] = [];
  const exec = RegExp.prototype.exec;
  RegExp.prototype.exec = function (this: RegExp, text: string) {
    searched.push(text.length - this.lastIndex);
    return exec.call(this, text);
  };
  try {
    const byte = new Uint8Array([0x61]);
    for (let i = 0; i < 60_000; i++) deframer.push(byte);
  } finally {
    RegExp.prototype.exec = exec;
  }
  ok(Math.max(...searched.slice(-1000)) <= 16, `searched ${Math.max(...searched)} characters`);
  deframer.push(new TextEncoder().encode("\n"));
  strictEqual((host.frames[0] as string).length, 60_000);
});

Deno.test("Deframer keeps the decoded text across reads: each read decodes only its own bytes", () => {
  const host = new Host();
  const deframer = new Deframer(host, "stream", new ReferenceFramingCore());
  deframer.readDelimiter = /;+/; // unbounded: searched again, but never decoded again
  deframer.encoding = "utf-8";
  deframer.bufferSize = 1 << 20;
  const decoded: number[] = [];
  const decode = TextDecoder.prototype.decode;
  TextDecoder.prototype.decode = function (this: TextDecoder, input?: BufferSource, options?) {
    decoded.push((input as Uint8Array | undefined)?.byteLength ?? 0);
    return decode.call(this, input, options);
  };
  try {
    for (let i = 0; i < 1000; i++) deframer.push(new TextEncoder().encode("é"));
    deframer.push(new TextEncoder().encode(";"));
  } finally {
    TextDecoder.prototype.decode = decode;
  }
  ok(Math.max(...decoded) <= 2, `a read decoded ${Math.max(...decoded)} bytes`);
  strictEqual(host.frames[0], "é".repeat(1000));
});

Deno.test("Stream refuses STARTTLS while the decoder holds part of a plaintext character", async () => {
  await using engine = new TestEngine();
  const refusals: unknown[] = [];
  class Upgrading extends Stream {
    override onConnect(): void {
      this.encoding = "utf-8";
    }
    override onRead(chunk: string): void {
      if (!chunk.startsWith("STARTTLS")) return;
      try {
        this.startSSL({ hostname: "localhost" });
      } catch (error) {
        refusals.push(error);
      }
    }
  }
  const peer = attach(new Upgrading({ engine }));
  await peer.send(new Uint8Array([...new TextEncoder().encode("STARTTLS\n"), 0xe2, 0x82]));
  strictEqual(refusals.length, 1);
  ok(refusals[0] instanceof StartTlsError);
  match((refusals[0] as Error).message, /2 bytes of plaintext/);
});

Deno.test("Stream counts maxWriteBuffer in bytes: multi-byte characters cannot exceed it", async () => {
  await using engine = new TestEngine();
  const peer = attach(new Stream({ engine }));
  const stream = peer.stream;
  stream.maxWriteBuffer = 1_000_000;
  throws(() => stream.write("€".repeat(1_000_000)), StreamBufferOverflow);
  strictEqual(stream.writeQueueSize, 0, "nothing was queued");
  stream.write("€".repeat(333_333));
  strictEqual(stream.writeQueueSize, 999_999);
});

Deno.test("Stream counts writePacked records against maxWriteBuffer", async () => {
  await using engine = new TestEngine();
  const peer = attach(new Stream({ engine }));
  const stream = peer.stream;
  stream.maxWriteBuffer = 10;
  stream.writePacked(1, 2, { format: "!II" });
  throws(() => stream.writePacked(3, 4, { format: "!II" }), StreamBufferOverflow);
  throws(() => stream.writePacked(new Uint8Array(9), { format: "!B$" }), StreamBufferOverflow);
  strictEqual(stream.writeQueueSize, 8);
});

Deno.test("Stream.writePacked takes a Struct or NetStruct object as its format", async () => {
  await using engine = new TestEngine();
  const peer = attach(new Stream({ engine }));
  peer.stream.writePacked(258, { format: new Struct("!H") });
  peer.stream.writePacked(new TextEncoder().encode("hi"), { format: new NetStruct("!B$") });
  deepStrictEqual([...await peer.receivedBytes()], [1, 2, 2, 104, 105]);
});

Deno.test("Stream rejects write-queue limits that cannot work at assignment", () => {
  const stream = new Stream({ engine: new TestEngine() });
  throws(() => (stream.maxWriteBuffer = NaN), RangeError);
  throws(() => (stream.maxWriteBuffer = 0), RangeError);
  throws(() => (stream.writeBufferSize = -1), RangeError);
  throws(() => (stream.writeOverflow = "drop" as "close"), TypeError);
  stream.maxWriteBuffer = Infinity;
  stream.writeBufferSize = 0;
});

Deno.test("Datagram caps bufferSize at 16 MiB: its receive buffer is allocated at that size", () => {
  const channel = new Datagram({ engine: new TestEngine() });
  throws(() => (channel.bufferSize = 32 * 1024 * 1024), /up to 16777216/);
  channel.bufferSize = 16 * 1024 * 1024;
});

Deno.test("Datagram.write throws an overflow DatagramError beyond maxWriteBuffer and queues nothing", async () => {
  await withEngine(async (engine) => {
    const channel = new Datagram({ engine }).connect(["127.0.0.1", 9]);
    await until(() => channel.open || channel.closed, "the channel to bind");
    channel.maxWriteBuffer = 4096;
    const datagram = new Uint8Array(1000);
    let thrown: unknown = null;
    let queued = 0;
    for (let i = 0; i < 10 && thrown === null; i++) {
      try {
        channel.write(datagram);
        queued++;
      } catch (error) {
        thrown = error;
      }
    }
    ok(thrown instanceof DatagramError, String(thrown));
    strictEqual(thrown.reason, "overflow");
    ok(channel.writeQueueSize <= 4096);
    ok(queued >= 4 && queued <= 5, `${queued} queued`);
  });
});

Deno.test("Deframer gives a grown receive buffer back as soon as it holds little again", () => {
  const core = new ReferenceFramingCore();
  const deframer = new Deframer(new Host(), "stream", core);
  deframer.readDelimiter = "\n";
  deframer.bufferSize = 1 << 20;
  deframer.push(new Uint8Array(1024).fill(0x61));
  const small = core.liveBytes;
  for (let i = 0; i < 64; i++) deframer.push(new Uint8Array(1024).fill(0x61)); // one 65 KiB line
  ok(core.liveBytes > 64 * 1024, "the region grew for the long line");
  deframer.push(new TextEncoder().encode("\nnext"));
  strictEqual(core.liveBytes, small, "and shrank once the line was delivered");
  deframer.close();
});
