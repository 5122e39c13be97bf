/**
 * `examples/tcp_proxy.ts` as a real program: 256 MiB from a fast Python
 * writer through the proxy to a slow Python reader, every byte checked, the
 * proxy's memory sampled meanwhile.
 *
 * @module
 */

import { ok, strictEqual } from "node:assert/strict";
import { freePort, PY_ACCEPT_ONCE, runDeno, Subprocess } from "./_subprocess.ts";

const example = new URL("../examples/tcp_proxy.ts", import.meta.url).pathname;
const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;

/** Resident memory of a process in bytes, from /proc (0 once it exited). */
async function rss(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

Deno.test("examples/tcp_proxy.ts carries 256 MiB to a slow reader in order, with bounded memory", async () => {
  // The upstream: reads 64 KiB at a time and naps after each read, hashes
  // what arrives, and answers with the count and hash after the EOF.
  const reader = new Subprocess("python3", [
    "-c",
    PY_ACCEPT_ONCE + `import hashlib
conn.settimeout(60)
h = hashlib.sha256()
total = 0
buffer = bytearray(65536)
while True:
    n = conn.recv_into(buffer)
    if n == 0: break
    h.update(memoryview(buffer)[:n])
    total += n
    time.sleep(0.001)
conn.sendall(f"{total} {h.hexdigest()}\\n".encode())
conn.close()
`,
  ]);
  const upstream = Number((await reader.waitForMatch(/PORT (\d+)\n/))[1]);
  const port = freePort();
  const proxy = runDeno(
    [`--allow-net=127.0.0.1:${port},127.0.0.1:${upstream}`],
    example,
    [String(port), `127.0.0.1:${upstream}`, "127.0.0.1"],
  );
  let writer: Subprocess | null = null;
  try {
    await proxy.waitForMatch(/proxying 127\.0\.0\.1:\d+ -> .*\n/);
    const pid = proxy.child.pid;
    const before = await rss(pid);
    // The writer: 256 MiB as fast as the proxy takes it, each 64 KiB block
    // numbered so that loss or reordering changes the hash; then a
    // half-close, and the reader's answer back through the proxy.
    writer = new Subprocess("python3", [
      "-c",
      `import hashlib, socket, time
conn = socket.create_connection(("127.0.0.1", ${port}))
conn.settimeout(60)
block = bytearray(bytes(range(256)) * 256)
h = hashlib.sha256()
start = time.monotonic()
for i in range(${TOTAL / 65536}):
    block[0:8] = i.to_bytes(8, "big")
    conn.sendall(block)
    h.update(block)
conn.shutdown(socket.SHUT_WR)
answer = b""
while True:
    data = conn.recv(65536)
    if not data: break
    answer += data
print("SENT", h.hexdigest(), flush=True)
print("ANSWER", answer.decode().strip(), flush=True)
print("SECONDS", round(time.monotonic() - start, 2), flush=True)
`,
    ]);
    let exited = false;
    void writer.status().then(() => exited = true);
    let peak = before;
    const deadline = Date.now() + 55_000;
    while (!exited) {
      ok(Date.now() < deadline, "the transfer takes under 55 s");
      peak = Math.max(peak, await rss(pid));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    strictEqual((await writer.status()).success, true, writer.stderr);
    const sent = /SENT (\w+)\n/.exec(writer.stdout)?.[1];
    const answer = /ANSWER (\d+) (\w+)\n/.exec(writer.stdout);
    const seconds = /SECONDS (.*)\n/.exec(writer.stdout)?.[1];
    console.log(
      `256 MiB in ${seconds} s; proxy RSS ${(before / MiB).toFixed(1)} MiB before, ` +
        `peak ${(peak / MiB).toFixed(1)} MiB (+${((peak - before) / MiB).toFixed(1)} MiB)`,
    );
    ok(answer !== null, writer.stdout + writer.stderr);
    strictEqual(Number(answer[1]), TOTAL);
    strictEqual(answer[2], sent);
    ok(peak - before < 128 * MiB, `proxy RSS grew by ${(peak - before) / MiB} MiB`);
    strictEqual((await reader.status()).success, true, reader.stderr);
  } finally {
    await writer?.stop();
    await reader.stop();
    await proxy.stop();
  }
});

Deno.test("examples/tcp_proxy.ts closes a client whose target refuses, and keeps serving", async () => {
  const port = freePort();
  const target = freePort(); // nothing listens there
  const proxy = runDeno(
    [`--allow-net=127.0.0.1:${port},127.0.0.1:${target}`],
    example,
    [String(port), `127.0.0.1:${target}`, "127.0.0.1"],
  );
  try {
    await proxy.waitForMatch(/proxying 127\.0\.0\.1:\d+ -> .*\n/);
    for (let i = 0; i < 2; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode("hello"));
      // EOF, or a reset when the proxy closed with "hello" still unread.
      const end = await conn.read(new Uint8Array(16)).catch((error) => error);
      ok(end === null || end instanceof Deno.errors.ConnectionReset, String(end));
      conn.close();
    }
    await proxy.waitFor(`cannot reach 127.0.0.1:${target}`);
  } finally {
    await proxy.stop();
  }
});
