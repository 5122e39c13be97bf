/**
 * A client: connects, sends a few lines, prints the replies, then closes.
 * Run it against `examples/echo.ts`.
 *
 *     deno run --allow-net=localhost:4040 examples/client.ts [port]
 *
 * @module
 */
import { engine, Stream } from "../mod.ts";

const lines = ["hello", "from", "pants"];

class Client extends Stream {
  #replies = 0;

  override onConnect(): void {
    this.readDelimiter = "\n";
    this.encoding = "utf-8";
    for (const line of lines) this.write(`${line}\n`);
  }

  override onRead(line: string): void {
    console.log(`reply: ${line}`);
    if (++this.#replies === lines.length) this.close();
  }
}

new Client().connect(Number(Deno.args[0] ?? 4040));
engine.start();
