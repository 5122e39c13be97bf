/**
 * `connect(address, { proxy: "socks5://…" })` against a real SOCKS5 server,
 * `microsocks` (skipped when it is not installed: `apt-get install -y
 * microsocks`), with a Python echo server as the target; and against fake
 * proxies written here that send garbage, truncated and hostile replies
 * (never skipped).
 */
import { deepStrictEqual, match, ok, strictEqual, throws } from "node:assert/strict";
import { ProxyError, Stream, StreamConnectError, TlsHandshakeError } from "../mod.ts";
import { testCerts } from "./_certs.ts";
import { text, until, utf8, withEngine } from "./_helpers.ts";
import { explainSkip, withDaemon } from "./_daemons.ts";
import { freePort, Subprocess } from "./_subprocess.ts";

// microsocks has no version flag; `-h` prints its usage (exit code 1).
const hasMicrosocks = (() => {
  try {
    new Deno.Command("microsocks", { args: ["-h"], stdout: "null", stderr: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
})();
if (!hasMicrosocks) explainSkip("microsocks", "microsocks");

const { trusted } = await testCerts();

/** A Python echo server (TLS with a certificate and key): one line back per line, many clients. */
const ECHO_PY = `
import socket, ssl, sys, threading
srv = socket.socket(socket.AF_INET6 if sys.argv[1] == "::" else socket.AF_INET)
if sys.argv[1] == "::":
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
srv.bind((sys.argv[1], 0))
srv.listen(16)
ctx = None
if len(sys.argv) > 3:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
print("PORT", srv.getsockname()[1], flush=True)
def serve(conn):
    try:
        if ctx is not None:
            conn = ctx.wrap_socket(conn, server_side=True)
        conn.settimeout(10)
        conn.sendall(b"welcome\\n")
        data = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
            while b"\\n" in data:
                line, data = data.split(b"\\n", 1)
                conn.sendall(b"echo: " + line + b"\\n")
    except Exception as e:
        print("ERROR", e, flush=True)
    finally:
        conn.close()
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
`;

async function withEcho(
  body: (port: number) => Promise<void>,
  options: { host?: string; tls?: boolean } = {},
): Promise<void> {
  const args = ["-c", ECHO_PY, options.host ?? "127.0.0.1"];
  if (options.tls) args.push(trusted.certPath, trusted.keyPath);
  const echo = new Subprocess("python3", args);
  try {
    const port = Number((await echo.waitForMatch(/PORT (\d+)\n/))[1]);
    await body(port);
  } finally {
    await echo.stop();
  }
}

/** A client that says hello through the proxy and records what happens. */
class Client extends Stream {
  readonly lines: string[] = [];
  error: StreamConnectError | TlsHandshakeError | undefined;
  connectedThrough = false;

  override onConnect(): void {
    this.connectedThrough = true;
    this.readDelimiter = "\n";
    this.write("hello\n");
  }
  override onRead(line: Uint8Array): void {
    this.lines.push(text(line));
    if (this.lines.length === 2) this.close();
  }
  override onConnectError(error: StreamConnectError): void {
    this.error = error;
  }
  override onSSLHandshakeError(error: TlsHandshakeError): void {
    this.error = error;
  }
}

/** Runs one client to its end (closed), within 10 s. */
async function run(
  target: readonly [string, number],
  proxy: string,
  setup?: (client: Client) => void,
): Promise<Client> {
  let client: Client | undefined;
  // A fresh engine per client: an engine with nothing left to do ends.
  await withEngine(async (engine) => {
    client = new Client({ engine });
    setup?.(client);
    client.connect(target, { proxy });
    await until(() => client!.closed, "the client to finish", 10_000);
  });
  return client!;
}

function microsocksTest(
  name: string,
  args: string[],
  body: (proxyPort: number) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !hasMicrosocks,
    fn: () =>
      withDaemon(
        "microsocks",
        (port) => ["-i", "127.0.0.1", "-p", String(port), ...args],
        body,
      ),
  });
}

microsocksTest(
  "Stream.connect with a proxy tunnels to the target (no auth)",
  [],
  (proxy) =>
    withEcho(async (port) => {
      const client = await run(["127.0.0.1", port], `socks5://127.0.0.1:${proxy}`);
      strictEqual(client.error, undefined);
      deepStrictEqual(client.lines, ["welcome", "echo: hello"]);
      // The stream's peer is the proxy.
      strictEqual((client.remoteAddress as Deno.NetAddr).port, proxy);
    }),
);

microsocksTest(
  "Stream.connect with a proxy authenticates with a percent-encoded username and password",
  ["-u", "us@er", "-P", "p:ss wörd"],
  (proxy) =>
    withEcho(async (port) => {
      const url = `socks5://us%40er:p%3Ass%20w%C3%B6rd@127.0.0.1:${proxy}`;
      const client = await run(["127.0.0.1", port], url);
      strictEqual(client.error, undefined);
      deepStrictEqual(client.lines, ["welcome", "echo: hello"]);
    }),
);

microsocksTest(
  "Stream.connect with a proxy reports a wrong password as a ProxyError",
  ["-u", "user", "-P", "right"],
  (proxy) =>
    withEcho(async (port) => {
      const client = await run(["127.0.0.1", port], `socks5://user:wrong@127.0.0.1:${proxy}`);
      ok(client.error instanceof ProxyError, String(client.error));
      ok(client.error instanceof StreamConnectError);
      strictEqual(client.error.name, "ProxyError");
      match(client.error.message, /authentication failed/);
      ok(!client.error.message.includes("wrong"), "the message shows no password");
      strictEqual(client.connectedThrough, false);
      // Without credentials, the proxy accepts no method.
      const anonymous = await run(["127.0.0.1", port], `socks5://127.0.0.1:${proxy}`);
      ok(anonymous.error instanceof ProxyError);
      match(anonymous.error.message, /requires authentication/);
    }),
);

microsocksTest(
  "Stream.connect with a proxy sends a host name for the proxy to resolve",
  [],
  (proxy) =>
    withEcho(async (port) => {
      const client = await run(["localhost", port], `socks5h://127.0.0.1:${proxy}`);
      strictEqual(client.error, undefined);
      deepStrictEqual(client.lines, ["welcome", "echo: hello"]);
    }, { host: "::" }),
);

microsocksTest(
  "Stream.connect with a proxy gives the SOCKS5 reply code when the target refuses",
  [],
  async (proxy) => {
    const closed = freePort();
    const client = await run(["127.0.0.1", closed], `socks5://127.0.0.1:${proxy}`);
    ok(client.error instanceof ProxyError, String(client.error));
    strictEqual(client.error.code, 5);
    match(client.error.message, /"connection refused" \(SOCKS5 reply code 5\)/);
    match(client.error.message, new RegExp(`127\\.0\\.0\\.1:${closed}`));
  },
);

microsocksTest(
  "Stream.connect with a proxy runs TLS (startSSL before connect) inside the tunnel",
  [],
  (proxy) =>
    withEcho(async (port) => {
      let handshakes = 0;
      const client = await run(
        ["127.0.0.1", port],
        `socks5://127.0.0.1:${proxy}`,
        (client) => {
          client.startSSL({ caCerts: [trusted.cert], hostname: "localhost" });
          client.onSSLHandshake = () => handshakes++;
        },
      );
      strictEqual(client.error, undefined);
      strictEqual(handshakes, 1);
      ok(client.secure);
      deepStrictEqual(client.lines, ["welcome", "echo: hello"]);
      // Verified against the target's name, not the proxy's: a wrong name fails.
      const wrong = await run(
        ["127.0.0.1", port],
        `socks5://127.0.0.1:${proxy}`,
        (client) => client.startSSL({ caCerts: [trusted.cert], hostname: "other.example" }),
      );
      ok(wrong.error instanceof TlsHandshakeError, String(wrong.error));
    }, { tls: true }),
);

// --- URLs -------------------------------------------------------------------

Deno.test("Stream.connect rejects a bad proxy URL with a TypeError at once", () => {
  const bad = [
    "http://127.0.0.1:1080",
    "socks4://127.0.0.1:1080",
    "socks5://",
    "not a url",
    "socks5://127.0.0.1:1080/path",
    "socks5://127.0.0.1:1080?x=1",
    "socks5://u:%ZZ@127.0.0.1:1080",
    "socks5://:pass@127.0.0.1:1080",
    `socks5://${"u".repeat(256)}:p@127.0.0.1:1080`,
    "socks5://127.0.0.1:0",
  ];
  for (const proxy of bad) {
    const stream = new Stream();
    throws(() => stream.connect(["127.0.0.1", 80], { proxy }), TypeError, proxy);
    strictEqual(stream.connecting, false, proxy);
  }
  throws(
    () => new Stream().connect({ path: "/tmp/x.sock" }, { proxy: "socks5://127.0.0.1:1080" }),
    TypeError,
  );
  throws(
    () => new Stream().connect(["a".repeat(256), 80], { proxy: "socks5://127.0.0.1:1080" }),
    /at most 255 bytes/,
  );
  const error = (() => {
    try {
      new Stream().connect(["127.0.0.1", 80], { proxy: "socks5://me:secret@:1" });
    } catch (error) {
      return error as Error;
    }
  })();
  ok(error instanceof TypeError);
  ok(!error.message.includes("secret"), error.message);
});

// --- fake proxies -------------------------------------------------------------

/**
 * A fake SOCKS5 proxy in this process: for each connection, `script` reads
 * and writes what it likes; the connection is closed after it.
 */
async function withFakeProxy(
  script: (conn: Deno.Conn) => Promise<void>,
  body: (port: number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served: Promise<void>[] = [];
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      served.push(
        script(conn).catch(() => {}).finally(() => {
          try {
            conn.close();
          } catch {
            // Closed by the script.
          }
        }),
      );
    }
  })();
  try {
    await body((listener.addr as Deno.NetAddr).port);
  } finally {
    listener.close();
    await accepting;
    await Promise.all(served);
  }
}

/** Reads exactly `n` bytes (or fewer at EOF). */
async function take(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const count = await conn.read(out.subarray(got));
    if (count === null) break;
    got += count;
  }
  return out.subarray(0, got);
}

/** Reads a no-auth greeting and a CONNECT request; returns the request. */
async function greetAndRequest(conn: Deno.Conn): Promise<Uint8Array> {
  const head = await take(conn, 2);
  await take(conn, head[1]!);
  await conn.write(Uint8Array.of(5, 0));
  const request = await take(conn, 5);
  const rest = request[3] === 1 ? 4 - 1 + 2 : request[3] === 4 ? 16 - 1 + 2 : request[4]! + 2;
  return new Uint8Array([...request, ...(await take(conn, rest))]);
}

async function fakeRun(
  script: (conn: Deno.Conn) => Promise<void>,
  target: readonly [string, number] = ["127.0.0.1", 9],
): Promise<Client> {
  let client: Client | undefined;
  await withFakeProxy(script, async (port) => {
    client = await run(target, `socks5://127.0.0.1:${port}`);
  });
  return client!;
}

function assertProxyError(client: Client, pattern: RegExp): void {
  ok(client.error instanceof ProxyError, String(client.error));
  match(client.error.message, pattern);
  strictEqual(client.connectedThrough, false);
}

Deno.test("Stream.connect with a proxy keeps bytes the target sent with the proxy's reply", async () => {
  let request: Uint8Array | undefined;
  const client = await fakeRun(async (conn) => {
    request = await greetAndRequest(conn);
    // The reply, a 255-byte bound name, and the target's first line in one write.
    const reply = [5, 0, 0, 3, 255, ...new Uint8Array(255).fill(0x61), 0, 80];
    await conn.write(new Uint8Array([...reply, ...utf8("welcome\n")]));
    const hello = await take(conn, 6);
    await conn.write(utf8(`echo: ${text(hello).trim()}\n`));
    await take(conn, 1);
  }, ["example.test", 8080]);
  strictEqual(client.error, undefined);
  deepStrictEqual(client.lines, ["welcome", "echo: hello"]);
  // A host name goes to the proxy unresolved (address type 3).
  deepStrictEqual([...request!], [5, 1, 0, 3, 12, ...utf8("example.test"), 0x1f, 0x90]);
});

Deno.test("Stream.connect with a proxy sends IPv6 targets as 16 bytes", async () => {
  let request: Uint8Array | undefined;
  await fakeRun(async (conn) => {
    request = await greetAndRequest(conn);
  }, ["2001:db8::ffff:1.2.3.4", 443]);
  deepStrictEqual(
    [...request!],
    [5, 1, 0, 4, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4, 1, 0xbb],
  );
});

Deno.test("Stream.connect with a proxy turns hostile replies into ProxyErrors", async () => {
  const cases: [string, (conn: Deno.Conn) => Promise<void>, RegExp][] = [
    ["closes at once", async () => {}, /closed the connection before its method choice/],
    ["an HTTP server", async (conn) => {
      await take(conn, 3);
      await conn.write(utf8("HTTP/1.1 400 Bad Request\r\n\r\n"));
    }, /not SOCKS5 \(version byte 72\)/],
    ["a method not offered", async (conn) => {
      await take(conn, 3);
      await conn.write(Uint8Array.of(5, 2));
    }, /chose method 2, which was not offered/],
    ["a truncated reply", async (conn) => {
      await greetAndRequest(conn);
      await conn.write(Uint8Array.of(5, 0, 0));
    }, /in the middle of its reply/],
    ["a truncated domain in the reply", async (conn) => {
      await greetAndRequest(conn);
      await conn.write(Uint8Array.of(5, 0, 0, 3, 255, 1, 2, 3));
    }, /in the middle of its reply/],
    ["a refusal", async (conn) => {
      await greetAndRequest(conn);
      await conn.write(Uint8Array.of(5, 2, 0, 1, 0, 0, 0, 0, 0, 0));
    }, /connection not allowed by ruleset" \(SOCKS5 reply code 2\)/],
    ["an unknown reply code", async (conn) => {
      await greetAndRequest(conn);
      await conn.write(Uint8Array.of(5, 200, 0, 1));
    }, /unknown reply" \(SOCKS5 reply code 200\)/],
    ["a wrong version in the reply", async (conn) => {
      await greetAndRequest(conn);
      await conn.write(Uint8Array.of(4, 0, 0, 1, 0, 0, 0, 0, 0, 0));
    }, /malformed reply \(version byte 4/],
  ];
  for (const [name, script, pattern] of cases) {
    const client = await fakeRun(script);
    try {
      assertProxyError(client, pattern);
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`);
    }
  }
});

Deno.test("Stream.connect with a proxy reads no more than the reply of a flooding proxy", async () => {
  let sent = 0;
  const before = Deno.memoryUsage().rss;
  const client = await fakeRun(async (conn) => {
    await greetAndRequest(conn);
    // An unknown address type, then 64 MiB of junk the client must not buffer.
    await conn.write(Uint8Array.of(5, 0, 0, 9));
    const junk = new Uint8Array(1 << 20).fill(0xee);
    while (sent < 64 << 20) sent += await conn.write(junk);
  });
  assertProxyError(client, /malformed reply \(address type 9\)/);
  const grown = Deno.memoryUsage().rss - before;
  ok(sent < 64 << 20, `the proxy could send all ${sent} bytes`);
  ok(grown < 48 << 20, `RSS grew by ${grown} bytes`);
});

Deno.test("Stream.close during the SOCKS5 handshake ends the proxy connection", async () => {
  let sawEnd = false;
  await withFakeProxy(async (conn) => {
    await take(conn, 3);
    // Never answers; the client's close() must end the connection.
    sawEnd = (await take(conn, 1)).length === 0;
  }, (port) =>
    withEngine(async (engine) => {
      const client = new Client({ engine });
      client.connect(["127.0.0.1", 9], { proxy: `socks5://127.0.0.1:${port}` });
      await new Promise((resolve) => setTimeout(resolve, 100));
      client.close();
      await until(() => sawEnd, "the proxy to see the end");
      strictEqual(client.error, undefined);
      strictEqual(client.connectedThrough, false);
    }));
  ok(sawEnd);
});

Deno.test("Stream.connect with an unreachable proxy is a StreamConnectError", async () => {
  const port = freePort();
  const client = await run(["127.0.0.1", 80], `socks5://127.0.0.1:${port}`);
  ok(client.error instanceof StreamConnectError, String(client.error));
  ok(!(client.error instanceof ProxyError));
  match(client.error.message, /connection refused/);
});
