/**
 * `Server.proxyProtocol` behind a real HAProxy (Debian package `haproxy`;
 * skipped when it is not installed): `send-proxy` (version 1) and
 * `send-proxy-v2` (with its CRC32C and unique id TLVs, and health checks
 * sent as `LOCAL` headers). The client is Python bound to 127.0.0.5, so the
 * address the Pants server reports can only come from the header. All on
 * loopback; HAProxy's configuration is written to a temporary directory.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { type ProxyHeader, Server, Stream } from "../mod.ts";
import { listening, text, until, withEngine } from "./_helpers.ts";
import { haproxy, HAPROXY_TCP_DEFAULTS, runHaproxy } from "./_haproxy.ts";
import { freePort, python } from "./_subprocess.ts";

/** Greets each connection with the address it reports, then echoes one line. */
class Reported extends Stream {
  override onConnect(): void {
    this.readDelimiter = "\n";
    const remote = this.remoteAddress as Deno.NetAddr;
    (this.server as Backend).headers.push(this.proxyHeader);
    (this.server as Backend).remotes.push(remote.hostname);
    const proxy = this.proxyAddress as Deno.NetAddr | null;
    this.write(`${remote.hostname}:${remote.port} via ${proxy?.hostname ?? "-"}\n`);
  }

  override onRead(line: Uint8Array): void {
    this.write(`echo ${text(line)}\n`);
  }
}

class Backend extends Server<Reported> {
  override ConnectionClass = Reported;
  readonly headers: (ProxyHeader | null)[] = [];
  readonly remotes: string[] = [];
  readonly errors: string[] = [];
  override onProxyProtocolError(error: Error): void {
    this.errors.push(error.message);
  }
}

/** A client bound to 127.0.0.5: prints its own port, then the two lines it gets back. */
const CLIENT_PY = `
import socket, sys
s = socket.socket()
s.settimeout(10)
s.bind(("127.0.0.5", 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
print("PORT", s.getsockname()[1])
s.sendall(b"hello\\n")
data = b""
while data.count(b"\\n") < 2:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
s.close()
`;

function config(v1: number, v2: number, relay: number, backend: number): string {
  return `${HAPROXY_TCP_DEFAULTS}frontend v1
  bind 127.0.0.1:${v1}
  default_backend v1
frontend v2
  bind 127.0.0.1:${v2}
  unique-id-format %{+X}o%ci:%cp_%fi:%fp_%Ts_%rt
  default_backend v2
frontend relay
  bind 127.0.0.1:${relay} accept-proxy
  default_backend v2
backend v1
  server pants 127.0.0.1:${backend} send-proxy
backend v2
  server pants 127.0.0.1:${backend} send-proxy-v2 proxy-v2-options crc32c,unique-id check check-send-proxy inter 100
`;
}

async function withHaproxy(
  body: (ports: { v1: number; v2: number; relay: number }, backend: Backend) => Promise<void>,
): Promise<void> {
  await withEngine(async (engine) => {
    const backend = new Backend({ engine });
    backend.proxyProtocol = { trusted: ["127.0.0.1/32"], headerTimeout: 2000 };
    backend.listen(["127.0.0.1", 0]);
    const port = (await listening(backend) as Deno.NetAddr).port;
    const ports = { v1: freePort(), v2: freePort(), relay: freePort() };
    const running = await runHaproxy(
      config(ports.v1, ports.v2, ports.relay, port),
      Object.values(ports),
    );
    try {
      await body(ports, backend);
    } finally {
      await running.stop();
    }
  });
}

/** Runs the Python client through `port`: its own port and the lines it got. */
async function client(port: number): Promise<{ port: number; lines: string[] }> {
  const out = await python(CLIENT_PY, [String(port)]);
  const [first, ...lines] = out.trimEnd().split("\n");
  return { port: Number(/^PORT (\d+)$/.exec(first!)![1]), lines };
}

Deno.test({
  name: "behind HAProxy send-proxy (v1) the server reports the client's real address",
  ignore: haproxy === undefined,
  async fn() {
    await withHaproxy(async (ports, backend) => {
      const { port, lines } = await client(ports.v1);
      deepStrictEqual(lines, [`127.0.0.5:${port} via 127.0.0.1`, "echo hello"]);
      ok(backend.headers.some((header) => header?.version === 1));
      deepStrictEqual(backend.errors, []);
    });
  },
});

Deno.test({
  name: "behind HAProxy send-proxy-v2 the server reports the client's real address and its TLVs",
  ignore: haproxy === undefined,
  async fn() {
    await withHaproxy(async (ports, backend) => {
      const { port, lines } = await client(ports.v2);
      deepStrictEqual(lines, [`127.0.0.5:${port} via 127.0.0.1`, "echo hello"]);
      const header = backend.headers.find((h) =>
        h?.command === "proxy" && (h.source as Deno.NetAddr).port === port
      );
      ok(header !== undefined && header !== null, "the client's header");
      strictEqual(header.version, 2);
      ok(header.tlvs.some((tlv) => tlv.type === 0x03), "HAProxy's CRC32C TLV (checked)");
      ok(header.uniqueId !== undefined && header.uniqueId.length > 0, "HAProxy's unique id");
      deepStrictEqual(backend.errors, []);
    });
  },
});

Deno.test({
  name: "HAProxy's send-proxy-v2 health checks arrive as LOCAL headers with the balancer's address",
  ignore: haproxy === undefined,
  async fn() {
    await withHaproxy(async (_ports, backend) => {
      await until(
        () => backend.headers.some((header) => header?.command === "local"),
        "a health check",
        15_000, // every 100 ms, but HAProxy spreads and may delay the first under load
      );
      const local = backend.headers.findIndex((header) => header?.command === "local");
      strictEqual(backend.remotes[local], "127.0.0.1");
      strictEqual(backend.headers[local]!.source, null);
      deepStrictEqual(backend.errors, []);
    });
  },
});

/** A Pants client that says hello and keeps the two lines it gets back. */
class Hello extends Stream {
  readonly lines: string[] = [];
  override onConnect(): void {
    this.readDelimiter = "\n";
    this.write("hello\n");
  }
  override onRead(line: Uint8Array): void {
    this.lines.push(text(line));
    if (this.lines.length === 2) this.close();
  }
}

Deno.test({
  name: "HAProxy's accept-proxy takes the headers connect({ proxyHeader }) sends, v1 and v2",
  ignore: haproxy === undefined,
  async fn() {
    await withHaproxy(async (ports, backend) => {
      for (const version of [1, 2] as const) {
        const client = new Hello({ engine: backend.engine });
        client.connect(["127.0.0.1", ports.relay], {
          proxyHeader: {
            version,
            source: { hostname: "203.0.113.7", port: 51000 + version },
            destination: { hostname: "198.51.100.1", port: 443 },
          },
        });
        await until(() => client.closed, `the reply through HAProxy (v${version})`);
        // HAProxy read our header and passed the client it names on (send-proxy-v2).
        deepStrictEqual(client.lines, [
          `203.0.113.7:${51000 + version} via 127.0.0.1`,
          "echo hello",
        ]);
      }
      deepStrictEqual(backend.errors, []);
    });
  },
});
