/**
 * A line chat server: every line a client sends goes to everyone.
 *
 *     deno run --allow-net=0.0.0.0:4040 examples/chat.ts [port] [hostname]
 *
 * Try it with two terminals running `nc localhost 4040`. The classes are
 * exported so tests can import them (see `tests/testing_test.ts`); the
 * server only starts when this file is the main module.
 *
 * @module
 */
import { engine, Server, Stream } from "../mod.ts";
import { address } from "./_address.ts";

/** One chat connection: lines in, lines out to everyone. */
export class EchoLineToAll extends Stream {
  #ip = "";

  override onConnect(): void {
    this.readDelimiter = "\r\n";
    const remote = this.remoteAddress;
    this.#ip = remote !== null && "hostname" in remote ? remote.hostname : "?";
    this.chat.writeToAll(`Connected: ${this.#ip}\r\n`);
  }

  override onRead(line: Uint8Array): void {
    this.chat.writeToAll(`${this.#ip}: ${new TextDecoder().decode(line)}\r\n`);
  }

  override onClose(): void {
    this.chat.writeToAll(`Disconnected: ${this.#ip}\r\n`);
  }

  get chat(): Chat {
    return this.server as Chat;
  }
}

/** The chat server: knows every connection, writes to all of them. */
export class Chat extends Server<EchoLineToAll> {
  override ConnectionClass = EchoLineToAll;

  writeToAll(data: string): void {
    for (const channel of this.channels.values()) {
      if (channel.connected) channel.write(data);
    }
  }
}

if (import.meta.main) {
  new Chat().listen(address());
  engine.start();
}
