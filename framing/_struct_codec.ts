/**
 * Writing single struct fields and reading length prefixes, shared by
 * `Struct` and `NetStruct` (unpacking is `_record_reader.ts`).
 *
 * Integers up to 32 bits are written byte by byte; 64-bit integers and
 * floats go through one module-level 8-byte scratch buffer, so packing
 * creates no `DataView` per call.
 *
 * @module
 */

import { toHalfBits } from "./_half_float.ts";
import { describe } from "./_describe.ts";
import {
  BOOL,
  BYTES,
  CHAR,
  type FieldOp,
  FLOAT16,
  FLOAT32,
  INT16,
  INT32,
  INT64,
  INT8,
  PASCAL,
  UINT16,
  UINT32,
  UINT64,
  UINT8,
} from "./_struct_format.ts";
import type { StructInput } from "./struct_value.ts";

const scratch = new Uint8Array(8);
const scratchView = new DataView(scratch.buffer);
const encoder = new TextEncoder();

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Reads an unsigned integer of 1, 2, 4 or 8 bytes (8: exact up to 2^53). */
export function readLength(bytes: Uint8Array, at: number, size: number, le: boolean): number {
  switch (size) {
    case 1:
      return bytes[at]!;
    case 2:
      return le ? bytes[at]! | (bytes[at + 1]! << 8) : (bytes[at]! << 8) | bytes[at + 1]!;
    case 4:
      return readUint32(bytes, at, le);
    default: {
      const lo = readUint32(bytes, le ? at : at + 4, le);
      const hi = readUint32(bytes, le ? at + 4 : at, le);
      return hi * 0x1_0000_0000 + lo;
    }
  }
}

function readUint32(bytes: Uint8Array, at: number, le: boolean): number {
  return le
    ? (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
    : ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** Writes the low `size` bytes (1, 2 or 4) of an integer. */
export function writeInt(
  target: Uint8Array,
  at: number,
  size: number,
  v: number,
  le: boolean,
): void {
  if (size === 1) {
    target[at] = v;
  } else if (size === 2) {
    target[at + (le ? 0 : 1)] = v;
    target[at + (le ? 1 : 0)] = v >>> 8;
  } else {
    for (let k = 0; k < 4; k++) target[at + (le ? k : 3 - k)] = v >>> (8 * k);
  }
}

/** Copies `n` bytes of the scratch buffer to `target`. */
function fromScratch(target: Uint8Array, at: number, n: number): void {
  for (let k = 0; k < n; k++) target[at + k] = scratch[k]!;
}

/** Names an argument in error messages. */
export function argName(label: string, code: string, index: number): string {
  return `${label} argument ${index} ("${code}")`;
}

/**
 * The bytes of a byte-string value: a `Uint8Array` as is, a string as UTF-8.
 * `label`, `code` and `index` name the argument in the error message.
 *
 * @throws {TypeError} For any other value.
 */
export function toBytes(
  value: StructInput,
  label: string,
  code: string,
  index: number,
): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return encoder.encode(value);
  throw new TypeError(
    `${argName(label, code, index)} must be a Uint8Array or a string, got ${describe(value)}`,
  );
}

// Bounds of the integer kinds up to 32 bits, indexed by kind (INT8..UINT32).
const INT_MIN = [-0x80, 0, -0x8000, 0, -0x8000_0000, 0];
const INT_MAX = [0x7f, 0xff, 0x7fff, 0xffff, 0x7fff_ffff, 0xffff_ffff];

/** An integer argument as a number (kinds up to 32 bits). */
function smallInt(
  kind: number,
  value: StructInput,
  label: string,
  code: string,
  index: number,
): number {
  const min = INT_MIN[kind]!;
  const max = INT_MAX[kind]!;
  let n: number;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new TypeError(
        `${argName(label, code, index)} must be an integer, got ${describe(value)}`,
      );
    }
    n = value;
  } else if (typeof value === "bigint") {
    n = value < BigInt(min) || value > BigInt(max) ? Infinity : Number(value);
  } else {
    throw new TypeError(
      `${argName(label, code, index)} must be an integer number or bigint, got ${describe(value)}`,
    );
  }
  if (n < min || n > max) {
    throw new RangeError(
      `${argName(label, code, index)} is out of range: ${
        describe(value)
      }; use an integer from ${min} to ${max}`,
    );
  }
  return n;
}

/** A 64-bit integer argument as a bigint. */
function bigInt(
  signed: boolean,
  value: StructInput,
  label: string,
  code: string,
  index: number,
): bigint {
  let b: bigint;
  if (typeof value === "bigint") {
    b = value;
  } else if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new TypeError(
        `${argName(label, code, index)} must be an integer, got ${describe(value)}`,
      );
    }
    b = BigInt(value);
  } else {
    throw new TypeError(
      `${argName(label, code, index)} must be a bigint or an integer number, got ${
        describe(value)
      }`,
    );
  }
  const min = signed ? INT64_MIN : 0n;
  const max = signed ? INT64_MAX : UINT64_MAX;
  if (b < min || b > max) {
    throw new RangeError(
      `${argName(label, code, index)} is out of range: ${
        describe(value)
      }; use an integer from ${min} to ${max}`,
    );
  }
  return b;
}

function float(value: StructInput, label: string, code: string, index: number): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  throw new TypeError(`${argName(label, code, index)} must be a number, got ${describe(value)}`);
}

/**
 * Writes one value of a field (not a `PREFIXED` field).
 *
 * @param op The field.
 * @param target The destination; the caller has checked the bounds and
 * zeroed the record (padding and short byte strings are not written).
 * @param at Where the value starts.
 * @param value The value to write.
 * @param label Names the struct in error messages, e.g. `Struct "!h"`.
 * @param index The argument's position, for error messages.
 * @throws {TypeError} If the value has the wrong type.
 * @throws {RangeError} If the value is out of range for the field.
 */
export function writeValue(
  op: FieldOp,
  target: Uint8Array,
  at: number,
  value: StructInput,
  label: string,
  index: number,
): void {
  const le = op.littleEndian;
  const code = op.code;
  switch (op.kind) {
    case INT8:
    case UINT8:
    case INT16:
    case UINT16:
    case INT32:
    case UINT32:
      writeInt(target, at, op.size, smallInt(op.kind, value, label, code, index), le);
      return;
    case INT64:
      scratchView.setBigInt64(0, bigInt(true, value, label, code, index), le);
      fromScratch(target, at, 8);
      return;
    case UINT64:
      scratchView.setBigUint64(0, bigInt(false, value, label, code, index), le);
      fromScratch(target, at, 8);
      return;
    case BOOL:
      if (typeof value !== "boolean" && typeof value !== "number" && typeof value !== "bigint") {
        throw new TypeError(
          `${argName(label, code, index)} must be a boolean, got ${describe(value)}`,
        );
      }
      // Truthiness as in Python: NaN is true, 0 and -0 are false.
      target[at] = typeof value === "number" ? (value !== 0 ? 1 : 0) : value ? 1 : 0;
      return;
    case CHAR: {
      const bytes = toBytes(value, label, code, index);
      if (bytes.length !== 1) {
        throw new RangeError(
          `${argName(label, code, index)} must be exactly 1 byte, got ${bytes.length} bytes`,
        );
      }
      target[at] = bytes[0]!;
      return;
    }
    case BYTES: {
      const bytes = toBytes(value, label, code, index);
      const n = Math.min(bytes.length, op.size);
      target.set(n === bytes.length ? bytes : bytes.subarray(0, n), at);
      return;
    }
    case PASCAL: {
      // As CPython: copy up to size - 1 bytes; the length byte saturates at 255.
      const bytes = toBytes(value, label, code, index);
      if (op.size === 0) return;
      const n = Math.min(bytes.length, op.size - 1);
      target[at] = Math.min(n, 255);
      target.set(n === bytes.length ? bytes : bytes.subarray(0, n), at + 1);
      return;
    }
    case FLOAT16: {
      const bits = toHalfBits(float(value, label, code, index));
      if (bits < 0) {
        throw new RangeError(
          `${argName(label, code, index)} is too large for a half float: ${
            describe(value)
          }; use a magnitude below 65520`,
        );
      }
      writeInt(target, at, 2, bits, le);
      return;
    }
    case FLOAT32: {
      const x = float(value, label, code, index);
      const y = Math.fround(x);
      if (!Number.isFinite(y) && Number.isFinite(x)) {
        throw new RangeError(
          `${argName(label, code, index)} is too large for a 32-bit float: ${
            describe(value)
          }; use "d" for larger numbers`,
        );
      }
      scratchView.setFloat32(0, y, le);
      fromScratch(target, at, 4);
      return;
    }
    default: // FLOAT64
      scratchView.setFloat64(0, float(value, label, code, index), le);
      fromScratch(target, at, 8);
  }
}
