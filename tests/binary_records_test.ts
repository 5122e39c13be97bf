/** examples/binary_records.ts, run as a real program and spoken to by Deno and Python clients. */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { NetStruct } from "../mod.ts";
import { freePort, python, runDeno, waitForPort } from "./_subprocess.ts";
import { concat, readExactly, text } from "./_helpers.ts";

const script = new URL("../examples/binary_records.ts", import.meta.url).pathname;
const request = new NetStruct("!BH$H$");

async function withServer(body: (port: number) => Promise<void>): Promise<void> {
  const port = freePort();
  const server = runDeno([`--allow-net=127.0.0.1:${port}`], script, [String(port), "127.0.0.1"]);
  try {
    await waitForPort(port);
    await body(port);
  } finally {
    await server.stop();
  }
}

/** Reads one "!BH$" reply: [status, value]. */
async function readReply(conn: Deno.Conn): Promise<[number, string]> {
  const head = await readExactly(conn, 3);
  const length = (head[1]! << 8) | head[2]!;
  const value = await readExactly(conn, length);
  return [head[0]!, text(value)];
}

Deno.test("examples/binary_records.ts answers GET, SET and DELETE records", async () => {
  await withServer(async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // Several requests in one write: the server frames each record.
    await conn.write(concat([
      request.pack(1, "name", ""),
      request.pack(2, "name", "pants"),
      request.pack(1, "name", ""),
      request.pack(3, "name", ""),
      request.pack(3, "name", ""),
      request.pack(9, "x", ""),
    ]));
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await readReply(conn));
    deepStrictEqual(replies, [[1, ""], [0, ""], [0, "pants"], [0, ""], [1, ""], [2, ""]]);
    conn.close();
  });
});

Deno.test("examples/binary_records.ts serves a Python struct client", async () => {
  await withServer(async (port) => {
    const out = await python(
      `
import socket, struct, sys
def record(op, key, value):
    return struct.pack("!BH", op, len(key)) + key + struct.pack("!H", len(value)) + value
def recv_exactly(s, n):
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk: raise EOFError(len(got))
        got += chunk
    return got
def reply(s):
    status, length = struct.unpack("!BH", recv_exactly(s, 3))
    return status, recv_exactly(s, length)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
big = bytes(range(256)) * 200
data = record(2, b"big", big) + record(1, b"big", b"")
for byte in data[:40]:
    s.sendall(bytes([byte]))
s.sendall(data[40:])
first = reply(s)
second = reply(s)
s.close()
print(first[0], second[0], second[1] == big)
`,
      [String(port)],
    );
    strictEqual(out.trim(), "0 0 True");
  });
});
