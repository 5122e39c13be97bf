/**
 * `NetStruct`: variable-length binary records with length-prefixed fields.
 *
 * @module
 */

import { type FrameRule, MAX_RECORD_STEPS, type RecordStep } from "./frame_rule.ts";
import { argName, readLength, toBytes, writeInt, writeValue } from "./_struct_codec.ts";
import { compileRecordReader, readRecord, type RecordReader } from "./_record_reader.ts";
import { describe } from "./_describe.ts";
import { type FieldOp, parseFormat, PREFIXED } from "./_struct_format.ts";
import type { StructInput, StructValue } from "./struct_value.ts";

/**
 * One record read by `NetStruct.unpackFrom`.
 *
 * @example Usage
 * ```ts
 * import { NetStruct, type NetStructRecord } from "@pants/pants";
 *
 * const format = new NetStruct("!H$");
 * const record: NetStructRecord = format.unpackFrom(format.pack("hi"));
 * console.log(record.size); // 4
 * ```
 */
export interface NetStructRecord {
  /** The record's values, in format order (length prefixes excluded). */
  readonly values: StructValue[];
  /** The record's size in bytes. */
  readonly size: number;
}

/** Longest payload each prefix width can declare. */
const MAX_PAYLOAD: Record<number, number> = {
  1: 0xff,
  2: 0xffff,
  4: 0xffff_ffff,
  8: Number.MAX_SAFE_INTEGER,
};

let readerOf: (format: NetStruct) => RecordReader;

/**
 * The compiled reader of a NetStruct's records (made on first use).
 * Internal: the `Deframer` unpacks framed records with it, into an array it
 * reuses.
 *
 * @param format The NetStruct.
 * @returns Its reader; it trusts the caller for the bounds.
 */
export function netStructReader(format: NetStruct): RecordReader {
  return readerOf(format);
}

/**
 * Packs and unpacks variable-length binary records, and frames a stream into
 * such records: a `Struct` format in which an unsigned integer code followed
 * by `$` is the length of the bytes that follow it.
 *
 * Grammar (the `Struct` grammar, plus `$`):
 *
 * - The format must start with an explicit byte order, `!`, `>`, `<` or `=`;
 *   native order with alignment (`@`, or no prefix) is rejected.
 * - `B$`, `H$`, `I$`, `L$`, `Q$` (1, 2, 4, 4, 8 bytes): a length prefix, then
 *   that many bytes. The prefix takes no count and must be unsigned; the `$`
 *   comes right after the code. The field is one value: the bytes. The
 *   length is computed when packing and is not passed.
 * - Any number of `$` fields, anywhere, between fixed fields.
 *
 * Examples:
 *
 * - `"!H$"`: a 16-bit big-endian length, then that many bytes.
 * - `"!BH$I"`: a type byte, a length-prefixed payload, a trailing uint32.
 * - `"<I$I$"`: two little-endian length-prefixed byte strings (a key/value).
 *
 * Unpacked byte strings are views into the bytes passed in, not copies.
 *
 * @example A type byte, a payload and a checksum
 * ```ts
 * import { NetStruct } from "@pants/pants";
 * import assert from "node:assert/strict";
 *
 * const message = new NetStruct("!BH$I");
 * assert.equal(message.minimumSize, 7);
 * const bytes = message.pack(7, "hello", 42);
 * assert.equal(bytes.length, 12);
 * const [type, payload, checksum] = message.unpack(bytes);
 * assert.equal(type, 7);
 * assert.equal(new TextDecoder().decode(payload as Uint8Array), "hello");
 * assert.equal(checksum, 42);
 * ```
 */
export class NetStruct {
  readonly #format: string;
  readonly #label: string;
  readonly #ops: readonly FieldOp[];
  readonly #steps: readonly RecordStep[];
  readonly #minimumSize: number;
  readonly #valueCount: number;
  #rule: FrameRule | undefined;
  #reader: RecordReader | undefined;

  static {
    readerOf = (format) => format.#reader ??= compileRecordReader(format.#ops);
  }

  /**
   * Compiles a format string.
   *
   * @param format A `Struct` format with `$` length prefixes, e.g. `"!I$"`.
   * @throws {TypeError} If the format is invalid, uses native order or
   * describes an empty record; the message quotes the format and gives the
   * index of the offending character.
   *
   * @example Rejecting a count on a length prefix
   * ```ts
   * import { NetStruct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.throws(() => new NetStruct("!2H$"), TypeError);
   * ```
   */
  constructor(format: string) {
    const parsed = parseFormat(format, "NetStruct");
    this.#format = format;
    this.#label = `NetStruct ${JSON.stringify(format)}`;
    if (parsed.minimumSize === 0) {
      throw new TypeError(
        `Invalid NetStruct format ${
          JSON.stringify(format)
        }: it describes an empty record; add fields`,
      );
    }
    this.#ops = parsed.ops;
    this.#steps = parsed.steps;
    this.#minimumSize = parsed.minimumSize;
    this.#valueCount = parsed.valueCount;
  }

  /**
   * The format string this NetStruct was built from.
   *
   * @returns The format, as given.
   *
   * @example Reading the format
   * ```ts
   * import { NetStruct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new NetStruct("!H$").format, "!H$");
   * ```
   */
  get format(): string {
    return this.#format;
  }

  /**
   * The size of a record whose length-prefixed fields are all empty.
   *
   * @returns The smallest possible record size.
   *
   * @example Fixed fields plus prefixes
   * ```ts
   * import { NetStruct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new NetStruct("!BH$I").minimumSize, 7);
   * ```
   */
  get minimumSize(): number {
    return this.#minimumSize;
  }

  /**
   * How many values `pack` takes and `unpack` returns (prefixes excluded).
   *
   * @returns The number of values of one record.
   *
   * @example Counting values
   * ```ts
   * import { NetStruct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new NetStruct("!BH$I").valueCount, 3);
   * ```
   */
  get valueCount(): number {
    return this.#valueCount;
  }

  /**
   * The framing rule that cuts a stream into records: one step per length
   * prefix (`fixed` bytes before it, its width and byte order), then a final
   * step with `prefix: 0` for the fixed bytes after the last payload.
   *
   * @returns `{ kind: "record", steps }`, the same frozen object every call.
   * @throws {TypeError} If the format has more length prefixes than a
   * stream can frame (`MAX_RECORD_STEPS - 1`, i.e. 23).
   *
   * @example Reading the rule
   * ```ts
   * import { NetStruct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new NetStruct("!BH$I").rule, {
   *   kind: "record",
   *   steps: [
   *     { fixed: 1, prefix: 2, littleEndian: false },
   *     { fixed: 4, prefix: 0, littleEndian: false },
   *   ],
   * });
   * ```
   */
  get rule(): FrameRule {
    if (this.#rule === undefined) {
      if (this.#steps.length > MAX_RECORD_STEPS) {
        throw new TypeError(
          `${this.#label} cannot frame a stream: it has ${
            this.#steps.length - 1
          } length prefixes, more than the ${MAX_RECORD_STEPS - 1} a stream can frame`,
        );
      }
      this.#rule = Object.freeze({
        kind: "record",
        steps: Object.freeze(this.#steps.map((step) => Object.freeze({ ...step }))),
      });
    }
    return this.#rule;
  }

  /**
   * Packs values into a new record; each length prefix is computed from its
   * payload.
   *
   * @param values One value per field in format order; a `$` field takes a
   * `Uint8Array` or a string (UTF-8).
   * @returns A new `Uint8Array` holding the record.
   * @throws {TypeError} If the number of values is wrong or a value has the
   * wrong type.
   * @throws {RangeError} If a value is out of range, or a payload is longer
   * than its prefix can declare.
   *
   * @example Packing a length-prefixed string
   * ```ts
   * import { NetStruct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new NetStruct("!H$").pack("hi"), new Uint8Array([0, 2, 104, 105]));
   * ```
   */
  pack(...values: StructInput[]): Uint8Array {
    if (values.length !== this.#valueCount) {
      throw new TypeError(
        `${this.#label} packs ${this.#valueCount} value(s), got ${values.length}; pass one value per field, without the lengths`,
      );
    }
    const ops = this.#ops;
    const payloads: Uint8Array[] = [];
    let size = this.#minimumSize;
    let v = 0;
    for (let k = 0; k < ops.length; k++) {
      const op = ops[k]!;
      if (op.kind !== PREFIXED) {
        v += op.repeat;
        continue;
      }
      const code = `${op.code}$`;
      const payload = toBytes(values[v]!, this.#label, code, v);
      const max = MAX_PAYLOAD[op.size]!;
      if (payload.length > max) {
        throw new RangeError(
          `${
            argName(this.#label, code, v)
          } is ${payload.length} bytes, more than the prefix "${op.code}" can declare (${max}); use a wider prefix`,
        );
      }
      payloads.push(payload);
      size += payload.length;
      v++;
    }

    const out = new Uint8Array(size);
    let base = 0;
    let p = 0;
    v = 0;
    for (let k = 0; k < ops.length; k++) {
      const op = ops[k]!;
      let at = base + op.offset;
      if (op.kind === PREFIXED) {
        const payload = payloads[p++]!;
        writeLength(out, at, op.size, payload.length, op.littleEndian);
        out.set(payload, at + op.size);
        base = at + op.size + payload.length;
        v++;
        continue;
      }
      for (let r = 0; r < op.repeat; r++) {
        writeValue(op, out, at, values[v]!, this.#label, v);
        v++;
        at += op.size;
      }
    }
    return out;
  }

  /**
   * Unpacks exactly one record.
   *
   * @param bytes Exactly one complete record.
   * @returns The values, in format order (prefixes excluded); payloads are
   * views into `bytes`.
   * @throws {RangeError} If `bytes` is not exactly one record.
   *
   * @example Unpacking a length-prefixed string
   * ```ts
   * import { NetStruct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * const [text] = new NetStruct("!H$").unpack(new Uint8Array([0, 2, 104, 105]));
   * assert.deepEqual(text, new Uint8Array([104, 105]));
   * ```
   */
  unpack(bytes: Uint8Array): StructValue[] {
    const size = this.#completeSize(bytes, 0);
    if (size !== bytes.length) {
      throw new RangeError(
        `${this.#label} unpacks exactly one record: the record is ${size} bytes, got ${bytes.length}; use unpackFrom() to read a record from a larger buffer`,
      );
    }
    return this.#read(bytes, 0);
  }

  /**
   * Unpacks the record starting at `offset`; bytes after it are ignored.
   *
   * @param bytes Holds at least one complete record from `offset` on.
   * @param offset Where the record starts (an integer >= 0).
   * @returns The values and the record's size (so the next record starts at
   * `offset + size`).
   * @throws {RangeError} If the record is incomplete.
   *
   * @example Reading records one after another
   * ```ts
   * import { NetStruct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * const line = new NetStruct("!B$");
   * const buffer = new Uint8Array([1, 65, 2, 66, 67]);
   * const first = line.unpackFrom(buffer, 0);
   * const second = line.unpackFrom(buffer, first.size);
   * assert.deepEqual(second.values, [new Uint8Array([66, 67])]);
   * ```
   */
  unpackFrom(bytes: Uint8Array, offset = 0): NetStructRecord {
    const size = this.#completeSize(bytes, offset);
    return { values: this.#read(bytes, offset), size };
  }

  /**
   * The size of the record starting at `offset`, as soon as its length
   * prefixes are readable (the payloads may still be incomplete).
   *
   * @param bytes The bytes buffered so far.
   * @param offset Where the record starts (an integer >= 0).
   * @returns The record's full size in bytes, or -1 if more bytes are needed
   * to read a length prefix.
   * @throws {RangeError} If `offset` is not an integer >= 0.
   *
   * @example Waiting for a prefix
   * ```ts
   * import { NetStruct } from "@pants/pants";
   * import assert from "node:assert/strict";
   *
   * const framed = new NetStruct("!H$");
   * assert.equal(framed.recordSize(new Uint8Array([0])), -1);
   * assert.equal(framed.recordSize(new Uint8Array([0, 5, 1])), 7);
   * ```
   */
  recordSize(bytes: Uint8Array, offset = 0): number {
    this.#checkInput(bytes, offset);
    const steps = this.#steps;
    let pos = offset;
    for (let k = 0; k < steps.length; k++) {
      const step = steps[k]!;
      const at = pos + step.fixed;
      if (step.prefix === 0) return at - offset;
      if (at + step.prefix > bytes.length) return -1;
      pos = at + step.prefix + readLength(bytes, at, step.prefix, step.littleEndian);
    }
    return pos - offset; // not reached: the last step has no prefix
  }

  /** The size of the complete record at `offset`, or a RangeError. */
  #completeSize(bytes: Uint8Array, offset: number): number {
    const size = this.recordSize(bytes, offset);
    const available = bytes.length - offset;
    if (size < 0 || size > available) {
      const need = size < 0 ? "its length prefixes are incomplete" : `it is ${size} bytes`;
      throw new RangeError(
        `${this.#label} record at offset ${offset} is incomplete: ${need}, but only ${
          Math.max(available, 0)
        } bytes are available; use recordSize() to wait for a whole record`,
      );
    }
    return size;
  }

  /** Reads the values of a record known to be complete. */
  #read(bytes: Uint8Array, offset: number): StructValue[] {
    return readRecord(readerOf(this), this.#valueCount, bytes, offset);
  }

  #checkInput(bytes: Uint8Array, offset: number): void {
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`${this.#label} can only read a Uint8Array, got ${describe(bytes)}`);
    }
    if (!Number.isInteger(offset) || offset < 0) {
      throw new RangeError(
        `${this.#label} offset must be an integer >= 0, got ${describe(offset)}`,
      );
    }
  }
}

/** Writes an unsigned length prefix of 1, 2, 4 or 8 bytes. */
function writeLength(target: Uint8Array, at: number, size: number, n: number, le: boolean): void {
  if (size < 8) {
    writeInt(target, at, size, n, le);
    return;
  }
  const lo = n >>> 0;
  const hi = Math.floor(n / 0x1_0000_0000);
  writeInt(target, le ? at : at + 4, 4, lo, le);
  writeInt(target, le ? at + 4 : at, 4, hi, le);
}
