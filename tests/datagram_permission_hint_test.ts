/**
 * A UDP reply `--allow-net` refuses: the hint names the flag that helps (the
 * peer's host, all its ports, or plain `--allow-net`), not the peer's
 * ephemeral port, and it is logged once per channel; later refusals are
 * counted and the count is logged when the channel closes. Real
 * subprocesses on both datagram backends, on 127.0.0.1.
 */
import dgram from "node:dgram";
import { ok, strictEqual } from "node:assert/strict";
import { sendFailure } from "../transport/_datagram_socket.ts";
import { runDeno, type Subprocess } from "./_subprocess.ts";

const mod = new URL("../mod.ts", import.meta.url).href;

/** An echo server that closes once it answered (or failed to answer) `n` datagrams. */
const server = (n: number) =>
  `import { Datagram } from "${mod}";
let read = 0, sent = 0;
class Echo extends Datagram {
  override onListen(): void {
    console.log("listening on " + (this.localAddress as Deno.NetAddr).port);
  }
  override onRead(data: Uint8Array): void {
    read++;
    this.write(data);
  }
  override onWrite(): void {
    if (read === ${n}) this.close();
  }
}
await new Echo().listen(["127.0.0.1", 0]).engine.start();
console.log("done");
`;

async function serverPort(child: Subprocess): Promise<number> {
  return Number((await child.waitForMatch(/listening on (\d+)\n/))[1]);
}

for (const backend of [[], ["--unstable-net"]]) {
  const name = backend.length === 0 ? "node:dgram" : "Deno.listenDatagram";

  Deno.test(`Datagram logs a refused reply once, naming the host not the peer's port (${name})`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "pants_udp_hint_" });
    const peer = dgram.createSocket("udp4");
    try {
      await new Promise<void>((resolve) => peer.bind(0, "127.0.0.1", () => resolve()));
      const peerPort = peer.address().port;
      await Deno.writeTextFile(`${dir}/server.ts`, server(5));
      // Binding port 0 needs 127.0.0.1:0; replies to the peer's port are refused.
      const child = runDeno([...backend, "--allow-net=127.0.0.1:0"], `${dir}/server.ts`);
      const timer = setTimeout(() => child.stop(), 20_000);
      const port = await serverPort(child);
      for (let i = 0; i < 5; i++) {
        await new Promise<void>((resolve, reject) =>
          peer.send(`ping ${i}`, port, "127.0.0.1", (error) => error ? reject(error) : resolve())
        );
      }
      const status = await child.status();
      clearTimeout(timer);
      strictEqual(status.code, 0, child.stderr);
      ok(child.stdout.includes("done"), child.stdout);
      const reports = child.stderr.match(/Cannot send a datagram/g) ?? [];
      strictEqual(reports.length, 1, child.stderr);
      ok(child.stderr.includes(`to 127.0.0.1:${peerPort}: permission denied`), child.stderr);
      ok(child.stderr.includes("run with --allow-net=127.0.0.1 (all its ports"), child.stderr);
      ok(child.stderr.includes("plain --allow-net"), child.stderr);
      ok(!child.stderr.includes(`--allow-net=127.0.0.1:${peerPort}`), child.stderr);
      ok(child.stderr.includes("4 more datagrams were not sent"), child.stderr);
    } finally {
      await new Promise<void>((resolve) => peer.close(() => resolve()));
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("sendFailure names an IPv6 host in brackets without the port", () => {
  const error = sendFailure(
    new Deno.errors.NotCapable('Requires net access to "[::1]:40000"'),
    { transport: "udp", hostname: "::1", port: 40000 },
    3,
  );
  ok(error.message.includes("--allow-net=[::1] (all its ports"), error.message);
  ok(!error.message.includes("--allow-net=[::1]:40000"), error.message);
});

Deno.test("sendFailure keeps the path flags for a refused Unix datagram", () => {
  const error = sendFailure(
    new Deno.errors.NotCapable("denied"),
    { transport: "unixpacket", path: "/tmp/peer.sock" },
    3,
  );
  ok(error.message.includes("--allow-net=unix:/tmp/peer.sock"), error.message);
});
