/**
 * `WebSocketChannel.connect("ws://…", { reconnect })` against a real
 * `Deno.serve` + `Deno.upgradeWebSocket` server in a subprocess
 * (tests/fixtures/ws_deno_server.ts), killed and restarted on the same
 * port, refusing upgrades with 503, or closing with 1012.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type Engine,
  type ReconnectOptions,
  StreamBufferOverflow,
  type StreamConnectError,
  WebSocketChannel,
  WebSocketHandshakeError,
  WebSocketServer,
} from "../mod.ts";
import { until, withEngine } from "./_helpers.ts";
import { testCerts } from "./_certs.ts";
import { listening } from "./_ws_frames.ts";
import { freePort, runDeno, type Subprocess } from "./_subprocess.ts";

const FIXTURE = new URL("./fixtures/ws_deno_server.ts", import.meta.url).pathname;

/** Starts one generation of the Deno.serve WebSocket server; resolves once it listens. */
async function denoServer(
  port: number,
  generation: string,
  refuse = 0,
): Promise<{ server: Subprocess; port: number }> {
  const server = runDeno(["--allow-net"], FIXTURE, [String(port), generation, String(refuse)]);
  const match = await server.waitForMatch(/PORT (\d+)\n/, 20_000);
  return { server, port: Number(match[1]) };
}

/** The `UPGRADE` lines a server printed: number, key, path, x-token. */
function upgrades(server: Subprocess): string[][] {
  return [...server.stdout.matchAll(/^UPGRADE (.*)\n/gm)].map((m) => m[1]!.split(" "));
}

const FAST: ReconnectOptions = {
  initialDelay: 100,
  factor: 2,
  maxDelay: 400,
  jitter: 0,
  resetAfter: 0,
};

/** A client that records what happens to it. */
class Recorder extends WebSocketChannel {
  readonly messages: string[] = [];
  readonly waits: { attempt: number; delay: number; error: Error | null }[] = [];
  readonly closes: [number, string][] = [];
  readonly connectErrors: StreamConnectError[] = [];
  connects = 0;
  constructor(engine: Engine) {
    super({ engine });
  }
  override onConnect(): void {
    this.connects++;
  }
  override onRead(message: string): void {
    this.messages.push(message);
  }
  override onReconnecting(attempt: number, delay: number, error: Error | null): void {
    this.waits.push({ attempt, delay, error });
  }
  override onConnectError(error: StreamConnectError): void {
    this.connectErrors.push(error);
  }
  override onClose(code: number, reason: string): void {
    this.closes.push([code, reason]);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("WebSocketChannel with reconnect upgrades again, with a fresh key, after its Deno.serve server restarts on the same port", async () => {
  let { server, port } = await denoServer(0, "g1");
  const first = server;
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(`ws://127.0.0.1:${port}/room`, {
        reconnect: FAST,
        headers: { "x-token": "t0k" },
      });
      await until(() => client.messages.includes("hello g1 1"), "the first greeting");
      await server.stop();
      await until(() => client.waits.length >= 2, "two waits while the server is down", 5000);
      ({ server } = await denoServer(port, "g2"));
      await until(() => client.messages.includes("hello g2 1"), "the greeting after the restart");
      assert.equal(client.connects, 2);
      assert.equal(client.open, true);
      assert.deepEqual(client.closes, []);
      assert.equal(client.waits[0]!.error, null, "the first wait follows a lost connection");
      const [before] = upgrades(first);
      const [after] = upgrades(server);
      assert.deepEqual([before![2], before![3]], ["/room", "t0k"]);
      assert.deepEqual([after![2], after![3]], ["/room", "t0k"], "same path and headers");
      assert.notEqual(after![1], before![1], "a fresh Sec-WebSocket-Key");
      client.write("after the restart");
      await until(() => client.messages.includes("after the restart"), "the echo");
      client.close();
      await until(() => client.closes.length === 1, "onClose");
    });
  } finally {
    await server.stop();
  }
});

Deno.test("messages written while a WebSocket client reconnects leave as frames after the new upgrade, in order", async () => {
  let { server, port } = await denoServer(0, "g1");
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(`ws://127.0.0.1:${port}/`, { reconnect: FAST });
      await until(() => client.messages.includes("hello g1 1"), "the first greeting");
      await server.stop();
      await until(() => client.waits.length >= 1, "a wait while the server is down");
      assert.equal(client.open, false);
      client.write("queued 1");
      client.write("queued 2");
      ({ server } = await denoServer(port, "g2"));
      await until(() => client.messages.includes("queued 2"), "the queued messages' echoes");
      const echoes = client.messages.filter((m) => m.startsWith("queued"));
      assert.deepEqual(echoes, ["queued 1", "queued 2"]);
      assert.equal(upgrades(server).length, 1, "one clean upgrade: nothing was sent before it");
      client.close();
    });
  } finally {
    await server.stop();
  }
});

Deno.test("a 503 refused upgrade is a failed attempt: onReconnecting gets the WebSocketHandshakeError, then the upgrade succeeds", async () => {
  const { server, port } = await denoServer(0, "g1", 2);
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(`ws://127.0.0.1:${port}/`, { reconnect: FAST });
      await until(() => client.messages.includes("hello g1 1"), "the greeting after two refusals");
      assert.equal(client.connects, 1);
      assert.deepEqual(client.connectErrors, []);
      assert.deepEqual(client.waits.map((w) => [w.attempt, w.delay]), [[1, 100], [2, 200]]);
      for (const { error } of client.waits) {
        assert.ok(error instanceof WebSocketHandshakeError);
        assert.equal(error.status, 503);
      }
      assert.equal(server.stdout.match(/REFUSED/g)?.length, 2);
      await client.ready;
      client.close();
    });
  } finally {
    await server.stop();
  }
});

Deno.test("a 1012 close frame from the server is echoed, then the client reconnects without onClose", async () => {
  const { server, port } = await denoServer(0, "g1");
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(`ws://127.0.0.1:${port}/`, { reconnect: FAST });
      await until(() => client.messages.includes("hello g1 1"), "the first greeting");
      client.write("restart please");
      await until(() => client.messages.includes("hello g1 2"), "the second upgrade's greeting");
      assert.equal(client.connects, 2);
      assert.deepEqual(client.closes, []);
      assert.deepEqual(client.waits.map((w) => w.error), [null]);
      await server.waitFor("CLOSED 1012 true");
      client.close(4000, "bye");
      await until(() => client.closes.length === 1, "onClose");
      assert.deepEqual(client.closes, [[4000, "bye"]]);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("the client's own close(code, reason) stops a reconnecting WebSocket for good", async () => {
  const { server, port } = await denoServer(0, "g1");
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(`ws://127.0.0.1:${port}/`, { reconnect: FAST });
      await until(() => client.messages.includes("hello g1 1"), "the greeting");
      client.close(4001, "done");
      await until(() => client.closes.length === 1, "onClose");
      await server.waitFor("CLOSED 4001 true");
      await sleep(300); // past two retry delays
      assert.deepEqual(client.closes, [[4001, "done"]]);
      assert.deepEqual(client.waits, []);
      assert.equal(upgrades(server).length, 1);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("close() during the back-off after a refused upgrade stops reconnecting; onClose once", async () => {
  const { server, port } = await denoServer(0, "g1", 1000);
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(`ws://127.0.0.1:${port}/`, {
        reconnect: { ...FAST, initialDelay: 200 },
      });
      await until(() => client.waits.length === 1, "the first wait");
      client.close();
      await until(() => client.closes.length === 1, "onClose");
      await sleep(500); // past the retry it would have made
      assert.equal(client.waits.length, 1);
      assert.equal(server.stdout.match(/REFUSED/g)?.length, 1);
      assert.deepEqual(client.closes, [[1006, ""]]);
      assert.equal(client.connects, 0);
      await assert.rejects(client.ready);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("a reconnecting WebSocket gives up after maxAttempts refused upgrades: onConnectError gets the last", async () => {
  const { server, port } = await denoServer(0, "g1", 1000);
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(`ws://127.0.0.1:${port}/`, {
        reconnect: { ...FAST, maxAttempts: 2 },
      });
      await until(() => client.closes.length === 1, "onClose", 5000);
      assert.equal(client.waits.length, 2);
      assert.equal(client.connectErrors.length, 1);
      assert.ok(client.connectErrors[0] instanceof WebSocketHandshakeError);
      assert.equal(server.stdout.match(/REFUSED/g)?.length, 3);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("messages held until a WebSocket upgrade are bounded by maxWriteBuffer", async () => {
  const port = freePort();
  await withEngine((engine) => {
    const client = new Recorder(engine);
    client.maxWriteBuffer = 1000;
    client.connect(`ws://127.0.0.1:${port}/`, { reconnect: FAST });
    client.write(new Uint8Array(600));
    assert.throws(() => client.write(new Uint8Array(600)), StreamBufferOverflow);
    client.write(new Uint8Array(400));
    client.close();
  });
});

/** A TCP server on 127.0.0.1 that reads each upgrade request and closes without an answer. */
function hangUpServer(): { port: number; accepted: () => number; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const loop = (async () => {
    for await (const conn of listener) {
      accepted++;
      await conn.read(new Uint8Array(4096)).catch(() => null);
      conn.close();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => accepted,
    close: async () => {
      listener.close();
      await loop.catch(() => {});
    },
  };
}

Deno.test("a server that hangs up before answering the upgrade is a failed upgrade: onConnectError gets a WebSocketHandshakeError", async () => {
  const server = hangUpServer();
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(`ws://127.0.0.1:${server.port}/`);
      const ready = client.ready;
      await until(() => client.closes.length === 1, "onClose");
      assert.equal(client.connectErrors.length, 1);
      assert.ok(client.connectErrors[0] instanceof WebSocketHandshakeError);
      assert.equal(client.connectErrors[0].status, null);
      await assert.rejects(ready, WebSocketHandshakeError);
    });
  } finally {
    await server.close();
  }
});

Deno.test("with reconnect, a server that hangs up before answering the upgrade is a failed attempt each time", async () => {
  const server = hangUpServer();
  try {
    await withEngine(async (engine) => {
      const client = new Recorder(engine).connect(`ws://127.0.0.1:${server.port}/`, {
        reconnect: { ...FAST, maxAttempts: 2 },
      });
      await until(() => client.closes.length === 1, "onClose");
      assert.deepEqual(client.waits.map((w) => [w.attempt, w.delay]), [[1, 100], [2, 200]]);
      assert.ok(client.waits.every((w) => w.error instanceof WebSocketHandshakeError));
      assert.equal(client.connectErrors.length, 1);
      assert.equal(server.accepted(), 3);
      assert.equal(client.connects, 0);
    });
  } finally {
    await server.close();
  }
});

/** Greets each upgrade with its TLS state and the number of this server, then echoes. */
class Greeter extends WebSocketChannel {
  override onConnect(): void {
    this.write(`hello ${(this.server as NumberedServer).number} secure=${this.secure}`);
  }
  override onRead(message: string): void {
    this.write(message);
  }
}

class NumberedServer extends WebSocketServer<Greeter> {
  constructor(engine: Engine, readonly number: number) {
    super({ ConnectionClass: Greeter, engine });
  }
}

Deno.test("wss: a reconnecting client redoes TLS and the upgrade after a Pants server drains (1001) and a new one takes the port", async () => {
  const certs = await testCerts();
  await withEngine(async (engine) => {
    const start = (number: number, port: number) => {
      const server = new NumberedServer(engine, number);
      server.startSSL({ cert: certs.trusted.cert, key: certs.trusted.key });
      return server.listen(["127.0.0.1", port]);
    };
    let server = start(1, 0);
    const { port } = (await listening(server)) as Deno.NetAddr;
    const client = new Recorder(engine).connect(`wss://localhost:${port}/`, {
      caCerts: [certs.trusted.cert],
      reconnect: FAST,
    });
    await until(() => client.messages.includes("hello 1 secure=true"), "the first greeting");
    server.close({ drain: 1000 });
    await until(() => client.waits.length >= 1, "a wait after the going-away close");
    server = start(2, port);
    await until(() => client.messages.includes("hello 2 secure=true"), "the second greeting");
    assert.equal(client.waits[0]!.error, null);
    assert.equal(client.connects, 2);
    assert.deepEqual(client.closes, []);
    client.close(1000, "done");
    await until(() => client.closes.length === 1, "onClose");
    server.close({ drain: 1000 });
  });
});
