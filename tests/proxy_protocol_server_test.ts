/**
 * `Server.proxyProtocol` over real sockets on loopback: raw clients send
 * version 1 and 2 headers (trusted and untrusted peers, bad, truncated and
 * late headers, the per-address limit by the real address), a TLS server
 * behind a header, and Pants clients sending one with
 * `connect(address, { proxyHeader })`.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  type ProxyHeader,
  type ProxyProtocolError,
  type RejectReason,
  Server,
  Stream,
} from "../mod.ts";
import { encodeProxyHeader } from "../transport/_proxy_client.ts";
import { testCerts } from "./_certs.ts";
import { python } from "./_subprocess.ts";
import {
  concat,
  connectTo,
  listening,
  readAll,
  text,
  until,
  utf8,
  withEngine,
} from "./_helpers.ts";

const LOOPBACK = ["127.0.0.1/32", "::1/128"];
const SOURCE = { hostname: "203.0.113.7", port: 51234 };
const DESTINATION = { hostname: "198.51.100.1", port: 443 };

/** Greets with what it knows of the connection, then echoes lines. */
class Who extends Stream {
  header: ProxyHeader | null = null;

  override onConnect(): void {
    this.readDelimiter = "\n";
    this.header = this.proxyHeader;
    const remote = this.remoteAddress as Deno.NetAddr;
    const local = this.localAddress as Deno.NetAddr;
    const proxy = this.proxyAddress as Deno.NetAddr | null;
    this.write(
      `${remote.hostname}:${remote.port} ${local.hostname}:${local.port} ` +
        `via ${proxy?.hostname ?? "-"}\n`,
    );
  }

  override onRead(line: Uint8Array): void {
    this.write(`echo ${text(line)}\n`);
  }
}

class Balanced extends Server<Who> {
  override ConnectionClass = Who;
  readonly failures: { error: ProxyProtocolError; from: Deno.Addr }[] = [];
  readonly rejected: RejectReason[] = [];

  override onProxyProtocolError(error: ProxyProtocolError, from: Deno.Addr): void {
    this.failures.push({ error, from });
  }

  override onReject(stream: Stream, reason: RejectReason): void {
    this.rejected.push(reason);
    stream.write("refused\n");
  }
}

/** Reads whole lines until `n` arrived (or EOF). */
async function lines(conn: Deno.Conn, n: number): Promise<string[]> {
  let got = "";
  const buffer = new Uint8Array(4096);
  while (got.split("\n").length <= n) {
    const read = await conn.read(buffer);
    if (read === null) break;
    got += text(buffer.subarray(0, read));
  }
  return got.split("\n").slice(0, n);
}

async function withServer(
  body: (server: Balanced, address: Deno.Addr) => Promise<void>,
  setup: (server: Balanced) => void = (server) => server.proxyProtocol = { trusted: LOOPBACK },
  host = "127.0.0.1",
): Promise<void> {
  await withEngine(async (engine) => {
    const server = new Balanced({ engine });
    setup(server);
    server.listen([host, 0]);
    await body(server, await listening(server));
  });
}

Deno.test("a trusted peer's version 1 header gives the stream the client's addresses, and the bytes after it", async () => {
  await withServer(async (_server, address) => {
    const conn = await connectTo(address);
    try {
      await conn.write(
        utf8(`PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\nhello\n`),
      );
      deepStrictEqual(await lines(conn, 2), [
        "203.0.113.7:51234 198.51.100.1:443 via 127.0.0.1",
        "echo hello",
      ]);
    } finally {
      conn.close();
    }
  });
});

Deno.test("a trusted peer's version 2 header gives the stream its TLVs", async () => {
  await withServer(async (server, address) => {
    const conn = await connectTo(address);
    try {
      const tlvs = [
        { type: 0x01, value: utf8("h2") },
        { type: 0x02, value: utf8("example.com") },
        { type: 0x05, value: utf8("req-42") },
      ];
      await conn.write(
        concat([
          encodeProxyHeader({ version: 2, source: SOURCE, destination: DESTINATION, tlvs }),
          utf8("hi\n"),
        ]),
      );
      deepStrictEqual(await lines(conn, 2), [
        "203.0.113.7:51234 198.51.100.1:443 via 127.0.0.1",
        "echo hi",
      ]);
      const header = [...server.channels.values()][0]!.header!;
      strictEqual(header.version, 2);
      strictEqual(header.alpn, "h2");
      strictEqual(header.authority, "example.com");
      strictEqual(text(header.uniqueId!), "req-42");
    } finally {
      conn.close();
    }
  });
});

Deno.test("a version 2 LOCAL header (a health check) keeps the balancer's address", async () => {
  await withServer(async (_server, address) => {
    const conn = await connectTo(address);
    try {
      await conn.write(encodeProxyHeader({ version: 2 }));
      const [greeting] = await lines(conn, 1);
      const local = conn.localAddr as Deno.NetAddr;
      strictEqual(
        greeting,
        `127.0.0.1:${local.port} 127.0.0.1:${(address as Deno.NetAddr).port} via 127.0.0.1`,
      );
    } finally {
      conn.close();
    }
  });
});

Deno.test("a version 1 UNKNOWN header keeps the balancer's address", async () => {
  await withServer(async (_server, address) => {
    const conn = await connectTo(address);
    try {
      await conn.write(utf8("PROXY UNKNOWN\r\nhi\n"));
      const local = conn.localAddr as Deno.NetAddr;
      deepStrictEqual(await lines(conn, 2), [
        `127.0.0.1:${local.port} 127.0.0.1:${(address as Deno.NetAddr).port} via 127.0.0.1`,
        "echo hi",
      ]);
    } finally {
      conn.close();
    }
  });
});

Deno.test("a header sent byte by byte is read whole before the stream connects", async () => {
  await withServer(async (_server, address) => {
    const conn = await connectTo(address);
    try {
      const header = encodeProxyHeader({ version: 1, source: SOURCE, destination: DESTINATION });
      for (const byte of header) {
        await conn.write(new Uint8Array([byte]));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      deepStrictEqual(await lines(conn, 1), ["203.0.113.7:51234 198.51.100.1:443 via 127.0.0.1"]);
    } finally {
      conn.close();
    }
  });
});

Deno.test("the largest version 2 header, 16 + 65,535 bytes, is read whole with the data after it", async () => {
  await withServer(async (server, address) => {
    const conn = await connectTo(address);
    try {
      const padding = { type: 0x04, value: new Uint8Array(0xffff - 12 - 3 - 11).fill(7) };
      const id = { type: 0x05, value: utf8("last-tlv") };
      const header = encodeProxyHeader({
        version: 2,
        source: SOURCE,
        destination: DESTINATION,
        tlvs: [padding, id],
      });
      strictEqual(header.length, 16 + 0xffff);
      await conn.write(concat([header, utf8("after\n")]));
      deepStrictEqual(await lines(conn, 2), [
        "203.0.113.7:51234 198.51.100.1:443 via 127.0.0.1",
        "echo after",
      ]);
      strictEqual(text([...server.channels.values()][0]!.header!.uniqueId!), "last-tlv");
    } finally {
      conn.close();
    }
  });
});

Deno.test("an untrusted peer's header is ordinary data and its own address stays", async () => {
  await withServer(async (server, address) => {
    const conn = await connectTo(address);
    try {
      await conn.write(utf8("PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\n"));
      const local = conn.localAddr as Deno.NetAddr;
      deepStrictEqual(await lines(conn, 2), [
        `127.0.0.1:${local.port} 127.0.0.1:${(address as Deno.NetAddr).port} via -`,
        "echo PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r",
      ]);
      deepStrictEqual(server.failures, []);
    } finally {
      conn.close();
    }
  }, (server) => server.proxyProtocol = { trusted: ["10.0.0.0/8"] });
});

/** Sends `bytes` from a trusted peer and expects the server to close the connection with `reason`. */
async function refusedWith(bytes: Uint8Array, reason: string, end = false): Promise<void> {
  await withServer(async (server, address) => {
    // A good connection open meanwhile is not disturbed.
    const good = await connectTo(address);
    await good.write(encodeProxyHeader({ version: 1, source: SOURCE, destination: DESTINATION }));
    await lines(good, 1);
    const bad = await connectTo(address);
    try {
      await bad.write(bytes);
      if (end) await bad.closeWrite();
      strictEqual(text(await readAll(bad)), "", "nothing reaches a stream");
      await until(() => server.failures.length === 1, "the error");
      const { error, from } = server.failures[0]!;
      strictEqual(error.name, "ProxyProtocolError");
      strictEqual(error.reason, reason);
      strictEqual((from as Deno.NetAddr).hostname, "127.0.0.1");
      strictEqual(server.channels.size, 1);
      await good.write(utf8("still here\n"));
      deepStrictEqual(await lines(good, 1), ["echo still here"]);
    } finally {
      bad.close();
      good.close();
    }
  });
}

Deno.test("a trusted peer without a header is closed with a missing ProxyProtocolError", async () => {
  await refusedWith(utf8("GET / HTTP/1.1\r\n\r\n"), "missing");
});

Deno.test("a trusted peer's malformed header is closed with a malformed ProxyProtocolError", async () => {
  await refusedWith(utf8("PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n"), "malformed");
});

Deno.test("a trusted peer's version 1 line over 107 bytes is closed as oversized", async () => {
  await refusedWith(utf8("PROXY UNKNOWN " + "f".repeat(120)), "oversized");
});

Deno.test("a trusted peer that ends inside its header is closed as truncated", async () => {
  await refusedWith(utf8("PROXY TCP4 1.2.3.4"), "truncated", true);
});

Deno.test("a header not complete within headerTimeout closes the connection", async () => {
  await withServer(async (server, address) => {
    const conn = await connectTo(address);
    try {
      const started = Date.now();
      await conn.write(utf8("PROXY TCP4 1.2.3.4 "));
      strictEqual(await readAll(conn).then((bytes) => bytes.length), 0);
      const took = Date.now() - started;
      ok(took >= 150 && took < 3000, `closed after ${took} ms`);
      await until(() => server.failures.length === 1, "the error");
      strictEqual(server.failures[0]!.error.reason, "timeout");
    } finally {
      conn.close();
    }
  }, (server) => server.proxyProtocol = { trusted: LOOPBACK, headerTimeout: 200 });
});

Deno.test("closing the server closes connections still sending their header", async () => {
  await withServer(async (server, address) => {
    const conn = await connectTo(address);
    try {
      await conn.write(utf8("PROXY TCP4 "));
      await new Promise((resolve) => setTimeout(resolve, 50));
      server.close();
      strictEqual((await readAll(conn)).length, 0);
      deepStrictEqual(server.failures, []);
    } finally {
      conn.close();
    }
  });
});

Deno.test("maxConnectionsPerAddress counts the client's address from the header", async () => {
  await withServer(async (server, address) => {
    const open = async (hostname: string): Promise<[Deno.Conn, string]> => {
      const conn = await connectTo(address);
      const source = { hostname, port: 1000 };
      await conn.write(encodeProxyHeader({ version: 2, source, destination: DESTINATION }));
      return [conn, (await lines(conn, 1))[0]!];
    };
    const opened = [await open("203.0.113.7"), await open("203.0.113.8")];
    const third = await open("203.0.113.7");
    opened.push(third);
    try {
      ok(opened[0]![1].startsWith("203.0.113.7:1000"));
      ok(opened[1]![1].startsWith("203.0.113.8:1000"), "another client via the same balancer");
      strictEqual(third[1], "refused");
      deepStrictEqual(server.rejected, ["maxConnectionsPerAddress"]);
    } finally {
      for (const [conn] of opened) conn.close();
    }
  }, (server) => {
    server.proxyProtocol = { trusted: LOOPBACK };
    server.maxConnectionsPerAddress = 1;
  });
});

Deno.test("an IPv6 balancer's version 1 TCP6 header is read on ::1", async () => {
  await withServer(
    async (_server, address) => {
      const conn = await connectTo(address);
      try {
        await conn.write(utf8("PROXY TCP6 2001:db8::7 2001:db8::1 4000 443\r\n"));
        deepStrictEqual(await lines(conn, 1), ["2001:db8::7:4000 2001:db8::1:443 via ::1"]);
      } finally {
        conn.close();
      }
    },
    undefined,
    "::1",
  );
});

Deno.test("proxyProtocol throws at assignment for a bad range or timeout, and once listening", async () => {
  const server = new Server(Stream);
  throws(() => server.proxyProtocol = { trusted: ["10.0.0.0/33"] }, TypeError);
  throws(() => server.proxyProtocol = { trusted: ["balancer.local"] }, TypeError);
  throws(() => server.proxyProtocol = { trusted: "10.0.0.0/8" } as never, TypeError);
  throws(() => server.proxyProtocol = { trusted: [], headerTimeout: -1 }, RangeError);
  throws(
    () => new Server({ ConnectionClass: Stream, proxyProtocol: { trusted: ["x"] } }),
    TypeError,
  );
  strictEqual(server.proxyProtocol, null);
  const made = new Server({ ConnectionClass: Stream, proxyProtocol: { trusted: LOOPBACK } });
  deepStrictEqual(made.proxyProtocol, { trusted: LOOPBACK, headerTimeout: 5000 });
  await withEngine(async (engine) => {
    const running = new Server({ ConnectionClass: Stream, engine }).listen(["127.0.0.1", 0]);
    throws(() => running.proxyProtocol = { trusted: LOOPBACK }, /before listen/);
    await listening(running);
  });
});

/** A client that says hello and records its greeting and the echo. */
class Greeted extends Stream {
  readonly lines: string[] = [];
  get greeting(): string | undefined {
    return this.lines[0];
  }
  override onConnect(): void {
    this.readDelimiter = "\n";
    this.write("hello\n");
  }
  override onRead(line: Uint8Array): void {
    this.lines.push(text(line));
    if (this.lines.length === 2) this.close();
  }
}

Deno.test("connect({ proxyHeader }) sends the header before what onConnect writes", async () => {
  await withServer(async (_server, address) => {
    const client = new Greeted({ engine: _server.engine });
    client.connect(["127.0.0.1", (address as Deno.NetAddr).port], {
      proxyHeader: { version: 1, source: SOURCE, destination: DESTINATION },
    });
    await until(() => client.closed, "the greeting");
    deepStrictEqual(client.lines, [
      "203.0.113.7:51234 198.51.100.1:443 via 127.0.0.1",
      "echo hello",
    ]);
  });
});

Deno.test("connect({ proxyHeader }) throws a TypeError for a header it cannot send", () => {
  const client = new Stream();
  throws(
    () =>
      client.connect(4040, { proxyHeader: { version: 1, tlvs: [{ type: 1, value: utf8("x") }] } }),
    TypeError,
  );
  throws(
    () => client.connect(4040, { proxyHeader: { version: 2 }, proxy: "socks5://127.0.0.1:1080" }),
    TypeError,
  );
  strictEqual(client.connecting, false);
});

const { trusted: certs } = await testCerts();

Deno.test("a TLS server reads the PROXY header before the handshake", async () => {
  await withServer(async (server, address) => {
    const client = new Greeted({ engine: server.engine });
    client.startSSL({ caCerts: [certs.cert], hostname: "localhost" });
    client.connect(["127.0.0.1", (address as Deno.NetAddr).port], {
      proxyHeader: {
        version: 2,
        source: SOURCE,
        destination: DESTINATION,
        tlvs: [{ type: 0x02, value: utf8("localhost") }],
      },
    });
    await until(() => client.closed, "the greeting over TLS");
    deepStrictEqual(client.lines, [
      "203.0.113.7:51234 198.51.100.1:443 via 127.0.0.1",
      "echo hello",
    ]);
    strictEqual(client.secure, true);
  }, (server) => {
    server.proxyProtocol = { trusted: LOOPBACK };
    server.startSSL({ cert: certs.cert, key: certs.key });
  });
});

/**
 * A Python TLS client that sends the PROXY header and its ClientHello in
 * one write (so they arrive in one read), then says hello and prints the
 * two lines it gets back.
 */
const HEADER_AND_HELLO_PY = `
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
first = True
while True:
    try:
        tls.do_handshake()
        done = True
    except ssl.SSLWantReadError:
        done = False
    data = outgoing.read()
    if first:
        data = bytes.fromhex(sys.argv[3]) + data
        first = False
    if data:
        sock.sendall(data)
    if done:
        break
    incoming.write(sock.recv(65536))
tls.write(b"hello\\n")
sock.sendall(outgoing.read())
got = b""
while got.count(b"\\n") < 2:
    try:
        got += tls.read(4096)
    except ssl.SSLWantReadError:
        chunk = sock.recv(65536)
        if not chunk:
            break
        incoming.write(chunk)
sys.stdout.write(got.decode())
`;

Deno.test("a TLS server takes a ClientHello that arrives in the header's read", async () => {
  await withServer(async (_server, address) => {
    const header = encodeProxyHeader({ version: 2, source: SOURCE, destination: DESTINATION });
    const hex = Array.from(header, (byte) => byte.toString(16).padStart(2, "0")).join("");
    const port = String((address as Deno.NetAddr).port);
    const out = await python(HEADER_AND_HELLO_PY, [port, certs.certPath, hex]);
    deepStrictEqual(out.trimEnd().split("\n"), [
      "203.0.113.7:51234 198.51.100.1:443 via 127.0.0.1",
      "echo hello",
    ]);
  }, (server) => {
    server.proxyProtocol = { trusted: LOOPBACK };
    server.startSSL({ cert: certs.cert, key: certs.key });
  });
});
