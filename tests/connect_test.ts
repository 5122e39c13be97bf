/**
 * `Stream.connect()` options against real Python peers on 127.0.0.1:
 * `connectTimeout` and `signal` on a connect that hangs (a listener whose
 * accept queue is full), writes made before the connection is up, and
 * `stream.ready`.
 *
 * @module
 */

import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import {
  ChannelClosedError,
  type ConnectOptions,
  ConnectTimeoutError,
  Stream,
  StreamBufferOverflow,
  StreamConnectError,
} from "../mod.ts";
import { until, withEngine } from "./_helpers.ts";
import { freePort, PY_ACCEPT_ONCE, Subprocess } from "./_subprocess.ts";

/**
 * A Python listener with backlog 0 that never accepts, its queue filled by
 * raw connections of its own: a further connect hangs in SYN-SENT.
 */
async function hangingListener(): Promise<{ port: number; peer: Subprocess }> {
  const peer = new Subprocess("python3", [
    "-c",
    `
import socket, sys, time
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(0)
port = server.getsockname()[1]
fillers = []
for _ in range(8):
    c = socket.socket()
    c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    fillers.append(c)
time.sleep(0.2)
print("PORT", port, flush=True)
time.sleep(30)
`,
  ]);
  const match = await peer.waitForMatch(/PORT (\d+)\n/);
  return { port: Number(match[1]), peer };
}

/** A Python server that accepts once, reads to EOF and prints what it got. */
async function recordingServer(): Promise<{ port: number; peer: Subprocess }> {
  const peer = new Subprocess("python3", [
    "-c",
    PY_ACCEPT_ONCE + `
conn.settimeout(10)
data = b""
while True:
    chunk = conn.recv(65536)
    if not chunk: break
    data += chunk
print("GOT", data.decode(), "END", flush=True)
`,
  ]);
  const match = await peer.waitForMatch(/PORT (\d+)\n/);
  return { port: Number(match[1]), peer };
}

/** Our own TCP sockets to `port` (from `ss`), or `null` without `ss`. */
async function ownSocketsTo(port: number): Promise<number | null> {
  try {
    const out = await new Deno.Command("ss", { args: ["-tanp", `dport = :${port}`] }).output();
    const lines = new TextDecoder().decode(out.stdout).split("\n");
    return lines.filter((line) => line.includes(`pid=${Deno.pid},`)).length;
  } catch {
    return null;
  }
}

class Recorder extends Stream {
  events: string[] = [];
  error: StreamConnectError | null = null;
  override onConnect(): void {
    this.events.push("connect");
  }
  override onConnectError(error: StreamConnectError): void {
    this.events.push("connectError");
    this.error = error;
  }
  override onClose(): void {
    this.events.push("close");
  }
}

async function hangingConnect(
  options: ConnectOptions,
  connecting = (): void => {},
): Promise<{ error: StreamConnectError; elapsed: number }> {
  const { port, peer } = await hangingListener();
  let result: { error: StreamConnectError; elapsed: number } | null = null;
  try {
    await withEngine(async (engine) => {
      const stream = new Recorder({ engine });
      const started = Date.now();
      stream.connect(["127.0.0.1", port], options);
      connecting();
      stream.write("lost");
      await until(() => stream.events.includes("close"), "onClose", 5000);
      const elapsed = Date.now() - started;
      strictEqual(await ownSocketsTo(port) ?? 0, 0, "no socket of ours to the port is left");
      deepStrictEqual(stream.events, ["connectError", "close"]);
      await rejects(stream.ready, (error) => error === stream.error);
      result = { error: stream.error!, elapsed };
    });
  } finally {
    await peer.stop();
  }
  return result!;
}

Deno.test("Stream.connect with connectTimeout ends a hanging connect in onConnectError with ConnectTimeoutError", async () => {
  const { error, elapsed } = await hangingConnect({ connectTimeout: 200 });
  ok(error instanceof ConnectTimeoutError, String(error));
  ok(error instanceof StreamConnectError);
  strictEqual(error.timeout, 200);
  ok(/not connected within 200 ms \(connectTimeout\)/.test(error.message), error.message);
  ok(/4 bytes written before the connect were dropped/.test(error.message), error.message);
  ok(elapsed >= 190 && elapsed < 3000, `took ${elapsed} ms`);
});

Deno.test("Stream.connect with an AbortSignal cancels a hanging connect with an abort error", async () => {
  const controller = new AbortController();
  const { error, elapsed } = await hangingConnect(
    { signal: controller.signal, connectTimeout: 10_000 },
    () => setTimeout(() => controller.abort(), 150),
  );
  ok(!(error instanceof ConnectTimeoutError), String(error));
  ok(error instanceof StreamConnectError);
  ok(/aborted by the caller's signal/.test(error.message), error.message);
  strictEqual((error.cause as Error).name, "AbortError");
  ok(elapsed >= 140 && elapsed < 3000, `took ${elapsed} ms`);
});

Deno.test("Stream.connect with an already aborted signal fails without connecting", async () => {
  await withEngine(async (engine) => {
    const stream = new Recorder({ engine });
    const reason = new Error("gave up");
    stream.connect(["127.0.0.1", freePort()], { signal: AbortSignal.abort(reason) });
    await until(() => stream.events.includes("close"), "onClose", 5000);
    deepStrictEqual(stream.events, ["connectError", "close"]);
    strictEqual(stream.error!.cause, reason);
  });
});

Deno.test("Stream.connect rejects an invalid connectTimeout before connecting", () => {
  throws(() => new Stream().connect(4040, { connectTimeout: -1 }), RangeError);
  throws(() => new Stream().connect(4040, { connectTimeout: NaN }), RangeError);
});

Deno.test("Stream.write before connect sends the queued writes in order once connected", async () => {
  const { port, peer } = await recordingServer();
  try {
    await withEngine(async (engine) => {
      class Client extends Recorder {
        override onConnect(): void {
          super.onConnect();
          this.write("three,");
          this.close();
        }
      }
      const stream = new Client({ engine }).connect(["127.0.0.1", port], { connectTimeout: 5000 });
      ok(stream.write("one,"));
      stream.write(new TextEncoder().encode("two,"), { flush: true });
      stream.flush();
      strictEqual(stream.writeQueueSize, 8);
      await peer.waitFor("END", 5000);
      strictEqual(/GOT (.*) END/.exec(peer.stdout)![1], "one,two,three,");
      deepStrictEqual(stream.events, ["connect", "close"]);
    });
  } finally {
    await peer.stop();
  }
});

Deno.test("Stream.write before connect is bounded by maxWriteBuffer", () => {
  const stream = new Stream().connect(["127.0.0.1", 1]);
  stream.maxWriteBuffer = 10;
  stream.write("12345678");
  throws(() => stream.write("12345"), StreamBufferOverflow);
  strictEqual(stream.writeQueueSize, 8);
  stream.close();
  throws(() => new Stream().write("x"), ChannelClosedError);
});

Deno.test("Stream.write before a refused connect drops the writes and says how many bytes", async () => {
  await withEngine(async (engine) => {
    const stream = new Recorder({ engine }).connect(["127.0.0.1", freePort()]);
    stream.write("hello");
    stream.write("!");
    await until(() => stream.events.includes("close"), "onClose", 5000);
    ok(
      /connection refused; 6 bytes written before the connect were dropped/.test(
        stream.error!.message,
      ),
      stream.error!.message,
    );
  });
});

Deno.test("Stream.ready resolves at onConnect of a Python server", async () => {
  const { port, peer } = await recordingServer();
  try {
    await withEngine(async (engine) => {
      const stream = new Recorder({ engine }).connect(["127.0.0.1", port]);
      await stream.ready;
      deepStrictEqual(stream.events, ["connect"]);
      stream.write("ready");
      stream.close();
      await peer.waitFor("END", 5000);
      strictEqual(/GOT (.*) END/.exec(peer.stdout)![1], "ready");
    });
  } finally {
    await peer.stop();
  }
});

// Each case has an engine of its own: an engine with no channel left stops.
Deno.test("Stream.ready rejects with the connect error, after onConnectError", async () => {
  await withEngine(async (engine) => {
    const refused = new Recorder({ engine }).connect(["127.0.0.1", freePort()]);
    await rejects(refused.ready, (error) => error === refused.error);
    deepStrictEqual(refused.events, ["connectError"]);
  });
});

Deno.test("Stream.ready that nobody awaits reports no unhandled rejection", async () => {
  await withEngine(async (engine) => {
    const ignored = new Recorder({ engine }).connect(["127.0.0.1", freePort()]);
    await until(() => ignored.events.includes("close"), "onClose", 5000);
  });
});

Deno.test("Stream.ready rejects with ChannelClosedError when closed before connecting", async () => {
  await withEngine(async (engine) => {
    const closed = new Recorder({ engine }).connect(["127.0.0.1", freePort()]);
    closed.close();
    await rejects(closed.ready, ChannelClosedError);
    strictEqual(closed.error, null);
  });
});
