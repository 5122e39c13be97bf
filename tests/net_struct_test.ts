import assert from "node:assert/strict";
import { NetStruct, Struct, type StructValue } from "../mod.ts";

const text = new TextEncoder();

/** Values made comparable: byte strings as arrays. */
function plain(values: readonly StructValue[]): unknown[] {
  return values.map((v) => (v instanceof Uint8Array ? Array.from(v) : v));
}

// ---- Formats ----

Deno.test("NetStruct.minimumSize counts fixed fields and prefixes with empty payloads", () => {
  assert.equal(new NetStruct("!H$").minimumSize, 2);
  assert.equal(new NetStruct("!BH$I").minimumSize, 7);
  assert.equal(new NetStruct("<I$I$").minimumSize, 8);
  assert.equal(new NetStruct("!Q$ 3s B$").minimumSize, 12);
});

Deno.test("NetStruct.format and valueCount describe the format without the prefixes", () => {
  const record = new NetStruct("!BH$2hI$");
  assert.equal(record.format, "!BH$2hI$");
  assert.equal(record.valueCount, 5);
});

Deno.test("NetStruct rejects native order and a missing byte order with a TypeError", () => {
  assert.throws(() => new NetStruct("@H$"), {
    name: "TypeError",
    message:
      'Invalid NetStruct format "@H$": native byte order and alignment "@" is not supported; start the format with "!", ">", "<" or "="',
  });
  assert.throws(() => new NetStruct("H$"), /a byte order prefix is required/);
});

Deno.test("NetStruct rejects a count on a length prefix, naming its index", () => {
  assert.throws(() => new NetStruct("!2H$"), {
    name: "TypeError",
    message:
      'Invalid NetStruct format "!2H$": the length prefix "H" at index 2 cannot have a count',
  });
});

Deno.test("NetStruct rejects a signed or non-integer length prefix", () => {
  assert.throws(
    () => new NetStruct("!h$"),
    /the length prefix "h" at index 1 must be an unsigned integer code; use "H"/,
  );
  for (const format of ["!e$", "!4s$", "!?$", "!c$", "!x$", "!d$"]) {
    assert.throws(() => new NetStruct(format), TypeError, format);
  }
});

Deno.test("NetStruct rejects a $ that does not directly follow an integer code", () => {
  for (const format of ["!$", "!H $", "!H$$", "! $H"]) {
    assert.throws(() => new NetStruct(format), /"\$" at index \d+ must directly follow/, format);
  }
});

Deno.test("NetStruct rejects the format errors Struct rejects", () => {
  assert.throws(
    () => new NetStruct("!H$Z"),
    /^TypeError: Invalid NetStruct format "!H\$Z": unknown code "Z" at index 3/,
  );
  assert.throws(() => new NetStruct("!H$<"), TypeError);
  assert.throws(() => new NetStruct("!3"), TypeError);
  assert.throws(() => new NetStruct("!n$"), TypeError);
});

Deno.test("NetStruct rejects a format describing an empty record", () => {
  assert.throws(() => new NetStruct("!"), /describes an empty record/);
  assert.throws(() => new NetStruct("< 0s"), TypeError);
});

Deno.test("NetStruct accepts every unsigned prefix width in every explicit byte order", () => {
  for (const order of "=<>!") {
    for (const code of "BHILQ") {
      const record = new NetStruct(`${order}${code}$`);
      assert.equal(record.minimumSize, new Struct(`${order}${code}`).size);
    }
  }
});

// ---- Packing ----

Deno.test("NetStruct.pack writes the computed length before each payload", () => {
  const record = new NetStruct("!BH$I");
  const expected = new Struct("!BH5sI").pack(7, 5, "hello", 42);
  assert.deepEqual(record.pack(7, "hello", 42), expected);
  assert.deepEqual(record.pack(7, text.encode("hello"), 42), expected);
});

Deno.test("NetStruct.pack matches Struct byte for byte for each prefix width and order", () => {
  const payload = new Uint8Array([1, 2, 3]);
  for (const order of "=<>!") {
    for (const code of "BHILQ") {
      const length = code === "Q" ? 3n : 3;
      const expected = new Struct(`${order}b${code}3sH`).pack(-1, length, payload, 0x102);
      assert.deepEqual(
        new NetStruct(`${order}b${code}$H`).pack(-1, payload, 0x102),
        expected,
        `${order}${code}`,
      );
    }
  }
});

Deno.test("NetStruct.pack handles several payloads, empty ones included", () => {
  const record = new NetStruct("<B$B$B$");
  assert.deepEqual(Array.from(record.pack("ab", "", "c")), [2, 0x61, 0x62, 0, 1, 0x63]);
});

Deno.test("NetStruct.pack measures a string payload in UTF-8 bytes", () => {
  assert.deepEqual(Array.from(new NetStruct("!B$").pack("é")), [2, 0xc3, 0xa9]);
});

Deno.test("NetStruct.pack throws RangeError when a payload is too long for its prefix", () => {
  const record = new NetStruct("!B$");
  assert.doesNotThrow(() => record.pack(new Uint8Array(255)));
  assert.throws(() => record.pack(new Uint8Array(256)), {
    name: "RangeError",
    message:
      'NetStruct "!B$" argument 0 ("B$") is 256 bytes, more than the prefix "B" can declare (255); use a wider prefix',
  });
  assert.throws(() => new NetStruct("<H$").pack(new Uint8Array(65536)), RangeError);
});

Deno.test("NetStruct.pack throws TypeError for a wrong number of values", () => {
  assert.throws(
    () => new NetStruct("!BH$I").pack(7, 5, "hello", 42),
    /packs 3 value\(s\), got 4; pass one value per field, without the lengths/,
  );
  assert.throws(() => new NetStruct("!H$").pack(), TypeError);
});

Deno.test("NetStruct.pack throws TypeError for a payload that is not bytes or a string", () => {
  assert.throws(
    () => new NetStruct("!H$").pack(5),
    /argument 0 \("H\$"\) must be a Uint8Array or a string, got 5/,
  );
});

Deno.test("NetStruct.pack checks fixed fields like Struct", () => {
  assert.throws(() => new NetStruct("!BH$").pack(256, ""), RangeError);
  assert.throws(() => new NetStruct("!H$b").pack("", "x"), TypeError);
});

// ---- Unpacking ----

Deno.test("NetStruct.unpack returns the fields without the lengths", () => {
  const record = new NetStruct("!BH$2hI$");
  const bytes = record.pack(1, "abc", -2, 3, new Uint8Array([9]));
  assert.deepEqual(plain(record.unpack(bytes)), [1, [0x61, 0x62, 0x63], -2, 3, [9]]);
});

Deno.test("NetStruct.unpack reads 64-bit fields and prefixes", () => {
  const record = new NetStruct("<qQ$");
  assert.deepEqual(plain(record.unpack(record.pack(-5n, "z"))), [-5n, [0x7a]]);
});

Deno.test("NetStruct.unpack throws RangeError unless given exactly one record", () => {
  const record = new NetStruct("!H$");
  const bytes = record.pack("hello");
  assert.throws(
    () => record.unpack(bytes.subarray(0, 6)),
    /is incomplete: it is 7 bytes, but only 6 bytes are available/,
  );
  assert.throws(() => record.unpack(bytes.subarray(0, 1)), /its length prefixes are incomplete/);
  const longer = new Uint8Array(8);
  longer.set(bytes);
  assert.throws(() => record.unpack(longer), /the record is 7 bytes, got 8; use unpackFrom\(\)/);
});

Deno.test("NetStruct.unpack returns payloads as views into the input", () => {
  const bytes = new NetStruct("!B$").pack("ab");
  const [payload] = new NetStruct("!B$").unpack(bytes) as [Uint8Array];
  assert.equal(payload.buffer, bytes.buffer);
  assert.equal(payload.byteOffset, 1);
});

Deno.test("NetStruct.unpackFrom returns the values and size of consecutive records", () => {
  const record = new NetStruct("!BH$");
  const a = record.pack(1, "xy");
  const b = record.pack(2, "");
  const buffer = new Uint8Array([...a, ...b, 0xff]);
  const first = record.unpackFrom(buffer, 0);
  assert.equal(first.size, 5);
  assert.deepEqual(plain(first.values), [1, [0x78, 0x79]]);
  const second = record.unpackFrom(buffer, first.size);
  assert.equal(second.size, 3);
  assert.deepEqual(plain(second.values), [2, []]);
  assert.throws(() => record.unpackFrom(buffer, first.size + second.size), RangeError);
});

Deno.test("NetStruct.unpackFrom throws RangeError for a bad offset", () => {
  const record = new NetStruct("!B$");
  assert.throws(() => record.unpackFrom(new Uint8Array(4), -1), RangeError);
  assert.throws(() => record.unpackFrom(new Uint8Array(4), 1.5), RangeError);
});

// ---- Measuring and framing ----

Deno.test("NetStruct.recordSize is -1 until every prefix is readable, then the full size", () => {
  const record = new NetStruct("!BH$xI$H");
  const bytes = record.pack(1, "abc", "defgh", 7);
  assert.equal(bytes.length, 1 + 2 + 3 + 1 + 4 + 5 + 2);
  const prefixesEnd = 1 + 2 + 3 + 1 + 4;
  for (let n = 0; n <= bytes.length; n++) {
    const expected = n < prefixesEnd ? -1 : bytes.length;
    assert.equal(record.recordSize(bytes.subarray(0, n)), expected, `after ${n} bytes`);
  }
});

Deno.test("NetStruct.recordSize reads at an offset", () => {
  const record = new NetStruct("<H$");
  const buffer = new Uint8Array([0xaa, 0xbb, 3, 0, 1, 2, 3]);
  assert.equal(record.recordSize(buffer, 2), 5);
  assert.equal(record.recordSize(buffer, 6), -1);
  assert.equal(record.recordSize(buffer, 9), -1);
});

Deno.test("NetStruct.recordSize reports a hostile 4 GiB length without reading the payload", () => {
  assert.equal(
    new NetStruct("!I$").recordSize(new Uint8Array([0xff, 0xff, 0xff, 0xff])),
    4 + 0xffff_ffff,
  );
  const huge = new NetStruct("<Q$").recordSize(new Uint8Array([0, 0, 0, 0, 0, 1, 0, 0]));
  assert.equal(huge, 8 + 2 ** 40);
});

Deno.test("NetStruct.rule has one step per prefix and a trailing fixed step", () => {
  assert.deepEqual(new NetStruct("!BH$xI$H").rule, {
    kind: "record",
    steps: [
      { fixed: 1, prefix: 2, littleEndian: false },
      { fixed: 1, prefix: 4, littleEndian: false },
      { fixed: 2, prefix: 0, littleEndian: false },
    ],
  });
  assert.deepEqual(new NetStruct("<Q$").rule, {
    kind: "record",
    steps: [{ fixed: 0, prefix: 8, littleEndian: true }, {
      fixed: 0,
      prefix: 0,
      littleEndian: true,
    }],
  });
  assert.deepEqual(new NetStruct(">2H4s").rule, {
    kind: "record",
    steps: [{ fixed: 8, prefix: 0, littleEndian: false }],
  });
});

Deno.test("NetStruct.rule is one frozen object", () => {
  const record = new NetStruct("!H$");
  assert.equal(record.rule, record.rule);
  assert.ok(Object.isFrozen(record.rule));
  assert.ok(record.rule.kind === "record" && Object.isFrozen(record.rule.steps[0]));
});

Deno.test("NetStruct.rule measures records as recordSize does", () => {
  const record = new NetStruct("=BL$hB$");
  const bytes = record.pack(3, "abcd", -1, "xyz");
  const rule = record.rule;
  assert.ok(rule.kind === "record");
  let size = 0;
  for (const step of rule.steps) {
    size += step.fixed;
    if (step.prefix === 0) continue;
    const view = new DataView(bytes.buffer, size, step.prefix);
    const length = step.prefix === 1
      ? view.getUint8(0)
      : step.prefix === 2
      ? view.getUint16(0, step.littleEndian)
      : view.getUint32(0, step.littleEndian);
    size += step.prefix + length;
  }
  assert.equal(size, bytes.length);
  assert.equal(record.recordSize(bytes), bytes.length);
});

Deno.test("NetStruct.rule throws TypeError beyond 23 length prefixes, while packing still works", () => {
  assert.equal(new NetStruct(`!${"B$".repeat(23)}`).rule.kind, "record");
  const many = new NetStruct(`!${"B$".repeat(24)}`);
  assert.throws(() => many.rule, /has 24 length prefixes, more than the 23 a stream can frame/);
  const values = Array.from({ length: 24 }, (_, i) => String(i));
  assert.deepEqual(
    plain(many.unpack(many.pack(...values))),
    values.map((v) => Array.from(text.encode(v))),
  );
});
