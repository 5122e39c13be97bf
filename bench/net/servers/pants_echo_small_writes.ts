/**
 * Bench server: Pants echo where each chunk received is written back as 10
 * `write()` calls of a tenth of it each (the coalescing write path: they
 * should leave as one socket write).
 *
 *     deno run --allow-net=127.0.0.1 bench/net/servers/pants_echo_small_writes.ts PORT
 *
 * @module
 */
import { engine, Server, Stream } from "../../../mod.ts";
import { benchPort, installBenchHooks } from "./_pants_stats.ts";

const PIECES = 10;

class SmallWritesEcho extends Stream {
  override onRead(data: Uint8Array): void {
    const n = data.length;
    for (let i = 0; i < PIECES; i++) {
      this.write(
        data.subarray(
          Math.floor(i * n / PIECES),
          Math.floor((i + 1) * n / PIECES),
        ),
      );
    }
  }
}

installBenchHooks(
  new Server(SmallWritesEcho).listen(["127.0.0.1", benchPort()]),
);
engine.start();
