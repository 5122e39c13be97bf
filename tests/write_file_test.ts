/**
 * `Stream.writeFile()`: files (and byte ranges of them) sent in order with
 * other writes, over TCP and TLS; errors reach `onError` and the stream
 * stays usable.
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { Server, Stream, WriteFileError } from "../mod.ts";
import { testCerts } from "./_certs.ts";
import {
  concat,
  connectTo,
  listening,
  prng,
  randomBytes,
  readAll,
  text,
  utf8,
  withEngine,
} from "./_helpers.ts";

type Scenario = (stream: Sender) => void;

/** Runs the current scenario on connect, then closes (flushing); collects onError. */
class Sender extends Stream {
  static scenario: Scenario = () => {};
  static errors: unknown[] = [];

  override onConnect(): void {
    Sender.scenario(this);
    this.close();
  }

  override onError(error: unknown): void {
    Sender.errors.push(error);
  }
}

/** Serves one connection running `scenario`; returns what a raw client received. */
async function received(scenario: Scenario, tls = false): Promise<Uint8Array> {
  Sender.scenario = scenario;
  Sender.errors = [];
  const certs = tls ? await testCerts() : null;
  let bytes: Uint8Array = new Uint8Array(0);
  await withEngine(async (engine) => {
    const server = new Server({ ConnectionClass: Sender, engine });
    if (certs !== null) server.startSSL({ cert: certs.trusted.cert, key: certs.trusted.key });
    server.listen(["127.0.0.1", 0]);
    const address = (await listening(server as unknown as Server<Stream>)) as Deno.NetAddr;
    const conn = certs === null ? await connectTo(address) : await Deno.connectTls({
      hostname: "127.0.0.1",
      port: address.port,
      caCerts: [certs.trusted.cert],
    });
    bytes = await readAll(conn);
    conn.close();
  });
  return bytes;
}

/** Runs `body` with a temp dir holding `data.bin` (the given bytes); removes it after. */
async function withFile(
  data: Uint8Array,
  body: (path: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pants-write-file-" });
  try {
    const path = `${dir}/data.bin`;
    await Deno.writeFile(path, data);
    await body(path, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const content = utf8("0123456789abcdefghij");

Deno.test("Stream.writeFile sends a file in order with writes before and after it", async () => {
  await withFile(content, async (path) => {
    const bytes = await received((stream) => {
      stream.write("BEGIN\n");
      stream.writeFile(path);
      stream.write("END\n");
    });
    strictEqual(text(bytes), "BEGIN\n0123456789abcdefghij" + "END\n");
    deepStrictEqual(Sender.errors, []);
  });
});

Deno.test("Stream.writeFile with flush starts sending at once, still in order", async () => {
  await withFile(content, async (path) => {
    const bytes = await received((stream) => {
      stream.write("A");
      stream.writeFile(path, { length: 4, flush: true });
      stream.write("B");
    });
    strictEqual(text(bytes), "A0123B");
  });
});

Deno.test("Stream.writeFile sends a byte range given by offset and length", async () => {
  await withFile(content, async (path) => {
    const bytes = await received((stream) => {
      stream.writeFile(path, { offset: 3, length: 5 });
      stream.write("|");
      stream.writeFile(new URL(`file://${path}`), { offset: 15 });
    });
    strictEqual(text(bytes), "34567|fghij");
  });
});

Deno.test("Stream.writeFile sends an open Deno.FsFile and leaves it open", async () => {
  await withFile(content, async (path) => {
    using file = await Deno.open(path, { read: true });
    const bytes = await received((stream) => {
      stream.write("<");
      stream.writeFile(file, { offset: 10 });
      stream.write(">");
    });
    strictEqual(text(bytes), "<abcdefghij>");
    await file.seek(0, Deno.SeekMode.Start);
    const first = new Uint8Array(2);
    strictEqual(await file.read(first), 2, "the file is still open");
  });
});

Deno.test("Stream.writeFile reports a missing file to onError and keeps sending", async () => {
  await withFile(content, async (_path, dir) => {
    const missing = `${dir}/missing.bin`;
    const bytes = await received((stream) => {
      stream.write("a");
      stream.writeFile(missing);
      stream.write("b");
    });
    strictEqual(text(bytes), "ab");
    strictEqual(Sender.errors.length, 1);
    const error = Sender.errors[0];
    ok(error instanceof WriteFileError);
    strictEqual(error.name, "WriteFileError");
    strictEqual(error.path, missing);
    ok(error.message.includes(missing), error.message);
    ok(error.cause instanceof Deno.errors.NotFound);
  });
});

Deno.test("Stream.writeFile reports a length beyond the end of the file", async () => {
  await withFile(content, async (path) => {
    const bytes = await received((stream) => {
      stream.writeFile(path, { offset: 15, length: 10 });
      stream.write("!");
    });
    strictEqual(text(bytes), "fghij!");
    strictEqual(Sender.errors.length, 1);
    const error = Sender.errors[0] as WriteFileError;
    ok(error instanceof WriteFileError);
    ok(error.message.includes("5 of 10 bytes"), error.message);
  });
});

Deno.test("Stream.writeFile throws a RangeError for a negative offset or length", async () => {
  const bytes = await received((stream) => {
    throws(() => stream.writeFile("x", { offset: -1 }), RangeError);
    throws(() => stream.writeFile("x", { length: 1.5 }), RangeError);
    stream.write("ok");
  });
  strictEqual(text(bytes), "ok");
  deepStrictEqual(Sender.errors, []);
});

Deno.test("Stream.writeFile sends a file over a TLS stream", async () => {
  await withFile(content, async (path) => {
    const bytes = await received((stream) => {
      stream.write("tls:");
      stream.writeFile(path);
      stream.write(":end");
    }, true);
    strictEqual(text(bytes), "tls:0123456789abcdefghij:end");
    deepStrictEqual(Sender.errors, []);
  });
});

Deno.test("Stream.writeFile sends an 8 MiB file intact", async () => {
  const data = randomBytes(prng(7), 8 * 1024 * 1024);
  await withFile(data, async (path) => {
    const bytes = await received((stream) => {
      stream.write("[");
      stream.writeFile(path);
      stream.write("]");
    });
    strictEqual(bytes.length, data.length + 2);
    ok(concat([utf8("["), data, utf8("]")]).every((byte, i) => byte === bytes[i]), "bytes differ");
    deepStrictEqual(Sender.errors, []);
  });
});
