/**
 * Datagrams per second through a UDP echo server on 127.0.0.1, 64-byte
 * packets: Pants' `Datagram` against raw loops on the same socket API, in
 * one run.
 *
 * ```sh
 * # stable Deno: Pants (node:dgram backend) vs a raw node:dgram loop
 * deno run --allow-net=127.0.0.1 bench/udp_bench.ts [seconds] [window]
 * # with --unstable-net: also Pants (Deno.listenDatagram backend) vs a raw
 * # Deno.listenDatagram loop
 * deno run --unstable-net --allow-net=127.0.0.1 bench/udp_bench.ts [seconds] [window]
 * ```
 *
 * The load generator runs in a Web Worker (its own thread): it keeps
 * `window` datagrams in flight (default 16), sending a new one for each
 * echo, and counts echoes over `seconds` (default 3) after a half-second
 * warm-up. A datagram lost on the way is replaced after 20 ms without
 * echoes. The worker uses the fastest API available (Deno.listenDatagram
 * with the flag), the same for every server, so the rows differ only in the
 * server. Each figure is the median of three runs.
 *
 * Under `deno bench` (`deno task bench`) the file instead times batches of
 * 1000 echoes with an in-process `node:dgram` client, Pants against the raw
 * loop as baseline, on the backend the flags give.
 *
 * @module
 */

import dgram from "node:dgram";
import { Datagram } from "../channels/datagram.ts";
import { datagramBackend, setDatagramBackend } from "../transport/_datagram_socket.ts";
import { Engine } from "../engine/engine.ts";

const seconds = Number(Deno.args[0] ?? 3);
const windowSize = Number(Deno.args[1] ?? 16);
const RUNS = 3;
const native = (Deno as unknown as { listenDatagram?: unknown }).listenDatagram !== undefined;

/** The load generator, run in a worker from a blob URL (no --allow-read needed). */
const workerSource = `
self.onmessage = async (event) => {
  const { port, window, ms, warmupMs, native } = event.data;
  const payload = new Uint8Array(64);
  let echoes = 0, lastEcho = 0, counting = false, running = true;
  let send, close;
  const onEcho = () => {
    lastEcho = performance.now();
    if (counting) echoes++;
    if (running) send();
  };
  if (native) {
    const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const to = { transport: "udp", hostname: "127.0.0.1", port };
    let chain = Promise.resolve();
    send = () => { chain = chain.then(() => conn.send(payload, to)).catch(() => {}); };
    close = () => conn.close();
    (async () => {
      const buffer = new Uint8Array(2048);
      try { for (;;) { await conn.receive(buffer); onEcho(); } } catch { /* closed */ }
    })();
  } else {
    const { default: dgram } = await import("node:dgram");
    const socket = dgram.createSocket("udp4");
    await new Promise((resolve) => socket.bind(0, "127.0.0.1", resolve));
    socket.on("message", onEcho);
    const queue = [];
    let busy = false;
    const pump = () => {
      if (queue.length === 0) { busy = false; return; }
      busy = true;
      socket.send(queue.pop(), port, "127.0.0.1", pump);
    };
    send = () => { queue.push(payload); if (!busy) pump(); };
    close = () => socket.close();
  }
  lastEcho = performance.now();
  for (let i = 0; i < window; i++) send();
  const refill = setInterval(() => {
    if (performance.now() - lastEcho > 20) for (let i = 0; i < window; i++) send();
  }, 20);
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  counting = true;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  counting = false;
  const elapsed = performance.now() - start;
  running = false;
  clearInterval(refill);
  await new Promise((resolve) => setTimeout(resolve, 50));
  close();
  self.postMessage(echoes / (elapsed / 1000));
};
`;

/** Runs the load generator against a port; returns echoes per second. */
function load(port: number): Promise<number> {
  const url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  return new Promise<number>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<number>) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`load generator failed: ${event.message}`));
    };
    worker.postMessage({ port, window: windowSize, ms: seconds * 1000, warmupMs: 500, native });
  }).finally(() => {
    worker.terminate();
    URL.revokeObjectURL(url);
  });
}

interface Server {
  port: number;
  close(): Promise<void>;
}

/** A raw node:dgram echo loop, as its documentation writes one. */
async function rawNode(): Promise<Server> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  socket.on("message", (data: Uint8Array, info: dgram.RemoteInfo) => {
    socket.send(data, info.port, info.address);
  });
  return {
    port: socket.address().port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A raw Deno.listenDatagram echo loop: receive, await the send, repeat. */
function rawDeno(): Server {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const [data, from] = await conn.receive(buffer);
        await conn.send(data, from);
      }
    } catch {
      // Closed.
    }
  })();
  return {
    port: (conn.addr as Deno.NetAddr).port,
    close: async () => {
      conn.close();
      await done;
    },
  };
}

/** A Pants echo server on its own engine, with the given backend. */
async function pants(backend: "node" | "deno"): Promise<Server> {
  setDatagramBackend(backend);
  const engine = new Engine({ graceMs: 200 });
  class Echo extends Datagram {
    override onRead(data: Uint8Array): void {
      this.write(data);
    }
  }
  const echo = new Echo({ engine }).listen(["127.0.0.1", 0]);
  const running = engine.start();
  while (!echo.open) {
    if (echo.closed) throw new Error("the Pants server did not listen");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  setDatagramBackend(null);
  return {
    port: (echo.localAddress as Deno.NetAddr).port,
    close: async () => {
      await engine.stop();
      await running;
    },
  };
}

async function measure(start: () => Server | Promise<Server>): Promise<number> {
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const server = await start();
    try {
      rates.push(await load(server.port));
    } finally {
      await server.close();
    }
  }
  return rates.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

if (import.meta.main) {
  const rows: [string, number, number | null][] = [];
  const nodeRaw = await measure(rawNode);
  rows.push(["raw node:dgram loop", nodeRaw, null]);
  rows.push(["Pants Datagram (node:dgram)", await measure(() => pants("node")), nodeRaw]);
  if (native) {
    const denoRaw = await measure(rawDeno);
    rows.push(["raw Deno.listenDatagram loop", denoRaw, null]);
    rows.push([
      "Pants Datagram (Deno.listenDatagram)",
      await measure(() => pants("deno")),
      denoRaw,
    ]);
  }
  console.log(
    `UDP echo, 64-byte datagrams, ${windowSize} in flight, ${seconds} s x ${RUNS} (median), ` +
      `load generator: ${native ? "Deno.listenDatagram" : "node:dgram"} in a worker`,
  );
  console.log(`Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`);
  console.log("");
  console.log("| server | datagrams/s echoed | vs raw |");
  console.log("| --- | ---: | ---: |");
  for (const [name, rate, raw] of rows) {
    const ratio = raw === null ? "1.00" : (rate / raw).toFixed(2);
    console.log(`| ${name} | ${Math.round(rate).toLocaleString("en-US")} | ${ratio} |`);
  }
  if (!native) {
    console.log("\nRun with --unstable-net to add the Deno.listenDatagram rows.");
  }
}

/** Echoes `count` datagrams through `port` with `windowSize` in flight (for `deno bench`). */
async function echoBatch(port: number, count: number): Promise<void> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const payload = new Uint8Array(64);
  try {
    await new Promise<void>((resolve) => {
      let echoed = 0;
      let last = performance.now();
      const send = (): void => void socket.send(payload, port, "127.0.0.1");
      // A datagram lost on the way is replaced after 20 ms without echoes.
      const refill = setInterval(() => {
        if (performance.now() - last > 20) { for (let i = 0; i < windowSize; i++) send(); }
      }, 20);
      socket.on("message", () => {
        last = performance.now();
        if (++echoed < count) return send();
        clearInterval(refill);
        resolve();
      });
      for (let i = 0; i < windowSize; i++) send();
    });
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

if (!import.meta.main) {
  const backend = datagramBackend();
  const group = `UDP echo of 1000 x 64 B (${
    backend === "deno" ? "Deno.listenDatagram" : "node:dgram"
  })`;
  const servers: [string, () => Server | Promise<Server>, boolean][] = [
    [
      backend === "deno" ? "raw Deno.listenDatagram loop" : "raw node:dgram loop",
      backend === "deno" ? rawDeno : rawNode,
      true,
    ],
    ["Pants Datagram", () => pants(backend), false],
  ];
  for (const [name, start, baseline] of servers) {
    Deno.bench({
      name,
      group,
      baseline,
      n: 20,
      warmup: 2,
      async fn(b) {
        const server = await start();
        try {
          b.start();
          await echoBatch(server.port, 1000);
          b.end();
        } finally {
          await server.close();
        }
      },
    });
  }
}
