/**
 * A TCP proxy: each client accepted on the listen port gets its own
 * connection to the target, and bytes flow both ways with back-pressure
 * (`pipe()`): a slow reader on one side slows the writer on the other
 * instead of filling the proxy's memory. A half-close on one side reaches
 * the other; a reset or close of either side closes both.
 *
 *     deno run --allow-net=0.0.0.0:8080,example.com:80 examples/tcp_proxy.ts 8080 example.com:80
 *     deno run --allow-net=127.0.0.1:8080,127.0.0.1:6379 examples/tcp_proxy.ts 8080 127.0.0.1:6379 127.0.0.1
 *
 * Arguments: `<listen-port> <target-host:port> [listen-hostname]` (an IPv6
 * target as `[::1]:6379`). It needs net access to the listen address and
 * the target, nothing else.
 *
 * @module
 */
import { engine, Server, Stream, type StreamConnectError } from "../mod.ts";

function parseTarget(text: string | undefined): [string, number] {
  const match = /^\[?([^\[\]]+?)\]?:(\d+)$/.exec(text ?? "");
  if (match === null) {
    console.error("usage: tcp_proxy.ts <listen-port> <target-host:port> [listen-hostname]");
    Deno.exit(2);
  }
  return [match[1]!, Number(match[2])];
}

const listenPort = Number(Deno.args[0]);
const target = parseTarget(Deno.args[1]);
const listenHost = Deno.args[2];

/** The proxy's side of the connection to the target. */
class Upstream extends Stream {
  override onConnectError(error: StreamConnectError): void {
    console.error(`cannot reach ${target.join(":")}: ${error.message}`);
    this.close({ flush: false }); // closes the client too (the pipe)
  }
}

/** One accepted client: piped to its own upstream connection and back. */
class Client extends Stream {
  override onConnect(): void {
    const upstream = new Upstream().connect(target, { connectTimeout: 10_000 });
    this.pipe(upstream); // client -> target, written while the connect is pending too
    upstream.pipe(this); // target -> client
  }
}

class Proxy extends Server<Client> {
  override onListen(): void {
    const { hostname, port } = this.address as Deno.NetAddr;
    console.log(`proxying ${hostname}:${port} -> ${target.join(":")}`);
  }
}

new Proxy(Client).listen(listenHost === undefined ? listenPort : [listenHost, listenPort]);
engine.stopOnSignals();
engine.start();
