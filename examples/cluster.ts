/**
 * One line-echo server on every core: N Web Workers, each with its own
 * engine, all listening on the same port with `reusePort` (Linux
 * `SO_REUSEPORT`: the kernel spreads new connections over the workers).
 *
 *     deno run --unstable-net --allow-read=. --allow-net=0.0.0.0:4040 examples/cluster.ts [workers] [port] [hostname]
 *
 * `--unstable-net` is needed because Deno 2.9 treats `reusePort` as
 * unstable; `--allow-read` lets the workers load their modules. The number
 * of workers defaults to `navigator.hardwareConcurrency`. On SIGINT or
 * SIGTERM it prints how many connections each worker served, then exits.
 *
 * Workers share nothing: each has its own engine, channels and timers. To
 * route state between them, post messages (a `BroadcastChannel`), or keep
 * the state in a service they all connect to.
 *
 * @module
 */
import { engine, type ListenError, Server, Stream } from "../mod.ts";

/** What the main thread tells a worker. */
interface Start {
  port: number;
  hostname: string;
}

/** What a worker tells the main thread. */
type Report =
  | { kind: "listening"; address: string }
  | { kind: "failed"; message: string }
  | { kind: "served"; connections: number };

/** Echoes each line back, newline included. */
export class LineEcho extends Stream {
  override onConnect(): void {
    this.readDelimiter = "\n";
  }

  override onRead(line: Uint8Array): void {
    this.write(line);
    this.write("\n");
  }
}

/** A worker's server: reports to the main thread and counts connections. */
class WorkerServer extends Server<LineEcho> {
  override ConnectionClass = LineEcho;
  served = 0;

  override onListen(): void {
    const addr = this.address as Deno.NetAddr;
    post({ kind: "listening", address: `${addr.hostname}:${addr.port}` });
  }

  override onListenError(error: ListenError): void {
    post({ kind: "failed", message: error.message });
    this.close();
  }

  override onAccept(): void {
    this.served++;
  }
}

/** The worker's own scope, typed by hand: this file type-checks as a main module. */
const scope = globalThis as unknown as {
  postMessage(message: Report): void;
  onmessage: ((event: MessageEvent<Start | "report">) => void) | null;
};

function post(report: Report): void {
  scope.postMessage(report);
}

/** Runs inside a worker: listen when told where, report when asked. */
function runWorker(): void {
  let server: WorkerServer | null = null;
  scope.onmessage = (event) => {
    if (event.data === "report") {
      post({ kind: "served", connections: server?.served ?? 0 });
      return;
    }
    const { port, hostname } = event.data;
    server = new WorkerServer().listen([hostname, port], { reusePort: true });
    engine.start();
  };
}

/** Runs in the main thread: start the workers, stop them on a signal. */
function runMain(): void {
  const count = Number(Deno.args[0] ?? navigator.hardwareConcurrency);
  const port = Number(Deno.args[1] ?? 4040);
  const hostname = Deno.args[2] ?? "0.0.0.0";
  if (!Number.isInteger(count) || count < 1) {
    console.error(`Invalid worker count "${Deno.args[0]}": pass a positive integer`);
    Deno.exit(2);
  }
  // Deno exits at once on `reusePort` without --unstable-net; say why first.
  // (`Deno.listenDatagram` exists exactly when the flag is given.)
  if (typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function") {
    console.error("cluster.ts needs --unstable-net: Deno 2.9 treats reusePort as unstable");
    Deno.exit(2);
  }
  const workers: Worker[] = [];
  for (let i = 1; i <= count; i++) {
    const worker = new Worker(import.meta.url, { type: "module", name: `worker ${i}` });
    worker.onmessage = (event: MessageEvent<Report>) => {
      const report = event.data;
      if (report.kind === "listening") console.log(`worker ${i} listening on ${report.address}`);
      else if (report.kind === "failed") console.error(`worker ${i}: ${report.message}`);
    };
    worker.postMessage({ port, hostname } satisfies Start);
    workers.push(worker);
  }
  const stop = async () => {
    const served = await Promise.all(workers.map((worker) =>
      new Promise<number>((resolve) => {
        const timeout = setTimeout(() => resolve(-1), 1000);
        worker.onmessage = (event: MessageEvent<Report>) => {
          if (event.data.kind !== "served") return;
          clearTimeout(timeout);
          resolve(event.data.connections);
        };
        worker.postMessage("report");
      })
    ));
    console.log(served.map((n, i) => `worker ${i + 1} served ${n}`).join(", "));
    for (const worker of workers) worker.terminate();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined";
if (inWorker) runWorker();
else if (import.meta.main) runMain();
