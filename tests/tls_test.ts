/**
 * TLS: servers after `startSSL`, client streams that are TLS from the start,
 * STARTTLS on both sides, against Pants, openssl and Python peers; failed
 * handshakes; the secure chat example.
 */
import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { type Engine, Server, StartTlsError, Stream, TlsHandshakeError } from "../mod.ts";
import { type CertPair, testCerts } from "./_certs.ts";
import {
  concat,
  listening,
  prng,
  randomBytes,
  readAll,
  readExactly,
  text,
  until,
  utf8,
  withEngine,
} from "./_helpers.ts";
import {
  freePort,
  PY_ACCEPT_ONCE,
  python,
  runDeno,
  Subprocess,
  waitForPort,
} from "./_subprocess.ts";

const { trusted, untrusted, wrongName } = await testCerts();
const serverKeys = (pair: CertPair) => ({ cert: pair.cert, key: pair.key });
const trustTrusted = { caCerts: [trusted.cert], hostname: "localhost" };

/** Listens on 127.0.0.1 with `ConnectionClass`, TLS with `pair` if given; returns the port. */
async function serve(
  engine: Engine,
  ConnectionClass: new (options?: { engine?: Engine }) => Stream,
  pair?: CertPair,
): Promise<{ server: Server<Stream>; port: number }> {
  const server = new Server<Stream>({ ConnectionClass, engine });
  if (pair !== undefined) server.startSSL(serverKeys(pair));
  server.listen(["127.0.0.1", 0]);
  const address = (await listening(server)) as Deno.NetAddr;
  return { server, port: address.port };
}

/** A raw TLS client of a Pants TLS server. */
function connectTls(port: number, caCert = trusted.cert): Promise<Deno.TlsConn> {
  return Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [caCert] });
}

/** A raw client that asks for STARTTLS, waits for "GO", and upgrades. */
async function startTlsClient(port: number, caCert = trusted.cert): Promise<Deno.TlsConn> {
  const plain = await Deno.connect({ hostname: "127.0.0.1", port });
  await plain.write(utf8("STARTTLS\r\n"));
  strictEqual(text(await readExactly(plain, 4)), "GO\r\n");
  return await Deno.startTls(plain, { hostname: "localhost", caCerts: [caCert] });
}

/** Line echo with events recorded; handshake errors are collected, not logged. */
class LineEcho extends Stream {
  static events: string[] = [];
  static errors: TlsHandshakeError[] = [];

  override onSSLHandshake(): void {
    LineEcho.events.push("handshake");
  }
  override onConnect(): void {
    LineEcho.events.push("connect");
    this.readDelimiter = "\n";
  }
  override onRead(line: Uint8Array): void {
    this.write(`echo: ${text(line)}\n`);
  }
  override onSSLHandshakeError(error: TlsHandshakeError): void {
    LineEcho.errors.push(error);
    this.close({ flush: false });
  }
}

function resetLineEcho(): void {
  LineEcho.events = [];
  LineEcho.errors = [];
}

/**
 * A server stream speaking a tiny STARTTLS protocol over "\r\n" lines:
 * "STARTTLS" → "GO", upgrade, then "welcome" (written during the upgrade,
 * so sent over TLS); any other line → "echo: <line>".
 */
class StartTlsServer extends Stream {
  static pair: CertPair = trusted;
  static events: string[] = [];
  static errors: TlsHandshakeError[] = [];
  static streams: StartTlsServer[] = [];

  override onConnect(): void {
    StartTlsServer.streams.push(this);
    this.readDelimiter = "\r\n";
  }
  override onRead(line: Uint8Array): void {
    const command = text(line);
    if (command === "STARTTLS") {
      this.write("GO\r\n");
      this.startSSL(serverKeys(StartTlsServer.pair));
      this.write("welcome\r\n");
      return;
    }
    this.write(`echo: ${command}\r\n`);
  }
  override onSSLHandshake(): void {
    StartTlsServer.events.push("handshake");
  }
  override onSSLHandshakeError(error: TlsHandshakeError): void {
    StartTlsServer.errors.push(error);
    this.close({ flush: false });
  }
}

function resetStartTlsServer(pair = trusted): void {
  StartTlsServer.pair = pair;
  StartTlsServer.events = [];
  StartTlsServer.errors = [];
  StartTlsServer.streams = [];
}

/** Closes a piped stdin, ignoring a process that already exited. */
async function closeStdin(writer: WritableStreamDefaultWriter<Uint8Array>): Promise<void> {
  try {
    await writer.close();
  } catch {
    // The process exited first.
  }
}

// --- TLS servers ------------------------------------------------------------

Deno.test("Server.startSSL serves openssl s_client, onSSLHandshake before onConnect", async () => {
  resetLineEcho();
  await withEngine(async (engine) => {
    const { port } = await serve(engine, LineEcho, trusted);
    const client = new Subprocess("openssl", [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-CAfile",
      trusted.certPath,
      "-verify_return_error",
      "-verify_hostname",
      "localhost",
      "-brief",
    ], { stdin: "piped" });
    const stdin = client.child.stdin.getWriter();
    try {
      await client.waitFor("CONNECTION ESTABLISHED");
      await stdin.write(utf8("ping from openssl\n"));
      await client.waitFor("echo: ping from openssl");
      await closeStdin(stdin);
      const status = await client.status();
      strictEqual(status.code, 0, client.stderr);
      match(client.stderr, /Verification: OK/);
    } finally {
      await closeStdin(stdin);
      await client.stop();
    }
    deepStrictEqual(LineEcho.events, ["handshake", "connect"]);
  });
});

Deno.test("Server.startSSL serves Python's ssl module", async () => {
  resetLineEcho();
  await withEngine(async (engine) => {
    const { port } = await serve(engine, LineEcho, trusted);
    const out = await python(
      `
import socket, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[2])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
with context.wrap_socket(raw, server_hostname="localhost") as s:
    print(s.version())
    s.sendall(b"hello from python\\n")
    data = b""
    while not data.endswith(b"\\n"):
        chunk = s.recv(100)
        if not chunk: break
        data += chunk
    print(data.decode(), end="")
`,
      [String(port), trusted.certPath],
    );
    deepStrictEqual(out.trim().split("\n"), ["TLSv1.3", "echo: hello from python"]);
  });
});

/** Records how a stream's input ended. */
class EndRecorder extends Stream {
  static outcomes: string[] = [];
  override onConnect(): void {
    this.readDelimiter = "\n";
  }
  override onRead(line: Uint8Array): void {
    if (text(line) === "STARTTLS") {
      this.write("GO\r\n");
      this.startSSL(serverKeys(trusted));
    } else {
      this.write("ok\n");
    }
  }
  override onEnd(): void {
    EndRecorder.outcomes.push("end");
    super.onEnd();
  }
  override onError(error: unknown): void {
    EndRecorder.outcomes.push(`error: ${error}`);
    super.onError(error);
  }
}

/** A Python client that closes its TLS socket without a close_notify alert. */
const RAGGED_CLOSE = `
import socket, ssl, sys
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
if sys.argv[3] == "starttls":
    raw.sendall(b"STARTTLS\\n")
    assert raw.recv(4) == b"GO\\r\\n"
s = ssl.create_default_context(cafile=sys.argv[2]).wrap_socket(raw, server_hostname="localhost")
s.sendall(b"bye\\n")
assert s.recv(3) == b"ok\\n"  # nothing left unread, so the close is a FIN, not a reset
s.close()  # no unwrap(): no close_notify
print("closed")
`;

Deno.test("Server.startSSL treats a peer closing without close_notify as the end", async () => {
  EndRecorder.outcomes = [];
  await withEngine(async (engine) => {
    const { server, port } = await serve(engine, EndRecorder, trusted);
    strictEqual(await python(RAGGED_CLOSE, [String(port), trusted.certPath, "tls"]), "closed\n");
    await until(() => EndRecorder.outcomes.length > 0 && server.channels.size === 0, "the end");
  });
  deepStrictEqual(EndRecorder.outcomes, ["end"]);
});

Deno.test("Stream.startSSL treats a peer closing without close_notify as the end", async () => {
  EndRecorder.outcomes = [];
  await withEngine(async (engine) => {
    const { server, port } = await serve(engine, EndRecorder);
    strictEqual(
      await python(RAGGED_CLOSE, [String(port), trusted.certPath, "starttls"]),
      "closed\n",
    );
    await until(() => EndRecorder.outcomes.length > 0 && server.channels.size === 0, "the end");
  });
  deepStrictEqual(EndRecorder.outcomes, ["end"]);
});

Deno.test("Server.startSSL keeps remoteAddress as on plain streams", async () => {
  const remotes: (Deno.Addr | null)[] = [];
  class Remote extends Stream {
    override onConnect(): void {
      remotes.push(this.remoteAddress);
      this.write("x");
    }
  }
  await withEngine(async (engine) => {
    const { port } = await serve(engine, Remote, trusted);
    const conn = await connectTls(port);
    strictEqual(text(await readExactly(conn, 1)), "x");
    const local = conn.localAddr as Deno.NetAddr;
    deepStrictEqual({ ...remotes[0] }, {
      transport: "tcp",
      hostname: "127.0.0.1",
      port: local.port,
    });
    conn.close();
  });
});

Deno.test("Server.startSSL offers ALPN protocols", async () => {
  await withEngine(async (engine) => {
    const server = new Server<Stream>({ ConnectionClass: LineEcho, engine });
    server.startSSL({ ...serverKeys(trusted), alpnProtocols: ["pants/1", "http/1.1"] });
    server.listen(["127.0.0.1", 0]);
    const { port } = (await listening(server)) as Deno.NetAddr;
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port,
      caCerts: [trusted.cert],
      alpnProtocols: ["pants/1"],
    });
    strictEqual((await conn.handshake()).alpnProtocol, "pants/1");
    conn.close();
  });
});

// --- TLS clients ------------------------------------------------------------

Deno.test("Stream.startSSL before connect talks to openssl s_server", async () => {
  const port = freePort();
  const peer = new Subprocess("openssl", [
    "s_server",
    "-accept",
    `127.0.0.1:${port}`,
    "-cert",
    trusted.certPath,
    "-key",
    trusted.keyPath,
    "-naccept",
    "1",
    "-rev",
  ]);
  const events: string[] = [];
  try {
    await peer.waitFor("ACCEPT");
    class Client extends Stream {
      override onSSLHandshake(): void {
        events.push(`handshake secure=${this.secure}`);
      }
      override onConnect(): void {
        events.push("connect");
        this.readDelimiter = "\n";
        this.write("hello pants\n");
      }
      override onRead(line: Uint8Array): void {
        events.push(text(line).trim());
        this.close();
      }
    }
    await withEngine(async (engine) => {
      new Client({ engine }).startSSL(trustTrusted).connect(["127.0.0.1", port]);
      await until(() => events.length === 3, "the reversed line");
    });
    deepStrictEqual(events, ["handshake secure=true", "connect", "stnap olleh"]);
  } finally {
    await peer.stop();
  }
});

Deno.test("Stream.startSSL before connect talks to a Pants TLS server", async () => {
  resetLineEcho();
  const replies: string[] = [];
  class Client extends Stream {
    override onConnect(): void {
      this.readDelimiter = "\n";
      this.write("one\ntwo\n");
    }
    override onRead(line: Uint8Array): void {
      replies.push(text(line));
      if (replies.length === 2) this.close();
    }
  }
  await withEngine(async (engine) => {
    const { port } = await serve(engine, LineEcho, trusted);
    new Client({ engine }).startSSL({ caCerts: [trusted.cert] }).connect(port);
    await until(() => replies.length === 2, "two replies");
  });
  deepStrictEqual(replies, ["echo: one", "echo: two"]);
});

// --- STARTTLS ---------------------------------------------------------------

Deno.test("Stream.startSSL upgrades both ends of a Pants connection (STARTTLS)", async () => {
  resetStartTlsServer();
  const got: string[] = [];
  let client: Stream | null = null;
  class Client extends Stream {
    override onConnect(): void {
      this.readDelimiter = "\r\n";
      this.write("STARTTLS\r\n");
    }
    override onRead(line: Uint8Array): void {
      const reply = text(line);
      if (reply === "GO") {
        this.startSSL(trustTrusted);
        this.write("secret\r\n"); // held during the handshake, then sent over TLS
        return;
      }
      got.push(reply);
      if (reply.startsWith("echo: ")) this.close();
    }
    override onSSLHandshake(): void {
      got.push(`client handshake secure=${this.secure}`);
    }
  }
  await withEngine(async (engine) => {
    const { port } = await serve(engine, StartTlsServer);
    client = new Client({ engine }).connect(["127.0.0.1", port]);
    await until(() => got.length === 3, "the replies over TLS");
    const stream = StartTlsServer.streams[0]!;
    ok(stream.secure);
    const local = client.localAddress as Deno.NetAddr;
    deepStrictEqual({ ...stream.remoteAddress }, {
      transport: "tcp",
      hostname: "127.0.0.1",
      port: local.port,
    });
  });
  deepStrictEqual(got, ["client handshake secure=true", "welcome", "echo: secret"]);
  deepStrictEqual(StartTlsServer.events, ["handshake"]);
});

Deno.test("Stream.startSSL on an accepted stream upgrades for a Python client", async () => {
  resetStartTlsServer();
  await withEngine(async (engine) => {
    const { port } = await serve(engine, StartTlsServer);
    const out = await python(
      `
import socket, ssl, sys
def line(sock):
    data = b""
    while not data.endswith(b"\\r\\n"):
        chunk = sock.recv(1)
        if not chunk: break
        data += chunk
    return data.decode()
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
raw.sendall(b"STARTTLS\\r\\n")
print(line(raw), end="")
context = ssl.create_default_context(cafile=sys.argv[2])
s = context.wrap_socket(raw, server_hostname="localhost")
print(s.version(), end="\\r\\n")
print(line(s), end="")
s.sendall(b"over tls\\r\\n")
print(line(s), end="")
s.close()
`,
      [String(port), trusted.certPath],
    );
    deepStrictEqual(out.split("\r\n"), ["GO", "TLSv1.3", "welcome", "echo: over tls", ""]);
    deepStrictEqual(StartTlsServer.events, ["handshake"]);
  });
});

Deno.test("Stream.startSSL on a client upgrades against a Python server", async () => {
  const peer = new Subprocess("python3", [
    "-c",
    PY_ACCEPT_ONCE + `
conn.settimeout(10)
def line(sock):
    data = b""
    while not data.endswith(b"\\r\\n"):
        chunk = sock.recv(1)
        if not chunk: break
        data += chunk
    return data
assert line(conn) == b"STARTTLS\\r\\n"
conn.sendall(b"GO\\r\\n")
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
s = context.wrap_socket(conn, server_side=True)
print("SECURE", s.version(), flush=True)
s.sendall(b"python says: " + line(s))
s.recv(100)  # wait for the client's close_notify: it closes first
s.close()
server.close()
print("DONE", flush=True)
`,
    trusted.certPath,
    trusted.keyPath,
  ]);
  const got: string[] = [];
  try {
    const port = Number((await peer.waitForMatch(/PORT (\d+)\n/))[1]);
    class Client extends Stream {
      override onConnect(): void {
        this.readDelimiter = "\r\n";
        this.write("STARTTLS\r\n");
      }
      override onRead(line: Uint8Array): void {
        if (text(line) === "GO") {
          this.startSSL(trustTrusted);
          this.write("hi\r\n");
          return;
        }
        got.push(text(line));
        this.close();
      }
      override onSSLHandshake(): void {
        got.push("handshake");
      }
    }
    await withEngine(async (engine) => {
      new Client({ engine }).connect(["127.0.0.1", port]);
      await until(() => got.length === 2, "the reply over TLS");
    });
    await peer.waitFor("DONE");
    strictEqual((await peer.status()).code, 0, peer.stderr);
  } finally {
    await peer.stop();
  }
  deepStrictEqual(got, ["handshake", "python says: hi"]);
  ok(peer.stdout.includes("SECURE TLSv1.3"), peer.stdout);
});

Deno.test("Stream.startSSL upgrades a stream accepted on a Unix socket", async () => {
  resetStartTlsServer();
  const dir = await Deno.makeTempDir({ prefix: "pants-tls-unix-" });
  const path = `${dir}/s.sock`;
  try {
    await withEngine(async (engine) => {
      const server = new Server<Stream>({ ConnectionClass: StartTlsServer, engine });
      server.listen({ path });
      await listening(server);
      const out = await python(
        `
import socket, ssl, sys
raw = socket.socket(socket.AF_UNIX)
raw.settimeout(10)
raw.connect(sys.argv[1])
raw.sendall(b"STARTTLS\\r\\n")
assert raw.recv(4) == b"GO\\r\\n"
s = ssl.create_default_context(cafile=sys.argv[2]).wrap_socket(raw, server_hostname="localhost")
s.sendall(b"unix\\r\\n")
data = b""
while data.count(b"\\r\\n") < 2:
    data += s.recv(100)
print(data.decode(), end="")
s.close()
`,
        [path, trusted.certPath],
      );
      deepStrictEqual(out.split("\r\n"), ["welcome", "echo: unix", ""]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  deepStrictEqual(StartTlsServer.events, ["handshake"]);
});

Deno.test("Stream.startSSL on a Unix socket client reports that Deno cannot upgrade it", async () => {
  resetStartTlsServer();
  const dir = await Deno.makeTempDir({ prefix: "pants-tls-unix-" });
  const path = `${dir}/s.sock`;
  let client: Recorder | null = null;
  class Client extends Recorder {
    override onConnect(): void {
      this.readDelimiter = "\r\n";
      this.write("STARTTLS\r\n");
    }
    override onRead(): void {
      this.startSSL(trustTrusted);
    }
  }
  try {
    await withEngine(async (engine) => {
      const server = new Server<Stream>({ ConnectionClass: StartTlsServer, engine });
      server.listen({ path });
      await listening(server);
      client = new Client({ engine }).connect({ path });
      await until(() => client!.closed && server.channels.size === 0, "both streams to close");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertHandshakeError(client!.error, /TCP connections only/);
});

Deno.test("Stream.startSSL refuses to upgrade with unread plaintext buffered", async () => {
  const refused: unknown[] = [];
  const seen: string[] = [];
  let stream: Stream | null = null;
  class Guarded extends Stream {
    override onConnect(): void {
      stream = this;
      this.readDelimiter = "\r\n";
    }
    override onRead(line: Uint8Array): void {
      if (text(line) !== "STARTTLS") return void seen.push(text(line));
      try {
        this.startSSL(serverKeys(trusted));
        this.write("GO\r\n");
      } catch (error) {
        refused.push(error);
        this.write("NO\r\n");
      }
    }
  }
  await withEngine(async (engine) => {
    const { port } = await serve(engine, Guarded);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(utf8("STARTTLS\r\nEVIL\r\n"));
    strictEqual(text(await readExactly(conn, 4)), "NO\r\n");
    await until(() => seen.length === 1, "the line after STARTTLS, as plaintext");
    conn.close();
  });
  strictEqual(refused.length, 1);
  ok(refused[0] instanceof StartTlsError);
  match((refused[0] as Error).message, /6 bytes of plaintext/);
  deepStrictEqual(seen, ["EVIL"]);
  strictEqual(stream!.secure, false);
});

Deno.test("Stream.startSSL after STARTTLS keeps writes in order with back-pressure", async () => {
  const payload = randomBytes(prng(11), 8 * 1024 * 1024);
  let refusals = 0;
  class Sender extends StartTlsServer {
    #at = 0;
    override onSSLHandshake(): void {
      this.#send();
    }
    override onWrite(): void {
      this.#send();
    }
    #send(): void {
      while (this.#at < payload.length) {
        const more = this.write(payload.subarray(this.#at, this.#at + 65536));
        this.#at += 65536;
        if (!more) return void refusals++;
      }
      this.close();
    }
  }
  resetStartTlsServer();
  await withEngine(async (engine) => {
    const { port } = await serve(engine, Sender);
    const conn = await startTlsClient(port);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const received = await readAll(conn);
    conn.close();
    strictEqual(text(received.subarray(0, 9)), "welcome\r\n");
    strictEqual(received.length - 9, payload.length);
    ok(received.subarray(9).every((byte, i) => byte === payload[i]), "received bytes differ");
  });
  ok(refusals > 0, "write() never reported back-pressure");
});

Deno.test("Stream.close({ flush: false }) after STARTTLS closes at once when the peer stalls", async () => {
  let stream: Stream | null = null;
  class Flooder extends StartTlsServer {
    override onSSLHandshake(): void {
      stream = this;
      const block = new Uint8Array(65536);
      for (let i = 0; i < 128; i++) this.write(block);
    }
  }
  resetStartTlsServer();
  await withEngine(async (engine) => {
    const { server, port } = await serve(engine, Flooder);
    const conn = await startTlsClient(port);
    await until(() => stream !== null, "the upgrade");
    await new Promise((resolve) => setTimeout(resolve, 100));
    ok(stream!.writeQueueSize > 0, "the peer's buffers did not fill up");
    stream!.close({ flush: false });
    await until(() => server.channels.size === 0, "the stream to close");
    // Dropped data must not be followed by close_notify: the peer sees a truncated stream.
    const outcome = await readAll(conn).then(() => "a clean end", (error: Error) => error.name);
    match(outcome, /UnexpectedEof|ConnectionReset/);
    conn.close();
  });
});

Deno.test("Stream.pauseReading after STARTTLS holds input until resumeReading", async () => {
  const payload = randomBytes(prng(5), 2 * 1024 * 1024);
  const chunks: Uint8Array[] = [];
  let stream: Stream | null = null;
  class Slow extends StartTlsServer {
    override onSSLHandshake(): void {
      stream = this;
      this.readDelimiter = null;
      this.pauseReading();
    }
    override onRead(data: Uint8Array): void {
      if (this.secure) chunks.push(data.slice());
      else super.onRead(data);
    }
  }
  resetStartTlsServer();
  await withEngine(async (engine) => {
    const { port } = await serve(engine, Slow);
    const conn = await startTlsClient(port);
    strictEqual(text(await readExactly(conn, 9)), "welcome\r\n");
    const writing = (async () => {
      for (let at = 0; at < payload.length;) at += await conn.write(payload.subarray(at));
    })();
    await until(() => stream !== null, "the upgrade");
    await new Promise((resolve) => setTimeout(resolve, 100));
    strictEqual(chunks.length, 0);
    stream!.resumeReading();
    await writing;
    await until(() => chunks.reduce((n, c) => n + c.length, 0) === payload.length, "all input");
    ok(concat(chunks).every((byte, i) => byte === payload[i]), "received bytes differ");
    conn.close();
  });
});

Deno.test("Stream.startSSL offers ALPN protocols when upgrading an accepted stream", async () => {
  class Alpn extends StartTlsServer {
    override onRead(line: Uint8Array): void {
      this.write("GO\r\n");
      this.startSSL({ ...serverKeys(trusted), alpnProtocols: ["pants/1"] });
      void line;
    }
  }
  resetStartTlsServer();
  await withEngine(async (engine) => {
    const { port } = await serve(engine, Alpn);
    const plain = await Deno.connect({ hostname: "127.0.0.1", port });
    await plain.write(utf8("STARTTLS\r\n"));
    strictEqual(text(await readExactly(plain, 4)), "GO\r\n");
    const conn = await Deno.startTls(plain, {
      hostname: "localhost",
      caCerts: [trusted.cert],
      alpnProtocols: ["pants/1"],
    });
    strictEqual((await conn.handshake()).alpnProtocol, "pants/1");
    conn.close();
  });
});

// --- failed handshakes ------------------------------------------------------

/** A client stream that records its TLS events instead of logging them. */
class Recorder extends Stream {
  readonly events: string[] = [];
  error: TlsHandshakeError | null = null;
  override onSSLHandshake(): void {
    this.events.push("handshake");
  }
  override onConnect(): void {
    this.events.push("connect");
  }
  override onSSLHandshakeError(error: TlsHandshakeError): void {
    this.error = error;
    this.close({ flush: false });
  }
}

/** Checks a handshake error and the Deno/Node error in its `cause`. */
function assertHandshakeError(error: unknown, cause: RegExp): void {
  ok(error instanceof TlsHandshakeError, `not a TlsHandshakeError: ${error}`);
  ok(error.cause instanceof Error, "no cause");
  match(error.cause.message, cause);
}

/** Checks that a TLS server still echoes for a client trusting `caCert`. */
async function assertStillServing(port: number, caCert: string): Promise<void> {
  const conn = await connectTls(port, caCert);
  await conn.write(utf8("still here\n"));
  strictEqual(text(await readExactly(conn, 17)), "echo: still here\n");
  conn.close();
}

Deno.test("Stream.onSSLHandshakeError reports an unknown issuer on both ends", async () => {
  resetLineEcho();
  await withEngine(async (engine) => {
    const { server, port } = await serve(engine, LineEcho, untrusted);
    const client = new Recorder({ engine }).startSSL(trustTrusted).connect(["127.0.0.1", port]);
    await until(() => client.closed && LineEcho.errors.length === 1, "both handshake errors");
    assertHandshakeError(client.error, /UnknownIssuer/);
    assertHandshakeError(LineEcho.errors[0], /UnknownCA|alert/);
    deepStrictEqual(client.events, []);
    await assertStillServing(port, untrusted.cert);
    await until(() => server.channels.size === 0, "the streams to close");
  });
  deepStrictEqual(LineEcho.events, ["handshake", "connect"]);
});

Deno.test("Stream.onSSLHandshakeError reports a certificate for another name", async () => {
  resetLineEcho();
  await withEngine(async (engine) => {
    const { port } = await serve(engine, LineEcho, wrongName);
    const client = new Recorder({ engine })
      .startSSL({ caCerts: [wrongName.cert], hostname: "localhost" })
      .connect(["127.0.0.1", port]);
    await until(() => client.closed, "the client's handshake error");
    assertHandshakeError(client.error, /not valid for name/);
    match(client.error!.message, /127\.0\.0\.1/);
    deepStrictEqual(client.events, []);
    await until(() => LineEcho.errors.length === 1, "the server's handshake error");
  });
});

Deno.test("Server.startSSL reports a plaintext client and keeps serving", async () => {
  resetLineEcho();
  await withEngine(async (engine) => {
    const { port } = await serve(engine, LineEcho, trusted);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(utf8("GET / HTTP/1.0\r\n\r\n"));
    await until(() => LineEcho.errors.length === 1, "the server's handshake error");
    assertHandshakeError(LineEcho.errors[0], /InvalidContentType|corrupt message/);
    await readAll(conn).catch(() => null);
    conn.close();
    await assertStillServing(port, trusted.cert);
  });
  deepStrictEqual(LineEcho.events, ["handshake", "connect"]);
});

Deno.test("Stream.startSSL before connect reports a plain server as a handshake error", async () => {
  class Banner extends Stream {
    override onConnect(): void {
      this.write("220 plain text banner\r\n");
    }
  }
  await withEngine(async (engine) => {
    const { port } = await serve(engine, Banner);
    const client = new Recorder({ engine }).startSSL(trustTrusted).connect(["127.0.0.1", port]);
    await until(() => client.closed, "the handshake error");
    assertHandshakeError(client.error, /./);
    deepStrictEqual(client.events, []);
  });
});

Deno.test("Stream.startSSL on an accepted stream reports plaintext after STARTTLS", async () => {
  resetStartTlsServer();
  await withEngine(async (engine) => {
    const { server, port } = await serve(engine, StartTlsServer);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(utf8("STARTTLS\r\n"));
    strictEqual(text(await readExactly(conn, 4)), "GO\r\n");
    await conn.write(utf8("this is not a TLS record\r\n"));
    await until(() => StartTlsServer.errors.length === 1, "the handshake error");
    assertHandshakeError(StartTlsServer.errors[0], /./);
    await readAll(conn).catch(() => null);
    conn.close();
    const good = await startTlsClient(port);
    strictEqual(text(await readExactly(good, 9)), "welcome\r\n");
    good.close();
    await until(() => server.channels.size === 0, "the streams to close");
  });
  deepStrictEqual(StartTlsServer.events, ["handshake"]);
});

Deno.test("Stream.startSSL on an accepted stream reports a peer that leaves mid-upgrade", async () => {
  resetStartTlsServer();
  await withEngine(async (engine) => {
    const { server, port } = await serve(engine, StartTlsServer);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(utf8("STARTTLS\r\n"));
    strictEqual(text(await readExactly(conn, 4)), "GO\r\n");
    conn.close();
    await until(() => StartTlsServer.errors.length === 1, "the handshake error");
    assertHandshakeError(StartTlsServer.errors[0], /before the TLS handshake completed/);
    await until(() => server.channels.size === 0, "the stream to close");
  });
});

Deno.test("Stream.close({ flush: false }) during a server-side upgrade releases the connection", async () => {
  resetStartTlsServer();
  await withEngine(async (engine) => {
    const { server, port } = await serve(engine, StartTlsServer);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(utf8("STARTTLS\r\n"));
    strictEqual(text(await readExactly(conn, 4)), "GO\r\n");
    StartTlsServer.streams[0]!.close({ flush: false });
    await until(() => server.channels.size === 0, "the stream to close");
    strictEqual((await readAll(conn)).length, 0);
    conn.close();
  });
  deepStrictEqual(StartTlsServer.events, []);
});

Deno.test("Stream.startSSL reports a distrusted STARTTLS server on both ends", async () => {
  resetStartTlsServer(untrusted);
  let client: Recorder | null = null;
  class Client extends Recorder {
    override onConnect(): void {
      this.readDelimiter = "\r\n";
      this.write("STARTTLS\r\n");
    }
    override onRead(line: Uint8Array): void {
      if (text(line) === "GO") this.startSSL(trustTrusted);
    }
  }
  await withEngine(async (engine) => {
    const { port } = await serve(engine, StartTlsServer);
    client = new Client({ engine }).connect(["127.0.0.1", port]);
    await until(() => client!.closed, "the client's handshake error");
    assertHandshakeError(client.error, /UnknownIssuer/);
    await until(() => StartTlsServer.errors.length === 1, "the server's handshake error");
    assertHandshakeError(StartTlsServer.errors[0], /./);
  });
  deepStrictEqual(client!.events, []);
  deepStrictEqual(StartTlsServer.events, []);
});

// --- the secure chat example ------------------------------------------------

Deno.test("examples/secure_chat.ts chats over TLS and keeps plaintext clients out", async () => {
  const port = freePort();
  const example = new URL("../examples/secure_chat.ts", import.meta.url).pathname;
  const chat = runDeno(
    [`--allow-net=127.0.0.1:${port}`, `--allow-read=${trusted.certPath},${trusted.keyPath}`],
    example,
    [trusted.certPath, trusted.keyPath, String(port), "127.0.0.1"],
  );
  try {
    await waitForPort(port); // a plain probe: a failed handshake the chat ignores
    const out = await python(
      `
import socket, ssl, sys
port = int(sys.argv[1])
context = ssl.create_default_context(cafile=sys.argv[2])
def connect():
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="localhost")
def recv_line(s):
    data = b""
    while not data.endswith(b"\\r\\n"):
        chunk = s.recv(1)
        if not chunk: break
        data += chunk
    return data.decode()
a = connect()
print(recv_line(a), end="")
plain = socket.create_connection(("127.0.0.1", port), timeout=10)
plain.sendall(b"plaintext is not welcome\\r\\n")
plain.recv(100)
plain.close()
b = connect()
print(recv_line(a), end="")
print(recv_line(b), end="")
b.sendall(b"hi securely\\r\\n")
print(recv_line(a), end="")
print(recv_line(b), end="")
b.close()
print(recv_line(a), end="")
a.close()
`,
      [String(port), trusted.certPath],
    );
    deepStrictEqual(out.trim().split("\r\n"), [
      "Connected: 127.0.0.1",
      "Connected: 127.0.0.1",
      "Connected: 127.0.0.1",
      "127.0.0.1: hi securely",
      "127.0.0.1: hi securely",
      "Disconnected: 127.0.0.1",
    ]);
    ok(chat.stderr.includes("A client failed the TLS handshake"), chat.stderr);
  } finally {
    await chat.stop();
  }
});

Deno.test("examples/secure_chat.ts names the flag when it may not read the key", async () => {
  const port = freePort();
  const example = new URL("../examples/secure_chat.ts", import.meta.url).pathname;
  const chat = runDeno(
    [`--allow-net=127.0.0.1:${port}`, `--allow-read=${trusted.certPath}`],
    example,
    [trusted.certPath, trusted.keyPath, String(port), "127.0.0.1"],
  );
  const status = await chat.status();
  strictEqual(status.code, 1);
  ok(chat.stderr.includes(`--allow-read=${trusted.keyPath}`), chat.stderr);
});

Deno.test("Server.handshakeTimeout closes a TLS connection that never handshakes", async () => {
  resetLineEcho();
  await withEngine(async (engine) => {
    const server = new Server<Stream>({ ConnectionClass: LineEcho, engine });
    server.handshakeTimeout = 50;
    server.startSSL(serverKeys(trusted));
    server.listen(["127.0.0.1", 0]);
    const { port } = (await listening(server)) as Deno.NetAddr;
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    await until(() => LineEcho.errors.length === 1, "the handshake timeout");
    match(LineEcho.errors[0]!.message, /did not complete within 50 ms/);
    strictEqual(server.channels.size, 0);
    // Deno keeps the socket of a pending TLS handshake open until the peer
    // acts, even after close(): the peer's close releases it.
    silent.close();
  });
});

Deno.test("Stream.startSSL on a connected client verifies the host name it connected to", async () => {
  resetStartTlsServer();
  const replies: string[] = [];
  class Upgrading extends Stream {
    override onConnect(): void {
      this.readDelimiter = "\r\n";
      this.write("STARTTLS\r\n");
    }
    override onRead(line: Uint8Array): void {
      if (text(line) === "GO") {
        this.startSSL({ caCerts: [trusted.cert] });
        this.write("hello\r\n");
      } else if (replies.push(text(line)) === 2) this.close();
    }
  }
  await withEngine(async (engine) => {
    const { port } = await serve(engine, StartTlsServer);
    new Upgrading({ engine }).connect(["localhost", port]);
    await until(() => replies.length === 2, "the secure replies");
    deepStrictEqual(replies, ["welcome", "echo: hello"]);
  });
});
