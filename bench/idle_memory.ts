/**
 * Idle memory per stream after each traffic pattern (issue 14, item 7):
 * a Pants line server runs as a subprocess; N peers connect, send one
 * pattern, then stay silent; the server's RSS growth over N is the idle cost
 * of one stream that saw that traffic. Bounded: N peers, one pattern at a
 * time, each run ends by itself.
 *
 *     deno run -A bench/idle_memory.ts [--peers 1500]
 *
 * Prints a table: pattern, KiB per idle stream, and the ratio to a stream
 * that only connected.
 *
 * @module
 */

import { delay, HostileServer, memoryOf } from "../tests/_hostile.ts";

const peers = Number(Deno.args[Deno.args.indexOf("--peers") + 1] || 1500);

interface Pattern {
  name: string;
  bytes: (i: number) => Uint8Array;
}

const line = (n: number) => {
  const bytes = new Uint8Array(n).fill(0x61);
  bytes[n - 1] = 0x0a;
  return bytes;
};

const PATTERNS: Pattern[] = [
  { name: "connected only", bytes: () => new Uint8Array(0) },
  { name: "255-byte line", bytes: () => line(255) },
  { name: "256-byte line", bytes: () => line(256) },
  { name: "4 KiB line", bytes: () => line(4096) },
  { name: "64 KiB line", bytes: () => line(65536) },
  { name: "256 KiB of lines", bytes: () => new Uint8Array(262144).fill(0x0a) },
];

async function measure(pattern: Pattern): Promise<number> {
  const server = await HostileServer.start({ bufferSize: 1 << 20 });
  const conns: Deno.Conn[] = [];
  try {
    await delay(300);
    const before = memoryOf(server.pid).rssKiB;
    const reply = new Uint8Array(1 << 18);
    for (let i = 0; i < peers; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      conns.push(conn);
      const data = pattern.bytes(i);
      if (data.length > 0) {
        await conn.write(data);
        // Read the echo so the server's queue is empty: only the read side remains.
        let got = 0;
        while (got < data.length) got += (await conn.read(reply)) ?? data.length;
      }
    }
    await delay(500);
    const after = memoryOf(server.pid).rssKiB;
    return (after - before) / peers;
  } finally {
    for (const conn of conns) conn.close();
    await server.stop();
  }
}

const rows: [string, number][] = [];
for (const pattern of PATTERNS) rows.push([pattern.name, await measure(pattern)]);
const base = rows[0]![1];
console.log(`Idle memory per stream, ${peers} idle peers per pattern (server RSS growth / peers)`);
console.log("pattern               KiB/stream   x connected-only");
for (const [name, kib] of rows) {
  console.log(`${name.padEnd(22)}${kib.toFixed(2).padStart(10)}   ${(kib / base).toFixed(2)}x`);
}
