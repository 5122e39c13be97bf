/** The examples, run as real programs with the narrowest permissions. */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { freePort, python, runDeno, waitForPort } from "./_subprocess.ts";
import { readExactly, text, utf8 } from "./_helpers.ts";

const examples = new URL("../examples/", import.meta.url);
const example = (name: string) => new URL(name, examples).pathname;

async function withExample(
  name: string,
  body: (port: number) => Promise<void>,
): Promise<void> {
  const port = freePort();
  const server = runDeno([`--allow-net=127.0.0.1:${port}`], example(name), [
    String(port),
    "127.0.0.1",
  ]);
  try {
    await waitForPort(port);
    await body(port);
  } finally {
    await server.stop();
  }
}

Deno.test("examples/echo.ts echoes with only --allow-net for its address", async () => {
  await withExample("echo.ts", async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(utf8("hello pants"));
    strictEqual(text(await readExactly(conn, 11)), "hello pants");
    conn.close();
  });
});

Deno.test("examples/echo.ts exits non-zero, naming the flag, when it may not listen", async () => {
  const allowed = freePort();
  const other = freePort();
  const server = runDeno([`--allow-net=127.0.0.1:${allowed}`], example("echo.ts"), [
    String(other),
    "127.0.0.1",
  ]);
  const status = await server.status();
  strictEqual(status.code, 1, server.stderr);
  ok(server.stderr.includes(`Cannot listen on 127.0.0.1:${other}`), server.stderr);
  ok(server.stderr.includes(`--allow-net=127.0.0.1:${other}`), server.stderr);
});

Deno.test("examples/echo.ts serves a Python socket client", async () => {
  await withExample("echo.ts", async (port) => {
    const out = await python(
      `
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
payload = bytes(range(256)) * 64
s.sendall(payload)
got = b""
while len(got) < len(payload):
    chunk = s.recv(65536)
    if not chunk: break
    got += chunk
s.close()
print("same" if got == payload else "differs %d" % len(got))
`,
      [String(port)],
    );
    strictEqual(out.trim(), "same");
  });
});

Deno.test("examples/block_echo.ts echoes 8-byte blocks followed by CRLF", async () => {
  await withExample("block_echo.ts", async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(utf8("12345678abcdefghXYZ"));
    strictEqual(text(await readExactly(conn, 20)), "12345678\r\nabcdefgh\r\n");
    conn.close();
  });
});

Deno.test("examples/chat.ts announces joins, lines and departures to everyone", async () => {
  await withExample("chat.ts", async (port) => {
    const out = await python(
      `
import socket, sys, time
port = int(sys.argv[1])
def recv_line(s):
    data = b""
    while not data.endswith(b"\\r\\n"):
        chunk = s.recv(1)
        if not chunk: break
        data += chunk
    return data.decode()
a = socket.create_connection(("127.0.0.1", port))
print(recv_line(a), end="")
b = socket.create_connection(("127.0.0.1", port))
print(recv_line(a), end="")
print(recv_line(b), end="")
b.sendall(b"hi all\\r\\n")
print(recv_line(a), end="")
print(recv_line(b), end="")
b.close()
print(recv_line(a), end="")
a.close()
`,
      [String(port)],
    );
    deepStrictEqual(out.trim().split("\r\n"), [
      "Connected: 127.0.0.1",
      "Connected: 127.0.0.1",
      "Connected: 127.0.0.1",
      "127.0.0.1: hi all",
      "127.0.0.1: hi all",
      "Disconnected: 127.0.0.1",
    ]);
  });
});

Deno.test("examples/client.ts prints the echo server's replies and exits", async () => {
  await withExample("echo.ts", async (port) => {
    const client = runDeno([`--allow-net=localhost:${port}`], example("client.ts"), [String(port)]);
    const status = await client.status();
    strictEqual(status.code, 0, client.stderr);
    deepStrictEqual(client.stdout.trim().split("\n"), [
      "reply: hello",
      "reply: from",
      "reply: pants",
    ]);
  });
});
