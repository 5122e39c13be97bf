/**
 * Bench server: the Pants echo example (examples/echo.ts), listening on
 * 127.0.0.1, plus the bench's signal hooks.
 *
 *     deno run --allow-net=127.0.0.1 bench/net/servers/pants_echo.ts PORT
 *
 * @module
 */
import { engine, Server, Stream } from "../../../mod.ts";
import { benchPort, installBenchHooks } from "./_pants_stats.ts";

class Echo extends Stream {
  override onRead(data: Uint8Array): void {
    this.write(data);
  }
}

installBenchHooks(new Server(Echo).listen(["127.0.0.1", benchPort()]));
engine.start();
