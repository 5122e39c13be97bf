/**
 * `noDelay` and `keepAlive` on real sockets on 127.0.0.1. Socket options
 * are not sent to the peer, so the test reads them from the kernel: a
 * Python helper takes a copy of the Deno socket (`pidfd_getfd`) and calls
 * `getsockopt` on it.
 *
 * @module
 */

import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { Server, Stream } from "../mod.ts";
import { testCerts } from "./_certs.ts";
import { listening, until, withEngine } from "./_helpers.ts";
import { PY_ACCEPT_ONCE, python, Subprocess } from "./_subprocess.ts";

/** Prints the options of the IPv4 TCP socket of process `pid` between two ports. */
const INSPECT = `
import ctypes, json, os, socket, sys
pid, lport, rport = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
inode = None
for line in open(f"/proc/{pid}/net/tcp").readlines()[1:]:
    f = line.split()
    if int(f[1].split(":")[1], 16) == lport and int(f[2].split(":")[1], 16) == rport:
        inode = f[9]
target = None
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]": target = int(fd)
    except OSError: pass
if target is None: sys.exit(f"no socket {lport}->{rport} in process {pid}")
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(438, os.pidfd_open(pid), target, 0)  # pidfd_getfd
if fd < 0: sys.exit("pidfd_getfd: " + os.strerror(ctypes.get_errno()))
s = socket.socket(fileno=fd)
print(json.dumps({
  "noDelay": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0,
  "keepAlive": s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0,
  "keepIdle": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
  "kernelKeepIdle": int(open("/proc/sys/net/ipv4/tcp_keepalive_time").read())}))
s.detach()
os.close(fd)
`;

interface Options {
  noDelay: boolean;
  keepAlive: boolean;
}

/** The kernel's view of a stream's socket. */
async function socketOptions(stream: Stream): Promise<Options> {
  const local = stream.localAddress as Deno.NetAddr;
  const remote = stream.remoteAddress as Deno.NetAddr;
  const out = await python(INSPECT, [String(Deno.pid), String(local.port), String(remote.port)]);
  const { keepIdle, kernelKeepIdle, ...options } = JSON.parse(out) as Options & {
    keepIdle: number;
    kernelKeepIdle: number;
  };
  // Deno 2.9 takes no keep-alive delay: the kernel's default always applies.
  strictEqual(keepIdle, kernelKeepIdle);
  return options;
}

/** A Python server that accepts once and holds the connection until EOF. */
async function pythonServer(): Promise<{ port: number; peer: Subprocess }> {
  const peer = new Subprocess("python3", [
    "-c",
    PY_ACCEPT_ONCE + `
while conn.recv(65536): pass
`,
  ]);
  const match = await peer.waitForMatch(/PORT (\d+)\n/);
  return { port: Number(match[1]), peer };
}

Deno.test("Stream noDelay and keepAlive default to on and off on a client's socket", async () => {
  const { port, peer } = await pythonServer();
  await withEngine(async (engine) => {
    const client = new Stream({ engine }).connect(["127.0.0.1", port]);
    await client.ready;
    strictEqual(client.noDelay, true);
    strictEqual(client.keepAlive, false);
    deepStrictEqual(await socketOptions(client), {
      noDelay: true,
      keepAlive: false,
    });
    client.close();
  });
  await peer.stop();
});

Deno.test("Stream noDelay and keepAlive set before connect apply at connect, and later at once", async () => {
  const { port, peer } = await pythonServer();
  await withEngine(async (engine) => {
    const client = new Stream({ engine });
    client.noDelay = false;
    client.keepAlive = true;
    client.connect(["127.0.0.1", port]);
    await client.ready;
    deepStrictEqual(await socketOptions(client), {
      noDelay: false,
      keepAlive: true,
    });
    client.noDelay = true;
    client.keepAlive = false;
    deepStrictEqual(await socketOptions(client), {
      noDelay: true,
      keepAlive: false,
    });
    client.close();
  });
  await peer.stop();
});

Deno.test("Stream noDelay and keepAlive set by an accepted stream apply to its socket", async () => {
  let accepted: Stream | null = null;
  class Tuned extends Stream {
    constructor(...args: ConstructorParameters<typeof Stream>) {
      super(...args);
      this.noDelay = false; // applied when the connection is adopted
    }
    override onConnect(): void {
      this.keepAlive = true; // applied at once
      accepted = this;
    }
  }
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Tuned, engine }).listen(["127.0.0.1", 0]);
    const { port } = (await listening(server)) as Deno.NetAddr;
    const peer = new Subprocess("python3", [
      "-c",
      `
import socket, time
c = socket.create_connection(("127.0.0.1", ${port}))
print("CONNECTED", flush=True)
time.sleep(10)
`,
    ]);
    await peer.waitFor("CONNECTED");
    await until(() => accepted !== null, "the accepted stream");
    const options = await socketOptions(accepted!);
    strictEqual(options.noDelay, false);
    strictEqual(options.keepAlive, true);
    await peer.stop();
    server.close();
  });
});

Deno.test("Stream noDelay and keepAlive apply to the TCP socket under TLS, before connect and at once", async () => {
  const { trusted } = await testCerts();
  const peer = new Subprocess("python3", [
    "-c",
    PY_ACCEPT_ONCE + `
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
s = context.wrap_socket(conn, server_side=True)
while s.recv(65536): pass
`,
    trusted.certPath,
    trusted.keyPath,
  ]);
  const port = Number((await peer.waitForMatch(/PORT (\d+)\n/))[1]);
  await withEngine(async (engine) => {
    const client = new Stream({ engine }).startSSL({
      hostname: "localhost",
      caCerts: [trusted.cert],
    });
    client.noDelay = false;
    client.keepAlive = true;
    client.connect(["127.0.0.1", port]);
    await client.ready;
    strictEqual(client.secure, true);
    deepStrictEqual(await socketOptions(client), { noDelay: false, keepAlive: true });
    client.noDelay = true;
    client.keepAlive = false;
    deepStrictEqual(await socketOptions(client), { noDelay: true, keepAlive: false });
    client.close();
  });
  await peer.stop();
});

Deno.test("Stream noDelay and keepAlive set by an accepted TLS stream apply to its TCP socket", async () => {
  const { trusted } = await testCerts();
  let accepted: Stream | null = null;
  class Tuned extends Stream {
    override onConnect(): void {
      this.noDelay = false;
      this.keepAlive = true;
      accepted = this;
    }
  }
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Tuned, engine })
      .startSSL({ cert: trusted.cert, key: trusted.key }).listen(["127.0.0.1", 0]);
    const { port } = (await listening(server)) as Deno.NetAddr;
    const peer = new Subprocess("python3", [
      "-c",
      `
import socket, ssl, sys, time
context = ssl.create_default_context(cafile=sys.argv[1])
s = context.wrap_socket(socket.create_connection(("127.0.0.1", ${port})), server_hostname="localhost")
print("CONNECTED", flush=True)
time.sleep(10)
`,
      trusted.certPath,
    ]);
    await peer.waitFor("CONNECTED");
    await until(() => accepted !== null, "the accepted stream");
    strictEqual(accepted!.secure, true);
    deepStrictEqual(await socketOptions(accepted!), { noDelay: false, keepAlive: true });
    await peer.stop();
    server.close();
  });
});

Deno.test("Stream keepAlive and noDelay throw a TypeError at assignment for a non-boolean", () => {
  const stream = new Stream();
  throws(() => stream.keepAlive = 30_000 as unknown as boolean, {
    name: "TypeError",
    message: /Invalid keepAlive 30000: use true or false: Deno 2.9 can only turn keep-alive on/,
  });
  throws(() => stream.noDelay = "yes" as unknown as boolean, TypeError);
  strictEqual(stream.keepAlive, false);
  strictEqual(stream.noDelay, true);
});

Deno.test("Stream keepAlive and noDelay are ignored on a Unix socket", async () => {
  const path = Deno.makeTempFileSync({ suffix: ".sock" });
  Deno.removeSync(path);
  await withEngine(async (engine) => {
    const server = new Server({ engine }).listen({ path });
    await listening(server);
    const client = new Stream({ engine });
    client.keepAlive = true;
    client.noDelay = false;
    client.connect({ path });
    await client.ready;
    client.keepAlive = false;
    client.noDelay = true;
    strictEqual(client.connected, true);
    client.close();
    server.close();
  });
});
