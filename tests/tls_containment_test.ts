/**
 * Containment over TLS (issue 14, items 2-4), on real sockets on 127.0.0.1
 * with Deno's own TLS (rustls) and Python's `ssl` (OpenSSL) as the peers:
 *
 * - a paused stream makes its peer stall, within a bound, on every
 *   transport (TCP, Unix, TLS from the start and STARTTLS, server and client
 *   side), and so does a stream closing with a flush pending;
 * - a refused connection on a TLS server is closed within
 *   `handshakeTimeout` whatever the peer does (silent, never reading), and
 *   on a plain server within 1 s;
 * - closing a TLS client during its handshake (before `connect()` or by
 *   STARTTLS) ends the TCP connection at once, and the process can exit.
 *
 * Every loop is bounded in count and time.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Engine, Server, Stream } from "../mod.ts";
import { testCerts } from "./_certs.ts";
import { listening, readExactly, text, until, utf8, withEngine } from "./_helpers.ts";
import { Subprocess } from "./_subprocess.ts";

const { trusted } = await testCerts();
const keys = { cert: trusted.cert, key: trusted.key };
const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
/** What a peer may send to a paused stream before it stalls: the kernel's buffers and a little. */
const STALL_BUDGET = 16 * MiB;
/** What a flooding peer sends at most (the bug: all of it is taken in). */
const FLOOD = 96 * MiB;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The byte at `offset` of every flood: a pattern that shows a lost, repeated or reordered byte. */
const patternByte = (offset: number): number => (offset * 7 + (offset >>> 16)) & 0xff;

function patternChunk(offset: number, length: number): Uint8Array {
  const chunk = new Uint8Array(length);
  for (let i = 0; i < length; i++) chunk[i] = patternByte(offset + i);
  return chunk;
}

/** Checks received bytes against the pattern as they arrive; counts them. */
class PatternCheck {
  received = 0;
  wrongAt = -1;

  add(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== patternByte(this.received + i) && this.wrongAt < 0) {
        this.wrongAt = this.received + i;
      }
    }
    this.received += bytes.length;
  }
}

/** What a flooding peer managed to send. */
interface Flood {
  /** Bytes whose `write()` resolved. */
  sent: number;
  /** Whether a write stayed pending for `stallMs` (the peer was stalled). */
  stalled: boolean;
  /** The write still pending at a stall (its bytes count once it resolves). */
  pending: Promise<number> | null;
}

/**
 * Writes the pattern in 64 KiB writes until one stays pending for
 * `stallMs`, `most` bytes were sent, or `limitMs` passed.
 */
async function floodUntilStalled(
  conn: Deno.Conn,
  { most = FLOOD, stallMs = 500, limitMs = 10_000 } = {},
): Promise<Flood> {
  const deadline = Date.now() + limitMs;
  let sent = 0;
  while (sent < most && Date.now() < deadline) {
    const chunk = patternChunk(sent, CHUNK);
    const writing = (async () => {
      let at = 0;
      while (at < chunk.length) at += await conn.write(chunk.subarray(at));
      return chunk.length;
    })();
    const outcome = await Promise.race([writing, delay(stallMs).then(() => null)]);
    if (outcome === null) return { sent, stalled: true, pending: writing };
    sent += outcome;
  }
  return { sent, stalled: false, pending: null };
}

/** After a stall: resumes the paused side, then checks every byte arrived, in order. */
async function assertDeliveredAfterResume(
  flood: Flood,
  check: PatternCheck,
  resume: () => void,
): Promise<void> {
  resume();
  const total = flood.sent + (flood.pending === null ? 0 : await flood.pending);
  await until(() => check.received >= total, `all ${total} bytes after resumeReading()`, 15_000);
  strictEqual(check.received, total);
  strictEqual(check.wrongAt, -1, `a wrong byte at ${check.wrongAt}`);
}

function assertStalled(flood: Flood, what: string): void {
  console.log(
    `[tls-containment] ${what}: the peer stalled after ${(flood.sent / MiB).toFixed(2)} MiB`,
  );
  ok(flood.stalled, `${what}: the peer sent ${flood.sent} bytes without stalling`);
  ok(flood.sent < STALL_BUDGET, `${what}: the peer sent ${flood.sent} bytes before it stalled`);
}

// --- paused streams: server side ----------------------------------------------

/** A server stream that pauses at once (after the handshake, for TLS) and checks what it reads. */
class PausedServer extends Stream {
  static streams: PausedServer[] = [];
  readonly check = new PatternCheck();
  override onConnect(): void {
    PausedServer.streams.push(this);
    this.pauseReading();
  }
  override onRead(data: Uint8Array): void {
    this.check.add(data);
  }
}

/**
 * A server stream that waits for a plaintext "STARTTLS" line, answers "GO",
 * upgrades, then pauses (or, with `closeAfter`, writes that many bytes to a
 * peer that does not read them and closes, flushing).
 */
class StartTlsPaused extends Stream {
  static streams: StartTlsPaused[] = [];
  static closeAfter = 0;
  readonly check = new PatternCheck();
  override onConnect(): void {
    StartTlsPaused.streams.push(this);
    this.readDelimiter = "\r\n";
  }
  override onRead(data: Uint8Array): void {
    if (this.secure) return this.check.add(data);
    this.write("GO\r\n");
    this.startSSL(keys);
  }
  override onSSLHandshake(): void {
    this.readDelimiter = null;
    if (StartTlsPaused.closeAfter === 0) return this.pauseReading();
    this.write(new Uint8Array(StartTlsPaused.closeAfter));
    this.close();
  }
}

async function startTlsClientOf(port: number): Promise<Deno.TlsConn> {
  const plain = await Deno.connect({ hostname: "127.0.0.1", port });
  await plain.write(utf8("STARTTLS\r\n"));
  strictEqual(text(await readExactly(plain, 4)), "GO\r\n");
  const conn = await Deno.startTls(plain, { hostname: "localhost", caCerts: [trusted.cert] });
  await conn.handshake();
  return conn;
}

async function serve<S extends Stream>(
  engine: Engine,
  ConnectionClass: new (options?: { engine?: Engine }) => S,
  setup: (server: Server<S>) => void = () => {},
  address: Parameters<Server["listen"]>[0] = ["127.0.0.1", 0],
): Promise<{ server: Server<S>; address: Deno.Addr }> {
  const server = new Server<S>({ ConnectionClass, engine });
  setup(server);
  server.listen(address);
  return { server, address: await listening(server as unknown as Server<Stream>) };
}

const portOf = (address: Deno.Addr): number => (address as Deno.NetAddr).port;

Deno.test("Stream.pauseReading makes a TCP peer stall", async () => {
  PausedServer.streams = [];
  await withEngine(async (engine) => {
    const { address } = await serve(engine, PausedServer);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(address) });
    await until(() => PausedServer.streams.length === 1, "the stream");
    const flood = await floodUntilStalled(conn);
    assertStalled(flood, "TCP");
    await assertDeliveredAfterResume(flood, PausedServer.streams[0]!.check, () => {
      PausedServer.streams[0]!.resumeReading();
    });
    conn.close();
  });
});

Deno.test("Stream.pauseReading makes a Unix socket peer stall", async () => {
  PausedServer.streams = [];
  const dir = await Deno.makeTempDir({ prefix: "pants-pause-" });
  try {
    await withEngine(async (engine) => {
      const path = `${dir}/s.sock`;
      await serve(engine, PausedServer, () => {}, { path });
      const conn = await Deno.connect({ transport: "unix", path });
      await until(() => PausedServer.streams.length === 1, "the stream");
      const flood = await floodUntilStalled(conn);
      assertStalled(flood, "Unix socket");
      conn.close();
      await flood.pending?.catch(() => 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Stream.pauseReading on a TLS server stream makes the peer stall", async () => {
  PausedServer.streams = [];
  await withEngine(async (engine) => {
    const { address } = await serve(engine, PausedServer, (server) => server.startSSL(keys));
    const conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port: portOf(address),
      caCerts: [trusted.cert],
    });
    await conn.handshake();
    await until(() => PausedServer.streams.length === 1, "the stream");
    const flood = await floodUntilStalled(conn);
    assertStalled(flood, "TLS server");
    await assertDeliveredAfterResume(flood, PausedServer.streams[0]!.check, () => {
      PausedServer.streams[0]!.resumeReading();
    });
    conn.close();
  });
});

Deno.test("Stream.pauseReading after server-side STARTTLS makes the peer stall", async () => {
  StartTlsPaused.streams = [];
  StartTlsPaused.closeAfter = 0;
  await withEngine(async (engine) => {
    const { address } = await serve(engine, StartTlsPaused);
    const conn = await startTlsClientOf(portOf(address));
    await until(() => StartTlsPaused.streams[0]?.secure === true, "the upgrade");
    const flood = await floodUntilStalled(conn);
    assertStalled(flood, "server-side STARTTLS");
    await assertDeliveredAfterResume(flood, StartTlsPaused.streams[0]!.check, () => {
      StartTlsPaused.streams[0]!.resumeReading();
    });
    conn.close();
  });
});

Deno.test("Stream.close() with a flush pending after server-side STARTTLS makes the peer stall", async () => {
  StartTlsPaused.streams = [];
  // More than the socket buffers take: the flush waits for a peer that does not read.
  StartTlsPaused.closeAfter = 16 * MiB;
  await withEngine(async (engine) => {
    const { server, address } = await serve(engine, StartTlsPaused);
    const conn = await startTlsClientOf(portOf(address));
    await until(() => StartTlsPaused.streams[0]?.closed === true, "the close with a flush pending");
    const flood = await floodUntilStalled(conn);
    assertStalled(flood, "closing with a flush, server-side STARTTLS");
    // Both ends wait for the other to read: end it from the server side.
    StartTlsPaused.streams[0]!.close({ flush: false });
    await until(() => server.channels.size === 0, "the stream to close");
    await flood.pending?.catch(() => 0);
    conn.close();
  });
  StartTlsPaused.closeAfter = 0;
});

// --- paused streams: client side, against Python's ssl -----------------------

const FLOOD_SERVER_PY = `
import socket, ssl, sys, time
mode, cert, key, most = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(10)
print("PORT", srv.getsockname()[1], flush=True)
raw, _ = srv.accept()
raw.settimeout(10)
if mode == "starttls":
    line = b""
    while not line.endswith(b"\\r\\n"):
        line += raw.recv(1)
    raw.sendall(b"GO\\r\\n")
s = ctx.wrap_socket(raw, server_side=True)
base = bytes((o * 7) & 0xFF for o in range(65536))
def block(k):
    return base.translate(bytes((i + k) & 0xFF for i in range(256)))
def chunk(offset):
    # The pattern's bytes at offset .. offset + 64 KiB: (o * 7 + (o >> 16)) & 0xFF.
    k, at = offset >> 16, offset & 0xFFFF
    return block(k)[at:] + block(k + 1)[:at]
sent, stalled, deadline = 0, False, time.monotonic() + 10
s.settimeout(0.5)
while sent < most and time.monotonic() < deadline:
    try:
        sent += s.send(chunk(sent))
    except (socket.timeout, ssl.SSLWantWriteError):
        stalled = True
        break
print("STALLED" if stalled else "SENT", sent, flush=True)
if stalled:
    # The same buffer again (OpenSSL wants it), once the client reads.
    s.settimeout(15)
    sent += s.send(chunk(sent))
print("DONE", sent, flush=True)
sys.stdin.read()
s.close()
`;

/** A Python TLS server that floods its client with the pattern (after STARTTLS with `starttls`). */
async function floodingPythonServer(mode: "tls" | "starttls"): Promise<Subprocess> {
  const python = new Subprocess("python3", [
    "-c",
    FLOOD_SERVER_PY,
    mode,
    trusted.certPath,
    trusted.keyPath,
    String(FLOOD),
  ], { stdin: "piped" });
  await python.waitForMatch(/PORT (\d+)\n/, 10_000);
  return python;
}

const pythonPort = (python: Subprocess): number => Number(/PORT (\d+)/.exec(python.stdout)![1]);

/** A client stream that pauses once secure and checks what it reads. */
class PausedClient extends Stream {
  readonly check = new PatternCheck();
  #plaintext = false;
  constructor(options: { engine: Engine; starttls?: boolean }) {
    super(options);
    this.#plaintext = options.starttls ?? false;
  }
  override onConnect(): void {
    if (!this.#plaintext) return;
    this.readDelimiter = "\r\n";
    this.write("STARTTLS\r\n");
  }
  override onRead(data: Uint8Array): void {
    if (this.secure) return this.check.add(data);
    this.#plaintext = false;
    this.startSSL({ caCerts: [trusted.cert], hostname: "localhost" });
  }
  override onSSLHandshake(): void {
    this.readDelimiter = null;
    this.pauseReading();
  }
}

for (const mode of ["tls", "starttls"] as const) {
  const what = mode === "tls" ? "a TLS client stream" : "a client stream after STARTTLS";
  Deno.test(`Stream.pauseReading on ${what} makes a Python server stall`, async () => {
    const python = await floodingPythonServer(mode);
    const stdin = python.child.stdin.getWriter();
    try {
      await withEngine(async (engine) => {
        const client = new PausedClient({ engine, starttls: mode === "starttls" });
        if (mode === "tls") client.startSSL({ caCerts: [trusted.cert], hostname: "localhost" });
        client.connect(["127.0.0.1", pythonPort(python)]);
        await python.waitForMatch(/(STALLED|SENT) (\d+)\n/, 15_000).catch(() => {});
        const line = /(STALLED|SENT) (\d+)\n/.exec(python.stdout);
        ok(line !== null, `the Python server said: ${python.stdout} ${python.stderr}`);
        const sent = Number(line[2]);
        const flood = { sent, stalled: line[1] === "STALLED", pending: null };
        assertStalled(flood, `${mode === "tls" ? "TLS" : "STARTTLS"} client`);
        client.resumeReading();
        const total = Number((await python.waitForMatch(/DONE (\d+)\n/, 15_000))[1]);
        await until(
          () => client.check.received >= total,
          "everything after resumeReading()",
          15_000,
        );
        strictEqual(client.check.received, total);
        strictEqual(client.check.wrongAt, -1);
        client.close();
      });
    } finally {
      await stdin.close().catch(() => {});
      await python.stop();
    }
  });
}

// --- refused connections -------------------------------------------------------

/** Waits until the server ends `conn` (EOF or reset); ms from `since`, or -1 after `limitMs`. */
async function endedBy(conn: Deno.Conn, since: number, limitMs: number): Promise<number> {
  const buffer = new Uint8Array(64 * 1024);
  const watchdog = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }, limitMs);
  let ended = -1;
  try {
    while ((await conn.read(buffer)) !== null) {
      // What the server sends is not the point here.
    }
    ended = performance.now() - since;
  } catch (error) {
    if (
      !(error instanceof Deno.errors.Interrupted) && !(error instanceof Deno.errors.BadResource)
    ) {
      ended = performance.now() - since;
    }
  } finally {
    clearTimeout(watchdog);
  }
  return ended;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed by the watchdog.
  }
}

/** A reply larger than the socket buffers take. */
const REPLY = 12 * MiB;

/** A server that answers refused connections "BUSY\n" (or `reply` bytes). */
class Busy<S extends Stream> extends Server<S> {
  static reply: Uint8Array | string = "BUSY\n";
  static rejected = 0;
  override onReject(stream: Stream): void {
    Busy.rejected++;
    stream.write(Busy.reply);
  }
}

function busyServer(engine: Engine, tls: boolean, handshakeTimeout = 300): Busy<Stream> {
  const server = new Busy<Stream>({ ConnectionClass: Stream, engine });
  server.maxConnections = 1;
  server.handshakeTimeout = handshakeTimeout;
  if (tls) server.startSSL(keys);
  return server;
}

async function holdTheSlot(server: Server<Stream>, tls: boolean): Promise<Deno.Conn> {
  const port = portOf(await listening(server));
  const conn = tls
    ? await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [trusted.cert] })
    : await Deno.connect({ hostname: "127.0.0.1", port });
  if (tls) await (conn as Deno.TlsConn).handshake();
  await until(() => server.channels.size === 1, "the first connection to be accepted");
  return conn;
}

Deno.test("Server on TLS closes 30 silent refused peers within handshakeTimeout", async () => {
  Busy.reply = "BUSY\n";
  await withEngine(async (engine) => {
    const server = busyServer(engine, true);
    server.listen(["127.0.0.1", 0]);
    const holder = await holdTheSlot(server, true);
    const port = portOf(server.address!);
    const start = performance.now();
    const peers = [];
    for (let i = 0; i < 30; i++) peers.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    const ended = await Promise.all(peers.map((peer) => endedBy(peer, start, 3000)));
    peers.forEach(closeQuietly);
    console.log(
      `[tls-containment] silent refused TLS peers ended after ${ended.map(Math.round)} ms`,
    );
    ok(ended.every((ms) => ms >= 0 && ms < 300 + 700), `ended after ${ended} ms (-1: still open)`);
    holder.close();
    await until(() => engine.stats().channels.stream === 0, "no stream left");
  });
});

Deno.test("Server on TLS answers a refused peer that completes its handshake, then closes", async () => {
  Busy.reply = "BUSY\n";
  Busy.rejected = 0;
  await withEngine(async (engine) => {
    const server = busyServer(engine, true);
    server.listen(["127.0.0.1", 0]);
    const holder = await holdTheSlot(server, true);
    const out = await new Subprocess("python3", [
      "-c",
      `
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5), server_hostname="localhost")
data = b""
while True:
    chunk = s.recv(100)
    if not chunk:
        break
    data += chunk
print(data.decode(), end="")
`,
      String(portOf(server.address!)),
      trusted.certPath,
    ]);
    const status = await out.status();
    ok(status.success, out.stderr);
    strictEqual(out.stdout, "BUSY\n");
    strictEqual(Busy.rejected, 1);
    holder.close();
  });
});

for (const tls of [true, false]) {
  const kind = tls ? "TLS" : "plain";
  const bound = tls ? 300 : 1000;
  Deno.test(`Server on ${kind} closes a refused peer that never reads its reply within ${bound} ms`, async () => {
    Busy.reply = new Uint8Array(REPLY);
    await withEngine(async (engine) => {
      const server = busyServer(engine, tls);
      server.listen(["127.0.0.1", 0]);
      const holder = await holdTheSlot(server, tls);
      const port = portOf(server.address!);
      const peer = tls
        ? await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [trusted.cert] })
        : await Deno.connect({ hostname: "127.0.0.1", port });
      if (tls) await (peer as Deno.TlsConn).handshake();
      const start = performance.now();
      await until(() => engine.stats().channels.stream === 2, "the refused stream", 2000);
      // The peer reads nothing; the server's reply fills the socket buffers.
      await until(() => engine.stats().channels.stream === 1, "the refused stream to close", 3000);
      const closedMs = performance.now() - start;
      console.log(
        `[tls-containment] ${kind} refused peer that never reads: closed after ${
          Math.round(closedMs)
        } ms`,
      );
      ok(closedMs < bound + 500, `closed after ${closedMs} ms`);
      // What reaches the peer ends, short of the whole reply.
      let received = 0;
      const buffer = new Uint8Array(CHUNK);
      const watchdog = setTimeout(() => closeQuietly(peer), 5000);
      try {
        for (let n; (n = await peer.read(buffer)) !== null;) received += n;
      } catch {
        // A reset: the server closed with the reply unsent.
      } finally {
        clearTimeout(watchdog);
      }
      closeQuietly(peer);
      ok(received < REPLY, `the peer received all ${received} bytes: the server waited for it`);
      holder.close();
    });
    Busy.reply = "BUSY\n";
  });
}

Deno.test("Server on TLS with handshakeTimeout 0 closes a silent refused peer within 1 s", async () => {
  await withEngine(async (engine) => {
    const server = busyServer(engine, true, 0);
    server.listen(["127.0.0.1", 0]);
    const holder = await holdTheSlot(server, true);
    const start = performance.now();
    const peer = await Deno.connect({ hostname: "127.0.0.1", port: portOf(server.address!) });
    const ended = await endedBy(peer, start, 3000);
    closeQuietly(peer);
    ok(ended >= 0 && ended < 1000 + 500, `ended after ${ended} ms (-1: still open)`);
    holder.close();
  });
});

/** A stream whose failed handshakes are expected: not logged. */
class NoLog extends Stream {
  override onSSLHandshakeError(): void {
    this.close({ flush: false });
  }
}

Deno.test("Server.handshakeTimeout ends the TCP connection of a silent TLS peer", async () => {
  await withEngine(async (engine) => {
    const server = new Server<Stream>({ ConnectionClass: NoLog, engine });
    server.handshakeTimeout = 200;
    server.startSSL(keys);
    server.listen(["127.0.0.1", 0]);
    const port = portOf(await listening(server));
    const start = performance.now();
    const peer = await Deno.connect({ hostname: "127.0.0.1", port });
    const ended = await endedBy(peer, start, 3000);
    closeQuietly(peer);
    console.log(`[tls-containment] silent TLS peer ended after ${Math.round(ended)} ms`);
    ok(ended >= 150 && ended < 200 + 500, `ended after ${ended} ms (-1: still open)`);
  });
});

// --- closing a TLS client during its handshake --------------------------------

/** A server that never answers a TLS handshake (after "GO" for STARTTLS); tells when the client ends. */
class SilentServer {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  /** Bytes received, then the time the connection ended (EOF or reset), or -1. */
  readonly sessions: { received: number; endedAt: number }[] = [];
  readonly #served: Promise<void>;

  constructor(starttls: boolean) {
    this.#served = this.#serve(starttls);
  }

  get port(): number {
    return portOf(this.listener.addr);
  }

  async #serve(starttls: boolean): Promise<void> {
    const conn = await this.listener.accept();
    const session = { received: 0, endedAt: -1 };
    this.sessions.push(session);
    const buffer = new Uint8Array(4096);
    const watchdog = setTimeout(() => closeQuietly(conn), 5000);
    try {
      for (let n; (n = await conn.read(buffer)) !== null;) {
        session.received += n;
        if (starttls && text(buffer.subarray(0, n)).includes("STARTTLS\r\n")) {
          starttls = false;
          session.received = 0;
          await conn.write(utf8("GO\r\n"));
        }
      }
      session.endedAt = performance.now();
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) session.endedAt = performance.now();
    } finally {
      clearTimeout(watchdog);
      closeQuietly(conn);
    }
  }

  async close(): Promise<void> {
    this.listener.close();
    await this.#served.catch(() => {});
  }
}

class Quiet extends Stream {
  errors: unknown[] = [];
  override onConnect(): void {
    this.readDelimiter = "\r\n";
    this.write("STARTTLS\r\n");
  }
  override onRead(): void {
    this.startSSL({ caCerts: [trusted.cert], hostname: "localhost" });
  }
  override onSSLHandshakeError(error: unknown): void {
    this.errors.push(error);
    this.close({ flush: false });
  }
}

const closers = {
  "close()": (stream: Stream, _engine: Engine) => stream.close(),
  "engine.stop()": (_stream: Stream, engine: Engine) => void engine.stop(),
};

for (const [how, closeIt] of Object.entries(closers)) {
  for (const starttls of [false, true]) {
    const when = starttls ? "its STARTTLS handshake" : "a handshake started before connect()";
    Deno.test(`Stream ${how} during ${when} ends the TCP connection at once`, async () => {
      const silent = new SilentServer(starttls);
      const engine = new Engine({ graceMs: 1000 });
      const running = engine.start();
      try {
        const stream = new Quiet({ engine });
        if (!starttls) stream.startSSL({ caCerts: [trusted.cert], hostname: "localhost" });
        stream.connect(["127.0.0.1", silent.port]);
        // The ClientHello has arrived: the handshake is under way.
        await until(() => (silent.sessions[0]?.received ?? 0) > 0, "the ClientHello", 5000);
        await delay(50);
        const closedAt = performance.now();
        closeIt(stream, engine);
        await until(() => silent.sessions[0]!.endedAt >= 0, "the end of the connection", 3000);
        const ms = silent.sessions[0]!.endedAt - closedAt;
        console.log(
          `[tls-containment] ${how} during ${when}: the server saw the end after ${
            ms.toFixed(1)
          } ms`,
        );
        ok(ms < 250, `the server saw the end ${ms} ms after ${how}`);
        deepStrictEqual(stream.errors, []);
        ok(stream.closed);
      } finally {
        await engine.stop();
        await running;
        await silent.close();
      }
    });
  }
}

Deno.test("A script closing a TLS client during its handshake exits at once", async () => {
  const silent = new SilentServer(false);
  const mod = new URL("../mod.ts", import.meta.url).href;
  const script = `
import { engine, Stream } from ${JSON.stringify(mod)};
const stream = new Stream().startSSL({ hostname: "localhost" }).connect(["127.0.0.1", ${silent.port}]);
engine.defer(300, () => stream.close());
await engine.start();
console.log("STARTED RETURNED");
`;
  const child = new Subprocess(Deno.execPath(), ["eval", "--no-check", script]);
  const started = performance.now();
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    child.status(),
    new Promise<null>((resolve) => watchdog = setTimeout(() => resolve(null), 5000)),
  ]);
  clearTimeout(watchdog);
  const ms = performance.now() - started;
  if (exited === null) await child.stop();
  await until(() => silent.sessions[0]?.endedAt !== undefined, "the session", 3000).catch(() => {});
  await silent.close();
  ok(exited !== null, `the process was still running after 5 s: ${child.stderr}`);
  strictEqual(exited.code, 0, child.stderr);
  ok(child.stdout.includes("STARTED RETURNED"), child.stdout + child.stderr);
  console.log(`[tls-containment] the script exited after ${Math.round(ms)} ms`);
});

Deno.test("Server.startSSL with a key of another certificate fails to listen", async () => {
  const errors: string[] = [];
  class Strict extends Server<Stream> {
    override onListenError(error: Error): void {
      errors.push(error.message);
      this.close();
    }
  }
  const { untrusted } = await testCerts();
  await withEngine(async (engine) => {
    const server = new Strict({ ConnectionClass: Stream, engine });
    server.startSSL({ cert: trusted.cert, key: untrusted.key });
    server.listen(["127.0.0.1", 0]);
    await until(() => server.closed, "the listen error");
  });
  strictEqual(errors.length, 1);
  ok(/does not belong to the certificate/.test(errors[0]!), errors[0]);
});
