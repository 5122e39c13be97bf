/**
 * `Stream.end()` (half-close) and `writeLowWaterMark`, against Python peers
 * on 127.0.0.1.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { ChannelClosedError, Stream } from "../mod.ts";
import { until, withEngine } from "./_helpers.ts";
import { PY_ACCEPT_ONCE, Subprocess } from "./_subprocess.ts";

/** A Python server that reads to EOF, then replies with the byte count and closes. */
async function readsToEofThenReplies(): Promise<{ port: number; peer: Subprocess }> {
  const peer = new Subprocess("python3", [
    "-c",
    PY_ACCEPT_ONCE + `
conn.settimeout(10)
total = 0
while True:
    data = conn.recv(65536)
    if not data: break
    total += len(data)
conn.sendall(f"got {total}\\n".encode())
conn.close()
`,
  ]);
  const match = await peer.waitForMatch(/PORT (\d+)\n/);
  return { port: Number(match[1]), peer };
}

Deno.test("Stream end sends queued writes, then a FIN, and still reads the peer's reply", async () => {
  const { port, peer } = await readsToEofThenReplies();
  const events: string[] = [];
  class Upload extends Stream {
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
    new Upload({ engine }).connect(["127.0.0.1", port]);
    await until(() => events.includes("close"), "onClose", 10_000);
  });
  deepStrictEqual(events, ["got 300004", "end", "close"]);
  strictEqual((await peer.status()).success, true);
});

Deno.test("Stream end before the connect completes sends the FIN after the writes held for it", async () => {
  const { port, peer } = await readsToEofThenReplies();
  const replies: string[] = [];
  class Early extends Stream {
    override onRead(line: string): void {
      replies.push(line);
    }
  }
  await withEngine(async (engine) => {
    const client = new Early({ engine }).connect(["127.0.0.1", port]);
    client.readDelimiter = "\n";
    client.encoding = "utf-8";
    client.write("early");
    client.end();
    await until(() => client.closed, "the client to close", 10_000);
  });
  deepStrictEqual(replies, ["got 5"]);
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
