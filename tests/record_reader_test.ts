/**
 * The compiled record readers (`framing/_record_reader.ts`) behind
 * `Struct`/`NetStruct` unpacking and record delivery: every arity, every
 * field kind, records read where the framing core holds them, and the
 * values array the `Deframer` reuses from record to record never leaking
 * into what `onRead` keeps.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { Datagram, type DatagramAddress, NetStruct, Stream, Struct } from "../mod.ts";
import { attach, TestEngine } from "../testing.ts";
import { concat, until, withEngine } from "./_helpers.ts";

/** Field codes cycled through to build a format of any arity. */
const CODES = ["I", "h", "B", "?", "q", "f", "3s", "H", "b", "i", "Q", "d", "e", "c", "2p"];

/** A value for the `k`-th field of a record numbered `r`, as unpacking gives it back. */
function valueFor(code: string, k: number, r: number): unknown {
  switch (code) {
    case "I":
      return 0xfffffff0 - k - r;
    case "h":
      return -300 - k - r;
    case "B":
      return (200 + k + r) & 0xff;
    case "?":
      return (k + r) % 2 === 0;
    case "q":
      return -(2n ** 40n) - BigInt(k + r);
    case "Q":
      return 2n ** 63n + BigInt(k + r);
    case "f":
      return 1.5 + k + r;
    case "d":
      return 0.1 * (k + r + 1);
    case "e":
      return 0.5 + ((k + r) % 8);
    case "3s":
      return new Uint8Array([k, r & 0xff, 3]);
    case "c":
      return new Uint8Array([65 + (k % 26)]);
    case "2p":
      return new Uint8Array([97 + (r % 26)]);
    case "H":
      return 65000 - k - r;
    case "b":
      return -100 + k + r;
    default: // "i"
      return -(2 ** 31) + k + r;
  }
}

/** `n` fields cycling through CODES, with a byte order. */
function formatOf(order: string, n: number): { format: string; codes: string[] } {
  const codes = Array.from({ length: n }, (_, k) => CODES[k % CODES.length]!);
  return { format: order + codes.join(""), codes };
}

/** The values of record `r`. */
function recordValues(codes: string[], r: number): unknown[] {
  return codes.map((code, k) => valueFor(code, k, r));
}

Deno.test("Struct.unpack reads every arity from 0 to 40 values in every byte order", () => {
  for (const order of ["<", ">", "="]) {
    for (let n = 0; n <= 40; n++) {
      const { format, codes } = formatOf(order, n);
      const struct = new Struct(format);
      const values = recordValues(codes, 1);
      strictEqual(struct.valueCount, n, format);
      deepStrictEqual(struct.unpack(struct.pack(...(values as never[]))), values, format);
    }
  }
});

Deno.test("Struct.unpackFrom reads a record at an offset of a view with its own byteOffset", () => {
  const struct = new Struct("<IhQ2s");
  const values = [7, -2, 2n ** 64n - 1n, new Uint8Array([1, 2])];
  const backing = new Uint8Array(64).fill(0xee);
  backing.set(struct.pack(...values), 21);
  const view = backing.subarray(5, 50);
  deepStrictEqual(struct.unpackFrom(view, 16), values);
});

Deno.test("Struct.unpack returns byte strings as views of the bytes passed in", () => {
  const struct = new Struct("!B3s");
  const bytes = struct.pack(1, "abc");
  const [, tag] = struct.unpack(bytes) as [number, Uint8Array];
  bytes[1] = 0x7a;
  deepStrictEqual(tag, new Uint8Array([0x7a, 0x62, 0x63]));
});

Deno.test("NetStruct.unpack reads fixed fields around several length-prefixed fields", () => {
  const format = new NetStruct("<hB$IH$3sQ$?");
  const values = [
    -7,
    new Uint8Array([1, 2, 3]),
    0xffffffff,
    new Uint8Array(0),
    new Uint8Array([9, 8, 7]),
    new Uint8Array([5]),
    true,
  ];
  deepStrictEqual(format.unpack(format.pack(...values)), values);
});

/** A stream recording onRead's arguments (the values as given, not copied). */
class Keeper extends Stream {
  kept: unknown[][] = [];
  // deno-lint-ignore no-explicit-any
  override onRead(...fields: any[]): void {
    this.kept.push(fields);
  }
}

Deno.test("Stream passes each arity from 0 to 20 fields to onRead as that many arguments", async () => {
  for (let n = 0; n <= 20; n++) {
    // "x" first: a record of no values still has a byte to frame.
    const { format, codes } = formatOf("!", n);
    const struct = new Struct(`!x${format.slice(1)}`);
    await using engine = new TestEngine();
    const stream = new Keeper({ engine });
    stream.readDelimiter = struct;
    const peer = attach(stream);
    const records = [0, 1, 2].map((r) => recordValues(codes, r));
    await peer.send(concat(records.map((values) => struct.pack(...(values as never[])))));
    deepStrictEqual(stream.kept.map((args) => args.length), [n, n, n], `arity ${n}`);
    deepStrictEqual(stream.kept, records, `arity ${n}`);
  }
});

Deno.test("Stream's onRead may keep its arguments: later records of the same read do not change them", async () => {
  const struct = new Struct("!IHb");
  await using engine = new TestEngine();
  const stream = new Keeper({ engine });
  stream.readDelimiter = struct;
  const peer = attach(stream);
  const count = 3000; // several scans' worth in one push
  const expected = Array.from({ length: count }, (_, r) => [r * 3, r & 0xffff, (r % 256) - 128]);
  await peer.send(concat(expected.map((values) => struct.pack(...values))));
  deepStrictEqual(stream.kept, expected);
});

Deno.test("Stream's onRead may keep NetStruct payloads: each stays the bytes of its own record", async () => {
  const format = new NetStruct("!BH$");
  await using engine = new TestEngine();
  const stream = new Keeper({ engine });
  stream.readDelimiter = format;
  const peer = attach(stream);
  const words = ["alpha", "", "gamma", "delta", "epsilon"];
  await peer.send(concat(words.map((word, i) => format.pack(i, word))));
  deepStrictEqual(
    stream.kept.map(([i, payload]) => [i, new TextDecoder().decode(payload as Uint8Array)]),
    words.map((word, i) => [i, word]),
  );
});

Deno.test("Stream frames the rest of a batch with a Struct assigned inside onRead", async () => {
  const first = new Struct("!H");
  const second = new Struct("!BB");
  await using engine = new TestEngine();
  const stream = new Keeper({ engine });
  stream.readDelimiter = first;
  const original = stream.onRead.bind(stream);
  stream.onRead = (...fields: unknown[]) => {
    original(...fields);
    if (stream.kept.length === 2) stream.readDelimiter = second;
  };
  const peer = attach(stream);
  await peer.send(new Uint8Array([0, 1, 0, 2, 3, 4, 5, 6]));
  deepStrictEqual(stream.kept, [[1], [2], [3, 4], [5, 6]]);
});

/** A datagram channel keeping the values arrays it receives. */
class DatagramKeeper extends Datagram {
  kept: unknown[] = [];
  override onRead(data: unknown, _from: DatagramAddress): void {
    this.kept.push(data);
  }
}

Deno.test("Datagram's onRead may keep a record's values array: the next record gets its own", async () => {
  const struct = new Struct("!HB");
  await withEngine(async (engine) => {
    const server = new DatagramKeeper({ engine });
    server.readDelimiter = struct;
    server.listen(["127.0.0.1", 0]);
    await until(() => server.open, "the server to bind");
    const port = (server.localAddress as Deno.NetAddr).port;
    const client = new DatagramKeeper({ engine }).connect(["127.0.0.1", port]);
    await until(() => client.open, "the client to bind");
    client.write(concat([struct.pack(1, 2), struct.pack(3, 4), struct.pack(5, 6)]));
    await until(() => server.kept.length === 3, "three records");
    deepStrictEqual(server.kept, [[1, 2], [3, 4], [5, 6]]);
    server.close();
    client.close();
  });
});
