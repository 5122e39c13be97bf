/**
 * The stream conformance suite: one set of behaviours every transport
 * (TCP v4, TCP v6, Unix sockets, TLS) must show over real sockets.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { type AddressInput, ChannelClosedError, type Engine, Server, Stream } from "../mod.ts";
import {
  listening,
  prng,
  randomBytes,
  readAll,
  readExactly,
  text,
  until,
  utf8,
  withEngine,
} from "./_helpers.ts";

/** How one transport is exercised by the suite. */
export interface TransportVariant {
  /** Shown in test names, e.g. "TCP v4". */
  name: string;
  /** A fresh address to listen on. */
  listenAddress(): AddressInput;
  /** Configures a server before it listens (e.g. TLS). */
  prepareServer?(server: Server<Stream>): void;
  /** Connects a raw peer to the listening address. */
  connect(address: Deno.Addr): Promise<Deno.Conn>;
  /** Skip the suite (e.g. no IPv6 here). */
  ignore?: boolean;
}

class Echo extends Stream {
  override onRead(data: Uint8Array): void {
    this.write(data);
  }
}

async function serve<S extends Stream>(
  variant: TransportVariant,
  engine: Engine,
  ConnectionClass: new (options?: { engine?: Engine }) => S,
): Promise<{ server: Server<S>; address: Deno.Addr }> {
  const server = new Server<S>({ ConnectionClass, engine });
  variant.prepareServer?.(server as unknown as Server<Stream>);
  server.listen(variant.listenAddress());
  const address = await listening(server as unknown as Server<Stream>);
  return { server, address };
}

/** Registers the conformance tests for one transport. */
export function conformanceSuite(variant: TransportVariant): void {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test({ name: `Stream over ${variant.name} ${name}`, ignore: variant.ignore, fn });

  test("echoes 4 MiB of random binary data written in random chunk sizes", async () => {
    await withEngine(async (engine) => {
      const { address } = await serve(variant, engine, Echo);
      const conn = await variant.connect(address);
      const random = prng(42);
      const data = randomBytes(random, 4 * 1024 * 1024);
      const writing = (async () => {
        for (let at = 0; at < data.length;) {
          const size = 1 + Math.floor(random() * 100_000);
          const chunk = data.subarray(at, at + size);
          for (let done = 0; done < chunk.length;) done += await conn.write(chunk.subarray(done));
          at += chunk.length;
        }
      })();
      const echoed = await readExactly(conn, data.length);
      await writing;
      ok(echoed.every((byte, i) => byte === data[i]), "echoed bytes differ");
      conn.close();
    });
  });

  test("delivers lines split across separate writes", async () => {
    const lines: string[] = [];
    class Lines extends Stream {
      override onConnect(): void {
        this.readDelimiter = "\r\n";
      }
      override onRead(line: Uint8Array): void {
        lines.push(text(line));
      }
    }
    await withEngine(async (engine) => {
      const { address } = await serve(variant, engine, Lines);
      const conn = await variant.connect(address);
      const input = utf8("alpha\r\nbeta\r\n");
      for (const split of [1, 5, 6, 7, 10]) {
        await conn.write(input.subarray(0, split));
        await new Promise((resolve) => setTimeout(resolve, 5));
        await conn.write(input.subarray(split));
      }
      await until(() => lines.length === 10, "ten lines");
      deepStrictEqual(lines, Array(5).fill(["alpha", "beta"]).flat());
      conn.close();
    });
  });

  test("closes only the stream that overflows while another keeps working", async () => {
    class Limited extends Echo {
      override onConnect(): void {
        this.readDelimiter = "\n";
        this.bufferSize = 1024;
      }
      override onRead(line: Uint8Array): void {
        this.write(line);
        this.write("\n");
      }
    }
    await withEngine(async (engine) => {
      const { server, address } = await serve(variant, engine, Limited);
      const good = await variant.connect(address);
      const bad = await variant.connect(address);
      await until(() => server.channels.size === 2, "two streams");
      await bad.write(new Uint8Array(8192).fill(0x62)).catch(() => 0);
      const badRead = await readAll(bad).catch(() => new Uint8Array());
      strictEqual(badRead.length, 0);
      await good.write(utf8("still here\n"));
      strictEqual(text(await readExactly(good, 11)), "still here\n");
      strictEqual(server.channels.size, 1);
      bad.close();
      good.close();
    });
  });

  test("close() with flush delivers everything queued before closing", async () => {
    const payload = randomBytes(prng(7), 1024 * 1024);
    class Sender extends Stream {
      override onConnect(): void {
        for (let at = 0; at < payload.length; at += 1000) {
          this.write(payload.subarray(at, at + 1000));
        }
        this.close();
      }
    }
    await withEngine(async (engine) => {
      const { address } = await serve(variant, engine, Sender);
      const conn = await variant.connect(address);
      const received = await readAll(conn);
      strictEqual(received.length, payload.length);
      ok(received.every((byte, i) => byte === payload[i]));
      conn.close();
    });
  });

  test("calls onClose exactly once, with the addresses still readable", async () => {
    const closes: (Deno.Addr | null)[] = [];
    class Closer extends Stream {
      override onRead(): void {
        this.close();
        this.close();
        this.close({ flush: false });
      }
      override onClose(): void {
        closes.push(this.remoteAddress);
      }
    }
    await withEngine(async (engine) => {
      const { address } = await serve(variant, engine, Closer);
      const conn = await variant.connect(address);
      await conn.write(utf8("x"));
      await readAll(conn);
      conn.close();
      await until(() => closes.length > 0, "onClose");
      await new Promise((resolve) => setTimeout(resolve, 20));
      strictEqual(closes.length, 1);
      ok(closes[0] !== null);
    });
  });

  test("contains an exception thrown by onRead to that stream", async () => {
    const errors: unknown[] = [];
    class Fragile extends Stream {
      override onConnect(): void {
        this.readDelimiter = "\n";
      }
      override onRead(line: Uint8Array): void {
        if (text(line) === "boom") throw new Error("boom");
        this.write(line);
        this.write("\n");
      }
      override onError(error: unknown): void {
        errors.push(error);
        this.close({ flush: false });
      }
    }
    await withEngine(async (engine) => {
      const { address } = await serve(variant, engine, Fragile);
      const victim = await variant.connect(address);
      const bystander = await variant.connect(address);
      await victim.write(utf8("boom\n"));
      strictEqual((await readAll(victim)).length, 0);
      await bystander.write(utf8("fine\n"));
      strictEqual(text(await readExactly(bystander, 5)), "fine\n");
      strictEqual(errors.length, 1);
      strictEqual((errors[0] as Error).message, "boom");
      victim.close();
      bystander.close();
    });
  });

  test("throws ChannelClosedError on a write after close", async () => {
    let thrown: unknown = null;
    class Late extends Stream {
      override onRead(): void {
        this.close();
        try {
          this.write("late");
        } catch (error) {
          thrown = error;
        }
      }
    }
    await withEngine(async (engine) => {
      const { address } = await serve(variant, engine, Late);
      const conn = await variant.connect(address);
      await conn.write(utf8("x"));
      await readAll(conn);
      conn.close();
      ok(thrown instanceof ChannelClosedError);
      throws(() => new Stream({ engine }).write("x"), ChannelClosedError);
    });
  });

  test("lets onEnd reply after the peer half-closes", async () => {
    class Counter extends Stream {
      #lines = 0;
      override onConnect(): void {
        this.readDelimiter = "\n";
      }
      override onRead(): void {
        this.#lines++;
      }
      override onEnd(): void {
        this.write(`${this.#lines} lines\n`);
        this.close();
      }
    }
    await withEngine(async (engine) => {
      const { address } = await serve(variant, engine, Counter);
      const conn = await variant.connect(address);
      await conn.write(utf8("a\nb\nc\n"));
      await conn.closeWrite();
      strictEqual(text(await readAll(conn)), "3 lines\n");
      conn.close();
    });
  });

  test("hands a client stream's writes to the server and back", async () => {
    const replies: string[] = [];
    class Client extends Stream {
      override onConnect(): void {
        this.readDelimiter = "\n";
        this.write("ping\n");
      }
      override onRead(line: Uint8Array): void {
        replies.push(text(line));
        this.close();
      }
    }
    await withEngine(async (engine) => {
      const { address } = await serve(variant, engine, Echo);
      if (variant.prepareServer !== undefined) return; // client TLS is tested in tls tests
      const target = address.transport === "unix"
        ? { path: address.path }
        : { hostname: (address as Deno.NetAddr).hostname, port: (address as Deno.NetAddr).port };
      new Client({ engine }).connect(target);
      await until(() => replies.length === 1, "the reply");
      deepStrictEqual(replies, ["ping"]);
    });
  });
}
