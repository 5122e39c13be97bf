/**
 * Mutual TLS (client certificates on both sides), the negotiated ALPN
 * protocol and the peer's certificate, against Python's `ssl` and
 * `openssl s_client`, with certificates made by openssl at test time.
 *
 * @module
 */

import { deepStrictEqual, match, ok, strictEqual, throws } from "node:assert/strict";
import {
  type Engine,
  type PeerCertificate,
  Server,
  Stream,
  type TlsHandshakeError,
  type TlsServerOptions,
} from "../mod.ts";
import { type CertPair, testCerts } from "./_certs.ts";
import { listening, text, until, withEngine } from "./_helpers.ts";
import { PY_ACCEPT_ONCE, python, Subprocess } from "./_subprocess.ts";

const { trusted, clientCa, client, rogueClient, expiredClient } = await testCerts();
const serverTls = { cert: trusted.cert, key: trusted.key };
const mutual: TlsServerOptions = {
  ...serverTls,
  caCerts: [clientCa.cert],
  requireClientCert: true,
};

/** The DER bytes of a PEM certificate, decoded independently of node:crypto. */
function der(pem: string): Uint8Array {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

/** SHA-256 of `bytes` as colon-separated upper-case hex pairs. */
async function fingerprint(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return [...digest].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

/** What each accepted stream saw: handshakes (with ALPN and the client's CN), errors, lines. */
class Recorder extends Stream {
  static seen: string[] = [];
  static errors: TlsHandshakeError[] = [];
  static peers: (PeerCertificate | null)[] = [];
  static alpn: (string | null)[] = [];
  static closing: (string | null)[] = [];

  override onClose(): void {
    Recorder.closing.push(this.peerCertificate?.subject ?? null);
  }
  override onSSLHandshake(): void {
    Recorder.peers.push(this.peerCertificate);
    Recorder.alpn.push(this.alpnProtocol);
  }
  override onConnect(): void {
    this.readDelimiter = "\n";
  }
  override onRead(line: Uint8Array): void {
    Recorder.seen.push(text(line));
    this.write(`hello ${this.peerCertificate?.subject ?? "stranger"}: ${text(line)}\n`);
  }
  override onSSLHandshakeError(error: TlsHandshakeError): void {
    Recorder.errors.push(error);
    this.close({ flush: false });
  }
}

function resetRecorder(): void {
  Recorder.seen = [];
  Recorder.errors = [];
  Recorder.peers = [];
  Recorder.alpn = [];
  Recorder.closing = [];
}

/** A Pants TLS server of `Recorder` streams on 127.0.0.1; returns its port. */
async function serve(engine: Engine, tls: TlsServerOptions): Promise<number> {
  const server = new Server<Stream>({ ConnectionClass: Recorder, engine }).startSSL(tls);
  server.listen(["127.0.0.1", 0]);
  return ((await listening(server)) as Deno.NetAddr).port;
}

/**
 * A Python `ssl` client: trusts `trusted`, presents `pair` if given, offers
 * the ALPN protocols given, sends one line and prints the reply, or
 * `ERROR <class>` when the server turned it away.
 */
function pythonClient(port: number, pair: CertPair | null, alpn: string[] = []): Promise<string> {
  return python(
    `
import socket, ssl, sys
port, cafile, cert, key, alpn = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
context = ssl.create_default_context(cafile=cafile)
if cert: context.load_cert_chain(cert, key)
if alpn: context.set_alpn_protocols(alpn.split(","))
raw = socket.create_connection(("127.0.0.1", port), timeout=10)
try:
    with context.wrap_socket(raw, server_hostname="localhost") as s:
        print("ALPN", s.selected_alpn_protocol(), flush=True)
        s.sendall(b"ping\\n")
        data = b""
        while not data.endswith(b"\\n"):
            chunk = s.recv(100)
            if not chunk: raise ConnectionError("closed without a reply")
            data += chunk
        print(data.decode(), end="")
except (ssl.SSLError, ConnectionError, OSError) as e:
    print("ERROR", type(e).__name__, e)
`,
    [String(port), trusted.certPath, pair?.certPath ?? "", pair?.keyPath ?? "", alpn.join(",")],
  );
}

// --- servers that check clients ------------------------------------------

Deno.test("Server.startSSL requireClientCert serves a Python client whose certificate caCerts signed", async () => {
  resetRecorder();
  await withEngine(async (engine) => {
    const port = await serve(engine, mutual);
    const out = await pythonClient(port, client);
    deepStrictEqual(out.trim().split("\n"), ["ALPN None", "hello CN=alice: ping"]);
  });
  const peer = Recorder.peers[0]!;
  strictEqual(peer.subject, "CN=alice");
  strictEqual(peer.issuer, "CN=Pants Test Client CA");
  deepStrictEqual(peer.raw, der(client.cert));
  strictEqual(peer.fingerprint256, await fingerprint(der(client.cert)));
  ok(peer.validFrom.getTime() <= Date.now() && Date.now() < peer.validTo.getTime());
  deepStrictEqual(Recorder.errors, []);
  deepStrictEqual(Recorder.closing, ["CN=alice"], "still readable in onClose");
});

Deno.test("Server.startSSL requireClientCert fails a client without a certificate with TlsHandshakeError, and keeps serving", async () => {
  resetRecorder();
  await withEngine(async (engine) => {
    const port = await serve(engine, mutual);
    const refused = await pythonClient(port, null);
    // TLS 1.3: the client's side of the handshake completed; it sees the connection close.
    match(refused, /^ALPN None\nERROR ConnectionError closed without a reply/);
    await until(() => Recorder.errors.length === 1, "onSSLHandshakeError");
    strictEqual(Recorder.errors[0]!.name, "TlsHandshakeError");
    match(
      Recorder.errors[0]!.message,
      /TLS handshake with 127\.0\.0\.1:\d+ failed: the client sent no certificate, and requireClientCert/,
    );
    // The next client, with a certificate, is served as before.
    const served = await pythonClient(port, client);
    match(served, /hello CN=alice: ping/);
  });
  deepStrictEqual(Recorder.seen, ["ping"]);
});

Deno.test("Server.startSSL requireClientCert fails a client whose certificate another CA signed", async () => {
  resetRecorder();
  await withEngine(async (engine) => {
    const port = await serve(engine, mutual);
    const out = await pythonClient(port, rogueClient);
    match(out, /ERROR /);
    await until(() => Recorder.errors.length === 1, "onSSLHandshakeError");
  });
  match(
    Recorder.errors[0]!.message,
    /failed: the client's certificate is not signed by any of caCerts \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
  );
  deepStrictEqual(Recorder.seen, []);
  deepStrictEqual(Recorder.peers, []);
});

Deno.test("Server.startSSL requireClientCert fails a client whose certificate has expired", async () => {
  resetRecorder();
  await withEngine(async (engine) => {
    const port = await serve(engine, mutual);
    match(await pythonClient(port, expiredClient), /ERROR /);
    await until(() => Recorder.errors.length === 1, "onSSLHandshakeError");
  });
  match(
    Recorder.errors[0]!.message,
    /failed: the client's certificate has expired \(CERT_HAS_EXPIRED\)/,
  );
  deepStrictEqual(Recorder.seen, []);
});

Deno.test("Server.startSSL caCerts without requireClientCert serves a client without a certificate, peerCertificate null", async () => {
  resetRecorder();
  await withEngine(async (engine) => {
    const port = await serve(engine, { ...serverTls, caCerts: [clientCa.cert] });
    match(await pythonClient(port, null), /hello stranger: ping/);
    match(await pythonClient(port, client), /hello CN=alice: ping/);
    match(await pythonClient(port, rogueClient), /ERROR /);
    await until(() => Recorder.errors.length === 1, "onSSLHandshakeError for the rogue client");
  });
  deepStrictEqual(Recorder.peers.map((peer) => peer?.subject ?? null), [null, "CN=alice"]);
});

Deno.test("Server.startSSL throws a TypeError for requireClientCert without caCerts or caCerts that are not PEM", () => {
  throws(() => new Server(Stream).startSSL({ ...serverTls, requireClientCert: true }), {
    name: "TypeError",
    message: /requireClientCert needs caCerts/,
  });
  throws(() => new Server(Stream).startSSL({ ...serverTls, caCerts: ["not a certificate"] }), {
    name: "TypeError",
    message: /caCerts\[0\] is not a PEM certificate/,
  });
});

Deno.test("Stream.startSSL throws a TypeError for a client cert without its key, or a key of another cert", () => {
  throws(() => new Stream().startSSL({ cert: client.cert }), {
    name: "TypeError",
    message: /needs both cert and key/,
  });
  throws(() => new Stream().startSSL({ cert: client.cert, key: rogueClient.key }), {
    name: "TypeError",
    message: /does not belong to the certificate/,
  });
});

// --- clients that present a certificate -------------------------------------

/**
 * A Python `ssl` server that requires a client certificate signed by
 * `clientCa` and offers ALPN h2 and http/1.1; after `STARTTLS` in plain
 * text when `startTls`. It replies with the client's CN and the protocol.
 */
async function pythonMutualServer(startTls = false): Promise<{ port: number; peer: Subprocess }> {
  const peer = new Subprocess("python3", [
    "-c",
    PY_ACCEPT_ONCE + `
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
context.load_verify_locations(sys.argv[3])
context.verify_mode = ssl.CERT_REQUIRED
context.set_alpn_protocols(["h2", "http/1.1"])
conn.settimeout(10)
if sys.argv[4] == "starttls":
    line = b""
    while not line.endswith(b"\\r\\n"): line += conn.recv(1)
    assert line == b"STARTTLS\\r\\n", line
    conn.sendall(b"GO\\r\\n")
try:
    s = context.wrap_socket(conn, server_side=True)
except ssl.SSLError as e:
    print("REFUSED", e.reason, flush=True)
    sys.exit(0)
cn = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
print("CLIENT", cn, flush=True)
s.sendall(f"hi {cn} over {s.selected_alpn_protocol()}\\n".encode())
s.recv(100)
s.close()
`,
    trusted.certPath,
    trusted.keyPath,
    clientCa.certPath,
    startTls ? "starttls" : "tls",
  ]);
  const match = await peer.waitForMatch(/PORT (\d+)\n/);
  return { port: Number(match[1]), peer };
}

/** A client stream that records its first line, the ALPN protocol and the server's certificate. */
class MutualClient extends Stream {
  line: string | null = null;
  alpn: string | null | undefined = undefined;
  server_: PeerCertificate | null = null;
  override onSSLHandshake(): void {
    this.alpn = this.alpnProtocol;
    this.server_ = this.peerCertificate;
  }
  override onConnect(): void {
    this.readDelimiter = "\n";
    this.encoding = "utf-8";
  }
  override onRead(line: string): void {
    this.line ??= line;
    this.close();
  }
}

Deno.test("Stream.startSSL cert and key present a client certificate to a Python server with CERT_REQUIRED", async () => {
  const { port, peer } = await pythonMutualServer();
  await withEngine(async (engine) => {
    const stream = new MutualClient({ engine }).startSSL({
      hostname: "localhost",
      caCerts: [trusted.cert],
      cert: client.cert,
      key: client.key,
      alpnProtocols: ["http/1.1"],
    });
    stream.connect(["127.0.0.1", port]);
    await until(() => stream.closed, "the reply");
    strictEqual(stream.line, "hi alice over http/1.1");
    strictEqual(stream.alpn, "http/1.1");
    strictEqual(stream.server_?.subject, "CN=localhost");
    deepStrictEqual(stream.server_?.raw, der(trusted.cert));
  });
  await peer.status();
  match(peer.stdout, /CLIENT alice\n/);
});

Deno.test("Stream.startSSL cert and key present a client certificate in a client's STARTTLS", async () => {
  const { port, peer } = await pythonMutualServer(true);
  class StartTlsClient extends MutualClient {
    override onConnect(): void {
      this.readDelimiter = "\r\n";
      this.encoding = "utf-8";
      this.write("STARTTLS\r\n");
    }
    override onRead(line: string): void {
      if (line !== "GO") return super.onRead(line);
      this.readDelimiter = "\n";
      this.startSSL({ caCerts: [trusted.cert], cert: client.cert, key: client.key });
    }
  }
  await withEngine(async (engine) => {
    const stream = new StartTlsClient({ engine }).connect(["127.0.0.1", port]);
    await until(() => stream.closed, "the reply");
    // STARTTLS verifies the host given to connect(): 127.0.0.1 is in the certificate.
    strictEqual(stream.line, "hi alice over None");
    strictEqual(stream.alpn, null);
  });
  await peer.status();
  match(peer.stdout, /CLIENT alice\n/);
});

Deno.test("Stream without a client certificate reports a refusing Python server to onSSLHandshakeError", async () => {
  const { port, peer } = await pythonMutualServer();
  const events: string[] = [];
  class NoCert extends MutualClient {
    override onSSLHandshake(): void {
      events.push("handshake"); // TLS 1.3: the client's side completes first
    }
    override onSSLHandshakeError(error: TlsHandshakeError): void {
      events.push(`${error.name}: ${error.message}`);
      this.close({ flush: false });
    }
    override onError(error: unknown): void {
      events.push(`onError: ${error}`);
    }
    override onClose(): void {
      events.push("close");
    }
  }
  await withEngine(async (engine) => {
    const stream = new NoCert({ engine }).startSSL({
      hostname: "localhost",
      caCerts: [trusted.cert],
    });
    stream.connect(["127.0.0.1", port]);
    await until(() => events.includes("close"), "onClose");
  });
  strictEqual(events.length, 3, String(events));
  strictEqual(events[0], "handshake");
  match(
    events[1]!,
    /^TlsHandshakeError: TLS handshake with 127\.0\.0\.1:\d+ failed: the server refused this client's certificate \(received fatal alert: CertificateRequired\)$/,
  );
  strictEqual(events[2], "close");
  await peer.status();
  match(peer.stdout, /REFUSED PEER_DID_NOT_RETURN_A_CERTIFICATE/);
});

// --- ALPN ---------------------------------------------------------------------

Deno.test("Server.startSSL alpnProtocols gives a Python client the protocol both offer, stream.alpnProtocol names it", async () => {
  resetRecorder();
  await withEngine(async (engine) => {
    const port = await serve(engine, { ...serverTls, alpnProtocols: ["h2", "http/1.1"] });
    match(await pythonClient(port, null, ["spdy/3", "http/1.1"]), /^ALPN http\/1\.1\n/);
    match(await pythonClient(port, null), /^ALPN None\n/);
  });
  deepStrictEqual(Recorder.alpn, ["http/1.1", null]);
});

Deno.test("Server.startSSL alpnProtocols fails the handshake of a client that offers none of them", async () => {
  resetRecorder();
  await withEngine(async (engine) => {
    const port = await serve(engine, { ...serverTls, alpnProtocols: ["h2"] });
    match(
      await pythonClient(port, null, ["spdy/3"]),
      /ERROR SSLError .*alert no application protocol/,
    );
    await until(() => Recorder.errors.length === 1, "onSSLHandshakeError");
  });
  match(Recorder.errors[0]!.message, /failed: peer doesn't support any known protocol/);
});

// --- openssl s_client -----------------------------------------------------------

Deno.test("Server.startSSL requireClientCert serves openssl s_client -cert -key -alpn", async () => {
  resetRecorder();
  await withEngine(async (engine) => {
    const port = await serve(engine, { ...mutual, alpnProtocols: ["h2", "http/1.1"] });
    const sClient = new Subprocess("openssl", [
      ...["s_client", "-connect", `127.0.0.1:${port}`, "-CAfile", trusted.certPath],
      ...["-verify_return_error", "-cert", client.certPath, "-key", client.keyPath],
      ...["-alpn", "http/1.1,h2"],
    ], { stdin: "piped" });
    const stdin = sClient.child.stdin.getWriter();
    try {
      await sClient.waitFor("ALPN protocol: h2");
      await stdin.write(new TextEncoder().encode("from openssl\n"));
      await sClient.waitFor("hello CN=alice: from openssl");
    } finally {
      await stdin.close().catch(() => {});
      await sClient.stop();
    }
  });
  deepStrictEqual(Recorder.alpn, ["h2"]);
  strictEqual(Recorder.peers[0]?.subject, "CN=alice");
});

Deno.test("Server.startSSL requireClientCert fails openssl s_client without -cert", async () => {
  resetRecorder();
  await withEngine(async (engine) => {
    const port = await serve(engine, mutual);
    const sClient = new Subprocess("openssl", [
      ...["s_client", "-connect", `127.0.0.1:${port}`, "-CAfile", trusted.certPath],
    ], { stdin: "piped" });
    const stdin = sClient.child.stdin.getWriter();
    try {
      await stdin.write(new TextEncoder().encode("from openssl\n"));
      await until(() => Recorder.errors.length === 1, "onSSLHandshakeError");
    } finally {
      await stdin.close().catch(() => {});
      await sClient.stop();
    }
  });
  match(Recorder.errors[0]!.message, /the client sent no certificate/);
  deepStrictEqual(Recorder.seen, []);
});

// --- server-side STARTTLS -----------------------------------------------------------

Deno.test("Stream.startSSL on an accepted stream with requireClientCert checks a Python client's certificate", async () => {
  const peers: (string | null)[] = [];
  class Upgrading extends Stream {
    override onConnect(): void {
      this.readDelimiter = "\r\n";
    }
    override onRead(line: Uint8Array): void {
      if (text(line) !== "STARTTLS") return void this.write(`${this.peerCertificate?.subject}\r\n`);
      this.write("GO\r\n");
      this.startSSL(mutual);
    }
    override onSSLHandshake(): void {
      peers.push(this.peerCertificate?.subject ?? null);
    }
  }
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Upgrading, engine }).listen(["127.0.0.1", 0]);
    const { port } = (await listening(server)) as Deno.NetAddr;
    const out = await python(
      `
import socket, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[2])
context.load_cert_chain(sys.argv[3], sys.argv[4])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
raw.sendall(b"STARTTLS\\r\\n")
assert raw.recv(4) == b"GO\\r\\n"
with context.wrap_socket(raw, server_hostname="localhost") as s:
    s.sendall(b"who\\r\\n")
    print(s.recv(100).decode(), end="")
`,
      [String(port), trusted.certPath, client.certPath, client.keyPath],
    );
    strictEqual(out, "CN=alice\r\n");
  });
  deepStrictEqual(peers, ["CN=alice"]);
});

Deno.test("Server.startSSL requireClientCert refusing a client leaves an open connection working", async () => {
  resetRecorder();
  await withEngine(async (engine) => {
    const port = await serve(engine, mutual);
    const out = await python(
      `
import socket, ssl, sys
port, cafile, cert, key, rogue_cert, rogue_key = int(sys.argv[1]), *sys.argv[2:]
def connect(cert, key):
    context = ssl.create_default_context(cafile=cafile)
    context.load_cert_chain(cert, key)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="localhost")
def ask(s, line):
    s.sendall(line)
    data = b""
    while not data.endswith(b"\\n"):
        chunk = s.recv(100)
        if not chunk: return "closed"
        data += chunk
    return data.decode().strip()
alice = connect(cert, key)
print(ask(alice, b"one\\n"))
mallory = connect(rogue_cert, rogue_key)
try:
    print(ask(mallory, b"evil\\n"))
except (ssl.SSLError, OSError) as e:
    print("refused", type(e).__name__)
print(ask(alice, b"two\\n"))
`,
      [
        String(port),
        trusted.certPath,
        client.certPath,
        client.keyPath,
        rogueClient.certPath,
        rogueClient.keyPath,
      ],
    );
    deepStrictEqual(out.trim().split("\n"), [
      "hello CN=alice: one",
      "closed",
      "hello CN=alice: two",
    ]);
  });
  deepStrictEqual(Recorder.seen, ["one", "two"]);
  strictEqual(Recorder.errors.length, 1);
});
