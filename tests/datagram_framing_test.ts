/**
 * Datagram framing runs through the same read path as Stream framing: the
 * four ways the datagram copy used to differ (overflow, invalid UTF-8, the
 * epoch, `regexSearch`) now behave as on a stream.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Datagram, type DatagramAddress, DatagramError, NetStruct } from "../mod.ts";
import { until, withEngine } from "./_helpers.ts";

class Recorder extends Datagram {
  received: unknown[] = [];
  errors: unknown[] = [];
  onFrame: ((data: unknown) => void) | null = null;
  override onRead(data: unknown, _from: DatagramAddress): void {
    this.received.push(data instanceof Uint8Array ? [...data] : data);
    this.onFrame?.(data);
  }
  override onError(error: unknown): void {
    this.errors.push(error);
  }
}

async function exchange(
  setUp: (server: Recorder) => void,
  datagram: Uint8Array | string,
  settled: (server: Recorder) => boolean,
): Promise<{ server: Recorder; stillOpen: boolean }> {
  let result: { server: Recorder; stillOpen: boolean } | null = null;
  await withEngine(async (engine) => {
    const server = new Recorder({ engine });
    setUp(server);
    server.listen(["127.0.0.1", 0]);
    await until(() => server.open, "the server to bind");
    const port = (server.localAddress as Deno.NetAddr).port;
    const client = new Recorder({ engine }).connect(["127.0.0.1", port]);
    await until(() => client.open, "the client to bind");
    client.write(datagram);
    await until(() => settled(server), "the datagram to be handled");
    result = { server, stillOpen: server.open };
  });
  return result!;
}

Deno.test("Datagram reports a record declared beyond bufferSize as an overflow, not an incomplete frame", async () => {
  const { server, stillOpen } = await exchange(
    (s) => {
      s.bufferSize = 64;
      s.readDelimiter = new NetStruct("!H$");
    },
    new Uint8Array([0x03, 0xe8, 1, 2, 3]), // declares 1,000 bytes
    (s) => s.errors.length > 0,
  );
  const error = server.errors[0];
  ok(error instanceof DatagramError);
  strictEqual(error.reason, "oversized");
  ok(error.message.includes("1002") || error.message.includes("1000"), error.message);
  strictEqual(error.limit, 64);
  deepStrictEqual(server.received, []);
  ok(stillOpen, "one bad datagram does not close the channel");
});

Deno.test("Datagram with utf-8 and a RegExp maps invalid UTF-8 to U+FFFD instead of dropping the datagram", async () => {
  const { server } = await exchange(
    (s) => {
      s.encoding = "utf-8";
      s.readDelimiter = /\n/;
    },
    new Uint8Array([0x61, 0xff, 0x0a, 0x62, 0x0a]),
    (s) => s.received.length === 2 || s.errors.length > 0,
  );
  deepStrictEqual(server.received, ["a\uFFFD", "b"]);
  deepStrictEqual(server.errors, []);
});

Deno.test("Datagram applies a regexSearch change made inside onRead to the rest of the datagram", async () => {
  const { server } = await exchange(
    (s) => {
      s.readDelimiter = /(\d+);/;
      s.encoding = "utf-8";
      s.onFrame = () => {
        s.regexSearch = false;
        s.onFrame = null;
      };
    },
    "x1;2;3;",
    (s) => s.received.length === 3,
  );
  strictEqual(server.received[0], "x");
  deepStrictEqual([...(server.received[1] as RegExpExecArray)], ["2;", "2"]);
  deepStrictEqual([...(server.received[2] as RegExpExecArray)], ["3;", "3"]);
});

Deno.test("Datagram applies a readDelimiter change made inside onRead to the rest of the datagram", async () => {
  const { server } = await exchange(
    (s) => {
      s.readDelimiter = "\n";
      s.onFrame = () => {
        s.readDelimiter = 2;
        s.onFrame = null;
      };
    },
    "head\nabcd",
    (s) => s.received.length === 3,
  );
  const text = (bytes: unknown) => String.fromCharCode(...(bytes as number[]));
  deepStrictEqual(server.received.map(text), ["head", "ab", "cd"]);
  deepStrictEqual(server.errors, []);
});
