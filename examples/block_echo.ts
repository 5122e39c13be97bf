/**
 * Echoes input in blocks of 8 bytes, each followed by CRLF.
 *
 *     deno run --allow-net=0.0.0.0:4040 examples/block_echo.ts [port] [hostname]
 *
 * @module
 */
import { engine, Server, Stream } from "../mod.ts";
import { address } from "./_address.ts";

class BlockEcho extends Stream {
  override onConnect(): void {
    this.readDelimiter = 8;
  }

  override onRead(block: Uint8Array): void {
    this.write(block);
    this.write("\r\n");
  }
}

new Server(BlockEcho).listen(address());
engine.stopOnSignals();
engine.start();
