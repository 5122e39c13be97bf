/**
 * Bench server: a line counter written the plain Deno way: one async read
 * loop per connection with a 64 KiB buffer, counting with
 * `Uint8Array.indexOf`: `"\n"`, or with the argument `crlf`, `"\r"` followed
 * by `"\n"` (checked across reads too). At the end of input it writes the
 * count as decimal text and `"\n"`, and closes.
 *
 *     deno run --allow-net=127.0.0.1 bench/net/servers/raw_deno_lines.ts PORT [crlf]
 *
 * @module
 */

const CR = 13;
const LF = 10;
const crlf = Deno.args[1] === "crlf";

async function serve(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  let count = 0;
  let pendingCR = false;
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      const view = buffer.subarray(0, n);
      if (!crlf) {
        for (let i = view.indexOf(LF); i !== -1; i = view.indexOf(LF, i + 1)) {
          count++;
        }
        continue;
      }
      if (pendingCR && view[0] === LF) count++;
      pendingCR = false;
      for (let i = view.indexOf(CR); i !== -1; i = view.indexOf(CR, i + 1)) {
        if (i + 1 === n) pendingCR = true;
        else if (view[i + 1] === LF) count++;
      }
    }
    await conn.write(new TextEncoder().encode(`${count}\n`));
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
