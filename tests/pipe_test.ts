/**
 * `Stream.pipe()`: forwarding, back-pressure, half-close and close
 * propagation, and framing, against Python peers on 127.0.0.1 (the
 * in-memory harness for the API's own rules).
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { ChannelClosedError, type Engine, Server, Stream, Struct } from "../mod.ts";
import { attach, TestEngine } from "../testing.ts";
import { listening, until, withEngine } from "./_helpers.ts";
import { PY_ACCEPT_ONCE, PY_READ_TO_EOF_THEN_REPLY, Subprocess } from "./_subprocess.ts";

/**
 * A Python process with two one-connection peers: `writer` (the source's
 * peer) and `reader` (the target's peer), each a thread running its code
 * with `conn`, sharing the dict `out`, printed as JSON at the end. `main`
 * runs meanwhile on the main thread (`accepted` is set once the writer's
 * connection is accepted).
 */
async function twoPeers(
  writer: string,
  reader: string,
  main = "",
): Promise<{ peer: Subprocess; writerPort: number; readerPort: number }> {
  const indent = (code: string) => code.trim().split("\n").map((line) => `    ${line}`).join("\n");
  const peer = new Subprocess("python3", [
    "-c",
    `import hashlib, json, socket, threading, time
def listen():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    s.settimeout(10)
    return s
ws, rs = listen(), listen()
print("PORTS", ws.getsockname()[1], rs.getsockname()[1], flush=True)
out = {}
progress = [0]
accepted = threading.Event()
def writer():
    conn, _ = ws.accept()
    accepted.set()
    conn.settimeout(20)
${indent(writer)}
def reader():
    conn, _ = rs.accept()
    conn.settimeout(20)
${indent(reader)}
threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
for t in threads: t.start()
${main.trim()}
for t in threads: t.join()
print("RESULT", json.dumps(out), flush=True)
`,
  ]);
  const match = await peer.waitForMatch(/PORTS (\d+) (\d+)\n/);
  return { peer, writerPort: Number(match[1]), readerPort: Number(match[2]) };
}

// deno-lint-ignore no-explicit-any
async function result(peer: Subprocess, timeoutMs = 20_000): Promise<Record<string, any>> {
  const match = await peer.waitForMatch(/RESULT (.*)\n/, timeoutMs);
  strictEqual((await peer.status()).success, true, peer.stderr);
  return JSON.parse(match[1]!);
}

/** A one-connection Python server running `code` with `conn`; `out` is printed as JSON. */
async function onePeer(code: string): Promise<{ peer: Subprocess; port: number }> {
  const peer = new Subprocess("python3", [
    "-c",
    PY_ACCEPT_ONCE + `import json
conn.settimeout(10)
out = {}
${code.trim()}
print("RESULT", json.dumps(out), flush=True)
`,
  ]);
  const match = await peer.waitForMatch(/PORT (\d+)\n/);
  return { peer, port: Number(match[1]) };
}

/** Python: read to EOF, then store what came in `out[key]` (latin-1). */
const READ_TO_EOF = (key: string) => `
got = b""
while True:
    data = conn.recv(65536)
    if not data: break
    got += data
out["${key}"] = got.decode("latin-1")
conn.close()
`;

Deno.test("Stream pipe stops reading the source while the target is over highWaterMark", async () => {
  // The reader stalls for 1.5 s: the writer's progress must freeze meanwhile
  // (nobody reads its socket); then every byte arrives, in order.
  const total = 64 * 1024 * 1024;
  const { peer, writerPort, readerPort } = await twoPeers(
    `
block = bytes(range(256)) * 256
h = hashlib.sha256()
sent = 0
while sent < ${total}:
    chunk = block[:] if sent % 131072 else (sent // 65536).to_bytes(8, "big") + block[8:]
    conn.sendall(chunk)
    h.update(chunk)
    sent += len(chunk)
    progress[0] = sent
out["sent"] = h.hexdigest()
conn.shutdown(socket.SHUT_WR)
conn.recv(1)
conn.close()
`,
    `
time.sleep(1.5)
h = hashlib.sha256()
total = 0
while True:
    data = conn.recv(65536)
    if not data: break
    h.update(data)
    total += len(data)
out["read"] = h.hexdigest()
out["total"] = total
conn.close()
`,
    `
accepted.wait(10)
time.sleep(1.0)
before = progress[0]
time.sleep(0.4)
out["stalled"] = [before, progress[0]]
`,
  );
  let largestQueue = 0;
  await withEngine(async (engine) => {
    const source = new Stream({ engine }).connect(["127.0.0.1", writerPort]);
    const target = new Stream({ engine }).connect(["127.0.0.1", readerPort]);
    source.pipe(target, { highWaterMark: 256 * 1024 });
    await until(
      () => {
        largestQueue = Math.max(largestQueue, target.writeQueueSize);
        return source.closed && target.closed;
      },
      "both streams to close",
      30_000,
    );
  });
  const out = await result(peer);
  const [before, after] = out.stalled as [number, number];
  ok(before < total && before === after, `writer progress during the stall: ${before} -> ${after}`);
  ok(largestQueue <= 256 * 1024 + 64 * 1024, `largest target queue: ${largestQueue} bytes`);
  strictEqual(out.total, total);
  strictEqual(out.read, out.sent);
});

/** A Pants proxy: each accepted client piped to a new upstream stream and back. */
async function withProxy(
  upstreamPort: number,
  body: (port: number, closed: () => number, streams: Stream[]) => Promise<void>,
): Promise<void> {
  let closed = 0;
  const streams: Stream[] = [];
  await withEngine(async (engine: Engine) => {
    class Upstream extends Stream {
      override onClose(): void {
        closed++;
      }
    }
    class Client extends Stream {
      override onConnect(): void {
        const upstream = new Upstream({ engine }).connect(["127.0.0.1", upstreamPort]);
        streams.push(this, upstream);
        this.pipe(upstream);
        upstream.pipe(this);
      }
      override onClose(): void {
        closed++;
      }
    }
    const server = new Server({ ConnectionClass: Client, engine }).listen(["127.0.0.1", 0]);
    const port = (await listening(server) as Deno.NetAddr).port;
    await body(port, () => closed, streams);
  });
}

/** Runs a Python client of the proxy; `out` is printed as JSON. */
function pythonClient(port: number, code: string): Subprocess {
  return new Subprocess("python3", [
    "-c",
    `import json, socket, time
conn = socket.create_connection(("127.0.0.1", ${port}))
conn.settimeout(10)
out = {}
${code.trim()}
print("RESULT", json.dumps(out), flush=True)
`,
  ]);
}

/**
 * Python, both peers of the proxy: a thread sends `total` bytes (numbered
 * 64 KiB blocks, marked with `side`) and half-closes, while the main thread
 * reads to EOF, napping after each read; hashes and counts go to `out`.
 */
const DUPLEX = (side: number, total: number) => `
import hashlib, threading
def send():
    block = bytearray(bytes(range(256)) * 256)
    block[8] = ${side}
    h = hashlib.sha256()
    for i in range(${total / 65536}):
        block[0:8] = i.to_bytes(8, "big")
        conn.sendall(block)
        h.update(block)
    out["sent"] = h.hexdigest()
    conn.shutdown(socket.SHUT_WR)
sender = threading.Thread(target=send)
sender.start()
h = hashlib.sha256()
total = 0
while True:
    data = conn.recv(65536)
    if not data: break
    h.update(data)
    total += len(data)
    time.sleep(0.001)
sender.join()
out["read"] = h.hexdigest()
out["total"] = total
conn.close()
`;

Deno.test("Stream pipe both ways keeps both queues under the mark with slow readers at both ends", async () => {
  const total = 32 * 1024 * 1024;
  const upstream = await onePeer(DUPLEX(1, total));
  let largestQueue = 0;
  await withProxy(upstream.port, async (port, closed, streams) => {
    const client = pythonClient(port, DUPLEX(2, total));
    await until(
      () => {
        for (const stream of streams) largestQueue = Math.max(largestQueue, stream.writeQueueSize);
        return closed() === 2;
      },
      "both proxy streams to close",
      40_000,
    );
    const [fromClient, fromUpstream] = [await result(client), await result(upstream.peer)];
    deepStrictEqual([fromClient.total, fromUpstream.total], [total, total]);
    strictEqual(fromUpstream.read, fromClient.sent);
    strictEqual(fromClient.read, fromUpstream.sent);
  });
  ok(largestQueue <= 128 * 1024, `largest queue: ${largestQueue} bytes`);
});

Deno.test("Stream pipe both ways carries the client's half-close upstream and the reply back", async () => {
  const upstream = await onePeer(PY_READ_TO_EOF_THEN_REPLY);
  await withProxy(upstream.port, async (port, closed) => {
    const client = pythonClient(
      port,
      `
conn.sendall(b"x" * 300000)
conn.shutdown(socket.SHUT_WR)
${READ_TO_EOF("reply").trim()}
`,
    );
    deepStrictEqual(await result(client), { reply: "got 300000\n" });
    await until(() => closed() === 2, "both proxy streams to close");
  });
  await upstream.peer.stop();
});

Deno.test("Stream pipe both ways carries the upstream's half-close to the client, which still answers", async () => {
  const upstream = await onePeer(
    `
conn.sendall(b"banner\\n")
conn.shutdown(socket.SHUT_WR)
${READ_TO_EOF("answer").trim()}
`,
  );
  await withProxy(upstream.port, async (port, closed) => {
    const client = pythonClient(
      port,
      `
${READ_TO_EOF("banner").trim().replace("conn.close()", "")}
conn.sendall(b"answer after EOF")
conn.shutdown(socket.SHUT_WR)
out["eof"] = conn.recv(1) == b""
conn.close()
`,
    );
    deepStrictEqual(await result(client), { banner: "banner\n", eof: true });
    deepStrictEqual(await result(upstream.peer), { answer: "answer after EOF" });
    await until(() => closed() === 2, "both proxy streams to close");
  });
});

Deno.test("Stream pipe closes the other stream after its queued writes when one side is reset", async () => {
  const upstream = await onePeer(
    `
conn.sendall(b"hello\\n")
time.sleep(0.3)
conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, (1).to_bytes(4, "little") + (0).to_bytes(4, "little"))
conn.close()
`,
  );
  await withProxy(upstream.port, async (port, closed) => {
    const client = pythonClient(
      port,
      `
got = b""
try:
    while True:
        data = conn.recv(65536)
        if not data: break
        got += data
    out["end"] = "eof"
except ConnectionResetError:
    out["end"] = "reset"
out["got"] = got.decode()
`,
    );
    deepStrictEqual(await result(client), { got: "hello\n", end: "eof" });
    await until(() => closed() === 2, "both proxy streams to close");
  });
  await upstream.peer.stop();
});

Deno.test("Stream pipe with a string readDelimiter forwards whole frames with their delimiter", async () => {
  const { peer, writerPort, readerPort } = await twoPeers(
    `
for part in [b"one\\ntw", b"o\\nthr", b"ee\\npartial"]:
    conn.sendall(part)
    time.sleep(0.05)
conn.close()
`,
    READ_TO_EOF("forwarded"),
  );
  const reads: unknown[] = [];
  await withEngine(async (engine) => {
    class Source extends Stream {
      override onRead(data: Uint8Array): void {
        reads.push(data);
      }
    }
    const source = new Source({ engine }).connect(["127.0.0.1", writerPort]);
    source.readDelimiter = "\n";
    const target = new Stream({ engine }).connect(["127.0.0.1", readerPort]);
    source.pipe(target);
    await until(() => source.closed && target.closed, "both streams to close", 10_000);
  });
  deepStrictEqual(await result(peer), { forwarded: "one\ntwo\nthree\n" });
  deepStrictEqual(reads, []);
});

Deno.test("Stream pipe into itself echoes, and closes after the peer's half-close", async () => {
  let closed = false;
  await withEngine(async (engine) => {
    class Echo extends Stream {
      override onConnect(): void {
        this.pipe(this);
      }
      override onClose(): void {
        closed = true;
      }
    }
    const server = new Server({ ConnectionClass: Echo, engine }).listen(["127.0.0.1", 0]);
    const port = (await listening(server) as Deno.NetAddr).port;
    const client = pythonClient(
      port,
      `
payload = bytes(range(256)) * 4096
conn.sendall(payload)
conn.shutdown(socket.SHUT_WR)
${READ_TO_EOF("echo").trim()}
out["echo"] = out["echo"].encode("latin-1") == payload
`,
    );
    deepStrictEqual(await result(client), { echo: true });
    await until(() => closed, "the echo stream to close");
  });
});

Deno.test("Stream pipe unpipe hands later frames to onRead again", async () => {
  const engine = new TestEngine();
  const reads: string[] = [];
  class Source extends Stream {
    override onRead(data: Uint8Array): void {
      reads.push(new TextDecoder().decode(data));
    }
  }
  const source = attach(new Source({ engine }));
  const target = attach(new Stream({ engine }));
  const pipe = source.stream.pipe(target.stream);
  await source.send("forwarded");
  strictEqual(await target.received(), "forwarded");
  strictEqual(pipe.active, true);
  pipe.unpipe();
  strictEqual(pipe.active, false);
  await source.send("kept");
  deepStrictEqual(reads, ["kept"]);
  strictEqual(await target.received(), "");
  await source.close();
  await target.close();
});

Deno.test("Stream pipe leaves RegExp match results and Struct records to onRead", async () => {
  const engine = new TestEngine();
  const reads: unknown[] = [];
  class Source extends Stream {
    override onRead(...values: unknown[]): void {
      reads.push(values.length === 1 && Array.isArray(values[0]) ? values[0][0] : values);
    }
  }
  const source = attach(new Source({ engine }));
  const target = attach(new Stream({ engine }));
  source.stream.pipe(target.stream);
  source.stream.readDelimiter = /\d+;/;
  source.stream.regexSearch = false;
  await source.send("12;34;");
  source.stream.readDelimiter = new Struct("!H");
  await source.send(new Uint8Array([0, 7]));
  deepStrictEqual(reads, ["12;", "34;", [7]]);
  strictEqual(await target.received(), "");
  await source.close();
  await target.close();
});

Deno.test("Stream pipe with end: false leaves the source's end of input to onEnd", async () => {
  const engine = new TestEngine();
  const events: string[] = [];
  class Source extends Stream {
    override onEnd(): void {
      events.push("end");
    }
  }
  const source = attach(new Source({ engine }));
  const target = attach(new Stream({ engine }));
  source.stream.pipe(target.stream, { end: false });
  await source.send("data");
  await source.end();
  deepStrictEqual(events, ["end"]);
  strictEqual(await target.received(), "data");
  strictEqual(target.ended, false);
  await source.close();
  await target.close();
});

Deno.test("Stream pipe throws for a second pipe, a closed or idle stream, or a bad highWaterMark", async () => {
  const engine = new TestEngine();
  const a = attach(new Stream({ engine }));
  const b = attach(new Stream({ engine }));
  const c = attach(new Stream({ engine }));
  throws(() => a.stream.pipe(b.stream, { highWaterMark: -1 }), RangeError);
  throws(() => a.stream.pipe(new Stream({ engine })), /not connected/);
  a.stream.pipe(b.stream);
  throws(() => a.stream.pipe(c.stream), /source is piped already/);
  throws(() => c.stream.pipe(b.stream), /pipes into the target already/);
  await c.close();
  throws(() => b.stream.pipe(c.stream), ChannelClosedError);
  await a.close();
  await b.close();
});
