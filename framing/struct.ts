/**
 * `Struct`: fixed-size binary records in Python `struct` format.
 *
 * @module
 */

import type { FrameRule } from "./frame_rule.ts";
import type { StructInput, StructValue } from "./struct_value.ts";
import { writeValue } from "./_struct_codec.ts";
import { compileRecordReader, readRecord, type RecordReader } from "./_record_reader.ts";
import { describe } from "./_describe.ts";
import { type FieldOp, parseFormat } from "./_struct_format.ts";

let readerOf: (struct: Struct) => RecordReader;

/**
 * The compiled reader of a struct's records (made on first use). Internal:
 * the `Deframer` unpacks framed records with it, into an array it reuses.
 *
 * @param struct The struct.
 * @returns Its reader; it trusts the caller for the bounds.
 */
export function structReader(struct: Struct): RecordReader {
  return readerOf(struct);
}

/**
 * Packs and unpacks fixed-size binary records described by a Python `struct`
 * format string, and frames a stream into such records.
 *
 * Format: an optional byte order first, then codes, each with an optional
 * count (`4s`, `3H`); whitespace between codes is ignored.
 *
 * | Prefix | Byte order | Sizes | Alignment |
 * | ------ | ---------- | ----- | --------- |
 * | `@` (default) | native | native | native |
 * | `=` | native | standard | none |
 * | `<` | little-endian | standard | none |
 * | `>`, `!` | big-endian (network) | standard | none |
 *
 * | Code | Value | Standard size |
 * | ---- | ----- | ------------- |
 * | `x` | padding byte (no value) | 1 |
 * | `c` | `Uint8Array` of length 1 | 1 |
 * | `b` `B` | signed / unsigned integer | 1 |
 * | `?` | `boolean` | 1 |
 * | `h` `H` | signed / unsigned integer | 2 |
 * | `i` `I` `l` `L` | signed / unsigned integer | 4 |
 * | `q` `Q` | signed / unsigned `bigint` | 8 |
 * | `e` `f` `d` | half, single, double float | 2, 4, 8 |
 * | `s` | `Uint8Array`; the count is its length (zero-padded or truncated) | count |
 * | `p` | Pascal string: a length byte then up to count - 1 bytes | count |
 *
 * With `@`, `l` and `L` take the platform's `long` (8 bytes, so `bigint`, on
 * 64-bit Linux and macOS; 4 on Windows), numbers are aligned to their size as
 * in C, and `n`, `N` (`ssize_t`, `size_t`) and `P` (pointer) are also
 * accepted. A count of 0 on a number code only aligns (`"@b0q"` is 8 bytes).
 *
 * Unpacked byte strings are views into the bytes passed in, not copies: copy
 * them (`.slice()`) to keep them after the bytes change.
 *
 * @example Packing and unpacking a record
 * ```ts
 * import { Struct } from "@pants/pants";
 * import assert from "node:assert/strict";
 *
 * const header = new Struct("!HIq4s");
 * assert.equal(header.size, 18);
 * const bytes = header.pack(1, 0xdeadbeef, -5n, "ab");
 * const [kind, id, offset, tag] = header.unpack(bytes);
 * assert.equal(kind, 1);
 * assert.equal(id, 0xdeadbeef);
 * assert.equal(offset, -5n);
 * assert.deepEqual(tag, new Uint8Array([0x61, 0x62, 0, 0]));
 * ```
 */
export class Struct {
  readonly #format: string;
  readonly #label: string;
  readonly #ops: readonly FieldOp[];
  readonly #size: number;
  readonly #valueCount: number;
  #rule: FrameRule | undefined;
  #reader: RecordReader | undefined;

  static {
    readerOf = (struct) => struct.#reader ??= compileRecordReader(struct.#ops);
  }

  /**
   * Compiles a format string.
   *
   * @param format A Python `struct` format, e.g. `"!LLH"`.
   * @throws {TypeError} If the format is invalid; the message quotes the
   * format and gives the index of the offending character.
   *
   * @example Rejecting an unknown code
   * ```ts
   * import { Struct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.throws(() => new Struct("!LZ"), TypeError); // unknown code "Z" at index 2
   * ```
   */
  constructor(format: string) {
    const parsed = parseFormat(format, "Struct");
    this.#format = format;
    this.#label = `Struct ${JSON.stringify(format)}`;
    this.#ops = parsed.ops;
    this.#size = parsed.minimumSize;
    this.#valueCount = parsed.valueCount;
  }

  /**
   * The format string this struct was built from.
   *
   * @returns The format, as given.
   *
   * @example Reading the format
   * ```ts
   * import { Struct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Struct("<hh").format, "<hh");
   * ```
   */
  get format(): string {
    return this.#format;
  }

  /**
   * The size in bytes of one record (as Python's `struct.calcsize`).
   *
   * @returns The record size.
   *
   * @example Sizes with and without native alignment
   * ```ts
   * import { Struct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Struct("<bi").size, 5);
   * assert.equal(new Struct("@bi").size, 8);
   * ```
   */
  get size(): number {
    return this.#size;
  }

  /**
   * How many values `pack` takes and `unpack` returns (padding excluded).
   *
   * @returns The number of values of one record.
   *
   * @example Counting values
   * ```ts
   * import { Struct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Struct("!3H2x4s").valueCount, 4);
   * ```
   */
  get valueCount(): number {
    return this.#valueCount;
  }

  /**
   * The framing rule that cuts a stream into records of this struct.
   *
   * @returns `{ kind: "fixed", size }`, the same object on every call.
   * @throws {TypeError} If the struct's size is 0 (nothing to frame).
   *
   * @example Reading the rule
   * ```ts
   * import { Struct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new Struct("!LLH").rule, { kind: "fixed", size: 10 });
   * ```
   */
  get rule(): FrameRule {
    if (this.#rule === undefined) {
      if (this.#size === 0) {
        throw new TypeError(
          `${this.#label} cannot frame a stream: its size is 0; add fields to the format`,
        );
      }
      this.#rule = Object.freeze({ kind: "fixed", size: this.#size });
    }
    return this.#rule;
  }

  /**
   * Packs values into a new record.
   *
   * @param values One value per field, in format order (see `StructInput`).
   * @returns A new `Uint8Array` of `size` bytes.
   * @throws {TypeError} If the number of values is wrong or a value has the
   * wrong type.
   * @throws {RangeError} If a value is out of range for its field.
   *
   * @example Packing a network-order record
   * ```ts
   * import { Struct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new Struct("!Hb").pack(258, -1), new Uint8Array([1, 2, 255]));
   * ```
   */
  pack(...values: StructInput[]): Uint8Array {
    this.#checkCount(values.length);
    const out = new Uint8Array(this.#size);
    this.#write(out, 0, values);
    return out;
  }

  /**
   * Packs values into existing bytes, e.g. straight into a send buffer. The
   * record's bytes are zeroed first (padding stays zero); on an error they
   * may be partly written.
   *
   * @param target The bytes to write into.
   * @param offset Where the record starts in `target` (an integer >= 0).
   * @param values One value per field, in format order.
   * @returns The offset just after the record (`offset + size`).
   * @throws {RangeError} If the record does not fit at `offset`, or a value
   * is out of range.
   * @throws {TypeError} If the number of values is wrong or a value has the
   * wrong type.
   *
   * @example Packing two records back to back
   * ```ts
   * import { Struct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * const point = new Struct("<hh");
   * const buffer = new Uint8Array(2 * point.size);
   * const end = point.packInto(buffer, 0, 1, 2);
   * point.packInto(buffer, end, 3, 4);
   * assert.deepEqual(buffer, new Uint8Array([1, 0, 2, 0, 3, 0, 4, 0]));
   * ```
   */
  packInto(target: Uint8Array, offset: number, ...values: StructInput[]): number {
    this.#checkBounds(target, offset, "write");
    this.#checkCount(values.length);
    const end = offset + this.#size;
    target.fill(0, offset, end);
    this.#write(target, offset, values);
    return end;
  }

  /**
   * Unpacks exactly one record.
   *
   * @param bytes Exactly `size` bytes.
   * @returns The values, in format order (see `StructValue`).
   * @throws {RangeError} If `bytes` is not exactly `size` bytes long.
   *
   * @example Unpacking a record
   * ```ts
   * import { Struct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new Struct("!Hb?").unpack(new Uint8Array([1, 2, 255, 1])), [258, -1, true]);
   * ```
   */
  unpack(bytes: Uint8Array): StructValue[] {
    if (bytes instanceof Uint8Array && bytes.length !== this.#size) {
      throw new RangeError(
        `${this.#label} unpacks exactly ${this.#size} bytes, got ${bytes.length}; use unpackFrom() to read a record from a larger buffer`,
      );
    }
    return this.unpackFrom(bytes, 0);
  }

  /**
   * Unpacks one record starting at `offset`; bytes after it are ignored.
   *
   * @param bytes Holds at least `offset + size` bytes.
   * @param offset Where the record starts (an integer >= 0).
   * @returns The values, in format order; byte strings are views into `bytes`.
   * @throws {RangeError} If fewer than `size` bytes follow `offset`.
   *
   * @example Reading the second record of a buffer
   * ```ts
   * import { Struct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * const pair = new Struct("<BB");
   * assert.deepEqual(pair.unpackFrom(new Uint8Array([1, 2, 3, 4]), 2), [3, 4]);
   * ```
   */
  unpackFrom(bytes: Uint8Array, offset = 0): StructValue[] {
    this.#checkBounds(bytes, offset, "read");
    return readRecord(readerOf(this), this.#valueCount, bytes, offset);
  }

  #write(target: Uint8Array, base: number, values: StructInput[]): void {
    const ops = this.#ops;
    let v = 0;
    for (let k = 0; k < ops.length; k++) {
      const op = ops[k]!;
      let at = base + op.offset;
      for (let r = 0; r < op.repeat; r++) {
        writeValue(op, target, at, values[v]!, this.#label, v);
        v++;
        at += op.size;
      }
    }
  }

  #checkCount(count: number): void {
    if (count !== this.#valueCount) {
      throw new TypeError(
        `${this.#label} packs ${this.#valueCount} value(s), got ${count}; pass one value per field`,
      );
    }
  }

  #checkBounds(bytes: Uint8Array, offset: number, verb: "read" | "write"): void {
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`${this.#label} can only ${verb} a Uint8Array, got ${describe(bytes)}`);
    }
    if (!Number.isInteger(offset) || offset < 0) {
      throw new RangeError(
        `${this.#label} offset must be an integer >= 0, got ${describe(offset)}`,
      );
    }
    if (bytes.length - offset < this.#size) {
      throw new RangeError(
        `${this.#label} needs ${this.#size} bytes at offset ${offset}, but only ${
          Math.max(bytes.length - offset, 0)
        } are available`,
      );
    }
  }
}
