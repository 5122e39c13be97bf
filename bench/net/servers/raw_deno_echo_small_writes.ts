/**
 * Bench server: the plain Deno echo loop, but each chunk is written back as
 * 10 awaited `conn.write()` calls of a tenth of it each.
 *
 *     deno run --allow-net=127.0.0.1 bench/net/servers/raw_deno_echo_small_writes.ts PORT
 *
 * @module
 */

const PIECES = 10;

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    offset += await conn.write(data.subarray(offset));
  }
}

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      for (let i = 0; i < PIECES; i++) {
        await writeAll(
          conn,
          buffer.subarray(
            Math.floor(i * n / PIECES),
            Math.floor((i + 1) * n / PIECES),
          ),
        );
      }
    }
  } catch {
    // Reset by the peer: just close.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

// Exit normally on SIGTERM, so `deno run --cpu-prof` writes its profile.
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
const listener = Deno.listen({
  hostname: "127.0.0.1",
  port: Number(Deno.args[0] ?? 4040),
});
for await (const conn of listener) void serve(conn);
