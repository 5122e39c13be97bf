/**
 * `connect(address, { reconnect })`: the same stream connects again, with
 * exponential backoff, to a Python server on 127.0.0.1 that is stopped and
 * restarted on the same port; and the `Backoff` policy on its own.
 *
 * @module
 */

import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert/strict";
import {
  ChannelClosedError,
  type Engine,
  type ReconnectOptions,
  Stream,
  StreamBufferOverflow,
  StreamConnectError,
} from "../mod.ts";
import { Backoff } from "../channels/_reconnect.ts";
import { prng, until, withEngine } from "./_helpers.ts";
import { freePort, Subprocess } from "./_subprocess.ts";

/**
 * A line server that greets each connection with `hello <generation>`,
 * then echoes lines; `partial` also sends an unterminated tail. Binds the
 * given port (0: any) with SO_REUSEADDR so a new generation takes it over.
 */
const PY_LINE_SERVER = `import socket, sys, threading
port, generation, partial = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "partial"
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(16)
print("PORT", server.getsockname()[1], flush=True)
def serve(conn):
    conn.sendall(f"hello {generation}\\n".encode() + (b"partial" if partial else b""))
    with conn:
        while True:
            data = conn.recv(65536)
            if not data: break
            conn.sendall(data)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
`;

/** Starts one generation of the line server; resolves with it and its port. */
async function lineServer(
  port: number,
  generation: string,
  partial = false,
): Promise<{ peer: Subprocess; port: number }> {
  const peer = new Subprocess("python3", [
    "-c",
    PY_LINE_SERVER,
    String(port),
    generation,
    partial ? "partial" : "whole",
  ]);
  const match = await peer.waitForMatch(/PORT (\d+)\n/);
  return { peer, port: Number(match[1]) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Wait {
  attempt: number;
  delay: number;
  error: Error | null;
  at: number;
}

/** A line client that records what happens to it. */
class Recorder extends Stream {
  readonly lines: string[] = [];
  readonly waits: Wait[] = [];
  readonly events: string[] = [];
  connects = 0;
  constructor(engine: Engine) {
    super({ engine });
    this.readDelimiter = "\n";
    this.encoding = "utf-8";
  }
  override onConnect(): void {
    this.connects++;
    this.events.push("connect");
  }
  override onRead(line: string): void {
    this.lines.push(line);
  }
  override onReconnecting(attempt: number, delay: number, error: Error | null): void {
    this.waits.push({ attempt, delay, error, at: this.engine.now() });
    this.events.push(`reconnecting ${attempt}`);
  }
  override onConnectError(error: StreamConnectError): void {
    this.events.push(`connect error: ${error.name}`);
  }
  override onClose(): void {
    this.events.push("close");
  }
}

const FAST: ReconnectOptions = {
  initialDelay: 100,
  factor: 2,
  maxDelay: 400,
  jitter: 0,
  resetAfter: 0,
};

Deno.test("Stream with reconnect connects again after each restart of its Python server, waiting as the policy says", async () => {
  let { peer, port } = await lineServer(0, "g1");
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(["127.0.0.1", port], { reconnect: FAST });
      await until(() => client.lines.includes("hello g1"), "the first greeting");
      for (const generation of ["g2", "g3", "g4"]) {
        const waitsBefore = client.waits.length;
        await peer.stop();
        await until(() => client.waits.length >= waitsBefore + 3, "three waits while down", 5000);
        ({ peer } = await lineServer(port, generation));
        await until(() => client.lines.includes(`hello ${generation}`), `hello ${generation}`);
        const downtime = client.waits.slice(waitsBefore);
        // The loss first (no error), then refused attempts, each wait as the policy says.
        strictEqual(downtime[0]!.error, null);
        downtime.forEach((wait, i) => {
          strictEqual(wait.attempt, i + 1);
          strictEqual(wait.delay, Math.min(400, 100 * 2 ** i));
          if (i > 0) {
            ok(wait.error instanceof StreamConnectError, `attempt ${i} failed: ${wait.error}`);
            const waited = wait.at - downtime[i - 1]!.at;
            ok(waited >= downtime[i - 1]!.delay - 1, `waited ${waited} ms, policy ${wait.delay}`);
          }
        });
      }
      strictEqual(client.connects, 4);
      deepStrictEqual(client.lines, ["hello g1", "hello g2", "hello g3", "hello g4"]);
      ok(!client.events.includes("close"), "onClose never ran while reconnecting");
      client.close();
      await until(() => client.events.includes("close"), "onClose");
    });
  } finally {
    await peer.stop();
  }
});

Deno.test("Stream with reconnect retries a refused first connect, and ready resolves at the first connection", async () => {
  const port = freePort();
  let peer: Subprocess | null = null;
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(["127.0.0.1", port], {
        reconnect: { ...FAST, initialDelay: 50 },
      });
      client.write("early\n");
      await until(() => client.waits.length >= 2, "two refused attempts");
      ok(client.waits.every((wait) => wait.error instanceof StreamConnectError));
      peer = (await lineServer(port, "late")).peer;
      await client.ready;
      await until(() => client.lines.length === 2, "greeting and echo");
      deepStrictEqual(client.lines, ["hello late", "early"]);
      strictEqual(client.connects, 1);
    });
  } finally {
    await (peer as Subprocess | null)?.stop();
  }
});

Deno.test("Stream with reconnect sends writes made while disconnected once connected again, in order", async () => {
  let { peer, port } = await lineServer(0, "g1");
  try {
    await withEngine(async (engine) => {
      class Writer extends Recorder {
        override onReconnecting(attempt: number, delay: number, error: Error | null): void {
          super.onReconnecting(attempt, delay, error);
          if (attempt === 1) this.write("one\n");
          if (attempt === 2) this.write("two\n");
        }
        override onConnect(): void {
          super.onConnect();
          if (this.connects === 2) this.write("three\n");
        }
      }
      const client = new Writer(engine).connect(["127.0.0.1", port], { reconnect: FAST });
      await until(() => client.lines.length === 1, "the greeting");
      await peer.stop();
      await until(() => client.waits.length >= 2, "two waits");
      ({ peer } = await lineServer(port, "g2"));
      await until(() => client.lines.length === 5, "greeting and three echoes");
      deepStrictEqual(client.lines, ["hello g1", "hello g2", "one", "two", "three"]);
    });
  } finally {
    await peer.stop();
  }
});

Deno.test("Stream with reconnect refuses writes beyond maxWriteBuffer while disconnected", async () => {
  const port = freePort();
  await withEngine(async (engine) => {
    const client = new Recorder(engine);
    client.maxWriteBuffer = 1024;
    client.connect(["127.0.0.1", port], { reconnect: { initialDelay: 1000 } });
    await until(() => client.waits.length === 1, "the first wait");
    client.write("x".repeat(1000));
    throws(() => client.write("y".repeat(100)), StreamBufferOverflow);
    strictEqual(client.writeQueueSize, 1000);
    client.close();
  });
});

Deno.test("Stream with reconnect keeps its framing settings and drops the lost connection's partial input", async () => {
  let { peer, port } = await lineServer(0, "g1", true);
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(["127.0.0.1", port], { reconnect: FAST });
      await until(() => client.lines.length === 1, "the greeting");
      await peer.stop();
      ({ peer } = await lineServer(port, "g2"));
      await until(() => client.lines.length === 2, "the second greeting");
      deepStrictEqual(client.lines, ["hello g1", "hello g2"]);
      strictEqual(client.readDelimiter, "\n");
    });
  } finally {
    await peer.stop();
  }
});

Deno.test("Stream with reconnect stops for good when closed while waiting", async () => {
  const port = freePort();
  await withEngine(async (engine) => {
    class Quitter extends Recorder {
      override onReconnecting(attempt: number, delay: number, error: Error | null): void {
        super.onReconnecting(attempt, delay, error);
        this.close();
      }
    }
    const client = new Quitter(engine).connect(["127.0.0.1", port], {
      reconnect: { initialDelay: 20 },
    });
    await rejects(client.ready, ChannelClosedError);
    await until(() => client.events.includes("close"), "onClose");
    await sleep(100);
    deepStrictEqual(client.events, ["reconnecting 1", "close"]);
  });
});

Deno.test("Stream with reconnect gives up after maxAttempts: onConnectError, then onClose, and ready rejects", async () => {
  const port = freePort();
  await withEngine(async (engine) => {
    const client = new Recorder(engine).connect(["127.0.0.1", port], {
      reconnect: { initialDelay: 10, maxAttempts: 2 },
    });
    await rejects(client.ready, StreamConnectError);
    await until(() => client.events.includes("close"), "onClose");
    deepStrictEqual(client.events, [
      "reconnecting 1",
      "reconnecting 2",
      "connect error: StreamConnectError",
      "close",
    ]);
  });
});

Deno.test("Stream with reconnect stops for good when its signal aborts during a wait", async () => {
  const port = freePort();
  const cancel = new AbortController();
  await withEngine(async (engine) => {
    const client = new Recorder(engine).connect(["127.0.0.1", port], {
      reconnect: { initialDelay: 60_000 },
      signal: cancel.signal,
    });
    await until(() => client.waits.length === 1, "the first wait");
    cancel.abort();
    await until(() => client.events.includes("close"), "onClose", 2000);
    deepStrictEqual(client.events, [
      "reconnecting 1",
      "connect error: StreamConnectError",
      "close",
    ]);
  });
});

Deno.test("Stream with reconnect connects again after an idle timeout closed the connection", async () => {
  const { peer, port } = await lineServer(0, "g1");
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine);
      client.timeout = 150;
      client.connect(["127.0.0.1", port], { reconnect: FAST });
      await until(() => client.lines.length === 2, "a second connection's greeting", 3000);
      strictEqual(client.connects, 2);
      strictEqual(client.waits[0]!.error, null);
      deepStrictEqual(client.lines.slice(0, 2), ["hello g1", "hello g1"]);
      client.close();
    });
  } finally {
    await peer.stop();
  }
});

Deno.test("Stream with reconnect closes after end() when the peer closes too", async () => {
  const { peer, port } = await lineServer(0, "g1");
  try {
    await withEngine(async (engine) => {
      class Ender extends Recorder {
        override onRead(line: string): void {
          super.onRead(line);
          this.end(); // the Python peer then sees EOF and closes
        }
      }
      const client = new Ender(engine).connect(["127.0.0.1", port], { reconnect: FAST });
      await until(() => client.events.includes("close"), "onClose");
      deepStrictEqual(client.events, ["connect", "close"]);
    });
  } finally {
    await peer.stop();
  }
});

Deno.test("Stream.connect throws for an invalid reconnect policy", () => {
  const bad: unknown[] = [
    { initialDelay: -1 },
    { factor: 0.5 },
    { jitter: 2 },
    { maxDelay: 10, initialDelay: 100 },
    { maxAttempts: 1.5 },
    { resetAfter: NaN },
  ];
  for (const reconnect of bad) {
    throws(
      () => new Stream().connect(4040, { reconnect: reconnect as ReconnectOptions }),
      RangeError,
    );
  }
  throws(() => new Stream().connect(4040, { reconnect: "yes" as unknown as true }), TypeError);
});

Deno.test("Backoff waits initialDelay times factor per attempt, up to maxDelay", () => {
  const backoff = new Backoff({ initialDelay: 1000, factor: 1.6, maxDelay: 5000, jitter: 0 });
  const delays = Array.from({ length: 6 }, () => backoff.next());
  deepStrictEqual(delays, [1000, 1600, 2560, 4096, 5000, 5000]);
});

Deno.test("Backoff spreads each wait by at most jitter, both ways", () => {
  const random = prng(7);
  let low = Infinity, high = 0;
  for (let i = 0; i < 1000; i++) {
    const delay = new Backoff({ initialDelay: 1000, jitter: 0.1 }, random).next();
    low = Math.min(low, delay);
    high = Math.max(high, delay);
  }
  ok(low >= 900 && low < 920, `lowest ${low}`);
  ok(high <= 1100 && high > 1080, `highest ${high}`);
});

Deno.test("Backoff gives up after maxAttempts in a row", () => {
  const backoff = new Backoff({ initialDelay: 10, maxAttempts: 2, jitter: 0 });
  deepStrictEqual([backoff.next(), backoff.next(), backoff.next()], [10, 16, -1]);
});

Deno.test("Backoff resets after a connection that stayed up resetAfter ms, not sooner", () => {
  const backoff = new Backoff({ initialDelay: 100, factor: 2, jitter: 0, resetAfter: 1000 });
  backoff.next();
  backoff.next(); // 100, 200
  backoff.connected(0);
  backoff.lost(999); // too short: counts as a failed attempt
  strictEqual(backoff.next(), 400);
  backoff.connected(2000);
  backoff.lost(3000);
  strictEqual(backoff.attempt, 1);
  strictEqual(backoff.next(), 100);
});

Deno.test("Backoff defaults are near Twisted's: 1 s, factor 1.6, jitter 0.1, 60 s, unlimited", () => {
  const backoff = new Backoff(true);
  deepStrictEqual(
    [backoff.initialDelay, backoff.factor, backoff.jitter, backoff.maxDelay, backoff.maxAttempts],
    [1000, 1.6, 0.1, 60_000, Infinity],
  );
});
