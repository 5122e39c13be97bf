/**
 * `Stream.end()` (half-close, over TCP and TLS) and `writeLowWaterMark`,
 * against Python peers on 127.0.0.1.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { ChannelClosedError, type Engine, Server, Stream } from "../mod.ts";
import { testCerts } from "./_certs.ts";
import { listening, until, withEngine } from "./_helpers.ts";
import { PY_ACCEPT_ONCE, PY_READ_TO_EOF_THEN_REPLY, python, Subprocess } from "./_subprocess.ts";

/** A Python server that reads to EOF, then replies with the byte count and closes. */
async function readsToEofThenReplies(): Promise<{ port: number; peer: Subprocess }> {
  const peer = new Subprocess("python3", [
    "-c",
    PY_ACCEPT_ONCE + "conn.settimeout(10)\n" + PY_READ_TO_EOF_THEN_REPLY,
  ]);
  const match = await peer.waitForMatch(/PORT (\d+)\n/);
  return { port: Number(match[1]), peer };
}

/**
 * Sends 300,004 bytes, then `end()` (twice: the second does nothing), and
 * records the peer's reply lines, `end` and `close` in `events`.
 */
class Upload extends Stream {
  constructor(readonly events: string[], engine: Engine) {
    super({ engine });
  }
  override onConnect(): void {
    this.readDelimiter = "\n";
    this.encoding = "utf-8";
    this.write("x".repeat(300_000));
    this.write("tail");
    this.end();
    this.end(); // a second call does nothing
    throws(() => this.write("late"), ChannelClosedError);
  }
  override onRead(line: string): void {
    this.events.push(line);
  }
  override onEnd(): void {
    this.events.push("end");
    super.onEnd();
  }
  override onClose(): void {
    this.events.push("close");
  }
}

Deno.test("Stream end before the connection is up sends the FIN after the writes queued before it", async () => {
  const { port, peer } = await readsToEofThenReplies();
  const replies: string[] = [];
  class Early extends Stream {
    override onRead(line: string): void {
      replies.push(line);
    }
  }
  await withEngine(async (engine) => {
    const client = new Early({ engine });
    client.readDelimiter = "\n";
    client.encoding = "utf-8";
    client.connect(["127.0.0.1", port]);
    client.write("12345");
    client.end();
    throws(() => client.write("late"), ChannelClosedError);
    strictEqual(client.connecting, true);
    await until(() => client.closed, "the stream to close after the reply", 10_000);
  });
  deepStrictEqual(replies, ["got 5"]);
  await peer.stop();
});

Deno.test("Stream end sends queued writes, then a FIN, and still reads the peer's reply", async () => {
  const { port, peer } = await readsToEofThenReplies();
  const events: string[] = [];
  await withEngine(async (engine) => {
    new Upload(events, engine).connect(["127.0.0.1", port]);
    await until(() => events.includes("close"), "onClose", 10_000);
  });
  deepStrictEqual(events, ["got 300004", "end", "close"]);
  strictEqual((await peer.status()).success, true);
});

Deno.test("Stream end throws ChannelClosedError before connect", () => {
  throws(() => new Stream().end(), ChannelClosedError);
});

/**
 * Writes 8 MiB to a Python reader that waits, then reads slowly; returns the
 * queue size seen at each `onWrite()`.
 */
async function drainEvents(lowWaterMark: number): Promise<number[]> {
  const peer = new Subprocess("python3", [
    "-c",
    PY_ACCEPT_ONCE + `
conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
time.sleep(0.2)
while True:
    data = conn.recv(65536)
    if not data: break
    time.sleep(0.001)
`,
  ]);
  const port = Number((await peer.waitForMatch(/PORT (\d+)\n/))[1]);
  const seen: number[] = [];
  class Producer extends Stream {
    override onConnect(): void {
      this.writeLowWaterMark = lowWaterMark;
      this.writeBufferSize = 1024 * 1024;
      this.write(new Uint8Array(8 * 1024 * 1024));
    }
    override onWrite(): void {
      seen.push(this.writeQueueSize);
      if (this.writeQueueSize === 0) this.close();
    }
  }
  await withEngine(async (engine) => {
    const producer = new Producer({ engine }).connect(["127.0.0.1", port]);
    await until(() => producer.closed, "the producer to finish", 20_000);
  });
  await peer.stop();
  return seen;
}

Deno.test("Stream writeLowWaterMark fires onWrite when the queue falls to it, then when empty", async () => {
  const mark = 2 * 1024 * 1024;
  const seen = await drainEvents(mark);
  ok(seen.length >= 2, `onWrite calls: ${seen}`);
  ok(seen[0]! > 0 && seen[0]! <= mark, `first onWrite at ${seen[0]} bytes queued`);
  strictEqual(seen.at(-1), 0);
});

Deno.test("Stream writeLowWaterMark 0 fires onWrite only when the queue is empty", async () => {
  deepStrictEqual(await drainEvents(0), [0]);
});

Deno.test("Stream writeLowWaterMark throws a RangeError at assignment for a bad value", () => {
  const stream = new Stream();
  throws(() => stream.writeLowWaterMark = -1, RangeError);
  throws(() => stream.writeLowWaterMark = Infinity, RangeError);
  stream.writeLowWaterMark = 1024;
  strictEqual(stream.writeLowWaterMark, 1024);
});

Deno.test("Stream end over TLS sends queued writes, close_notify and a FIN, and still reads the peer's reply", async () => {
  const { trusted } = await testCerts();
  const peer = new Subprocess("python3", [
    "-c",
    PY_ACCEPT_ONCE + `
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
conn.settimeout(10)
# A FIN without close_notify would raise SSLEOFError here, not read as the end.
s = context.wrap_socket(conn, server_side=True, suppress_ragged_eofs=False)
total = 0
while True:
    data = s.recv(65536)
    if not data: break
    total += len(data)
s.sendall(f"got {total}\\n".encode())
s.close()
`,
    trusted.certPath,
    trusted.keyPath,
  ]);
  const port = Number((await peer.waitForMatch(/PORT (\d+)\n/))[1]);
  const events: string[] = [];
  await withEngine(async (engine) => {
    new Upload(events, engine).startSSL({ hostname: "localhost", caCerts: [trusted.cert] })
      .connect(["127.0.0.1", port]);
    await until(() => events.includes("close"), "onClose", 10_000);
  });
  deepStrictEqual(events, ["got 300004", "end", "close"]);
  strictEqual((await peer.status()).success, true, peer.stderr);
});

Deno.test("Stream end on an accepted TLS stream lets a Python client read to EOF and still reply", async () => {
  const { trusted } = await testCerts();
  const events: string[] = [];
  class Greeter extends Stream {
    override onConnect(): void {
      this.readDelimiter = "\n";
      this.encoding = "utf-8";
      this.write("welcome\n");
      this.end();
    }
    override onRead(line: string): void {
      events.push(line);
    }
    override onEnd(): void {
      events.push("end");
      super.onEnd();
    }
    override onClose(): void {
      events.push("close");
    }
  }
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Greeter, engine })
      .startSSL({ cert: trusted.cert, key: trusted.key }).listen(["127.0.0.1", 0]);
    const { port } = (await listening(server)) as Deno.NetAddr;
    const out = await python(
      `
import socket, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[2])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s = context.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
data = b""
while True:
    chunk = s.recv(100)
    if not chunk: break
    data += chunk
s.sendall(b"bye after " + str(len(data)).encode() + b"\\n")
s.close()
print(data.decode(), end="")
`,
      [String(port), trusted.certPath],
    );
    strictEqual(out, "welcome\n");
    await until(() => events.includes("close"), "onClose");
    server.close();
  });
  deepStrictEqual(events, ["bye after 8", "end", "close"]);
});
