/**
 * Bench server: echo written the plain Deno way: one async read/write loop
 * per connection with its own 64 KiB buffer.
 *
 *     deno run --allow-net=127.0.0.1 bench/net/servers/raw_deno_echo.ts PORT
 *
 * @module
 */

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      let offset = 0;
      while (offset < n) offset += await conn.write(buffer.subarray(offset, n));
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
