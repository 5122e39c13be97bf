/**
 * A failed `listen()` or `connect()` that no handler takes: `engine.start()`
 * stops the engine and rejects with the error, so the script exits with a
 * non-zero code (as Node does for an unhandled `'error'` event). Scripts run
 * as real subprocesses where the exit code matters, with narrowed
 * permissions; sockets on 127.0.0.1 only.
 */
import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import {
  Datagram,
  type DatagramError,
  Engine,
  ListenError,
  Server,
  Stream,
  StreamConnectError,
  TlsHandshakeError,
} from "../mod.ts";
import { freePort, runDeno } from "./_subprocess.ts";
import { listening, until } from "./_helpers.ts";

const mod = new URL("../mod.ts", import.meta.url).href;

/** Runs `body` (a script importing `{ names }` from mod.ts) with `flags`; returns its result. */
async function runScript(
  flags: string[],
  names: string,
  body: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "pants_unhandled_" });
  try {
    const script = `${dir}/script.ts`;
    await Deno.writeTextFile(script, `import { ${names} } from "${mod}";\n${body}\n`);
    const child = runDeno(flags, script);
    const timer = setTimeout(() => child.stop(), 20_000);
    const status = await child.status();
    clearTimeout(timer);
    return { code: status.code, stdout: child.stdout, stderr: child.stderr };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `promise`, or a rejection if it is still pending after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A port on 127.0.0.1 that is not `port`. */
function otherPort(port: number): number {
  for (;;) {
    const other = freePort();
    if (other !== port) return other;
  }
}

Deno.test("Server.listen denied by permissions makes the script exit non-zero", async () => {
  const allowed = freePort();
  const denied = otherPort(allowed);
  const run = await runScript(
    [`--allow-net=127.0.0.1:${allowed}`],
    "engine, Server, Stream",
    `new Server(Stream).listen(["127.0.0.1", ${denied}]);
await engine.start();
console.log("start() resolved");`,
  );
  strictEqual(run.code, 1, run.stderr);
  ok(run.stderr.includes(`Cannot listen on 127.0.0.1:${denied}`), run.stderr);
  ok(run.stderr.includes(`--allow-net=127.0.0.1:${denied}`), run.stderr);
  ok(!run.stdout.includes("start() resolved"), run.stdout);
});

Deno.test("Stream.connect denied by permissions makes the script exit non-zero", async () => {
  const allowed = freePort();
  const denied = otherPort(allowed);
  const run = await runScript(
    [`--allow-net=127.0.0.1:${allowed}`],
    "engine, Stream",
    `new Stream().connect(["127.0.0.1", ${denied}]);
engine.start(); // not awaited: an unhandled rejection still ends the script`,
  );
  strictEqual(run.code, 1, run.stderr);
  ok(run.stderr.includes(`Cannot connect to 127.0.0.1:${denied}`), run.stderr);
  ok(run.stderr.includes("StreamConnectError"), run.stderr);
});

for (const backend of [[], ["--unstable-net"]]) {
  const name = backend.length === 0 ? "node:dgram" : "Deno.listenDatagram";

  Deno.test(`Datagram.listen denied by permissions exits non-zero (${name})`, async () => {
    const allowed = freePort();
    const denied = otherPort(allowed);
    const run = await runScript(
      [...backend, `--allow-net=127.0.0.1:${allowed}`],
      "Datagram, engine",
      `new Datagram().listen(["127.0.0.1", ${denied}]);
await engine.start();`,
    );
    strictEqual(run.code, 1, run.stderr);
    ok(run.stderr.includes(`Cannot listen on 127.0.0.1:${denied}`), run.stderr);
  });

  Deno.test(`Datagram.connect denied by permissions exits non-zero (${name})`, async () => {
    const peer = freePort();
    const run = await runScript(
      [...backend, `--allow-net=127.0.0.1:${peer}`], // not 127.0.0.1:0, its own port
      "Datagram, engine",
      `new Datagram().connect(["127.0.0.1", ${peer}]);
await engine.start();`,
    );
    strictEqual(run.code, 1, run.stderr);
    ok(run.stderr.includes(`Cannot connect to 127.0.0.1:${peer}`), run.stderr);
    ok(run.stderr.includes("DatagramError"), run.stderr);
  });
}

Deno.test("A failed listen whose handler is overridden lets the script exit with code 0", async () => {
  const allowed = freePort();
  const denied = otherPort(allowed);
  const run = await runScript(
    [`--allow-net=127.0.0.1:${allowed}`],
    "engine, type ListenError, Server, Stream",
    `class Quiet extends Server {
  override onListenError(error: ListenError): void {
    console.log("handled: " + error.name);
    this.close();
  }
}
new Quiet(Stream).listen(["127.0.0.1", ${denied}]);
await engine.start();
console.log("start() resolved");`,
  );
  strictEqual(run.code, 0, run.stderr);
  deepStrictEqual(run.stdout.trim().split("\n"), ["handled: ListenError", "start() resolved"]);
});

Deno.test("Engine.start rejects with a listen error nothing handled, after stopping gracefully", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  const engine = new Engine({ graceMs: 1000 });
  const events: string[] = [];
  class Other extends Server {
    override onClose(): void {
      events.push("other server closed");
    }
  }
  class Client extends Stream {
    override onClose(): void {
      events.push("client closed");
    }
  }
  try {
    const other = new Other({ ConnectionClass: Stream, engine }).listen(["127.0.0.1", 0]);
    const running = engine.start();
    const address = await listening(other);
    const client = new Client({ engine }).connect(address);
    await until(() => client.connected, "the client to connect");
    new Server({ ConnectionClass: Stream, engine }).listen(["127.0.0.1", port]); // in use
    const error = await within(running, 5000, "engine.start()").then(
      () => null,
      (error: unknown) => error,
    );
    ok(error instanceof ListenError, String(error));
    ok(error.message.includes(`Cannot listen on 127.0.0.1:${port}`), error.message);
    ok(error.message.includes("already in use"), error.message);
    strictEqual(engine.running, false);
    strictEqual(engine.channelCount, 0);
    deepStrictEqual(events.sort(), ["client closed", "other server closed"]);
  } finally {
    taken.close();
    await engine.stop();
  }
});

Deno.test("Engine.start rejects with a refused connect nothing handled", async () => {
  const engine = new Engine({ graceMs: 1000 });
  const port = freePort(); // closed again: nothing listens there
  new Stream({ engine }).connect(["127.0.0.1", port]);
  await rejects(engine.start(), (error: unknown) => {
    ok(error instanceof StreamConnectError, String(error));
    ok(error.message.includes(`127.0.0.1:${port}`), error.message);
    return true;
  });
  strictEqual(engine.running, false);
});

Deno.test("Engine.start rejects with the first unhandled error only, and can start again", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  const engine = new Engine({ graceMs: 1000 });
  try {
    new Stream({ engine }).connect(["127.0.0.1", freePort()]);
    new Stream({ engine }).connect(["127.0.0.1", freePort()]);
    new Server({ ConnectionClass: Stream, engine }).listen(["127.0.0.1", port]);
    const error = await engine.start().then(() => null, (error: unknown) => error);
    ok(error instanceof StreamConnectError || error instanceof ListenError, String(error));
    // Nothing is left over for the next run.
    engine.defer(1, () => {});
    await engine.start();
  } finally {
    taken.close();
  }
});

Deno.test("A handler that calls the default through super leaves the error unhandled", async () => {
  const engine = new Engine({ graceMs: 1000 });
  const seen: string[] = [];
  class Logged extends Stream {
    override onConnectError(error: StreamConnectError): void {
      seen.push(error.name);
      super.onConnectError(error);
    }
  }
  new Logged({ engine }).connect(["127.0.0.1", freePort()]);
  await rejects(engine.start(), StreamConnectError);
  deepStrictEqual(seen, ["StreamConnectError"]);
});

Deno.test("Overridden error handlers keep the engine running and start() resolving", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  const engine = new Engine({ graceMs: 1000 });
  const seen: string[] = [];
  class QuietServer extends Server {
    override onListenError(error: ListenError): void {
      seen.push(error.name);
      this.close();
    }
  }
  class QuietStream extends Stream {
    override onConnectError(error: StreamConnectError): void {
      seen.push(error.name);
    }
  }
  class QuietDatagram extends Datagram {
    override onConnectError(error: DatagramError): void {
      seen.push(error.name);
    }
  }
  try {
    new QuietServer({ ConnectionClass: Stream, engine }).listen(["127.0.0.1", port]);
    new QuietStream({ engine }).connect(["127.0.0.1", freePort()]);
    new QuietDatagram({ engine }).connect({ path: "/tmp/pants-no-such-peer" });
    await engine.start();
    deepStrictEqual(seen.sort(), ["DatagramError", "ListenError", "StreamConnectError"]);
  } finally {
    taken.close();
  }
});

Deno.test("Engine.poll throws a connect error nothing handled since the previous poll", async () => {
  const engine = new Engine();
  new Stream({ engine }).connect(["127.0.0.1", freePort()]);
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args.join(" ")); // the default logs it
  try {
    await engine.poll(); // starts the connect
    let thrown: unknown = null;
    await until(() => engine.channelCount === 0, "the connect to fail");
    await engine.poll().catch((error) => thrown = error);
    ok(thrown instanceof StreamConnectError, String(thrown));
    await engine.poll(); // once only
  } finally {
    console.error = original;
  }
  strictEqual(errors.length, 1);
  ok(String(errors[0]).includes("Cannot connect to 127.0.0.1"), String(errors[0]));
});

Deno.test("Stream.connect whose TLS handshake fails makes engine.start() reject, like a failed connect", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const plain = (async () => {
    const conn = await listener.accept();
    await conn.write(new TextEncoder().encode("220 not TLS\r\n"));
    conn.close();
  })();
  const engine = new Engine();
  const original = console.error;
  console.error = () => {};
  try {
    new Stream({ engine }).startSSL({ hostname: "localhost" })
      .connect(["127.0.0.1", (listener.addr as Deno.NetAddr).port]);
    await rejects(within(engine.start(), 10_000, "engine.start()"), TlsHandshakeError);
  } finally {
    console.error = original;
    await plain;
    listener.close();
  }
});
