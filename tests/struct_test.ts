import assert from "node:assert/strict";
import { Struct, type StructInput, type StructValue } from "../mod.ts";
import vectors from "./data/struct_vectors.json" with { type: "json" };

// ---- Vectors from Python's struct module (tests/data/make_struct_vectors.py) ----

type Encoded = number | boolean | { bigint: string } | { bytes: string } | { float: string };

function decode(value: Encoded): StructInput {
  if (typeof value !== "object") return value;
  if ("bigint" in value) return BigInt(value.bigint);
  if ("bytes" in value) return fromHex(value.bytes);
  return { nan: NaN, inf: Infinity, "-inf": -Infinity, "-0": -0 }[value.float]!;
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Values made comparable: byte strings as arrays, numbers kept (NaN, -0 checked by `same`). */
function plain(values: readonly (StructValue | StructInput)[]): unknown[] {
  return values.map((v) => (v instanceof Uint8Array ? Array.from(v) : v));
}

function assertSameValues(
  actual: readonly StructValue[],
  expected: readonly StructInput[],
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: value count`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (typeof e === "number" && typeof a === "number") {
      assert.ok(Object.is(a, e), `${what}: value ${i} is ${a}, expected ${e}`);
    } else {
      assert.deepEqual(plain([a!]), plain([e!]), `${what}: value ${i}`);
    }
  }
}

/** Native "@"/"=" vectors hold only where Python's platform matches ours. */
const nativeMatches = vectors.native.byteorder ===
    (new Struct("=H").pack(1)[0] === 1 ? "little" : "big") &&
  vectors.native.long === new Struct("@l").size;

/** Whether a format's bytes are the same on every platform. */
const portable = (format: string): boolean => "<>!".includes(format[0] || "@");

function applicable<T extends { format: string }>(list: T[]): T[] {
  return list.filter((v) => nativeMatches || portable(v.format));
}

const isFloat = (format: string): boolean => /^[@=<>!][efd]$/.test(format);
const isInt = (format: string): boolean => /^[@=<>!][bBhHiIlLqQnNP]$/.test(format);

function checkPackVectors(filter: (format: string) => boolean): void {
  const cases = applicable(vectors.pack).filter((v) => filter(v.format));
  assert.ok(cases.length > 0);
  for (const v of cases) {
    const struct = new Struct(v.format);
    const values = (v.values as Encoded[]).map(decode);
    const what = `${JSON.stringify(v.format)} with ${JSON.stringify(v.values)}`;
    assert.equal(toHex(struct.pack(...values)), v.packed, `pack ${what}`);
    assertSameValues(
      struct.unpack(fromHex(v.packed)),
      (v.unpacked as Encoded[]).map(decode),
      `unpack ${what}`,
    );
  }
}

Deno.test("Struct packs and unpacks integers at their edges like Python", () => {
  checkPackVectors(isInt);
});

Deno.test("Struct packs and unpacks e, f and d floats like Python, rounding and specials included", () => {
  checkPackVectors(isFloat);
});

Deno.test("Struct packs and unpacks ?, c, s, p, x, counts and whitespace like Python", () => {
  checkPackVectors((f) => !isInt(f) && !isFloat(f) && "=<>!".includes(f[0]!));
});

Deno.test("Struct packs native @ formats with alignment like Python", () => {
  checkPackVectors((f) => !isInt(f) && !isFloat(f) && !"=<>!".includes(f[0]!));
});

Deno.test("Struct unpacks random bytes like Python", () => {
  for (const v of applicable(vectors.unpack)) {
    const got = new Struct(v.format).unpack(fromHex(v.packed));
    const expected = (v.unpacked as Encoded[]).map(decode);
    assertSameValues(got, expected, `unpack ${JSON.stringify(v.format)} of ${v.packed}`);
  }
});

Deno.test("Struct.size matches Python's calcsize", () => {
  for (const v of applicable(vectors.sizes)) {
    assert.equal(new Struct(v.format).size, v.size, JSON.stringify(v.format));
  }
});

Deno.test("Struct throws TypeError with the index for every format Python rejects", () => {
  for (const format of vectors.badFormats) {
    assert.throws(() => new Struct(format), (err: Error) => {
      assert.ok(err instanceof TypeError, `${JSON.stringify(format)}: ${err}`);
      assert.match(err.message, /^Invalid struct format ".*": .*index \d+/);
      return true;
    });
  }
});

Deno.test("Struct.pack throws RangeError for every value Python rejects as out of range", () => {
  for (const v of applicable(vectors.outOfRange)) {
    const values = (v.values as Encoded[]).map(decode);
    assert.throws(
      () => new Struct(v.format).pack(...values),
      RangeError,
      `${v.format} ${v.values}`,
    );
  }
});

const python = (() => {
  try {
    return new Deno.Command("python3", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "Struct vectors file matches a fresh run of its Python generator",
  ignore: !python || Deno.build.os === "windows",
  fn: async () => {
    const script = new URL("./data/make_struct_vectors.py", import.meta.url);
    const output = await new Deno.Command("python3", {
      args: [script.pathname, "--stdout"],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.ok(output.success);
    const committed = await Deno.readTextFile(
      new URL("./data/struct_vectors.json", import.meta.url),
    );
    assert.ok(
      new TextDecoder().decode(output.stdout) === committed,
      "run make_struct_vectors.py and commit the result",
    );
  },
});

// ---- Formats ----

Deno.test("Struct format error names the format, the code and its index", () => {
  assert.throws(() => new Struct("!LZ"), {
    name: "TypeError",
    message:
      'Invalid struct format "!LZ": unknown code "Z" at index 2; use one of x c b B ? h H i I l L q Q e f d s p',
  });
  assert.throws(() => new Struct("<hh>"), {
    message:
      'Invalid struct format "<hh>": byte order ">" at index 3 must be the first character of the format',
  });
  assert.throws(
    () => new Struct("!H$"),
    /unknown code "\$" at index 2; length-prefixed fields need NetStruct/,
  );
});

Deno.test("Struct rejects a format that is not a string", () => {
  assert.throws(() => new Struct(42 as unknown as string), TypeError);
});

Deno.test("Struct.format and valueCount describe the format", () => {
  const struct = new Struct("! 3H 2x 4s ?");
  assert.equal(struct.format, "! 3H 2x 4s ?");
  assert.equal(struct.valueCount, 5);
  assert.equal(struct.size, 13);
});

Deno.test("Struct without a byte order uses native order and alignment", () => {
  assert.equal(new Struct("bi").size, new Struct("@bi").size);
  assert.equal(new Struct("bi").size, 8);
  assert.deepEqual(new Struct("=H").pack(1), new Struct("@H").pack(1));
});

// ---- Values ----

Deno.test("Struct.unpack returns bigint for q and Q and number for smaller integers", () => {
  const values = new Struct("<bBhHiIqQ").unpack(new Uint8Array(30));
  assert.deepEqual(values.map((v) => typeof v), [...Array(6).fill("number"), "bigint", "bigint"]);
});

Deno.test("Struct.pack accepts number or bigint for every integer code", () => {
  for (const code of "bBhHiIlLqQ") {
    const struct = new Struct(`<${code}`);
    assert.deepEqual(struct.pack(100), struct.pack(100n), code);
  }
  assert.deepEqual(new Struct("<Q").unpack(new Struct("<Q").pack(2 ** 53)), [2n ** 53n]);
});

Deno.test("Struct.pack throws TypeError for a value of the wrong type", () => {
  assert.throws(() => new Struct("!h").pack("1"), TypeError);
  assert.throws(
    () => new Struct("!h").pack(1.5),
    /argument 0 \("h"\) must be an integer, got 1\.5/,
  );
  assert.throws(() => new Struct("!q").pack(NaN), TypeError);
  assert.throws(() => new Struct("!d").pack("1.5"), TypeError);
  assert.throws(() => new Struct("!4s").pack(4), TypeError);
  assert.throws(() => new Struct("!?").pack("yes"), TypeError);
  assert.throws(() => new Struct("!Hh").pack(1, null as unknown as number), /argument 1 \("h"\)/);
});

Deno.test("Struct.pack throws TypeError for a wrong number of values", () => {
  assert.throws(() => new Struct("!LLH").pack(1, 2), {
    name: "TypeError",
    message: 'Struct "!LLH" packs 3 value(s), got 2; pass one value per field',
  });
  assert.throws(() => new Struct("!2x").pack(0), TypeError);
});

Deno.test("Struct.pack throws RangeError naming the argument and the allowed range", () => {
  assert.throws(() => new Struct("!Bh").pack(0, 40000), {
    name: "RangeError",
    message:
      'Struct "!Bh" argument 1 ("h") is out of range: 40000; use an integer from -32768 to 32767',
  });
  assert.throws(() => new Struct("!I").pack(2n ** 32n), RangeError);
  assert.throws(() => new Struct("!Q").pack(2 ** 64), RangeError);
});

Deno.test("Struct rejects a float too large for f in every byte order, even @ where CPython stores infinity", () => {
  for (const order of "@=<>!") assert.throws(() => new Struct(`${order}f`).pack(1e300), RangeError);
  assert.deepEqual(new Struct("<f").unpack(new Struct("<f").pack(Infinity)), [Infinity]);
});

Deno.test("Struct packs ? from booleans and numbers and unpacks any nonzero byte as true", () => {
  const flag = new Struct("?");
  assert.deepEqual(flag.pack(true), new Uint8Array([1]));
  assert.deepEqual(flag.pack(0), new Uint8Array([0]));
  assert.deepEqual(flag.pack(7n), new Uint8Array([1]));
  assert.deepEqual(flag.pack(NaN), new Uint8Array([1]));
  assert.deepEqual(flag.pack(-0), new Uint8Array([0]));
  assert.deepEqual(flag.unpack(new Uint8Array([0x80])), [true]);
});

Deno.test("Struct encodes strings as UTF-8 for s, p and c", () => {
  const struct = new Struct("4s4pc");
  const bytes = struct.pack("é!", "ab", "z");
  assert.deepEqual(Array.from(bytes), [0xc3, 0xa9, 0x21, 0, 2, 0x61, 0x62, 0, 0x7a]);
});

Deno.test("Struct.pack throws RangeError for a c value that is not exactly one byte", () => {
  assert.throws(() => new Struct("c").pack(""), RangeError);
  assert.throws(() => new Struct("c").pack("é"), RangeError);
  assert.throws(() => new Struct("c").pack(new Uint8Array(2)), RangeError);
});

Deno.test("Struct 0p packs nothing and unpacks an empty byte string", () => {
  const struct = new Struct("<0pB");
  assert.deepEqual(struct.pack("abc", 5), new Uint8Array([5]));
  assert.deepEqual(plain(struct.unpack(new Uint8Array([5]))), [[], 5]);
});

Deno.test("Struct half floats round-trip every bit pattern but NaN", () => {
  const half = new Struct("<e");
  const bytes = new Uint8Array(2);
  let nans = 0;
  for (let bits = 0; bits < 0x10000; bits++) {
    bytes[0] = bits & 0xff;
    bytes[1] = bits >>> 8;
    const [value] = half.unpack(bytes) as [number];
    if (Number.isNaN(value)) {
      nans++;
      continue;
    }
    const back = half.pack(value);
    assert.equal(back[0]! | (back[1]! << 8), bits, `half 0x${bits.toString(16)}`);
  }
  assert.equal(nans, 2 * 1023);
});

// ---- Unpacking ----

Deno.test("Struct.unpack throws RangeError unless given exactly size bytes", () => {
  const struct = new Struct("!LLH");
  assert.throws(() => struct.unpack(new Uint8Array(9)), RangeError);
  assert.throws(
    () => struct.unpack(new Uint8Array(11)),
    /unpacks exactly 10 bytes, got 11; use unpackFrom\(\)/,
  );
});

Deno.test("Struct.unpackFrom reads at an offset and ignores trailing bytes", () => {
  const struct = new Struct(">HB");
  assert.deepEqual(struct.unpackFrom(new Uint8Array([9, 1, 2, 3, 9, 9]), 1), [0x102, 3]);
  assert.deepEqual(struct.unpackFrom(new Uint8Array([1, 2, 3])), [0x102, 3]);
});

Deno.test("Struct.unpackFrom throws RangeError past the end or at a bad offset", () => {
  const struct = new Struct(">HB");
  assert.throws(
    () => struct.unpackFrom(new Uint8Array(4), 2),
    /needs 3 bytes at offset 2, but only 2 are available/,
  );
  assert.throws(() => struct.unpackFrom(new Uint8Array(4), -1), RangeError);
  assert.throws(() => struct.unpackFrom(new Uint8Array(4), 0.5), RangeError);
  assert.throws(() => struct.unpackFrom(new Uint8Array(4), 9), RangeError);
});

Deno.test("Struct.unpackFrom reads from a view with a byte offset", () => {
  const buffer = new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 7]);
  assert.deepEqual(new Struct("<dB").unpackFrom(buffer.subarray(1), 0), [1, 7]);
});

Deno.test("Struct.unpack returns byte strings as views into the input", () => {
  const bytes = new Uint8Array([1, 2, 3, 4]);
  const [first, rest] = new Struct("c3s").unpack(bytes) as [Uint8Array, Uint8Array];
  assert.equal(first.buffer, bytes.buffer);
  bytes[2] = 9;
  assert.deepEqual(Array.from(rest), [2, 9, 4]);
});

// ---- Packing into existing bytes ----

Deno.test("Struct.packInto writes at an offset, zeroes padding and returns the end", () => {
  const target = new Uint8Array(8).fill(0xee);
  const end = new Struct("<Bx2s").packInto(target, 2, 7, "a");
  assert.equal(end, 6);
  assert.deepEqual(Array.from(target), [0xee, 0xee, 7, 0, 0x61, 0, 0xee, 0xee]);
});

Deno.test("Struct.packInto throws RangeError when the record does not fit", () => {
  const struct = new Struct("<I");
  assert.throws(() => struct.packInto(new Uint8Array(6), 3, 1), RangeError);
  assert.throws(() => struct.packInto(new Uint8Array(6), -1, 1), RangeError);
  assert.throws(() => struct.packInto(new Uint8Array(6), 0), TypeError);
});

// ---- Framing ----

Deno.test("Struct.rule frames fixed-size records and is the same object every time", () => {
  const struct = new Struct("!LLH");
  assert.deepEqual(struct.rule, { kind: "fixed", size: 10 });
  assert.equal(struct.rule, struct.rule);
});

Deno.test("Struct.rule throws TypeError for a struct of size 0", () => {
  assert.throws(() => new Struct("!").rule, /cannot frame a stream: its size is 0/);
});
