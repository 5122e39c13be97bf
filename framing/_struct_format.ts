/**
 * Parsing of Python `struct` format strings, shared by `Struct` and
 * `NetStruct`.
 *
 * A format compiles once into a flat list of field operations. Offsets are
 * relative to the start of a *segment*: a `Struct` has one segment; in a
 * `NetStruct` every length-prefixed field (`H$`) ends a segment, and the next
 * segment starts right after its payload.
 *
 * @module
 */

import type { RecordStep } from "./frame_rule.ts";

// Field kinds. Plain numbers (not an enum) so the hot loops switch on smis.
export const INT8 = 0;
export const UINT8 = 1;
export const INT16 = 2;
export const UINT16 = 3;
export const INT32 = 4;
export const UINT32 = 5;
export const INT64 = 6;
export const UINT64 = 7;
export const BOOL = 8;
export const CHAR = 9;
export const BYTES = 10;
export const PASCAL = 11;
export const FLOAT16 = 12;
export const FLOAT32 = 13;
export const FLOAT64 = 14;
/** A length prefix (`size` bytes, unsigned) followed by that many bytes. */
export const PREFIXED = 15;
const PAD = -1;

/** One compiled field: `repeat` values of `size` bytes each from `offset`. */
export interface FieldOp {
  /** One of the kind constants above. */
  readonly kind: number;
  /** The format code, for messages. */
  readonly code: string;
  /** Byte offset from the start of the segment. */
  readonly offset: number;
  /** Bytes per value (`s`, `p`: the whole field; `PREFIXED`: the prefix width). */
  readonly size: number;
  /** Values this field reads or writes (a count on a number code; else 1). */
  readonly repeat: number;
  /** Byte order of multi-byte numbers. */
  readonly littleEndian: boolean;
}

/** A compiled format. */
export interface ParsedFormat {
  readonly ops: readonly FieldOp[];
  /** Values packed or unpacked (length prefixes excluded). */
  readonly valueCount: number;
  /** Size with every length-prefixed payload empty (a `Struct`'s size). */
  readonly minimumSize: number;
  /** One step per length prefix, then the trailing fixed part (`prefix` 0). */
  readonly steps: readonly RecordStep[];
}

/** Largest record size a format may describe. */
export const MAX_FORMAT_SIZE = 0x7fffffff;

/** Whether typed arrays (and native `@`/`=` order) are little-endian here. */
export const NATIVE_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `sizeof(long)` as Python's native `@l` sees it: 4 on Windows, else 8. */
const NATIVE_LONG_SIZE = globalThis.Deno?.build.os === "windows" ? 4 : 8;

const STANDARD_CODES = "x c b B ? h H i I l L q Q e f d s p";

interface CodeInfo {
  readonly kind: number;
  readonly size: number;
}

/** Kind and size of a code, or undefined for an unknown code. */
function codeInfo(code: string, native: boolean): CodeInfo | undefined {
  switch (code) {
    case "x":
      return { kind: PAD, size: 1 };
    case "c":
      return { kind: CHAR, size: 1 };
    case "b":
      return { kind: INT8, size: 1 };
    case "B":
      return { kind: UINT8, size: 1 };
    case "?":
      return { kind: BOOL, size: 1 };
    case "h":
      return { kind: INT16, size: 2 };
    case "H":
      return { kind: UINT16, size: 2 };
    case "i":
      return { kind: INT32, size: 4 };
    case "I":
      return { kind: UINT32, size: 4 };
    case "l":
      return native && NATIVE_LONG_SIZE === 8 ? { kind: INT64, size: 8 } : { kind: INT32, size: 4 };
    case "L":
      return native && NATIVE_LONG_SIZE === 8
        ? { kind: UINT64, size: 8 }
        : { kind: UINT32, size: 4 };
    case "q":
    case "n":
      return { kind: INT64, size: 8 };
    case "Q":
    case "N":
    case "P":
      return { kind: UINT64, size: 8 };
    case "e":
      return { kind: FLOAT16, size: 2 };
    case "f":
      return { kind: FLOAT32, size: 4 };
    case "d":
      return { kind: FLOAT64, size: 8 };
    case "s":
      return { kind: BYTES, size: 1 };
    case "p":
      return { kind: PASCAL, size: 1 };
    default:
      return undefined;
  }
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Unsigned integer kinds allowed as a NetStruct length prefix. */
function isUnsignedInteger(kind: number): boolean {
  return kind === UINT8 || kind === UINT16 || kind === UINT32 || kind === UINT64;
}

/**
 * Compiles a format string.
 *
 * @param format The format string.
 * @param owner Which class parses it: `"NetStruct"` allows `$` fields and
 * requires an explicit non-native byte order.
 * @returns The compiled format.
 * @throws {TypeError} If the format is invalid; the message names the index.
 */
export function parseFormat(format: string, owner: "Struct" | "NetStruct"): ParsedFormat {
  const label = owner === "Struct" ? "struct" : "NetStruct";
  if (typeof format !== "string") {
    throw new TypeError(`${owner} format must be a string, got ${typeof format}`);
  }
  function fail(what: string): never {
    throw new TypeError(`Invalid ${label} format ${JSON.stringify(format)}: ${what}`);
  }
  const net = owner === "NetStruct";
  const order = format[0] ?? "";
  let i = 0;
  if ("@=<>!".includes(order) && order !== "") i = 1;
  const native = i === 0 || order === "@";
  if (net && native) {
    fail(
      (i === 0
        ? 'a byte order prefix is required (without one, a format means native order and alignment "@")'
        : 'native byte order and alignment "@" is not supported') +
        '; start the format with "!", ">", "<" or "="',
    );
  }
  const littleEndian = order === "<" || ((order === "=" || native) && NATIVE_LITTLE_ENDIAN);

  const ops: FieldOp[] = [];
  const steps: RecordStep[] = [];
  let valueCount = 0;
  let done = 0; // bytes of finished segments (fixed parts and prefixes)
  let offset = 0; // offset in the current segment
  const grow = (bytes: number, at: number): void => {
    offset += bytes;
    if (done + offset > MAX_FORMAT_SIZE) {
      fail(`the field at index ${at} makes the record larger than ${MAX_FORMAT_SIZE} bytes`);
    }
  };

  while (i < format.length) {
    if (isSpace(format.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    let count = 1;
    let hasCount = false;
    if (isDigit(format.charCodeAt(i))) {
      hasCount = true;
      count = 0;
      while (i < format.length && isDigit(format.charCodeAt(i))) {
        count = count * 10 + (format.charCodeAt(i) - 48);
        if (count > MAX_FORMAT_SIZE) fail(`the count at index ${start} is too large`);
        i++;
      }
      if (i === format.length) fail(`the count at index ${start} has no code after it`);
      if (isSpace(format.charCodeAt(i))) {
        fail(
          `whitespace at index ${i} separates a count from its code; write the code right after the count`,
        );
      }
    }
    const codeIndex = i;
    const code = format[i]!;
    i++;
    if ("@=<>!".includes(code)) {
      fail(`byte order "${code}" at index ${codeIndex} must be the first character of the format`);
    }
    if (code === "$") {
      fail(
        net
          ? `"$" at index ${codeIndex} must directly follow an unsigned integer code (B H I L Q) without a count`
          : `unknown code "$" at index ${codeIndex}; length-prefixed fields need NetStruct`,
      );
    }
    const info = codeInfo(code, native);
    if (info === undefined) {
      fail(
        `unknown code ${JSON.stringify(code)} at index ${codeIndex}; use one of ${STANDARD_CODES}`,
      );
    }
    if ((code === "n" || code === "N" || code === "P") && !native) {
      fail(`code "${code}" at index ${codeIndex} is only valid with native byte order "@"`);
    }
    if (native && info.size > 1 && info.kind !== BYTES && info.kind !== PASCAL) {
      // Native alignment: numbers are aligned to their size (as C does on
      // the platforms Deno runs on). No padding at the end of the record.
      const misalign = offset % info.size;
      if (misalign !== 0) grow(info.size - misalign, codeIndex);
    }

    if (net && format[i] === "$") {
      if (!isUnsignedInteger(info.kind)) {
        const hint =
          info.kind === INT8 || info.kind === INT16 || info.kind === INT32 || info.kind === INT64
            ? `; use "${code.toUpperCase()}"`
            : "; use one of B H I L Q";
        fail(
          `the length prefix "${code}" at index ${codeIndex} must be an unsigned integer code${hint}`,
        );
      }
      if (hasCount) fail(`the length prefix "${code}" at index ${codeIndex} cannot have a count`);
      i++;
      ops.push({ kind: PREFIXED, code, offset, size: info.size, repeat: 1, littleEndian });
      steps.push({ fixed: offset, prefix: info.size as 1 | 2 | 4 | 8, littleEndian });
      grow(info.size, codeIndex);
      done += offset;
      offset = 0;
      valueCount++;
      continue;
    }

    if (info.kind === PAD) {
      grow(count, codeIndex);
    } else if (info.kind === BYTES || info.kind === PASCAL) {
      ops.push({ kind: info.kind, code, offset, size: count, repeat: 1, littleEndian });
      grow(count, codeIndex);
      valueCount++;
    } else if (count > 0) {
      ops.push({ kind: info.kind, code, offset, size: info.size, repeat: count, littleEndian });
      grow(count * info.size, codeIndex);
      valueCount += count;
    }
  }
  steps.push({ fixed: offset, prefix: 0, littleEndian });
  return { ops, valueCount, minimumSize: done + offset, steps };
}
