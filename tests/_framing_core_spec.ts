/**
 * The shared specification of `FramingCore`, registered once per
 * implementation (see framing_core_test.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type FramingCore, MAX_FRAMES_PER_SCAN, SCAN_OVERFLOW } from "../framing/_core.ts";
import {
  type FrameRule,
  MAX_DELIMITER_LENGTH,
  MAX_RECORD_STEPS,
  type RecordStep,
} from "../framing/frame_rule.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BIG = 1 << 24;

/** Bytes of a string (latin1 for code points < 256, so tests can write any byte). */
function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function delimiter(text: string): FrameRule {
  return { kind: "delimiter", delimiter: encoder.encode(text) };
}

function record(...steps: RecordStep[]): FrameRule {
  return { kind: "record", steps };
}

function step(fixed: number, prefix: 0 | 1 | 2 | 4 | 8, littleEndian = false): RecordStep {
  return { fixed, prefix, littleEndian };
}

/** The unconsumed bytes of a region, copied. */
function rest(core: FramingCore, id: number): Uint8Array {
  const base = core.base(id);
  return core.bytes(id).slice(base, base + core.buffered(id));
}

/** The triples of the last scan as [start, end, next] arrays. */
function triples(core: FramingCore, count: number): number[][] {
  const frames = core.frames;
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    out.push([frames[3 * i]!, frames[3 * i + 1]!, frames[3 * i + 2]!]);
  }
  return out;
}

/** One scan: the frames' texts (not consumed). */
function scanTexts(core: FramingCore, id: number, limit = BIG): string[] | number {
  const count = core.scan(id, limit);
  if (count < 0) return count;
  const bytes = core.bytes(id);
  const base = core.base(id);
  return triples(core, count).map(([s, e]) => decoder.decode(bytes.subarray(base + s!, base + e!)));
}

/** Scans and consumes until no complete frame is left: all frames' bytes, copied. */
function drain(core: FramingCore, id: number, limit = BIG): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let round = 0; round < 100_000; round++) {
    const count = core.scan(id, limit);
    assert.ok(count >= 0, `unexpected overflow of ${core.overflowBytes} bytes`);
    const bytes = core.bytes(id);
    const base = core.base(id);
    for (const [s, e] of triples(core, count)) out.push(bytes.slice(base + s!, base + e!));
    if (count > 0) core.consume(id, core.frames[3 * count - 1]!);
    if (count < MAX_FRAMES_PER_SCAN) return out;
  }
  throw new Error("drain did not finish");
}

function drainTexts(core: FramingCore, id: number, limit = BIG): string[] {
  return drain(core, id, limit).map((frame) => decoder.decode(frame));
}

/** A record body with a big-endian or little-endian prefix of `width` bytes holding `value`. */
function prefixBytes(width: number, value: number | bigint, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(width);
  const view = new DataView(out.buffer);
  if (width === 1) view.setUint8(0, Number(value));
  if (width === 2) view.setUint16(0, Number(value), littleEndian);
  if (width === 4) view.setUint32(0, Number(value), littleEndian);
  if (width === 8) view.setBigUint64(0, BigInt(value), littleEndian);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Registers the FramingCore specification for one implementation.
 *
 * @param name The implementation's name, which starts each test name.
 * @param make Creates a fresh core (each test closes what it opens).
 * @returns Nothing; the tests are registered with `Deno.test`.
 *
 * @example Usage
 * ```ts ignore
 * framingCoreSpec("ReferenceFramingCore", () => new ReferenceFramingCore());
 * ```
 */
export function framingCoreSpec(name: string, make: () => FramingCore): void {
  /** Runs `fn` with a fresh core and one open region, then checks nothing leaked. */
  function test(behaviour: string, fn: (core: FramingCore, id: number) => void): void {
    Deno.test(`${name} ${behaviour}`, () => {
      const core = make();
      const regions = core.liveRegions;
      const bytes = core.liveBytes;
      const id = core.open();
      fn(core, id);
      core.close(id);
      assert.equal(core.liveRegions, regions);
      assert.equal(core.liveBytes, bytes);
    });
  }

  test("opens regions with distinct positive ids", (core, id) => {
    const ids = [id, core.open(), core.open()];
    assert.ok(ids.every((i) => Number.isInteger(i) && i > 0));
    assert.equal(new Set(ids).size, 3);
    core.close(ids[1]!);
    core.close(ids[2]!);
  });

  test("splits on a one-byte delimiter", (core, id) => {
    core.setRule(id, delimiter("\n"));
    core.append(id, encoder.encode("alpha\nbeta\ngam"));
    assert.deepEqual(scanTexts(core, id), ["alpha", "beta"]);
    assert.deepEqual(triples(core, 2), [[0, 5, 6], [6, 10, 11]]);
    core.consume(id, 11);
    assert.equal(decoder.decode(rest(core, id)), "gam");
  });

  test("splits on a multi-byte delimiter and drops it", (core, id) => {
    core.setRule(id, delimiter("\r\n"));
    core.append(id, encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody\r"));
    assert.deepEqual(scanTexts(core, id), ["GET / HTTP/1.1", "Host: x", ""]);
    assert.deepEqual(triples(core, 3), [[0, 14, 16], [16, 23, 25], [25, 25, 27]]);
  });

  test("splits on a long delimiter", (core, id) => {
    const long = "--boundary-" + "x".repeat(100) + "--";
    core.setRule(id, delimiter(long));
    core.append(id, encoder.encode(`one${long}two${long}${long}three-${long.slice(0, 50)}`));
    assert.deepEqual(drainTexts(core, id), ["one", "two", ""]);
    assert.equal(decoder.decode(rest(core, id)), `three-${long.slice(0, 50)}`);
  });

  test("reports empty frames between consecutive delimiters", (core, id) => {
    core.setRule(id, delimiter(","));
    core.append(id, encoder.encode(",,a,,"));
    assert.deepEqual(scanTexts(core, id), ["", "", "a", ""]);
    core.consume(id, 5);
    core.setRule(id, delimiter("ab"));
    core.append(id, encoder.encode("ababxabab"));
    assert.deepEqual(scanTexts(core, id), ["", "", "x", ""]);
  });

  test("finds one-byte delimiters at every offset within SIMD blocks", (core, id) => {
    core.setRule(id, delimiter("\n"));
    const lines: string[] = [];
    for (let length = 0; length < 200; length++) lines.push("y".repeat(length));
    core.append(id, encoder.encode(lines.join("\n") + "\n"));
    assert.deepEqual(drainTexts(core, id), lines);
    assert.equal(core.buffered(id), 0);
  });

  test("finds multi-byte delimiters at every offset within SIMD blocks", (core, id) => {
    core.setRule(id, delimiter("\r\n"));
    const lines: string[] = [];
    for (let length = 0; length < 200; length++) {
      lines.push("\r".repeat(length % 3) + "z".repeat(length));
    }
    core.append(id, encoder.encode(lines.join("\r\n") + "\r\n"));
    assert.deepEqual(drainTexts(core, id), lines);
  });

  test("does not report overlapping delimiters twice", (core, id) => {
    core.setRule(id, delimiter("aa"));
    core.append(id, encoder.encode("xaaay"));
    assert.deepEqual(drainTexts(core, id), ["x"]);
    assert.equal(decoder.decode(rest(core, id)), "ay");
    core.consume(id, 2);
    core.setRule(id, delimiter("aba"));
    core.append(id, encoder.encode("1ababa2aba"));
    assert.deepEqual(drainTexts(core, id), ["1", "ba2"]);
  });

  test("finds a delimiter split across appends at every position", (core, id) => {
    for (const delim of ["\n", "\r\n", "<=>", "-----"]) {
      core.setRule(id, delimiter(delim));
      const message = `first${delim}second line${delim}${delim}third${delim}`;
      for (let cut = 0; cut <= message.length; cut++) {
        core.append(id, encoder.encode(message.slice(0, cut)));
        const got = drainTexts(core, id);
        core.append(id, encoder.encode(message.slice(cut)));
        got.push(...drainTexts(core, id));
        assert.deepEqual(
          got,
          ["first", "second line", "", "third"],
          `delimiter ${JSON.stringify(delim)} cut ${cut}`,
        );
        assert.equal(core.buffered(id), 0);
      }
    }
  });

  test("scans incrementally as bytes arrive one at a time", (core, id) => {
    for (const delim of ["\n", "\r\n", "abc"]) {
      core.setRule(id, delimiter(delim));
      const lines = ["", "one", "a".repeat(70), "b", "ab", "c".repeat(300), ""];
      const message = encoder.encode(lines.join(delim) + delim);
      const got: string[] = [];
      for (let i = 0; i < message.length; i++) {
        core.append(id, message.subarray(i, i + 1));
        got.push(...drainTexts(core, id));
      }
      assert.deepEqual(got, lines, `delimiter ${JSON.stringify(delim)}`);
    }
  });

  test("rescans scanned bytes when the frames are not consumed", (core, id) => {
    core.setRule(id, delimiter("\n"));
    core.append(id, encoder.encode("a\nbb\nccc"));
    assert.deepEqual(scanTexts(core, id), ["a", "bb"]);
    assert.deepEqual(scanTexts(core, id), ["a", "bb"]);
    core.consume(id, 2);
    assert.deepEqual(scanTexts(core, id), ["bb"]);
    core.append(id, encoder.encode("\n"));
    assert.deepEqual(scanTexts(core, id), ["bb", "ccc"]);
  });

  test("resumes a pending frame after its start is consumed up to", (core, id) => {
    core.setRule(id, delimiter("\r\n"));
    core.append(id, encoder.encode("x\r\nlong"));
    assert.deepEqual(scanTexts(core, id), ["x"]);
    core.consume(id, 3);
    core.append(id, encoder.encode(" line\r"));
    assert.deepEqual(scanTexts(core, id), []);
    core.append(id, encoder.encode("\nnext"));
    assert.deepEqual(scanTexts(core, id), ["long line"]);
  });

  test("rescans the rest of the buffer with a rule set mid-buffer", (core, id) => {
    core.setRule(id, delimiter("\n"));
    core.append(id, encoder.encode("HEAD\n\x00\x03abc\x00\x01z12345\n"));
    assert.deepEqual(scanTexts(core, id), ["HEAD", "\x00\x03abc\x00\x01z12345"]);
    core.consume(id, 5);
    core.setRule(id, record(step(0, 2)));
    assert.deepEqual(scanTexts(core, id), ["\x00\x03abc", "\x00\x01z"]);
    core.consume(id, 8);
    core.setRule(id, { kind: "fixed", size: 2 });
    assert.deepEqual(scanTexts(core, id), ["12", "34", "5\n"]);
    core.consume(id, 4);
    core.setRule(id, delimiter("\n"));
    assert.deepEqual(scanTexts(core, id), ["5"]);
  });

  test("forgets a pending search when the rule changes", (core, id) => {
    core.setRule(id, delimiter("\n"));
    core.append(id, encoder.encode("abc;def"));
    assert.deepEqual(scanTexts(core, id), []);
    core.setRule(id, delimiter(";"));
    assert.deepEqual(scanTexts(core, id), ["abc"]);
  });

  test("splits fixed-size frames", (core, id) => {
    core.setRule(id, { kind: "fixed", size: 3 });
    core.append(id, encoder.encode("abcdefgh"));
    assert.deepEqual(scanTexts(core, id), ["abc", "def"]);
    assert.deepEqual(triples(core, 2), [[0, 3, 3], [3, 6, 6]]);
    core.consume(id, 6);
    core.append(id, encoder.encode("i"));
    assert.deepEqual(scanTexts(core, id), ["ghi"]);
  });

  for (const width of [1, 2, 4, 8] as const) {
    for (const littleEndian of [false, true]) {
      const order = littleEndian ? "little" : "big";
      test(`splits records with a ${width}-byte ${order}-endian length prefix`, (core, id) => {
        core.setRule(id, record(step(0, width, littleEndian)));
        const data = concat(
          prefixBytes(width, 3, littleEndian),
          encoder.encode("abc"),
          prefixBytes(width, 0, littleEndian),
          prefixBytes(width, 2, littleEndian),
          encoder.encode("x"),
        );
        core.append(id, data);
        const count = core.scan(id, BIG);
        assert.equal(count, 2);
        assert.deepEqual(triples(core, 2), [[0, width + 3, width + 3], [
          width + 3,
          2 * width + 3,
          2 * width + 3,
        ]]);
        core.consume(id, 2 * width + 3);
        assert.equal(core.scan(id, BIG), 0);
        core.append(id, encoder.encode("y"));
        assert.equal(core.scan(id, BIG), 1);
        assert.deepEqual(triples(core, 1), [[0, width + 2, width + 2]]);
      });
    }
  }

  test("splits records of several steps", (core, id) => {
    // 2 fixed bytes, a 2-byte big-endian length, then 1 fixed byte, a 1-byte length, then 3 fixed bytes.
    core.setRule(id, record(step(2, 2), step(1, 1), step(3, 0)));
    const one = bytesOf("HH\x00\x02abT\x01cEND");
    const two = bytesOf("HH\x00\x00T\x00END");
    core.append(id, concat(one, two, one.subarray(0, 7)));
    assert.deepEqual(drain(core, id), [one, two]);
    core.append(id, one.subarray(7));
    assert.deepEqual(drain(core, id), [one]);
  });

  test("splits records whose prefix is split across appends at every position", (core, id) => {
    core.setRule(id, record(step(1, 4, true), step(0, 2)));
    const message = concat(bytesOf("T"), prefixBytes(4, 2, true), bytesOf("ab\x00\x01c"));
    for (let cut = 0; cut <= message.length; cut++) {
      core.append(id, message.subarray(0, cut));
      const got = drain(core, id);
      core.append(id, message.subarray(cut));
      got.push(...drain(core, id));
      assert.deepEqual(got, [message], `cut ${cut}`);
    }
  });

  test("accepts a frame that takes exactly the limit", (core, id) => {
    core.setRule(id, delimiter("\r\n"));
    core.append(id, encoder.encode("12345678\r\n"));
    assert.equal(core.scan(id, 10), 1);
    assert.equal(core.scan(id, 9), SCAN_OVERFLOW);
    assert.equal(core.overflowBytes, 10);
    core.consume(id, 10);
    core.setRule(id, { kind: "fixed", size: 4 });
    core.append(id, encoder.encode("abcd"));
    assert.equal(core.scan(id, 4), 1);
    core.consume(id, 4);
    core.setRule(id, record(step(1, 1)));
    core.append(id, bytesOf("R\x03xyz"));
    assert.equal(core.scan(id, 5), 1);
    assert.equal(core.scan(id, 4), SCAN_OVERFLOW);
    assert.equal(core.overflowBytes, 5);
  });

  test("overflows when no delimiter is found within the limit", (core, id) => {
    core.setRule(id, delimiter("\n"));
    core.append(id, encoder.encode("123456789"));
    assert.equal(core.scan(id, 10), 0);
    core.append(id, encoder.encode("0"));
    assert.equal(core.scan(id, 10), SCAN_OVERFLOW);
    assert.equal(core.overflowBytes, 10);
    core.setRule(id, delimiter("\r\n"));
    core.append(id, encoder.encode("abc\r"));
    assert.equal(core.scan(id, 20), 0);
    assert.equal(core.scan(id, 14), SCAN_OVERFLOW);
    assert.equal(core.overflowBytes, 14);
  });

  test("overflows when the delimiter ends beyond the limit", (core, id) => {
    core.setRule(id, delimiter("\r\n"));
    core.append(id, encoder.encode("0123456789\r\n"));
    assert.equal(core.scan(id, 11), SCAN_OVERFLOW);
    assert.equal(core.overflowBytes, 12);
  });

  test("reports the frames before an overflowing one first", (core, id) => {
    core.setRule(id, delimiter("\n"));
    core.append(id, encoder.encode("ok\nfine\n" + "x".repeat(50)));
    assert.deepEqual(scanTexts(core, id, 10), ["ok", "fine"]);
    core.consume(id, 8);
    assert.equal(core.scan(id, 10), SCAN_OVERFLOW);
    assert.equal(core.overflowBytes, 50);
  });

  test(
    "overflows on a record length beyond the limit as soon as the prefix arrives",
    (core, id) => {
      core.setRule(id, record(step(2, 2), step(0, 0)));
      core.append(id, bytesOf("AB\x01"));
      assert.equal(core.scan(id, 100), 0);
      core.append(id, bytesOf("\x00"));
      assert.equal(core.scan(id, 100), SCAN_OVERFLOW);
      assert.equal(core.overflowBytes, 4 + 256);
      assert.equal(core.scan(id, 260), 0);
    },
  );

  test("counts the fixed parts after a prefix in the declared length", (core, id) => {
    core.setRule(id, record(step(0, 1), step(10, 1)));
    core.append(id, bytesOf("\x05"));
    assert.equal(core.scan(id, 17), 0);
    assert.equal(core.scan(id, 16), SCAN_OVERFLOW);
    assert.equal(core.overflowBytes, 17);
  });

  test("overflows on a 4 GiB four-byte length prefix", (core, id) => {
    core.setRule(id, record(step(0, 4)));
    core.append(id, bytesOf("\xff\xff\xff\xff"));
    assert.equal(core.scan(id, 2 ** 31 - 1), SCAN_OVERFLOW);
    assert.equal(core.overflowBytes, 2 ** 32 - 1 + 4);
  });

  test("overflows on an eight-byte length prefix above 2^53", (core, id) => {
    core.setRule(id, record(step(0, 8, true)));
    core.append(id, prefixBytes(8, 2n ** 53n + 1n, true));
    assert.equal(core.scan(id, Number.MAX_SAFE_INTEGER), SCAN_OVERFLOW);
    assert.equal(core.overflowBytes, 2 ** 53);
    core.consume(id, 8);
    core.append(id, prefixBytes(8, 2n ** 64n - 1n, true));
    assert.equal(core.scan(id, 2 ** 40), SCAN_OVERFLOW);
    assert.equal(core.overflowBytes, 2 ** 53);
  });

  test("overflows on a record whose fixed parts alone exceed the limit", (core, id) => {
    core.setRule(id, record(step(60, 2), step(40, 0)));
    assert.equal(core.scan(id, 102), 0);
    assert.equal(core.scan(id, 101), SCAN_OVERFLOW);
    assert.equal(core.overflowBytes, 102);
  });

  const kinds: [string, FrameRule, (i: number) => Uint8Array][] = [
    ["a one-byte delimiter", delimiter("\n"), (i) => encoder.encode(`${i % 10}\n`)],
    ["a two-byte delimiter", delimiter("\r\n"), (i) => encoder.encode(`${i % 10}\r\n`)],
    [
      "fixed-size frames",
      { kind: "fixed", size: 2 },
      (i) => encoder.encode(`${i % 100}`.padStart(2, "0")),
    ],
    ["records", record(step(0, 1)), (i) => bytesOf(`\x01${i % 10}`)],
  ];
  for (const [kind, rule, frame] of kinds) {
    test(`reports at most MAX_FRAMES_PER_SCAN frames per scan with ${kind}`, (core, id) => {
      core.setRule(id, rule);
      const frames = Array.from({ length: 2 * MAX_FRAMES_PER_SCAN + 7 }, (_, i) => frame(i));
      core.append(id, concat(...frames));
      assert.equal(core.scan(id, BIG), MAX_FRAMES_PER_SCAN);
      const got = drain(core, id);
      assert.equal(got.length, frames.length);
      assert.equal(core.buffered(id), 0);
    });
  }

  test("reports no frames before a rule is set", (core, id) => {
    core.append(id, encoder.encode("a\nb\n"));
    assert.equal(core.scan(id, 1), 0);
  });

  test("keeps unconsumed bytes intact through compaction and growth", (core, id) => {
    core.setRule(id, delimiter("\n"));
    const expected: string[] = [];
    let pending = "";
    const got: string[] = [];
    for (let i = 0; i < 400; i++) {
      const line = `${i}:` + "#".repeat((i * 37) % 900);
      expected.push(line);
      pending += line + "\n";
      // Feed in uneven pieces, sometimes leaving much unconsumed.
      if (i % 7 === 6 || pending.length > 3000) {
        const cut = Math.floor(pending.length * 0.6);
        core.append(id, encoder.encode(pending.slice(0, cut)));
        got.push(...drainTexts(core, id));
        core.append(id, encoder.encode(pending.slice(cut)));
        pending = "";
        if (i % 3 === 0) got.push(...drainTexts(core, id));
      }
    }
    core.append(id, encoder.encode(pending));
    got.push(...drainTexts(core, id));
    assert.deepEqual(got, expected);
  });

  test("consume drops bytes from the front", (core, id) => {
    core.append(id, encoder.encode("hello world"));
    core.consume(id, 6);
    assert.equal(core.buffered(id), 5);
    assert.equal(decoder.decode(rest(core, id)), "world");
    core.consume(id, 0);
    assert.equal(core.buffered(id), 5);
    core.consume(id, 5);
    assert.equal(core.buffered(id), 0);
  });

  test("consume rejects more bytes than are buffered", (core, id) => {
    core.append(id, encoder.encode("abc"));
    assert.throws(() => core.consume(id, 4), RangeError);
    assert.equal(core.buffered(id), 3);
  });

  test("trim shrinks an empty region to its minimum capacity", (core, id) => {
    const minimum = core.liveBytes;
    core.append(id, new Uint8Array(100_000));
    assert.ok(core.liveBytes >= minimum + 100_000);
    core.consume(id, 100_000);
    core.trim(id);
    assert.equal(core.liveBytes, minimum);
    core.trim(id);
    assert.equal(core.liveBytes, minimum);
    core.append(id, encoder.encode("still works"));
    assert.equal(decoder.decode(rest(core, id)), "still works");
  });

  test("trim keeps the unconsumed bytes of a near-empty region", (core, id) => {
    const minimum = core.liveBytes;
    core.setRule(id, delimiter("\n"));
    core.append(id, encoder.encode("x".repeat(5000) + "\npartial line"));
    assert.deepEqual(drainTexts(core, id), ["x".repeat(5000)]);
    core.trim(id);
    assert.equal(core.liveBytes, minimum);
    assert.equal(decoder.decode(rest(core, id)), "partial line");
    core.append(id, encoder.encode(" ends\n"));
    assert.deepEqual(drainTexts(core, id), ["partial line ends"]);
  });

  test("trim leaves a region holding more than its minimum capacity alone", (core, id) => {
    core.append(id, new Uint8Array(5000).fill(7));
    const capacity = core.liveBytes;
    core.consume(id, 1000);
    core.trim(id);
    assert.equal(core.liveBytes, capacity);
    assert.deepEqual(rest(core, id), new Uint8Array(4000).fill(7));
  });

  test("trim keeps views fetched before it readable", (core, id) => {
    core.setRule(id, delimiter("\n"));
    core.append(id, encoder.encode("y".repeat(3000) + "\nabc"));
    assert.equal(core.scan(id, BIG), 1);
    core.consume(id, 3001);
    const bytes = core.bytes(id);
    const base = core.base(id);
    core.trim(id);
    assert.equal(decoder.decode(bytes.subarray(base, base + 3)), "abc");
    assert.equal(decoder.decode(rest(core, id)), "abc");
  });

  test("setRule keeps views fetched before it readable", (core, id) => {
    core.setRule(id, delimiter("\n"));
    core.append(id, encoder.encode("one\ntwo"));
    assert.equal(core.scan(id, BIG), 1);
    const bytes = core.bytes(id);
    const [start, end] = [core.base(id) + core.frames[0]!, core.base(id) + core.frames[1]!];
    core.setRule(id, delimiter("x".repeat(MAX_DELIMITER_LENGTH)));
    core.setRule(id, record(...Array.from({ length: MAX_RECORD_STEPS }, () => step(1, 1))));
    assert.equal(decoder.decode(bytes.subarray(start, end)), "one");
  });

  test("counts open regions and their capacities", (core, id) => {
    const regions = core.liveRegions;
    const bytes = core.liveBytes;
    assert.ok(regions >= 1 && bytes > 0);
    const other = core.open();
    assert.equal(core.liveRegions, regions + 1);
    const minimum = core.liveBytes - bytes;
    assert.ok(minimum >= 256 && minimum <= 1024, `minimum capacity ${minimum}`);
    core.append(other, new Uint8Array(10_000));
    assert.ok(core.liveBytes - bytes >= 10_000);
    assert.equal(core.liveBytes, bytes + 16384);
    core.close(other);
    assert.equal(core.liveRegions, regions);
    assert.equal(core.liveBytes, bytes);
    core.append(id, new Uint8Array(1_000_000));
    assert.equal(core.liveBytes, bytes - minimum + 2 ** 20);
  });

  test("keeps many regions apart while memory grows", (core, id) => {
    const ids = [id];
    for (let i = 1; i < 300; i++) ids.push(core.open());
    ids.forEach((region, i) => core.setRule(region, delimiter(i % 2 ? "\n" : "\r\n")));
    const sent: string[][] = ids.map(() => []);
    const got: string[][] = ids.map(() => []);
    for (let round = 0; round < 8; round++) {
      ids.forEach((region, i) => {
        const delim = i % 2 ? "\n" : "\r\n";
        const lines = Array.from(
          { length: 1 + ((i + round) % 5) },
          (_, j) => `${i}.${round}.${j}` + "=".repeat((i * 131 + round * 17 + j) % 700),
        );
        sent[i]!.push(...lines);
        // Keep the first half of the data unconsumed so regions grow and memory with them.
        core.append(region, encoder.encode(lines.map((line) => line + delim).join("")));
        if (round % 2 === 1) got[i]!.push(...drainTexts(core, region));
      });
    }
    ids.forEach((region, i) => {
      got[i]!.push(...drainTexts(core, region));
      assert.deepEqual(got[i], sent[i], `region ${i}`);
    });
    assert.equal(core.liveRegions >= 300, true);
    for (const region of ids.slice(1)) core.close(region);
  });

  test("reuses the memory of closed regions", (core, id) => {
    core.setRule(id, delimiter("\n"));
    for (let i = 0; i < 50; i++) {
      const other = core.open();
      core.setRule(other, { kind: "fixed", size: 5 });
      core.append(other, new Uint8Array(200_000).fill(i));
      assert.equal(core.scan(other, BIG), MAX_FRAMES_PER_SCAN);
      core.close(other);
    }
    core.append(id, encoder.encode("still\n"));
    assert.deepEqual(drainTexts(core, id), ["still"]);
  });

  test("rejects invalid rules", (core, id) => {
    assert.throws(
      () => core.setRule(id, { kind: "delimiter", delimiter: new Uint8Array(0) }),
      RangeError,
    );
    assert.throws(
      () =>
        core.setRule(id, {
          kind: "delimiter",
          delimiter: new Uint8Array(MAX_DELIMITER_LENGTH + 1),
        }),
      RangeError,
    );
    assert.throws(
      () => core.setRule(id, { kind: "delimiter", delimiter: "\n" as unknown as Uint8Array }),
      TypeError,
    );
    assert.throws(() => core.setRule(id, { kind: "fixed", size: 0 }), RangeError);
    assert.throws(() => core.setRule(id, { kind: "fixed", size: 1.5 }), RangeError);
    assert.throws(() => core.setRule(id, record()), RangeError);
    assert.throws(() => core.setRule(id, record(step(0, 0))), RangeError);
    assert.throws(() => core.setRule(id, record(step(0, 3 as 2))), RangeError);
    assert.throws(
      () =>
        core.setRule(id, record(...Array.from({ length: MAX_RECORD_STEPS + 1 }, () => step(1, 0)))),
      RangeError,
    );
    assert.throws(() => core.setRule(id, { kind: "regex" } as unknown as FrameRule), TypeError);
    core.setRule(id, delimiter("\n"));
    core.append(id, encoder.encode("ok\n"));
    assert.deepEqual(scanTexts(core, id), ["ok"]);
  });

  test(
    "frame returns the bytes at an index of bytes(id), for every length up to 300",
    (core, id) => {
      const data = Uint8Array.from({ length: 700 }, (_, i) => (i * 7 + 3) & 0xff);
      core.append(id, data);
      core.bytes(id);
      const base = core.base(id);
      for (let length = 0; length <= 300; length++) {
        const at = base + (length * 13) % 400;
        const frame = core.frame(id, at, length);
        assert.equal(frame.length, length);
        assert.deepEqual([...frame], [...data.subarray(at - base, at - base + length)]);
      }
    },
  );
}
