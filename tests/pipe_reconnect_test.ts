/**
 * `pipe()` across reconnects: a reconnecting stream keeps its pipe when
 * its connection is lost and comes back, as source and as target, against
 * Python servers on 127.0.0.1 stopped and restarted on the same port.
 *
 * @module
 */

import { ok, strictEqual } from "node:assert/strict";
import { type Engine, Stream } from "../mod.ts";
import { until, withEngine } from "./_helpers.ts";
import { PY_ACCEPT_ONCE, Subprocess } from "./_subprocess.ts";

/** Binds the port in argv[1] (0: any) with SO_REUSEADDR, prints `PORT <n>`, accepts in a loop. */
const PY_REUSABLE_LISTENER = `import socket, sys, threading, time
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(16)
print("PORT", server.getsockname()[1], flush=True)
`;

/** Greets each connection with `hello <argv[2]>` and keeps it open. */
const PY_GREETER = PY_REUSABLE_LISTENER + `conns = []
while True:
    conn, _ = server.accept()
    conn.sendall(f"hello {sys.argv[2]}\\n".encode())
    conns.append(conn)
`;

/** Accepts connections and never reads from them. */
const PY_STALL = PY_REUSABLE_LISTENER + `conns = []
while True:
    conn, _ = server.accept()
    conns.append(conn)
`;

/** Reads one connection, printing the running byte count past each MiB. */
const PY_COUNT = PY_REUSABLE_LISTENER + `conn, _ = server.accept()
total, mark = 0, 1 << 20
while True:
    data = conn.recv(65536)
    if not data: break
    total += len(data)
    if total >= mark:
        print("BYTES", total, flush=True)
        mark += 1 << 20
`;

/** Prints each line of one connection as `GOT <line>`, then `EOF`. */
const PY_LINE_SINK = PY_ACCEPT_ONCE + `for line in conn.makefile("rb"):
    print("GOT", line.decode().rstrip("\\n"), flush=True)
print("EOF", flush=True)
`;

/** Sends 64 MiB as fast as it is read, then holds the connection. */
const PY_FLOOD = PY_ACCEPT_ONCE + `conn.settimeout(30)
block = b"x" * 65536
for _ in range(1024): conn.sendall(block)
time.sleep(30)
`;

async function start(script: string, ...args: string[]): Promise<[Subprocess, number]> {
  const peer = new Subprocess("python3", ["-c", script, ...args]);
  const match = await peer.waitForMatch(/PORT (\d+)\n/);
  return [peer, Number(match[1])];
}

const fast = { initialDelay: 20, maxDelay: 50, jitter: 0 };

class Client extends Stream {
  constructor(engine: Engine) {
    super({ engine });
  }
}

// The peers start before the engine: an engine with nothing to do finishes at once.

Deno.test("pipe keeps a reconnecting source piped across a restart of its server, without ending the target", async () => {
  let [greeter, port] = await start(PY_GREETER, "0", "1");
  const [sink, sinkPort] = await start(PY_LINE_SINK);
  try {
    await withEngine(async (engine) => {
      const target = new Client(engine).connect(["127.0.0.1", sinkPort]);
      const source = new Client(engine);
      source.pipe(target);
      source.connect(["127.0.0.1", port], { reconnect: fast });
      await sink.waitForMatch(/GOT hello 1\n/);
      await greeter.stop();
      [greeter] = await start(PY_GREETER, String(port), "2");
      await sink.waitForMatch(/GOT hello 2\n/);
      ok(!sink.stdout.includes("EOF"), "the target was ended");
      ok(!source.closed && !target.closed, "a stream of the pipe was closed");
      source.close();
    });
  } finally {
    await greeter.stop();
    await sink.stop();
  }
});

Deno.test("pipe resumes a source it paused for a target whose connection was lost, once it reconnects", async () => {
  const [flood, floodPort] = await start(PY_FLOOD);
  let [targetPeer, port] = await start(PY_STALL, "0");
  try {
    await withEngine(async (engine) => {
      const target = new Client(engine).connect(["127.0.0.1", port], { reconnect: fast });
      const source = new Client(engine);
      source.pipe(target, { highWaterMark: 256 * 1024 });
      source.connect(["127.0.0.1", floodPort]);
      await until(() => target.writeQueueSize > 256 * 1024, "the target's queue over the mark");
      await targetPeer.stop();
      [targetPeer] = await start(PY_COUNT, String(port));
      const seen = await targetPeer.waitForMatch(/BYTES (\d+)\n/, 15_000);
      ok(Number(seen[1]) >= 1 << 20);
      strictEqual(source.closed, false);
      source.close();
    });
  } finally {
    await flood.stop();
    await targetPeer.stop();
  }
});
