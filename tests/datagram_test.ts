/**
 * `Datagram` over real sockets on loopback (and Unix datagram sockets).
 *
 * This file runs on the backend the process has: `node:dgram` in stable
 * Deno, `Deno.listenDatagram` with `--unstable-net`. One test runs the whole
 * file again in a subprocess on the other backend.
 */
import dgram from "node:dgram";
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  ChannelClosedError,
  Datagram,
  type DatagramAddress,
  DatagramError,
  Engine,
  ListenError,
  Struct,
} from "../mod.ts";
import { datagramBackend } from "../transport/_datagram_socket.ts";
import { prng, randomBytes, text, until, utf8, withEngine } from "./_helpers.ts";
import { python, runDeno } from "./_subprocess.ts";

const native = datagramBackend() === "deno";
const nested = Deno.env.get("PANTS_DATAGRAM_NESTED") === "1";
/** Flags that give a spawned Deno the backend this process uses. */
const backendFlags = native ? ["--unstable-net"] : [];
const hasIPv6 = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();

/** Records what it receives (copies), its errors and its close notifications. */
class Recorder extends Datagram {
  received: unknown[] = [];
  senders: DatagramAddress[] = [];
  errors: unknown[] = [];
  listenErrors: ListenError[] = [];
  closes = 0;
  override onRead(data: unknown, from: DatagramAddress): void {
    this.received.push(data instanceof Uint8Array ? data.slice() : data);
    this.senders.push(from);
  }
  override onError(error: unknown): void {
    this.errors.push(error);
  }
  override onListenError(error: ListenError): void {
    this.listenErrors.push(error);
  }
  override onClose(): void {
    this.closes++;
  }
}

class Echo extends Datagram {
  override onRead(data: Uint8Array): void {
    this.write(data);
  }
}

/** Waits until a channel is bound and returns its UDP address. */
async function bound(channel: Datagram): Promise<Deno.NetAddr> {
  await until(() => channel.open || channel.closed, "the datagram channel to bind");
  if (!channel.open) throw new Error("The datagram channel closed instead of binding");
  return channel.localAddress as Deno.NetAddr;
}

/** A raw node:dgram socket on loopback, recording what it receives. */
async function rawPeer(host = "127.0.0.1") {
  const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  const received: { data: Uint8Array; port: number }[] = [];
  socket.on("message", (data: Uint8Array, info: dgram.RemoteInfo) => {
    received.push({ data: data.slice(), port: info.port });
  });
  await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
  return {
    port: socket.address().port,
    received,
    send: (data: Uint8Array | string, port: number) =>
      new Promise<void>((resolve, reject) =>
        socket.send(data, port, host, (error) => (error ? reject(error) : resolve()))
      ),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A UDP port that was free a moment ago. */
async function freeUdpPort(): Promise<number> {
  const peer = await rawPeer();
  await peer.close();
  return peer.port;
}

async function echoRandomPayloads(host: string): Promise<void> {
  await withEngine(async (engine) => {
    const server = new Echo({ engine }).listen([host, 0]);
    const { port } = await bound(server);
    const client = new Recorder({ engine }).connect([host, port]);
    await bound(client);
    const random = prng(host.length);
    const sizes = [0, 1, 60 * 1024];
    for (let i = 0; i < 24; i++) sizes.push(Math.floor(random() * 60 * 1024));
    for (const size of sizes) {
      const payload = randomBytes(random, size);
      const before = client.received.length;
      client.write(payload);
      await until(() => client.received.length > before, `the echo of ${size} bytes`);
      deepStrictEqual(client.received[before], payload);
    }
    deepStrictEqual(client.errors, []);
  });
}

Deno.test("Datagram echoes random payloads up to 60 KiB over IPv4", async () => {
  await echoRandomPayloads("127.0.0.1");
});

Deno.test({
  name: "Datagram echoes random payloads up to 60 KiB over IPv6",
  ignore: !hasIPv6,
  fn: () => echoRandomPayloads("::1"),
});

Deno.test("Datagram replies reach the right sender among 20 concurrent senders", async () => {
  await withEngine(async (engine) => {
    class Tagger extends Datagram {
      senders = new Set<string>();
      override onRead(data: string, from: Deno.NetAddr): void {
        this.senders.add(`${from.hostname}:${from.port}`);
        this.write(`${data} from ${from.port}`);
      }
    }
    const server = new Tagger({ engine });
    server.encoding = "utf-8";
    const { port } = await bound(server.listen(["127.0.0.1", 0]));
    const clients = Array.from({ length: 20 }, () => {
      const client = new Recorder({ engine });
      client.encoding = "utf-8";
      return client.connect(["127.0.0.1", port]);
    });
    await Promise.all(clients.map(bound));
    const rounds = 10;
    for (let round = 0; round < rounds; round++) {
      clients.forEach((client, i) => client.write(`client ${i} round ${round}`));
      await until(
        () => clients.every((client) => client.received.length > round),
        `round ${round} of replies`,
      );
    }
    clients.forEach((client, i) => {
      const own = (client.localAddress as Deno.NetAddr).port;
      deepStrictEqual(
        client.received,
        Array.from({ length: rounds }, (_, round) => `client ${i} round ${round} from ${own}`),
      );
    });
    strictEqual(server.senders.size, 20);
  });
});

Deno.test("Datagram write(data, address) sends to that address and onRead names the sender", async () => {
  const peer = await rawPeer();
  await withEngine(async (engine) => {
    try {
      const channel = new Recorder({ engine }).listen(["127.0.0.1", 0]);
      const local = await bound(channel);
      channel.write("to the peer", ["127.0.0.1", peer.port]);
      channel.write(utf8("by object"), { hostname: "127.0.0.1", port: peer.port });
      await until(() => peer.received.length === 2, "two datagrams at the peer");
      deepStrictEqual(peer.received.map((d) => text(d.data)), ["to the peer", "by object"]);
      strictEqual(peer.received[0]!.port, local.port);
      await peer.send("reply", local.port);
      await until(() => channel.received.length === 1, "the reply");
      const from = channel.senders[0] as Deno.NetAddr;
      deepStrictEqual([from.transport, from.hostname, from.port], ["udp", "127.0.0.1", peer.port]);
      channel.write("again", from);
      await until(() => peer.received.length === 3, "a datagram to the onRead address");
    } finally {
      await peer.close();
    }
  });
});

Deno.test("Datagram delivers one onRead per datagram, keeping boundaries", async () => {
  await withEngine(async (engine) => {
    const server = new Recorder({ engine });
    server.encoding = "utf-8";
    const { port } = await bound(server.listen(["127.0.0.1", 0]));
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    await bound(client);
    for (const message of ["one", "", "two\nthree", "four"]) client.write(message);
    await until(() => server.received.length === 4, "four datagrams");
    deepStrictEqual(server.received, ["one", "", "two\nthree", "four"]);
  });
});

Deno.test("Datagram frames each datagram on its own with readDelimiter", async () => {
  await withEngine(async (engine) => {
    const server = new Recorder({ engine });
    server.readDelimiter = "\n";
    server.encoding = "utf-8";
    const { port } = await bound(server.listen(["127.0.0.1", 0]));
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    await bound(client);
    for (const message of ["a\nb\n", "c\n", "d\ne", "f\n"]) client.write(message);
    await until(() => server.received.length === 5, "five frames");
    deepStrictEqual(server.received, ["a", "b", "c", "d", "f"]);
  });
});

Deno.test("Datagram reports an incomplete trailing frame to onError and drops it", async () => {
  await withEngine(async (engine) => {
    const server = new Recorder({ engine });
    server.readDelimiter = 4;
    const { port } = await bound(server.listen(["127.0.0.1", 0]));
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    const clientAddress = await bound(client);
    client.write("abcdefghXY");
    client.write("1234");
    await until(() => server.received.length === 3, "three blocks");
    deepStrictEqual(server.received.map((b) => text(b as Uint8Array)), ["abcd", "efgh", "1234"]);
    strictEqual(server.errors.length, 1);
    const error = server.errors[0];
    ok(error instanceof DatagramError);
    strictEqual(error.reason, "incomplete");
    strictEqual(error.bytes, 2);
    strictEqual((error.remoteAddress as Deno.NetAddr).port, clientAddress.port);
    ok(error.message.includes("2 bytes"), error.message);
    ok(server.open);
  });
});

Deno.test("Datagram delivers Struct records as arrays of values with the sender", async () => {
  await withEngine(async (engine) => {
    const server = new Recorder({ engine });
    const record = new Struct("!HB");
    server.readDelimiter = record;
    const { port } = await bound(server.listen(["127.0.0.1", 0]));
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    await bound(client);
    client.write(new Uint8Array([1, 2, 3, 0, 5, 6]));
    await until(() => server.received.length === 2, "two records");
    deepStrictEqual(server.received, [[258, 3], [5, 6]]);
    strictEqual(
      (server.senders[0] as Deno.NetAddr).port,
      (client.localAddress as Deno.NetAddr).port,
    );
  });
});

Deno.test("Datagram frames with a RegExp in search and match modes", async () => {
  await withEngine(async (engine) => {
    const search = new Recorder({ engine });
    search.readDelimiter = /\r?\n/;
    search.encoding = "utf-8";
    const match = new Recorder({ engine });
    match.readDelimiter = /(\w+)=(\d+);/;
    match.regexSearch = false;
    const searchPort = (await bound(search.listen(["127.0.0.1", 0]))).port;
    const matchPort = (await bound(match.listen(["127.0.0.1", 0]))).port;
    const client = new Recorder({ engine }).listen(["127.0.0.1", 0]);
    await bound(client);
    client.write("é one\r\ntwo\nthree", ["127.0.0.1", searchPort]);
    client.write("a=1;b=22;", ["127.0.0.1", matchPort]);
    await until(() => search.received.length === 2 && match.received.length === 2, "the frames");
    deepStrictEqual(search.received, ["é one", "two"]);
    strictEqual((search.errors[0] as DatagramError).reason, "incomplete");
    strictEqual((search.errors[0] as DatagramError).bytes, 5);
    deepStrictEqual(
      match.received.map((m) => [...(m as RegExpExecArray)]),
      [["a=1;", "a", "1"], ["b=22;", "b", "22"]],
    );
    deepStrictEqual(match.errors, []);
  });
});

Deno.test("Datagram frames the rest of a datagram with a delimiter set inside onRead", async () => {
  await withEngine(async (engine) => {
    class Switching extends Recorder {
      override onRead(data: unknown, from: DatagramAddress): void {
        super.onRead(data, from);
        if (data === "HEAD") this.readDelimiter = 2;
        else this.readDelimiter = "\n";
      }
    }
    const server = new Switching({ engine });
    server.readDelimiter = "\n";
    server.encoding = "utf-8";
    const { port } = await bound(server.listen(["127.0.0.1", 0]));
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    await bound(client);
    client.write("HEAD\nxyrest\n");
    await until(() => server.received.length === 3, "three frames");
    deepStrictEqual(server.received, ["HEAD", "xy", "rest"]);
    deepStrictEqual(server.errors, []);
  });
});

Deno.test("Datagram reports a datagram larger than bufferSize and keeps receiving", async () => {
  await withEngine(async (engine) => {
    const server = new Recorder({ engine });
    server.bufferSize = 100;
    const { port } = await bound(server.listen(["127.0.0.1", 0]));
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    await bound(client);
    client.write(new Uint8Array(101));
    client.write(new Uint8Array(100).fill(7));
    await until(() => server.received.length === 1, "the datagram within the limit");
    deepStrictEqual(server.received[0], new Uint8Array(100).fill(7));
    strictEqual(server.errors.length, 1);
    const error = server.errors[0];
    ok(error instanceof DatagramError);
    strictEqual(error.reason, "oversized");
    deepStrictEqual([error.bytes, error.limit], [101, 100]);
    ok(error.message.includes("bufferSize"), error.message);
    ok(server.open);
  });
});

Deno.test("Datagram's default onError logs a DatagramError and stays open", async () => {
  await withEngine(async (engine) => {
    const server = new Datagram({ engine });
    server.bufferSize = 10;
    const { port } = await bound(server.listen(["127.0.0.1", 0]));
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    await bound(client);
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      client.write(new Uint8Array(11));
      await until(() => logged.length === 1, "the logged error");
    } finally {
      console.error = original;
    }
    ok(String(logged[0]![0]).includes("11 bytes"), String(logged[0]![0]));
    ok(server.open);
  });
});

Deno.test("Datagram routes an exception thrown by onRead to onError and keeps running", async () => {
  await withEngine(async (engine) => {
    class Throwing extends Recorder {
      override onRead(data: unknown, from: DatagramAddress): void {
        super.onRead(data, from);
        throw new Error(`bad ${text(data as Uint8Array)}`);
      }
    }
    const server = new Throwing({ engine });
    const { port } = await bound(server.listen(["127.0.0.1", 0]));
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    await bound(client);
    client.write("1");
    client.write("2");
    await until(() => server.errors.length === 2, "two errors");
    deepStrictEqual(server.errors.map((e) => (e as Error).message), ["bad 1", "bad 2"]);
    ok(server.open);
  });
});

Deno.test("Datagram's default onError closes the channel after a callback throws", async () => {
  await withEngine(async (engine) => {
    class Throwing extends Datagram {
      closes = 0;
      override onRead(): void {
        throw new Error("boom");
      }
      override onClose(): void {
        this.closes++;
      }
    }
    const server = new Throwing({ engine });
    const { port } = await bound(server.listen(["127.0.0.1", 0]));
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    await bound(client);
    const original = console.error;
    console.error = () => {};
    try {
      client.write("x");
      await until(() => server.closes === 1, "the server to close");
    } finally {
      console.error = original;
    }
    strictEqual(engine.counts().datagram, 1);
  });
});

Deno.test("Datagram.write throws ChannelClosedError before binding and after close", async () => {
  await withEngine(async (engine) => {
    const channel = new Recorder({ engine });
    let error: unknown;
    try {
      channel.write("early", ["127.0.0.1", 9]);
    } catch (thrown) {
      error = thrown;
    }
    ok(error instanceof ChannelClosedError);
    channel.listen(["127.0.0.1", 0]);
    await bound(channel);
    channel.close();
    try {
      channel.write("late", ["127.0.0.1", 9]);
      error = undefined;
    } catch (thrown) {
      error = thrown;
    }
    ok(error instanceof ChannelClosedError);
  });
});

Deno.test("Datagram.write without an address outside onRead throws a TypeError", async () => {
  await withEngine(async (engine) => {
    const channel = new Recorder({ engine }).listen(["127.0.0.1", 0]);
    await bound(channel);
    let error: unknown;
    try {
      channel.write("where to?");
    } catch (thrown) {
      error = thrown;
    }
    ok(error instanceof TypeError);
    ok((error as Error).message.includes("address"), (error as Error).message);
  });
});

Deno.test("Datagram.close sends queued datagrams first and calls onClose once, later", async () => {
  const peer = await rawPeer();
  await withEngine(async (engine) => {
    try {
      const channel = new Recorder({ engine }).listen(["127.0.0.1", 0]);
      await bound(channel);
      for (let i = 0; i < 50; i++) channel.write(`datagram ${i}`, ["127.0.0.1", peer.port]);
      channel.close();
      strictEqual(channel.closed, true);
      strictEqual(channel.closes, 0);
      await until(() => channel.closes === 1, "onClose");
      await until(() => peer.received.length === 50, "fifty datagrams");
      deepStrictEqual(
        peer.received.map((d) => text(d.data)),
        Array.from({ length: 50 }, (_, i) => `datagram ${i}`),
      );
      channel.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
      strictEqual(channel.closes, 1);
      strictEqual(engine.counts().datagram, 0);
    } finally {
      await peer.close();
    }
  });
});

Deno.test("Datagram.close({ flush: false }) closes at once and onClose runs once", async () => {
  await withEngine(async (engine) => {
    const channel = new Recorder({ engine }).listen(["127.0.0.1", 0]);
    await bound(channel);
    for (let i = 0; i < 10; i++) channel.write("x", ["127.0.0.1", 9]);
    channel.close({ flush: false });
    strictEqual(channel.writeQueueSize, 0);
    strictEqual(engine.counts().datagram, 0);
    await until(() => channel.closes === 1, "onClose");
  });
});

Deno.test("Datagram connected to a peer ignores datagrams from anyone else", async () => {
  const stranger = await rawPeer();
  await withEngine(async (engine) => {
    const server = new Echo({ engine }).listen(["127.0.0.1", 0]);
    const { port } = await bound(server);
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    const local = await bound(client);
    strictEqual(client.connected, true);
    try {
      await stranger.send("from a stranger", local.port);
      client.write("from the peer");
      await until(() => client.received.length === 1, "the peer's echo");
      await new Promise((resolve) => setTimeout(resolve, 50));
      deepStrictEqual(client.received.map((d) => text(d as Uint8Array)), ["from the peer"]);
    } finally {
      await stranger.close();
    }
  });
});

Deno.test("Datagram connected to a peer refuses to write to another address", async () => {
  await withEngine(async (engine) => {
    const server = new Echo({ engine }).listen(["127.0.0.1", 0]);
    const { port } = await bound(server);
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    await bound(client);
    client.write("to the peer, named", ["127.0.0.1", port]);
    let error: unknown;
    try {
      client.write("elsewhere", ["127.0.0.1", port === 65535 ? 1 : port + 1]);
    } catch (thrown) {
      error = thrown;
    }
    ok(error instanceof TypeError);
    ok((error as Error).message.includes("connected"), (error as Error).message);
  });
});

Deno.test("Datagram reports a port in use to onListenError, then closes", async () => {
  const holder = await rawPeer();
  await withEngine(async (engine) => {
    try {
      const channel = new Recorder({ engine }).listen(["127.0.0.1", holder.port]);
      await until(() => channel.closes === 1, "onClose after the listen error");
      strictEqual(channel.listenErrors.length, 1);
      const error = channel.listenErrors[0]!;
      ok(error instanceof ListenError);
      ok(error.message.includes(`127.0.0.1:${holder.port}`), error.message);
      ok(error.message.includes("already in use"), error.message);
      ok(error.cause !== undefined);
      strictEqual(engine.counts().datagram, 0);
    } finally {
      await holder.close();
    }
  });
});

Deno.test({
  name: "Datagram listening on a Unix path without --unstable-net names the flag",
  ignore: native,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await withEngine(async (engine) => {
        const channel = new Recorder({ engine }).listen({ path: `${dir}/d.sock` });
        await until(() => channel.closes === 1, "onClose after the listen error");
        const message = channel.listenErrors[0]!.message;
        ok(message.includes(`${dir}/d.sock`), message);
        ok(message.includes("--unstable-net"), message);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "Datagram exchanges Unix datagrams (--unstable-net) and removes its socket files",
  ignore: !native,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await withEngine(async (engine) => {
        const serverPath = `${dir}/server.sock`;
        const clientPath = `${dir}/client.sock`;
        const server = new Echo({ engine }).listen({ path: serverPath });
        await until(() => server.open, "the server to bind");
        const client = new Recorder({ engine }).listen({ path: clientPath });
        await until(() => client.open, "the client to bind");
        deepStrictEqual(client.localAddress, { transport: "unixpacket", path: clientPath });
        client.write("over unix", { path: serverPath });
        await until(() => client.received.length === 1, "the echo");
        strictEqual(text(client.received[0] as Uint8Array), "over unix");
        strictEqual((client.senders[0] as Deno.UnixAddr).path, serverPath);
        server.close();
        client.close();
        await until(() => client.closes === 1, "the client to close");
      });
      deepStrictEqual([...Deno.readDirSync(dir)], []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "Datagram reports a Unix datagram over bufferSize, and takes it after raising bufferSize",
  ignore: !native,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await withEngine(async (engine) => {
        const server = new Recorder({ engine }).listen({ path: `${dir}/server.sock` });
        await until(() => server.open, "the server to bind");
        const client = new Recorder({ engine }).listen({ path: `${dir}/client.sock` });
        await until(() => client.open, "the client to bind");
        client.write(new Uint8Array(70_000), { path: `${dir}/server.sock` });
        await until(() => server.errors.length === 1, "the report");
        const error = server.errors[0] as DatagramError;
        deepStrictEqual([error.reason, error.bytes, error.limit], ["oversized", 70_000, 65536]);
        server.bufferSize = 100_000;
        client.write(new Uint8Array(70_000).fill(1), { path: `${dir}/server.sock` });
        await until(() => server.received.length === 1, "the datagram after raising bufferSize");
        deepStrictEqual(server.received[0], new Uint8Array(70_000).fill(1));
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "Datagram reports a Unix datagram larger than its receive buffer as truncated",
  ignore: !native,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await withEngine(async (engine) => {
        const path = `${dir}/server.sock`;
        const server = new Recorder({ engine }).listen({ path });
        await until(() => server.open, "the server to bind");
        await python(
          `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
s.sendto(bytes(300000), sys.argv[1])
s.sendto(b"small", sys.argv[1])
`,
          [path],
        );
        await until(() => server.received.length === 1, "the small datagram");
        strictEqual(text(server.received[0] as Uint8Array), "small");
        const error = server.errors[0] as DatagramError;
        strictEqual(error.reason, "truncated");
        ok(error.bytes >= 256 * 1024 && error.bytes < 300_000, String(error.bytes));
        ok(error.message.includes("bufferSize"), error.message);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("Datagram serves a Python socket client", async () => {
  await withEngine(async (engine) => {
    const server = new Echo({ engine }).listen(["127.0.0.1", 0]);
    const { port } = await bound(server);
    const out = await python(
      `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
port = int(sys.argv[1])
results = []
for size in (0, 1, 512, 1472, 9000, 60000):
    payload = bytes((i * 7 + size) % 256 for i in range(size))
    s.sendto(payload, ("127.0.0.1", port))
    data, addr = s.recvfrom(65536)
    results.append("same" if data == payload and addr[1] == port else "differs %d" % len(data))
s.close()
print(" ".join(results))
`,
      [String(port)],
    );
    strictEqual(out.trim(), "same same same same same same");
  });
});

Deno.test("Datagram sends a Python socket server datagrams and reads its replies", async () => {
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(10)
print(s.getsockname()[1], flush=True)
for _ in range(3):
    data, addr = s.recvfrom(65536)
    s.sendto(data.upper(), addr)
s.close()
`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      line += value;
    }
    const port = Number(line.trim());
    await withEngine(async (engine) => {
      const client = new Recorder({ engine });
      client.encoding = "utf-8";
      client.connect(["127.0.0.1", port]);
      await bound(client);
      for (const word of ["one", "two", "three"]) client.write(word);
      await until(() => client.received.length === 3, "three replies");
      deepStrictEqual(client.received, ["ONE", "TWO", "THREE"]);
    });
  } finally {
    await reader.cancel();
    await child.stderr.cancel();
  }
  strictEqual((await child.status).code, 0);
});

Deno.test("engine.stop() closes open Datagram channels once", async () => {
  const engine = new Engine({ graceMs: 1000 });
  const running = engine.start();
  const a = new Recorder({ engine }).listen(["127.0.0.1", 0]);
  const b = new Recorder({ engine }).listen(["127.0.0.1", 0]);
  await bound(a);
  await bound(b);
  strictEqual(engine.counts().datagram, 2);
  await engine.stop();
  await running;
  deepStrictEqual([a.closes, b.closes, engine.counts().datagram], [1, 1, 0]);
});

Deno.test("Datagram lets the process exit once closed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/exit.ts`;
    const datagram = new URL("../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `
import { Datagram } from "${datagram}";
class Echo extends Datagram {
  override onRead(data: Uint8Array): void {
    this.write(data);
  }
}
class Client extends Datagram {
  override onConnect(): void {
    this.write("ping");
  }
  override onRead(): void {
    console.log("pong");
    this.close();
    server.close();
  }
}
const server = new Echo().listen(["127.0.0.1", 0]);
server.onListen = () => {
  new Client().connect(["127.0.0.1", (server.localAddress as Deno.NetAddr).port]);
};
await server.engine.start();
console.log("engine done");
`,
    );
    const child = runDeno(
      [...backendFlags, "--allow-net=127.0.0.1", `--allow-read=${dir}`],
      script,
    );
    const timer = setTimeout(() => child.stop(), 15_000);
    const status = await child.status();
    clearTimeout(timer);
    strictEqual(status.code, 0, child.stderr);
    deepStrictEqual(child.stdout.trim().split("\n"), ["pong", "engine done"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Datagram.connect without permission for a local port names the flags to add", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/connect.ts`;
    const datagram = new URL("../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `
import { Datagram } from "${datagram}";
class Client extends Datagram {
  override onConnectError(error: Error): void {
    console.log(error.message);
  }
}
await new Client().connect(["127.0.0.1", 4999]).engine.start();
`,
    );
    const child = runDeno(
      [...backendFlags, "--allow-net=127.0.0.1:4999", `--allow-read=${dir}`],
      script,
    );
    const timer = setTimeout(() => child.stop(), 15_000);
    const status = await child.status();
    clearTimeout(timer);
    strictEqual(status.code, 0, child.stderr);
    ok(child.stdout.includes("--allow-net=127.0.0.1:0,127.0.0.1:4999"), child.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const example = new URL("../examples/udp_echo.ts", import.meta.url).pathname;

Deno.test("examples/udp_echo.ts echoes with --allow-net for the loopback host only", async () => {
  const port = await freeUdpPort();
  const server = runDeno([...backendFlags, "--allow-net=127.0.0.1"], example, [
    String(port),
    "127.0.0.1",
  ]);
  const peer = await rawPeer();
  try {
    await server.waitFor(`listening on 127.0.0.1:${port}`);
    await peer.send("hello udp", port);
    await until(() => peer.received.length === 1, "the echo");
    strictEqual(text(peer.received[0]!.data), "hello udp");
  } finally {
    await peer.close();
    await server.stop();
  }
});

Deno.test("examples/udp_echo.ts reports a reply --allow-net forbids and keeps serving", async () => {
  const port = await freeUdpPort();
  const server = runDeno([...backendFlags, `--allow-net=127.0.0.1:${port}`], example, [
    String(port),
    "127.0.0.1",
  ]);
  const peer = await rawPeer();
  try {
    await server.waitFor(`listening on 127.0.0.1:${port}`);
    await peer.send("one", port);
    await server.waitFor("--allow-net=127.0.0.1 (all its ports");
    await peer.send("two", port);
    ok(server.stderr.includes(`to 127.0.0.1:${peer.port}: permission denied`), server.stderr);
    ok(!server.stderr.includes("Uncaught"), server.stderr);
    strictEqual(peer.received.length, 0);
  } finally {
    await peer.close();
    const status = await server.stop();
    strictEqual(status.code, 0, server.stderr); // still serving: stopped by the signal
    strictEqual((server.stderr.match(/Cannot send a datagram/g) ?? []).length, 1, server.stderr);
  }
});

Deno.test("examples/udp_echo.ts exits non-zero, naming the flag, when it may not listen", async () => {
  const allowed = await freeUdpPort();
  const other = allowed === 65535 ? allowed - 1 : allowed + 1;
  const server = runDeno([...backendFlags, `--allow-net=127.0.0.1:${allowed}`], example, [
    String(other),
    "127.0.0.1",
  ]);
  const timer = setTimeout(() => server.stop(), 15_000);
  const status = await server.status();
  clearTimeout(timer);
  strictEqual(status.code, 1, server.stderr);
  ok(server.stderr.includes(`Cannot listen on 127.0.0.1:${other}`), server.stderr);
  ok(server.stderr.includes(`--allow-net=127.0.0.1:${other}`), server.stderr);
});

Deno.test({
  name: `Datagram passes this suite on the ${
    native ? "node:dgram" : "Deno.listenDatagram"
  } backend too`,
  ignore: nested,
  fn: async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        ...(native ? [] : ["--unstable-net"]),
        "--sanitize-ops",
        "--sanitize-resources",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-env",
        new URL(import.meta.url).pathname,
      ],
      env: { PANTS_DATAGRAM_NESTED: "1", NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(180_000),
    }).output();
    const out = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    strictEqual(output.code, 0, out);
    ok(/ok \| \d+ passed \| 0 failed/.test(out), out);
  },
});
