/**
 * User callbacks that throw: on every callback, the exception reaches that
 * channel's `onError` (and an `onError` that throws in turn is contained),
 * nothing escapes as an uncaught error, and other streams of the same
 * server are served as before.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  type Engine,
  type RejectReason,
  Server,
  Stream,
  type StreamConnectError,
  type StreamTimeout,
} from "../mod.ts";
import { framingCore } from "../framing/_wasm_core.ts";
import { connectTo, listening, readExactly, text, until, utf8, withEngine } from "./_helpers.ts";
import { freePort } from "./_subprocess.ts";

const core = framingCore;

/** What a callback under test throws. */
class Boom extends Error {
  constructor(where: string) {
    super(`boom in ${where}`);
    this.name = "Boom";
  }
}

type Hook =
  | "onConnect"
  | "onRead"
  | "onWrite"
  | "onEnd"
  | "onClose"
  | "onTimeout"
  | "onOverflowError"
  | "onError";

/** A line echo whose callbacks throw when it is the victim and its hook is chosen. */
class Trap extends Stream {
  hook: Hook | null = null;
  errors: unknown[] = [];

  #throwIn(hook: Hook): void {
    if (this.hook === hook) throw new Boom(hook);
  }

  override onConnect(): void {
    this.readDelimiter = "\n";
    this.bufferSize = 1024;
    if (this.hook === "onTimeout") this.timeout = 30;
    this.#throwIn("onConnect");
  }

  override onRead(line: Uint8Array): void {
    if (this.hook === "onError") throw new Boom("onRead");
    this.#throwIn("onRead");
    this.write(line);
    this.write("\n");
  }

  override onWrite(): void {
    this.#throwIn("onWrite");
  }

  override onEnd(): void {
    this.#throwIn("onEnd");
    super.onEnd();
  }

  override onClose(): void {
    this.#throwIn("onClose");
  }

  override onTimeout(kind: StreamTimeout): void {
    this.#throwIn("onTimeout");
    super.onTimeout(kind);
  }

  override onOverflowError(): void {
    this.#throwIn("onOverflowError");
    this.close({ flush: false });
  }

  override onError(error: unknown): void {
    this.errors.push(error);
    if (this.hook === "onError") throw new Boom("onError");
    this.close({ flush: false });
  }
}

/** A server whose next accepted stream is the victim of `hook`. */
class Traps extends Server<Trap> {
  override ConnectionClass = Trap;
  nextHook: Hook | null = null;
  accepted: Trap[] = [];
  override onAccept(stream: Trap): void {
    stream.hook = this.nextHook;
    this.nextHook = null;
    this.accepted.push(stream);
  }
}

/** One echo round trip on a raw connection. */
async function echo(conn: Deno.Conn, line: string): Promise<void> {
  await conn.write(utf8(`${line}\n`));
  strictEqual(text(await readExactly(conn, line.length + 1)), `${line}\n`);
}

/**
 * A bystander is connected and served; then a victim stream's `hook`
 * throws, set off by `trigger` on the victim's connection. The bystander
 * must be served exactly as before.
 */
async function victimOf(
  hook: Hook,
  trigger: (conn: Deno.Conn) => Promise<void>,
): Promise<{ victim: Trap; bystander: Trap }> {
  let result: { victim: Trap; bystander: Trap } | null = null;
  await withEngine(async (engine: Engine) => {
    const server = new Traps({ engine }).listen(["127.0.0.1", 0]);
    const address = await listening(server);
    const bystanderConn = await connectTo(address);
    await echo(bystanderConn, "before");
    server.nextHook = hook;
    const victimConn = await connectTo(address);
    await until(() => server.accepted.length === 2, "the victim");
    const [bystander, victim] = server.accepted as [Trap, Trap];
    await trigger(victimConn);
    await until(() => victim.errors.length > 0 && victim.closed, `the error in ${hook}`);
    await echo(bystanderConn, "after");
    ok(!bystander.closed);
    deepStrictEqual(bystander.errors, []);
    victimConn.close();
    bystanderConn.close();
    await until(() => server.channels.size === 0, "the streams to close");
    result = { victim, bystander };
  });
  strictEqual(core.liveRegions, 0);
  return result!;
}

function assertBoom(errors: unknown[], where: string): void {
  ok(errors.length >= 1);
  ok(errors[0] instanceof Boom, String(errors[0]));
  strictEqual((errors[0] as Boom).message, `boom in ${where}`);
}

const nothing = () => Promise.resolve();

Deno.test("Stream.onConnect that throws closes that stream only", async () => {
  const { victim } = await victimOf("onConnect", nothing);
  assertBoom(victim.errors, "onConnect");
});

Deno.test("Stream.onRead that throws closes that stream only", async () => {
  const { victim } = await victimOf("onRead", (conn) => conn.write(utf8("frame\n")).then(() => {}));
  assertBoom(victim.errors, "onRead");
});

Deno.test("Stream.onWrite that throws closes that stream only", async () => {
  const { victim } = await victimOf(
    "onWrite",
    (conn) => conn.write(utf8("frame\n")).then(() => {}),
  );
  assertBoom(victim.errors, "onWrite");
});

Deno.test("Stream.onEnd that throws closes that stream only", async () => {
  const { victim } = await victimOf("onEnd", (conn) => (conn as Deno.TcpConn).closeWrite());
  assertBoom(victim.errors, "onEnd");
});

Deno.test("Stream.onClose that throws reaches onError after the close", async () => {
  const { victim } = await victimOf("onClose", (conn) => (conn as Deno.TcpConn).closeWrite());
  assertBoom(victim.errors, "onClose");
});

Deno.test("Stream.onTimeout that throws closes that stream only", async () => {
  const { victim } = await victimOf("onTimeout", nothing);
  assertBoom(victim.errors, "onTimeout");
});

Deno.test("Stream.onOverflowError that throws closes that stream only", async () => {
  const { victim } = await victimOf(
    "onOverflowError",
    (conn) => conn.write(new Uint8Array(4096).fill(0x61)).then(() => {}),
  );
  assertBoom(victim.errors, "onOverflowError");
});

Deno.test("Stream.onError that throws in turn is contained and closes that stream only", async () => {
  const { victim } = await victimOf(
    "onError",
    (conn) => conn.write(utf8("frame\n")).then(() => {}),
  );
  assertBoom(victim.errors, "onRead");
});

Deno.test("Stream.onConnectError that throws reaches onError", async () => {
  const errors: unknown[] = [];
  class Client extends Stream {
    override onConnectError(_error: StreamConnectError): void {
      throw new Boom("onConnectError");
    }
    override onError(error: unknown): void {
      errors.push(error);
      this.close({ flush: false });
    }
  }
  await withEngine(async (engine) => {
    const client = new Client({ engine }).connect(["127.0.0.1", freePort()]);
    await until(() => client.closed && errors.length === 1, "the connect error");
    await until(() => engine.channelCount === 0, "the client to detach");
  });
  assertBoom(errors, "onConnectError");
});

/** A server whose own callbacks throw; its onError records instead of closing it. */
class Throwing extends Server<Trap> {
  override ConnectionClass = Trap;
  throwIn: "onListen" | "onAccept" | "onReject" = "onAccept";
  errors: unknown[] = [];
  accepted = 0;
  override onListen(): void {
    if (this.throwIn === "onListen") throw new Boom("onListen");
  }
  override onAccept(): void {
    if (this.throwIn === "onAccept" && ++this.accepted === 2) throw new Boom("onAccept");
  }
  override onReject(_stream: Stream, _reason: RejectReason): void {
    if (this.throwIn === "onReject") throw new Boom("onReject");
  }
  override onError(error: unknown): void {
    this.errors.push(error);
  }
}

/** Runs a `Throwing` server with a bystander, then connects `victims` more peers. */
async function throwingServer(
  throwIn: Throwing["throwIn"],
  setup: (server: Throwing) => void = () => {},
): Promise<Throwing> {
  let server: Throwing | null = null;
  await withEngine(async (engine) => {
    const throwing = new Throwing({ engine });
    throwing.throwIn = throwIn;
    setup(throwing);
    server = throwing;
    const address = await listening(throwing.listen(["127.0.0.1", 0]));
    const bystander = await connectTo(address);
    await echo(bystander, "before");
    const victim = await connectTo(address);
    await until(() => throwing.errors.length > 0, `the error in ${throwIn}`);
    await echo(bystander, "after");
    if (throwIn === "onAccept") await echo(victim, "served anyway");
    victim.close();
    bystander.close();
    await until(() => throwing.channels.size === 0, "the streams to close");
  });
  return server!;
}

Deno.test("Server.onListen that throws reaches onError and the server still accepts", async () => {
  const server = await throwingServer("onListen");
  assertBoom(server.errors, "onListen");
});

Deno.test("Server.onAccept that throws reaches onError and other streams are served", async () => {
  const server = await throwingServer("onAccept");
  assertBoom(server.errors, "onAccept");
});

Deno.test("Server.onReject that throws reaches onError and the refused peer is closed", async () => {
  const server = await throwingServer("onReject", (s) => (s.maxConnections = 1));
  assertBoom(server.errors, "onReject");
});
