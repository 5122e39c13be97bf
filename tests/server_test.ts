import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ListenError, Server, Stream, type StreamConnectError } from "../mod.ts";
import {
  connectTo,
  listening,
  readAll,
  readExactly,
  text,
  until,
  utf8,
  withEngine,
} from "./_helpers.ts";

class Echo extends Stream {
  override onRead(data: Uint8Array): void {
    this.write(data);
  }
}

class Recording extends Server {
  errors: ListenError[] = [];
  override onListenError(error: ListenError): void {
    this.errors.push(error);
    this.close();
  }
}

Deno.test("Server takes its ConnectionClass from a subclass field", async () => {
  class Field extends Server {
    override ConnectionClass = Echo;
  }
  await withEngine(async (engine) => {
    const server = new Field({ engine }).listen(["127.0.0.1", 0]);
    const conn = await connectTo(await listening(server));
    await conn.write(utf8("hi"));
    strictEqual(text(await readExactly(conn, 2)), "hi");
    conn.close();
  });
});

Deno.test("Server takes its ConnectionClass from a static field", async () => {
  class Static extends Server {
    static ConnectionClass = Echo;
  }
  await withEngine(async (engine) => {
    const server = new Static({ engine }).listen(["127.0.0.1", 0]);
    const conn = await connectTo(await listening(server));
    await conn.write(utf8("hi"));
    strictEqual(text(await readExactly(conn, 2)), "hi");
    conn.close();
  });
});

Deno.test("Server keeps open streams in channels and forgets closed ones", async () => {
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Echo, engine }).listen(["127.0.0.1", 0]);
    const address = await listening(server);
    const a = await connectTo(address);
    const b = await connectTo(address);
    await until(() => server.channels.size === 2, "two channels");
    ok([...server.channels.values()].every((s) => s instanceof Echo && s.server === server));
    a.close();
    await until(() => server.channels.size === 1, "one channel");
    b.close();
    await until(() => server.channels.size === 0, "no channels");
  });
});

Deno.test("Server calls onAccept before the stream's onConnect", async () => {
  const order: string[] = [];
  class Tracked extends Stream {
    override onConnect(): void {
      order.push("connect");
    }
  }
  class Tracking extends Server<Tracked> {
    override onAccept(): void {
      order.push("accept");
    }
  }
  await withEngine(async (engine) => {
    const server = new Tracking({ ConnectionClass: Tracked, engine }).listen(["127.0.0.1", 0]);
    const conn = await connectTo(await listening(server));
    await until(() => order.length === 2, "both callbacks");
    deepStrictEqual(order, ["accept", "connect"]);
    conn.close();
  });
});

Deno.test("Server reports an address in use to onListenError", async () => {
  await withEngine(async (engine) => {
    const first = new Server({ engine }).listen(["127.0.0.1", 0]);
    const { port } = (await listening(first)) as Deno.NetAddr;
    const second = new Recording({ engine }).listen(["127.0.0.1", port]);
    await until(() => second.errors.length === 1, "onListenError");
    ok(second.errors[0] instanceof ListenError);
    ok(second.errors[0]!.cause instanceof Deno.errors.AddrInUse);
    ok(second.errors[0]!.message.includes(`127.0.0.1:${port}`));
  });
});

Deno.test("Server with a port alone accepts IPv4 and IPv6 clients", async () => {
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Echo, engine }).listen(0);
    const { port } = (await listening(server)) as Deno.NetAddr;
    for (const hostname of ["127.0.0.1", "::1"]) {
      const conn = await Deno.connect({ hostname, port });
      await conn.write(utf8("v"));
      strictEqual(text(await readExactly(conn, 1)), "v");
      conn.close();
    }
    const remote = [...server.channels.values()].map((s) => s.remoteAddress);
    ok(
      remote.every((addr) =>
        addr === null || !("hostname" in addr) || !addr.hostname.startsWith("::ffff:")
      ),
    );
  });
});

Deno.test("Server closes connections beyond maxConnections at once", async () => {
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Echo, engine });
    server.maxConnections = 1;
    server.listen(["127.0.0.1", 0]);
    const address = await listening(server);
    const first = await connectTo(address);
    await until(() => server.channels.size === 1, "the first stream");
    const second = await connectTo(address);
    strictEqual((await readAll(second)).length, 0);
    await first.write(utf8("ok"));
    strictEqual(text(await readExactly(first, 2)), "ok");
    first.close();
    second.close();
  });
});

Deno.test("Server replaces a stale Unix socket file but never a live one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pants-stale-" });
  const path = `${dir}/stale.sock`;
  // A listener closed without removing its file leaves a stale socket behind.
  const leftover = Deno.listen({ transport: "unix", path });
  const copy = `${dir}/copy.sock`;
  await Deno.link(path, copy);
  leftover.close();
  await Deno.rename(copy, path);
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Echo, engine }).listen({ path });
    await listening(server);
    const live = new Recording({ engine }).listen({ path });
    await until(() => live.errors.length === 1, "onListenError for the live socket");
    ok(live.errors[0]!.cause instanceof Deno.errors.AddrInUse);
  });
  await Deno.writeTextFile(`${dir}/file`, "not a socket");
  await withEngine(async (engine) => {
    const server = new Recording({ engine }).listen({ path: `${dir}/file` });
    await until(() => server.errors.length === 1, "onListenError for a regular file");
  });
  strictEqual(await Deno.readTextFile(`${dir}/file`), "not a socket");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Stream.connect reports a refused connection to onConnectError", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const errors: StreamConnectError[] = [];
  let closes = 0;
  class Client extends Stream {
    override onConnectError(error: StreamConnectError): void {
      errors.push(error);
    }
    override onClose(): void {
      closes++;
    }
  }
  await withEngine(async (engine) => {
    const client = new Client({ engine }).connect(["127.0.0.1", port]);
    await until(() => errors.length === 1 && closes === 1, "onConnectError and onClose");
    ok(errors[0]!.cause instanceof Deno.errors.ConnectionRefused);
    ok(client.closed);
  });
});

Deno.test("Server.listen with reusePort names --unstable-net when it is off", async () => {
  const unstable = typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";
  await withEngine(async (engine) => {
    const server = new Recording({ engine });
    server.listen(["127.0.0.1", 0], { reusePort: true });
    if (unstable) {
      await listening(server);
      return;
    }
    await until(() => server.errors.length === 1, "onListenError");
    ok(server.errors[0]!.message.includes("--unstable-net"), server.errors[0]!.message);
  });
});
