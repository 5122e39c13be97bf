/**
 * Bench server: a Pants line counter. `readDelimiter` is `"\n"` (or `"\r\n"`
 * with the argument `crlf`), so `onRead` is called once per line with a view
 * of it; at the end of input the count is written back as decimal text and
 * `"\n"`, and the stream closes.
 *
 *     deno run --allow-net=127.0.0.1 bench/net/servers/pants_lines.ts PORT [crlf]
 *
 * @module
 */
import { engine, Server, Stream } from "../../../mod.ts";
import { benchPort, installBenchHooks } from "./_pants_stats.ts";

const delimiter = Deno.args[1] === "crlf" ? "\r\n" : "\n";

class Lines extends Stream {
  count = 0;
  override onConnect(): void {
    this.readDelimiter = delimiter;
  }
  override onRead(_line: Uint8Array): void {
    this.count++;
  }
  override onEnd(): void {
    this.write(`${this.count}\n`);
    this.close();
  }
}

installBenchHooks(new Server(Lines).listen(["127.0.0.1", benchPort()]));
engine.start();
