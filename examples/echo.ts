/**
 * The five-line echo server: every byte received is sent back.
 *
 *     deno run --allow-net=0.0.0.0:4040 examples/echo.ts [port] [hostname]
 *
 * @module
 */
import { engine, Server, Stream } from "../mod.ts";
import { address } from "./_address.ts";

class Echo extends Stream {
  override onRead(data: Uint8Array): void {
    this.write(data);
  }
}

new Server(Echo).listen(address());
engine.stopOnSignals();
engine.start();
