/**
 * A UDP echo server: every datagram goes back to its sender.
 *
 *     deno run --allow-net examples/udp_echo.ts [port] [hostname]
 *
 * UDP has no connections: each reply is a send to the peer's address, and
 * Deno checks `--allow-net` for every destination. A server that answers
 * anyone therefore needs plain `--allow-net`. For local clients only, allow
 * the loopback host (the port 4040 and replies to any local port):
 *
 *     deno run --allow-net=127.0.0.1 examples/udp_echo.ts 4040 127.0.0.1
 *
 * Try it with `nc -u 127.0.0.1 4040`. With `--unstable-net` as well, Pants
 * uses `Deno.listenDatagram` instead of `node:dgram` (faster).
 *
 * @module
 */
import { Datagram, engine } from "../mod.ts";
import { address } from "./_address.ts";

class UdpEcho extends Datagram {
  override onListen(): void {
    const { hostname, port } = this.localAddress as Deno.NetAddr;
    console.log(
      `UDP echo listening on ${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
    );
  }

  override onRead(data: Uint8Array): void {
    this.write(data);
  }
}

new UdpEcho().listen(address());
engine.stopOnSignals();
engine.start();
