/**
 * The Deframer without sockets, tested like a tokio `Decoder`: bytes in,
 * host calls out. A recording host keeps every call (frames copied: a byte
 * view is valid only during the call) and may act inside a frame callback
 * the way a channel's `onRead` does. The spec runs once against the
 * TypeScript reference core and once against the WebAssembly core; each
 * test checks that the regions it opened are freed.
 *
 * The property test is seeded and reproducible: pass another seed with
 * `deno test --allow-read tests/deframer_test.ts -- --seed=N`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { FramingCore } from "../framing/_core.ts";
import {
  Deframer,
  type DeframerHost,
  type DeframerMode,
  frameReady,
  framingFailed,
  inputOverflow,
  recordReady,
} from "../framing/_deframer.ts";
import type { FrameRule } from "../framing/frame_rule.ts";
import { NetStruct } from "../framing/net_struct.ts";
import type { FrameEncoding, ReadDelimiter } from "../framing/read_delimiter.ts";
import { Struct } from "../framing/struct.ts";
import type { StructValue } from "../framing/struct_value.ts";
import { WasmFramingCore } from "../framing/_wasm_core.ts";
import { ReferenceFramingCore } from "./_reference_core.ts";
import { concat, Rng, testSeed } from "./_helpers.ts";

// --- helpers -----------------------------------------------------------------

const encoder = new TextEncoder();

/** Bytes of a string, one byte per character (code points < 256 only). */
function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** A string of bytes, one character per byte (the inverse of `bytes`). */
function latin1(data: Uint8Array): string {
  let text = "";
  for (const byte of data) text += String.fromCharCode(byte);
  return text;
}

const join = (...parts: Uint8Array[]): Uint8Array => concat(parts);

/** One call the deframer made to its host, its data copied. */
type Call =
  | readonly ["bytes", Uint8Array]
  | readonly ["text", string]
  | readonly ["match", (string | undefined)[]]
  | readonly ["record", StructValue[]]
  | readonly ["overflow", number, number]
  | readonly ["failed", unknown];

/** A host that records what it receives. */
class RecordingHost implements DeframerHost {
  readonly calls: Call[] = [];
  /** Runs inside each frame or record callback, after recording it, with its index (0 first). */
  onFrame: (index: number) => void = () => {};
  #frames = 0;

  [frameReady](data: Uint8Array | string | RegExpExecArray): void {
    if (typeof data === "string") this.calls.push(["text", data]);
    else if (data instanceof Uint8Array) this.calls.push(["bytes", data.slice()]);
    else this.calls.push(["match", [...data]]);
    this.onFrame(this.#frames++);
  }

  [recordReady](values: StructValue[]): void {
    this.calls.push(["record", values.map((v) => v instanceof Uint8Array ? v.slice() : v)]);
    this.onFrame(this.#frames++);
  }

  [inputOverflow](bytes: number, limit: number): void {
    this.calls.push(["overflow", bytes, limit]);
  }

  [framingFailed](error: unknown): void {
    this.calls.push(["failed", error]);
  }

  /** The frames only: bytes as one character per byte, text as is, matches as their groups. */
  get frames(): (string | (string | undefined)[])[] {
    const out: (string | (string | undefined)[])[] = [];
    for (const call of this.calls) {
      if (call[0] === "bytes") out.push(latin1(call[1]));
      else if (call[0] === "text" || call[0] === "match") out.push(call[1]);
    }
    return out;
  }
}

/** A framing core whose `append` throws while `failures` lasts; the rest is the wrapped core. */
class FailingAppendCore implements FramingCore {
  readonly #inner: FramingCore;
  /** How many of the next appends throw. */
  failures = 0;
  readonly error = new RangeError("Cannot grow the region: out of memory");

  constructor(inner: FramingCore) {
    this.#inner = inner;
  }
  open(): number {
    return this.#inner.open();
  }
  close(id: number): void {
    this.#inner.close(id);
  }
  get liveRegions(): number {
    return this.#inner.liveRegions;
  }
  get liveBytes(): number {
    return this.#inner.liveBytes;
  }
  setRule(id: number, rule: FrameRule): void {
    this.#inner.setRule(id, rule);
  }
  append(id: number, chunk: Uint8Array): void {
    if (this.failures > 0) {
      this.failures--;
      throw this.error;
    }
    this.#inner.append(id, chunk);
  }
  buffered(id: number): number {
    return this.#inner.buffered(id);
  }
  consume(id: number, n: number): void {
    this.#inner.consume(id, n);
  }
  trim(id: number): void {
    this.#inner.trim(id);
  }
  scan(id: number, limit: number): number {
    return this.#inner.scan(id, limit);
  }
  get frames(): Int32Array {
    return this.#inner.frames;
  }
  get overflowBytes(): number {
    return this.#inner.overflowBytes;
  }
  bytes(id: number): Uint8Array {
    return this.#inner.bytes(id);
  }
  base(id: number): number {
    return this.#inner.base(id);
  }
  frame(id: number, at: number, length: number): Uint8Array {
    return this.#inner.frame(id, at, length);
  }
}

const SEED = testSeed(0x0def_5eed);

/** Settings applied to a new deframer, in this order. */
interface Settings {
  readDelimiter?: ReadDelimiter;
  encoding?: FrameEncoding;
  regexSearch?: boolean;
  bufferSize?: number;
}

/** A deframer and the host it delivers to. */
interface Fixture {
  readonly deframer: Deframer;
  readonly host: RecordingHost;
}

/** Opens a deframer on the test's core (or `core`); the test closes it at the end. */
type Open = (settings?: Settings, mode?: DeframerMode, core?: FramingCore) => Fixture;

// --- the spec ----------------------------------------------------------------

/**
 * Registers the Deframer specification for one framing core.
 *
 * @param name The core's name, as in "Deframer (reference core) …".
 * @param make Creates a fresh core.
 */
function deframerSpec(name: string, make: () => FramingCore): void {
  function test(
    behaviour: string,
    fn: (open: Open, core: FramingCore) => void,
    options: { ignore?: boolean } = {},
  ): void {
    Deno.test({
      name: `Deframer (${name}) ${behaviour}`,
      ignore: options.ignore ?? false,
      fn() {
        const core = make();
        const opened: Deframer[] = [];
        const open: Open = (settings = {}, mode = "stream", on = core) => {
          const host = new RecordingHost();
          const deframer = new Deframer(host, mode, on);
          if (settings.readDelimiter !== undefined) deframer.readDelimiter = settings.readDelimiter;
          if (settings.encoding !== undefined) deframer.encoding = settings.encoding;
          if (settings.regexSearch !== undefined) deframer.regexSearch = settings.regexSearch;
          if (settings.bufferSize !== undefined) deframer.bufferSize = settings.bufferSize;
          opened.push(deframer);
          return { deframer, host };
        };
        fn(open, core);
        for (const deframer of opened) deframer.close();
        assert.equal(core.liveRegions, 0, "every region is freed on close");
        assert.equal(core.liveBytes, 0);
      },
    });
  }

  // --- one delimiter each --------------------------------------------------

  test("delivers each push as one chunk with a null delimiter", (open) => {
    const { deframer, host } = open();
    deframer.push(bytes("hello\r\n"));
    deframer.push(bytes("wor"));
    deframer.push(bytes("ld"));
    assert.deepEqual(host.frames, ["hello\r\n", "wor", "ld"]);
    assert.equal(deframer.framesDelivered, 3);
    assert.equal(deframer.buffered, 0);
  });

  test("splits on a string delimiter and drops the delimiter", (open) => {
    const { deframer, host } = open({ readDelimiter: "\r\n" });
    deframer.push(bytes("GET\r\nHost: x\r\n\r\nbody\rmore\n"));
    assert.deepEqual(host.calls, [
      ["bytes", bytes("GET")],
      ["bytes", bytes("Host: x")],
      ["bytes", bytes("")],
    ]);
    assert.equal(deframer.buffered, "body\rmore\n".length);
    assert.equal(deframer.framesDelivered, 3);
  });

  test("carries a partial line over to the next push", (open) => {
    const { deframer, host } = open({ readDelimiter: "\r\n" });
    deframer.push(bytes("hel"));
    assert.deepEqual(host.frames, []);
    assert.equal(deframer.buffered, 3);
    deframer.push(bytes("lo\r"));
    assert.deepEqual(host.frames, [], "half a delimiter completes no line");
    deframer.push(bytes("\nwor"));
    deframer.push(bytes("ld\r\n"));
    assert.deepEqual(host.frames, ["hello", "world"]);
    assert.equal(deframer.buffered, 0);
  });

  test("cuts fixed blocks with a number delimiter", (open) => {
    const { deframer, host } = open({ readDelimiter: 4 });
    deframer.push(bytes("abcdefghij"));
    assert.deepEqual(host.frames, ["abcd", "efgh"]);
    assert.equal(deframer.buffered, 2);
    deframer.push(bytes("k"));
    deframer.push(bytes("lmnopq"));
    assert.deepEqual(host.frames, ["abcd", "efgh", "ijkl", "mnop"]);
    assert.equal(deframer.buffered, 1);
  });

  test("delivers the input before each match of a RegExp in search mode", (open) => {
    const { deframer, host } = open({ readDelimiter: /[ \t]+/ });
    deframer.push(bytes("one two\t \tthree "));
    assert.deepEqual(host.calls, [
      ["bytes", bytes("one")],
      ["bytes", bytes("two")],
      ["bytes", bytes("three")],
    ]);
    assert.equal(deframer.buffered, 0);
    deframer.push(bytes("fo"));
    deframer.push(bytes("ur "));
    assert.deepEqual(host.frames, ["one", "two", "three", "four"]);
  });

  test("delivers each RegExp match at the start in match mode", (open) => {
    const { deframer, host } = open({ readDelimiter: /(\w+)=(\d+);/, regexSearch: false });
    deframer.push(bytes("a=1;bb=22;cc=3"));
    assert.deepEqual(host.calls, [
      ["match", ["a=1;", "a", "1"]],
      ["match", ["bb=22;", "bb", "22"]],
    ]);
    assert.equal(deframer.buffered, 4, "a partial match waits");
    deframer.push(bytes("3;"));
    assert.deepEqual(host.frames.at(-1), ["cc=33;", "cc", "33"]);
    deframer.push(bytes("junk;d=4;"));
    assert.equal(host.calls.length, 3, "input that does not match at the start stays buffered");
    assert.equal(deframer.buffered, 9);
  });

  test("decodes frames as strings with utf-8 encoding", (open) => {
    const lines = open({ readDelimiter: "\n", encoding: "utf-8" });
    lines.deframer.push(encoder.encode("héllo\nwörld 🦀\n"));
    assert.deepEqual(lines.host.calls, [["text", "héllo"], ["text", "wörld 🦀"]]);

    const chunks = open({ encoding: "utf-8" });
    chunks.deframer.push(encoder.encode("añb"));
    assert.deepEqual(chunks.host.calls, [["text", "añb"]]);

    const matches = open({ readDelimiter: /(\p{L}+);/u, regexSearch: false, encoding: "utf-8" });
    matches.deframer.push(encoder.encode("été;niño;"));
    assert.deepEqual(matches.host.frames, [["été;", "été"], ["niño;", "niño"]]);
    assert.equal(matches.deframer.buffered, 0);
  });

  test("decodes a character split across pushes whole", (open) => {
    const crab = encoder.encode("🦀"); // 4 bytes
    const chunks = open({ encoding: "utf-8" });
    chunks.deframer.push(join(bytes("a"), crab.subarray(0, 1)));
    chunks.deframer.push(crab.subarray(1, 3));
    chunks.deframer.push(join(crab.subarray(3), bytes("b")));
    assert.equal(chunks.host.frames.join(""), "a🦀b");
    assert.ok(!chunks.host.frames.join("").includes("\ufffd"));

    const blocks = open({ readDelimiter: 3, encoding: "utf-8" });
    blocks.deframer.push(join(bytes("xy"), crab.subarray(0, 2)));
    blocks.deframer.push(join(crab.subarray(2), bytes("zzz")));
    assert.deepEqual(
      blocks.host.frames,
      ["xy", "🦀", "zzz"],
      "block boundaries inside a character",
    );

    const lines = open({ readDelimiter: "\n", encoding: "utf-8" });
    lines.deframer.push(join(bytes("x"), crab.subarray(0, 3)));
    lines.deframer.push(join(crab.subarray(3), bytes("\n")));
    assert.deepEqual(lines.host.calls, [["text", "x🦀"]]);

    const words = open({ readDelimiter: /,/, encoding: "utf-8" });
    words.deframer.push(join(bytes("a,b"), crab.subarray(0, 2)));
    words.deframer.push(join(crab.subarray(2), bytes(",")));
    assert.deepEqual(words.host.calls, [["text", "a"], ["text", "b🦀"]]);
    assert.equal(words.deframer.buffered, 0);
  });

  test("maps RegExp matches in invalid UTF-8 to exact byte offsets", (open) => {
    const { deframer, host } = open({ readDelimiter: /;/, encoding: "utf-8" });
    deframer.push(join(
      bytes("a\xff;"), // a byte that starts no character
      bytes("b\xc3(;"), // a lead byte whose continuation is missing
      encoder.encode("c🦀\u00e9;"), // valid again, with a surrogate pair
      bytes("\xed\xa0\x80d;"), // an encoded surrogate: three invalid bytes
      bytes("rest"),
    ));
    assert.deepEqual(host.calls, [
      ["text", "a\ufffd"],
      ["text", "b\ufffd("],
      ["text", "c🦀é"],
      ["text", "\ufffd\ufffd\ufffdd"],
    ]);
    assert.equal(deframer.buffered, 4, "nothing after the invalid bytes is lost or repeated");
    deframer.push(bytes(";"));
    assert.deepEqual(host.frames.at(-1), "rest");
    assert.equal(deframer.buffered, 0);

    const matches = open({ readDelimiter: /(\S+) /, regexSearch: false, encoding: "utf-8" });
    matches.deframer.push(bytes("x\x80y \xc3\xa9\xfe z "));
    assert.deepEqual(matches.host.frames, [
      ["x\ufffdy ", "x\ufffdy"],
      ["é\ufffd ", "é\ufffd"],
      ["z ", "z"],
    ]);
    assert.equal(matches.deframer.buffered, 0);
  });

  test("delivers Struct records as arrays of values", (open) => {
    const format = new Struct("!HIq2s?");
    const { deframer, host } = open({ readDelimiter: format });
    const data = join(
      format.pack(1, 0xdeadbeef, -5n, "ab", true),
      format.pack(2, 7, 9n, "c", false),
    );
    deframer.push(data.subarray(0, 5));
    assert.deepEqual(host.calls, []);
    deframer.push(data.subarray(5, 20));
    deframer.push(data.subarray(20));
    assert.deepEqual(host.calls, [
      ["record", [1, 0xdeadbeef, -5n, bytes("ab"), true]],
      ["record", [2, 7, 9n, bytes("c\0"), false]],
    ]);
    assert.equal(deframer.buffered, 0);
  });

  test("delivers NetStruct records as arrays of values", (open) => {
    const format = new NetStruct("!BH$I");
    const { deframer, host } = open({ readDelimiter: format });
    const data = join(format.pack(7, "hello", 42), format.pack(8, "", 0), format.pack(9, "x", 1));
    deframer.push(data.subarray(0, 2));
    deframer.push(data.subarray(2, data.length - 3));
    assert.deepEqual(host.calls, [
      ["record", [7, bytes("hello"), 42]],
      ["record", [8, bytes(""), 0]],
    ]);
    deframer.push(data.subarray(data.length - 3));
    assert.deepEqual(host.calls.at(-1), ["record", [9, bytes("x"), 1]]);
    assert.equal(deframer.buffered, 0);
  });

  // --- changes inside a callback -------------------------------------------

  test("reframes the rest when readDelimiter changes inside a callback", (open) => {
    const header = new Struct("!H");
    const { deframer, host } = open({ readDelimiter: "\n" });
    host.onFrame = (index) => {
      if (index === 0) deframer.readDelimiter = 4;
      if (index === 2) deframer.readDelimiter = header;
      if (index === 3) deframer.readDelimiter = "\n";
      if (index === 5) deframer.readDelimiter = null;
    };
    // One push holds all of it, so the first scan finds "lines" that the
    // later delimiters must cut differently.
    deframer.push(bytes("HEAD\nabcdefgh\x01\x02\nline\nrest\nof it"));
    assert.deepEqual(host.calls, [
      ["bytes", bytes("HEAD")],
      ["bytes", bytes("abcd")],
      ["bytes", bytes("efgh")],
      ["record", [0x0102]],
      ["bytes", bytes("")],
      ["bytes", bytes("line")],
      ["bytes", bytes("rest\nof it")],
    ]);
    assert.equal(deframer.buffered, 0, "no byte lost or repeated");
  });

  test("applies regexSearch changed inside a callback to the rest of the buffer", (open) => {
    const { deframer, host } = open({ readDelimiter: /\d/ });
    host.onFrame = (index) => {
      if (index === 0) deframer.regexSearch = false;
    };
    deframer.push(bytes("x1234y5"));
    assert.deepEqual(host.calls, [
      ["bytes", bytes("x")],
      ["match", ["2"]],
      ["match", ["3"]],
      ["match", ["4"]],
    ]);
    assert.equal(deframer.buffered, 2, "match mode stops at a non-match");
    host.onFrame = () => {};
    deframer.regexSearch = true;
    deframer.drain();
    assert.deepEqual(host.calls.at(-1), ["bytes", bytes("y")]);
    assert.equal(deframer.buffered, 0);
  });

  test("applies an encoding changed inside a callback to the rest of the batch", (open) => {
    const { deframer, host } = open({ readDelimiter: "\n" });
    host.onFrame = (index) => {
      if (index === 0) deframer.encoding = "utf-8";
    };
    deframer.push(encoder.encode("a\nb\nç\n"));
    assert.deepEqual(host.calls, [["bytes", bytes("a")], ["text", "b"], ["text", "ç"]]);
  });

  test("stops delivery when held inside a callback and drains the rest when released", (open) => {
    const { deframer, host } = open({ readDelimiter: "\n" });
    host.onFrame = (index) => {
      if (index === 0) deframer.held = true;
    };
    deframer.push(bytes("a\nb\nc\n"));
    assert.deepEqual(host.frames, ["a"]);
    assert.equal(deframer.buffered, 4);
    deframer.push(bytes("d\ne"));
    assert.deepEqual(host.frames, ["a"], "input is buffered while held");
    assert.equal(deframer.buffered, 7);
    deframer.held = false;
    deframer.drain();
    assert.deepEqual(host.frames, ["a", "b", "c", "d"]);
    assert.equal(deframer.buffered, 1);

    const chunks = open();
    chunks.deframer.held = true;
    chunks.deframer.push(bytes("one"));
    chunks.deframer.push(bytes("two"));
    assert.deepEqual(chunks.host.frames, []);
    chunks.deframer.held = false;
    chunks.deframer.drain();
    assert.deepEqual(chunks.host.frames, ["onetwo"], "chunks held are delivered together");
  });

  test("counts the bytes after the current frame as unread", (open) => {
    for (const readDelimiter of ["\n", /\n/]) {
      const { deframer, host } = open({ readDelimiter });
      const unread: number[] = [];
      host.onFrame = () => unread.push(deframer.unread);
      deframer.push(bytes("ab\ncd\nef"));
      assert.deepEqual(unread, [5, 2], String(readDelimiter));
      assert.equal(deframer.unread, 2, "outside a callback: everything buffered");
    }
    const text = open({ readDelimiter: /;/, encoding: "utf-8" });
    const unread: number[] = [];
    text.host.onFrame = () => unread.push(text.deframer.unread);
    text.deframer.push(encoder.encode("é;ü;日本"));
    assert.deepEqual(unread, [9, 6], "unread counts bytes, not characters");

    const chunks = open();
    chunks.host.onFrame = () => unread.push(chunks.deframer.unread);
    chunks.deframer.push(bytes("whole"));
    assert.equal(unread.at(-1), 0);
  });

  // --- limits --------------------------------------------------------------

  test("reports input beyond bufferSize without a complete frame once and discards it", (open) => {
    const { deframer, host } = open({ readDelimiter: "\n", bufferSize: 8 });
    deframer.push(bytes("abcdefghij"));
    assert.deepEqual(host.calls, [["overflow", 10, 8]]);
    assert.equal(deframer.buffered, 0);
    deframer.push(bytes("ok\n"));
    assert.deepEqual(host.calls, [["overflow", 10, 8], ["bytes", bytes("ok")]]);

    const slow = open({ readDelimiter: "\n", bufferSize: 8 });
    for (const c of "abcdefghi") slow.deframer.push(bytes(c));
    assert.deepEqual(slow.host.calls, [["overflow", 8, 8]], "once, when the limit is reached");
    assert.equal(slow.deframer.buffered, 1);
  });

  test("reports a line longer than bufferSize in the push that makes it too long", (open) => {
    const { deframer, host } = open({ readDelimiter: "\n", bufferSize: 8 });
    deframer.push(bytes("a\nbcdefghijk"));
    assert.deepEqual(host.calls, [["bytes", bytes("a")], ["overflow", 10, 8]]);
    assert.equal(deframer.buffered, 0);
    deframer.push(bytes("ok\n"));
    assert.deepEqual(host.frames, ["a", "ok"]);
  });

  test("overflows as soon as a NetStruct prefix declares more than bufferSize", (open) => {
    const { deframer, host } = open({ readDelimiter: new NetStruct("!BH$"), bufferSize: 16 });
    deframer.push(bytes("\x07\x01"));
    assert.deepEqual(host.calls, []);
    deframer.push(bytes("\x00ab"));
    assert.deepEqual(host.calls, [["overflow", 3 + 256, 16]], "before the payload arrives");
    assert.equal(deframer.buffered, 0);
    deframer.push(bytes("\x01\x00\x02hi"));
    assert.deepEqual(host.calls.at(-1), ["record", [1, bytes("hi")]]);
  });

  test("reports RegExp input beyond bufferSize without a match", (open) => {
    const { deframer, host } = open({ readDelimiter: /\r\n/, bufferSize: 8 });
    deframer.push(bytes("abcd"));
    deframer.push(bytes("efghij"));
    assert.deepEqual(host.calls, [["overflow", 10, 8]]);
    assert.equal(deframer.buffered, 0);
  });

  test("raises the limit for a fixed size above bufferSize", (open) => {
    const { deframer, host } = open({ readDelimiter: 12, bufferSize: 4 });
    deframer.push(bytes("abcdefgh"));
    deframer.push(bytes("ijklmn"));
    assert.deepEqual(host.frames, ["abcdefghijkl"]);
    assert.equal(deframer.buffered, 2);
  });

  // --- failures and closing --------------------------------------------------

  test("reports a throwing callback to framingFailed and delivers the next frames", (open) => {
    const cases: [Settings, string[]][] = [
      [{ readDelimiter: "\n" }, ["a\nb\nc\n"]],
      [{ readDelimiter: "\n", encoding: "utf-8" }, ["a\nb\nc\n"]],
      [{ readDelimiter: /\n/ }, ["a\nb\nc\n"]],
      [{ readDelimiter: new Struct("!B") }, ["abc"]],
      [{}, ["a", "b", "c"]],
    ];
    for (const [settings, input] of cases) {
      const { deframer, host } = open(settings);
      const error = new Error("onRead failed");
      host.onFrame = (index) => {
        if (index === 1) throw error;
      };
      for (const chunk of input) deframer.push(bytes(chunk));
      assert.equal(host.calls.length, 4, String(settings.readDelimiter));
      assert.deepEqual(host.calls[2], ["failed", error]);
      assert.equal(host.calls[3]![0], host.calls[0]![0], "the next frame is still delivered");
    }
  });

  test("stops the batch when closed inside a callback", (open, core) => {
    const cases: [ReadDelimiter, Call][] = [
      ["\n", ["bytes", bytes("d")]],
      [/\n/, ["bytes", bytes("d")]],
      [new Struct("!2s"), ["record", [bytes("d\n")]]],
    ];
    for (const [readDelimiter, next] of cases) {
      const { deframer, host } = open({ readDelimiter });
      host.onFrame = (index) => {
        if (index === 0) deframer.close();
      };
      deframer.push(bytes("a\nb\nc\n"));
      assert.equal(host.calls.length, 1, String(readDelimiter));
      assert.equal(deframer.buffered, 0);
      assert.equal(core.liveRegions, 0, "closing frees the region");
      host.onFrame = () => {};
      deframer.push(bytes("d\n"));
      assert.equal(host.calls.length, 2, "the settings stay and input restarts empty");
      assert.deepEqual(host.calls.at(-1), next);
      deframer.close();
    }
  });

  test(
    "reaches framingFailed when the core's append throws and frames the next push",
    (open, core) => {
      const failing = new FailingAppendCore(core);
      const { deframer, host } = open({ readDelimiter: "\n" }, "stream", failing);
      deframer.push(bytes("lost"));
      failing.failures = 1;
      deframer.push(bytes(" line\nnot this\n"));
      assert.deepEqual(host.calls, [["failed", failing.error]]);
      assert.equal(deframer.buffered, 0, "the partial frame is dropped with the failed input");
      deframer.push(bytes("next\nli"));
      deframer.push(bytes("ne\n"));
      assert.deepEqual(host.frames, ["next", "line"]);

      const datagrams = open({ readDelimiter: "\n" }, "message", failing);
      failing.failures = 1;
      assert.equal(datagrams.deframer.message(bytes("a\n")), 0);
      assert.equal(datagrams.deframer.message(bytes("b\n")), 0);
      assert.deepEqual(datagrams.host.calls, [["failed", failing.error], ["bytes", bytes("b")]]);
    },
  );

  // --- message mode ----------------------------------------------------------

  test("frames each message alone in message mode", (open) => {
    const { deframer, host } = open({ readDelimiter: "\n" }, "message");
    assert.equal(deframer.message(bytes("a\nb\nc")), 1, "one trailing byte forms no frame");
    assert.equal(deframer.buffered, 0);
    assert.equal(deframer.message(bytes("d\n")), 0);
    assert.deepEqual(host.frames, ["a", "b", "d"], "the trailing byte is not joined to the next");

    const blocks = open({ readDelimiter: 3 }, "message");
    assert.equal(blocks.deframer.message(bytes("abcdefgh")), 2);
    assert.equal(blocks.deframer.message(bytes("ijk")), 0);
    assert.deepEqual(blocks.host.frames, ["abc", "def", "ijk"]);

    const crab = encoder.encode("🦀");
    const text = open({ encoding: "utf-8" }, "message");
    assert.equal(text.deframer.message(join(bytes("x"), crab.subarray(0, 2))), 0);
    text.deframer.message(join(crab.subarray(2), bytes("y")));
    assert.deepEqual(text.host.calls, [["text", "x\ufffd"], ["text", "\ufffd\ufffdy"]]);

    const lines = open({ readDelimiter: "\n", encoding: "utf-8" }, "message");
    assert.equal(lines.deframer.message(join(bytes("x\n"), crab.subarray(0, 2))), 2);
    lines.deframer.message(join(crab.subarray(2), bytes("y\n")));
    assert.deepEqual(lines.host.calls, [["text", "x"], ["text", "\ufffd\ufffdy"]]);
  });

  test("reports a NetStruct declaring beyond bufferSize in message mode", (open) => {
    const { deframer, host } = open(
      { readDelimiter: new NetStruct("!H$"), bufferSize: 16 },
      "message",
    );
    assert.equal(deframer.message(bytes("\x01\x00payload")), 0, "reported once, as an overflow");
    assert.deepEqual(host.calls, [["overflow", 2 + 256, 16]]);
    assert.equal(deframer.buffered, 0);
    deframer.message(bytes("\x00\x01z"));
    assert.deepEqual(host.calls.at(-1), ["record", [bytes("z")]]);
  });

  // --- property --------------------------------------------------------------

  test("frames random input alike in any chunking", (open) => {
    const rng = new Rng(SEED);
    const alphabet = [...bytes("ab\r\n\r\n")];
    for (let i = 0; i < 200; i++) {
      const size = rng.range(1, 9);
      const readDelimiter = i % 2 === 0 ? "\r\n" : size;
      const input = Uint8Array.from({ length: rng.range(0, 300) }, () => rng.pick(alphabet));
      const context = `seed ${SEED}, case ${i}, delimiter ${JSON.stringify(readDelimiter)}`;

      const whole = open({ readDelimiter });
      whole.deframer.push(input);
      const split = open({ readDelimiter });
      for (let at = 0; at < input.length;) {
        const n = rng.pick([0, 1, 1, 2, 3, rng.range(4, 64)]);
        split.deframer.push(input.subarray(at, at + n));
        at += n;
      }
      assert.deepEqual(split.host.calls, whole.host.calls, context);
      assert.equal(split.deframer.buffered, whole.deframer.buffered, context);

      const text = latin1(input);
      const expected = readDelimiter === "\r\n"
        ? text.split("\r\n").slice(0, -1)
        : Array.from({ length: Math.floor(text.length / size) }, (_, k) =>
          text.slice(k * size, (k + 1) * size));
      assert.deepEqual(whole.host.frames, expected, context);
      whole.deframer.close();
      split.deframer.close();
    }
  });

  // --- regressions: each failed before its fix ----------------------------------

  test("maps RegExp matches to byte offsets when the buffer starts with U+FEFF", (open) => {
    const { deframer, host } = open({ readDelimiter: /;/, encoding: "utf-8" });
    deframer.push(encoder.encode("\ufeffb;c;"));
    assert.equal(deframer.buffered, 0);
    deframer.push(encoder.encode("d;"));
    assert.deepEqual(host.calls, [["text", "\ufeffb"], ["text", "c"], ["text", "d"]]);
  });

  test("keeps a U+FEFF at the start of a utf-8 frame", (open) => {
    const { deframer, host } = open({ readDelimiter: "\n", encoding: "utf-8" });
    deframer.push(encoder.encode("a\n\ufeffb\n"));
    assert.deepEqual(host.calls, [["text", "a"], ["text", "\ufeffb"]]);
  });

  test("reports a NetStruct declaring beyond bufferSize after a record in message mode", (open) => {
    const { deframer, host } = open(
      { readDelimiter: new NetStruct("!H$"), bufferSize: 16 },
      "message",
    );
    assert.equal(deframer.message(bytes("\x00\x02ok\x01\x00payload")), 0);
    assert.deepEqual(host.calls, [["record", [bytes("ok")]], ["overflow", 2 + 256, 16]]);
  });

  test("overflows at once when a NetStruct prefix follows a record in the same push", (open) => {
    const { deframer, host } = open({ readDelimiter: new NetStruct("!H$"), bufferSize: 16 });
    deframer.push(bytes("\x00\x02ok\x01\x00"));
    assert.deepEqual(host.calls, [["record", [bytes("ok")]], ["overflow", 2 + 256, 16]]);
    assert.equal(deframer.buffered, 0);
  });

  test("keeps a frame's bytes while its callback makes another deframer deliver one", (_, core) => {
    const seen: string[] = [];
    const host = (onFrame: (frame: Uint8Array) => void): DeframerHost => ({
      [frameReady]: (data) => onFrame(data as Uint8Array),
      [recordReady]: () => {},
      [inputOverflow]: () => {},
      [framingFailed]: (error) => {
        throw error;
      },
    });
    const inner = new Deframer(
      host((frame) => seen.push(`inner ${latin1(frame)}`)),
      "stream",
      core,
    );
    inner.readDelimiter = "\n";
    const outer = new Deframer(
      host((frame) => {
        // A frame of the same length delivered meanwhile must not show through.
        if (seen.length === 0) inner.push(bytes("WXYZ\n"));
        seen.push(`outer ${latin1(frame)}`);
      }),
      "stream",
      core,
    );
    outer.readDelimiter = "\n";
    outer.push(bytes("abcd\nefgh\n"));
    assert.deepEqual(seen, ["inner WXYZ", "outer abcd", "outer efgh"]);
    inner.close();
    outer.close();
  });

  test("matches a RegExp over bytes 0x80 to 0x9f by their value", (open) => {
    const { deframer, host } = open({ readDelimiter: /[\x80-\x9f]/ });
    deframer.push(bytes("a\x80b\x85c\x9f"));
    assert.deepEqual(host.frames, ["a", "b", "c"]);
    assert.equal(deframer.buffered, 0);
  });
}

deframerSpec("reference core", () => new ReferenceFramingCore());
deframerSpec("WASM core", () => new WasmFramingCore());
