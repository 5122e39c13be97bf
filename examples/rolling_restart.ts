/**
 * A server that can be replaced while it runs without failing a request:
 * start the new generation on the same port (`reusePort`), then send the
 * old one SIGTERM; it stops accepting, answers what its clients ask until
 * each has its last reply, and exits.
 *
 *     deno run --unstable-net --allow-net=0.0.0.0:4040 examples/rolling_restart.ts [port] [hostname] [graceMs]
 *
 * The protocol (a line per message) is shaped for it, as HTTP's
 * `Connection: close` is: the server greets each connection (`hello`), and
 * while draining it marks its reply ` bye` and closes after it. A client
 * sends a request only after the greeting and opens a new connection after
 * a `bye`, so no request is ever in flight on a closing connection.
 * Connections still idle after `graceMs` (default 5000) are closed with
 * `server.close({ drain })`.
 *
 * @module
 */
import { engine, type ListenError, Server, Stream } from "../mod.ts";

/** Answers each request line with the line, this process id, and ` bye` when draining. */
export class Request extends Stream {
  override onConnect(): void {
    this.readDelimiter = "\n";
    this.encoding = "utf-8";
    this.write(`hello ${Deno.pid}\n`);
  }

  override onRead(line: string): void {
    const draining = (this.server as Generation).draining;
    this.write(`${line} ${Deno.pid}${draining ? " bye" : ""}\n`);
    if (draining) this.close();
  }
}

/** One generation of the server. */
export class Generation extends Server<Request> {
  override ConnectionClass = Request;
  draining = false;

  override onListen(): void {
    const address = this.address as Deno.NetAddr;
    console.log(`${Deno.pid} listening on ${address.hostname}:${address.port}`);
  }

  override onListenError(error: ListenError): void {
    console.error(error.message);
    this.close();
    void engine.stop();
  }

  /** Stops accepting, lets each client finish, and ends the engine once the last stream closed. */
  drain(graceMs: number): void {
    if (this.draining) return;
    this.draining = true;
    this.close(); // the kernel sends new connections to the other generation
    const done = engine.cycle(20, () => {
      if (this.channels.size > 0) return;
      done.cancel();
      grace.cancel();
      console.log(`${Deno.pid} drained`);
      void engine.stop();
    });
    // Idle clients have no request in flight: close them, flushing.
    const grace = engine.defer(graceMs, () => this.close({ drain: 1000 }));
  }
}

if (import.meta.main) {
  const [port = "4040", hostname = "0.0.0.0", grace = "5000"] = Deno.args;
  const server = new Generation();
  server.listen([hostname, Number(port)], { reusePort: true });
  const onTerm = (): void => {
    Deno.removeSignalListener("SIGTERM", onTerm);
    server.drain(Number(grace));
  };
  Deno.addSignalListener("SIGTERM", onTerm);
  engine.stopOnSignals(["SIGINT"]);
  await engine.start();
  Deno.removeSignalListener("SIGTERM", onTerm);
}
