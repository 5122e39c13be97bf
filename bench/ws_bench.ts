/**
 * WebSocket echo throughput: Pants' `WebSocketServer` against `Deno.serve`
 * + `Deno.upgradeWebSocket` (Deno's Rust implementation) and `Bun.serve`'s
 * WebSocket (uWebSockets), in one run.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-run --allow-read bench/ws_bench.ts [seconds] [rounds]
 * ```
 *
 * Each server runs in a process of its own (this file with `--serve`, or
 * Bun with bench/net/servers/bun_ws_echo.js); the load generator runs here,
 * on raw TCP sockets, identical for all servers:
 * it upgrades each connection, then sends pre-encoded masked binary frames
 * and counts the echoes by their byte length, one message in flight per
 * connection (ping-pong). Scenarios: 64-byte messages on 1 and on 100
 * connections, and 1 MiB messages on 1 connection. Each figure is the
 * median of `rounds` rounds (default 3) of `seconds` (default 2), after a
 * half-second warm-up; the rounds alternate between the servers. The load
 * generator shares the machine with the servers (not pinned to cores):
 * compare the ratios, not the absolute figures. Bun is the npm package in
 * bench/net/node_modules (`npm install --prefix bench/net`, as `bench/net/run.ts`
 * does); without it the Bun column is left out, with a note.
 *
 * Under `deno bench` the file instead times the WebSocket mask of a 64 KiB
 * payload: the WebAssembly kernel against a TypeScript loop.
 *
 * @module
 */

import { applyMask, maskKey } from "../framing/_mask.ts";

const KEY = new Uint8Array([0x11, 0x22, 0x33, 0x44]);

/** A masked, final binary frame carrying `size` bytes. */
function clientFrame(size: number): Uint8Array {
  const header = size < 126 ? 2 : size < 65536 ? 4 : 10;
  const out = new Uint8Array(header + 4 + size);
  out[0] = 0x82;
  if (header === 2) out[1] = 0x80 | size;
  else if (header === 4) out[1] = 0x80 | 126, out[2] = size >> 8, out[3] = size & 0xff;
  else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setUint32(6, size);
  }
  out.set(KEY, header);
  const payload = out.subarray(header + 4);
  for (let i = 0; i < size; i++) payload[i] = i & 0xff;
  applyMask(payload, maskKey(KEY));
  return out;
}

/** The byte length of the server's echo of a `size`-byte message (unmasked). */
const echoLength = (size: number): number => (size < 126 ? 2 : size < 65536 ? 4 : 10) + size;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Connects and upgrades; returns the connection and the bytes already read past the head. */
async function upgrade(port: number): Promise<{ conn: Deno.Conn; extra: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  await writeAll(
    conn,
    new TextEncoder().encode(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ),
  );
  const buffer = new Uint8Array(4096);
  let text = "";
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("the server closed during the upgrade");
    text += new TextDecoder("latin1").decode(buffer.subarray(0, n));
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      if (!text.startsWith("HTTP/1.1 101")) throw new Error(`upgrade refused: ${text}`);
      return { conn, extra: text.length - end - 4 };
    }
  }
}

/** Ping-pong on `connections` connections for `ms`; returns messages echoed. */
async function pingPong(
  port: number,
  connections: number,
  size: number,
  ms: number,
): Promise<number> {
  const frame = clientFrame(size);
  const expect = echoLength(size);
  const peers = await Promise.all(Array.from({ length: connections }, () => upgrade(port)));
  let stop = false;
  let count = 0;
  const timer = setTimeout(() => (stop = true), ms);
  await Promise.all(peers.map(async ({ conn }) => {
    const buffer = new Uint8Array(Math.max(65536, Math.min(expect, 1 << 20)));
    while (!stop) {
      await writeAll(conn, frame);
      let got = 0;
      while (got < expect) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error("the server closed the connection");
        got += n;
      }
      count++;
    }
  }));
  clearTimeout(timer);
  for (const { conn } of peers) conn.close();
  return count;
}

/** Bun from the npm package of bench/net, if installed and runnable here. */
function findBun(): string | null {
  const bun = new URL("./net/node_modules/.bin/bun", import.meta.url).pathname;
  try {
    return new Deno.Command(bun, { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync().success
      ? bun
      : null;
  } catch {
    return null;
  }
}

/** The Deno and Pants servers, each in its own process. */
function serve(kind: string, port: number): void {
  if (kind === "deno") {
    Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      socket.binaryType = "arraybuffer";
      socket.onmessage = (event) => socket.send(event.data);
      return response;
    });
  } else {
    import("../mod.ts").then(({ engine, WebSocketChannel, WebSocketServer }) => {
      class Echo extends WebSocketChannel {
        override onConnect(): void {
          this.bufferSize = 2 * 1024 * 1024;
          this.noDelay = true;
        }
        override onRead(message: string | Uint8Array): void {
          this.write(message);
        }
      }
      new WebSocketServer(Echo).listen(["127.0.0.1", port]);
      engine.start();
    });
  }
  console.log("READY");
}

async function startServer(
  kind: string,
  bun: string | null,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const [command, args] = kind === "bun"
    ? [bun!, [new URL("./net/servers/bun_ws_echo.js", import.meta.url).pathname, String(port)]]
    : [Deno.execPath(), [
      "run",
      "--allow-net=127.0.0.1",
      new URL(import.meta.url).pathname,
      "--serve",
      kind,
      String(port),
    ]];
  const child = new Deno.Command(command, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  if (!new TextDecoder().decode(value).includes("READY")) throw new Error(`${kind} did not start`);
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return {
    port,
    stop: async () => {
      child.kill("SIGTERM");
      reader.releaseLock();
      await child.stdout.cancel();
      await child.status;
    },
  };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function main(): Promise<void> {
  const seconds = Number(Deno.args[0] ?? 2);
  const rounds = Number(Deno.args[1] ?? 3);
  const scenarios = [
    { name: "64 B echo, C=1", connections: 1, size: 64, unit: "msg/s" },
    { name: "64 B echo, C=100", connections: 100, size: 64, unit: "msg/s" },
    { name: "1 MiB echo, C=1", connections: 1, size: 1024 * 1024, unit: "MiB/s" },
  ];
  const bun = findBun();
  const servers = bun === null ? ["deno", "pants"] : ["deno", "pants", "bun"];
  const results = new Map<string, number>();
  const running = await Promise.all(servers.map((kind) => startServer(kind, bun)));
  try {
    for (const scenario of scenarios) {
      const values = servers.map(() => [] as number[]);
      for (const server of running) {
        await pingPong(server.port, scenario.connections, scenario.size, 500);
      }
      // Rounds alternate between the servers, so that load from elsewhere hits both alike.
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < servers.length; i++) {
          const count = await pingPong(
            running[i]!.port,
            scenario.connections,
            scenario.size,
            seconds * 1000,
          );
          const perSecond = count / seconds;
          values[i]!.push(
            scenario.unit === "MiB/s" ? perSecond * scenario.size / 2 ** 20 : perSecond,
          );
        }
      }
      servers.forEach((kind, i) => results.set(`${kind} ${scenario.name}`, median(values[i]!)));
    }
  } finally {
    for (const server of running) await server.stop();
  }
  const titles: Record<string, string> = {
    deno: "Deno.serve + upgradeWebSocket",
    pants: "Pants WebSocketServer",
    bun: "Bun.serve",
  };
  const rows = [[
    "scenario",
    ...servers.map((kind) => titles[kind]!),
    "Pants / Deno",
    ...(bun === null ? [] : ["Bun / Deno"]),
  ]];
  for (const scenario of scenarios) {
    const value = (kind: string) => results.get(`${kind} ${scenario.name}`)!;
    const deno = value("deno");
    rows.push([
      scenario.name,
      ...servers.map((kind) => `${value(kind).toFixed(0)} ${scenario.unit}`),
      ...servers.slice(1).map((kind) => (value(kind) / deno).toFixed(2)),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(line(rows[0]!));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows.slice(1)) console.log(line(row));
  const note = bun === null
    ? "Bun not measured: bench/net/node_modules/.bin/bun is missing or does not run"
    : `Bun ${
      new TextDecoder().decode(new Deno.Command(bun, { args: ["--version"] }).outputSync().stdout)
        .trim()
    }`;
  console.log(
    `(median of ${rounds} rounds of ${seconds} s; one message in flight per connection; ${note})`,
  );
}

if (import.meta.main) {
  if (Deno.args[0] === "--serve") serve(Deno.args[1]!, Number(Deno.args[2]));
  else await main();
} else {
  const payload = new Uint8Array(64 * 1024);
  const key = maskKey(KEY);
  Deno.bench({ name: "mask 64 KiB: TypeScript loop", group: "mask", baseline: true }, () => {
    for (let i = 0; i < payload.length; i++) payload[i]! ^= (key >>> ((i & 3) * 8)) & 0xff;
  });
  Deno.bench({ name: "mask 64 KiB: WebAssembly SIMD (applyMask)", group: "mask" }, () => {
    applyMask(payload, key);
  });
}
