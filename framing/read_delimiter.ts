/**
 * Validates a `readDelimiter` value once, at assignment, and turns it into
 * what the read path needs: a rule for the framing core, a regex, or chunks.
 *
 * @module
 */

import { type FrameRule, MAX_DELIMITER_LENGTH } from "./frame_rule.ts";
import { describe } from "./_describe.ts";
import { lastCharOf, mostMatchLength } from "./_regex_text.ts";
import { NetStruct, netStructReader } from "./net_struct.ts";
import { Struct, structReader } from "./struct.ts";
import { type RecordReader, valuesArray } from "./_record_reader.ts";
import type { StructValue } from "./struct_value.ts";

/**
 * Every value `Stream.readDelimiter` accepts.
 *
 * @example Usage
 * ```ts
 * import { type ReadDelimiter, Stream, Struct } from "@pants/pants";
 *
 * const delimiters: ReadDelimiter[] = [null, "\r\n", 8, /\s+/, new Struct("!I")];
 * class Switching extends Stream {
 *   override onConnect(): void {
 *     this.readDelimiter = delimiters[1]!;
 *   }
 * }
 * ```
 */
export type ReadDelimiter = null | string | Uint8Array | number | RegExp | Struct | NetStruct;

/**
 * The text encodings frames can be decoded with: `null` for bytes, or
 * `"utf-8"` for strings.
 *
 * @example Usage
 * ```ts
 * import { type FrameEncoding, Stream } from "@pants/pants";
 *
 * class Text extends Stream {
 *   override onConnect(): void {
 *     const encoding: FrameEncoding = "utf-8";
 *     this.encoding = encoding;
 *   }
 * }
 * ```
 */
export type FrameEncoding = null | "utf-8";

/** A parsed delimiter. */
export type Delimiter =
  | { readonly kind: "chunk" }
  | {
    readonly kind: "core";
    readonly rule: FrameRule;
    /** The frame size of a fixed rule, else 0: it raises the buffer limit. */
    readonly fixedSize: number;
    readonly struct: Struct | null;
    readonly netStruct: NetStruct | null;
    /** How a `Struct` or `NetStruct` record is unpacked, else null. */
    readonly record: RecordUnpacking | null;
  }
  | RegexDelimiter;

/** The compiled reader of a `Struct` / `NetStruct` delimiter and the array it fills. */
export interface RecordUnpacking {
  readonly read: RecordReader;
  /** Reused for every record framed with this assignment: valid during a callback only. */
  readonly values: StructValue[];
}

/** A parsed delimiter the framing core scans for. */
export type CoreDelimiter = Extract<Delimiter, { readonly kind: "core" }>;

/** A parsed `RegExp` delimiter: search (every match from `lastIndex`) and match (anchored) forms. */
export interface RegexDelimiter {
  readonly kind: "regex";
  /** Finds the next match from `lastIndex` (global). */
  readonly searchAll: RegExp;
  /** Matches at `lastIndex` only (sticky). */
  readonly match: RegExp;
  /** The most characters a match takes, or `Infinity` (see `_regex_text.ts`). */
  readonly mostMatch: number;
  /** The character every match ends with, or null (see `_regex_text.ts`). */
  readonly lastChar: string | null;
}

/**
 * The largest `bufferSize`, block size or `Struct` record: 1 GiB (what one
 * receive buffer of the framing core holds) less one 64 KiB read, so input
 * is always judged complete or overflowing before the buffer is full.
 */
export const MAX_BUFFER_SIZE: number = 2 ** 30 - 2 ** 16;

/** Strings a delimiter `RegExp` is tried on at assignment: none may give an empty match. */
const EMPTY_MATCH_PROBES = ["", "\n", "\r\n", " ", "a", "0", ";", "\t"];

const CHUNK: Delimiter = { kind: "chunk" };
const encoder = new TextEncoder();

function bytesRule(delimiter: Uint8Array, original: unknown): Delimiter {
  if (delimiter.length === 0) {
    throw new TypeError(
      `Invalid readDelimiter ${
        describe(original)
      }: a delimiter must not be empty; use null for chunks`,
    );
  }
  if (delimiter.length > MAX_DELIMITER_LENGTH) {
    throw new RangeError(
      `Invalid readDelimiter ${describe(original)}: a delimiter is at most ` +
        `${MAX_DELIMITER_LENGTH} bytes, this one ${delimiter.length}; use a RegExp for a longer one`,
    );
  }
  return {
    kind: "core",
    rule: { kind: "delimiter", delimiter: delimiter.slice() },
    fixedSize: 0,
    struct: null,
    netStruct: null,
    record: null,
  };
}

function withoutFlags(re: RegExp, add: string): RegExp {
  return new RegExp(re.source, re.flags.replace(/[gy]/g, "") + add);
}

function checkSize(size: number, what: string, original: unknown): number {
  if (size > MAX_BUFFER_SIZE) {
    throw new RangeError(
      `Invalid readDelimiter ${describe(original)}: ${what} of ${size} bytes is over the ` +
        `limit of ${MAX_BUFFER_SIZE} (1 GiB less one read)`,
    );
  }
  return size;
}

/** Rejects a RegExp that can match the empty string: it would never cut a frame. */
function checkNotEmpty(re: RegExp, original: RegExp): void {
  for (const probe of EMPTY_MATCH_PROBES) {
    re.lastIndex = 0;
    const found = re.exec(probe);
    if (found !== null && found[0].length === 0) {
      throw new TypeError(
        `Invalid readDelimiter ${describe(original)}: it matches the empty string ` +
          `(in ${
            JSON.stringify(probe)
          }), so it would never cut a frame; make it match at least one character`,
      );
    }
  }
}

/**
 * Parses a `readDelimiter` value.
 *
 * @param value The value assigned by the user.
 * @returns The parsed delimiter.
 * @throws {TypeError} When the value is not a valid delimiter; the message names it.
 */
export function parseDelimiter(value: ReadDelimiter): Delimiter {
  if (value === null) return CHUNK;
  if (typeof value === "string") return bytesRule(encoder.encode(value), value);
  if (value instanceof Uint8Array) return bytesRule(value, value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new TypeError(
        `Invalid readDelimiter ${describe(value)}: a block size must be a positive integer`,
      );
    }
    checkSize(value, "a block size", value);
    return {
      kind: "core",
      rule: { kind: "fixed", size: value },
      fixedSize: value,
      struct: null,
      netStruct: null,
      record: null,
    };
  }
  if (value instanceof RegExp) {
    const searchAll = withoutFlags(value, "g");
    checkNotEmpty(searchAll, value);
    return {
      kind: "regex",
      searchAll,
      match: withoutFlags(value, "y"),
      mostMatch: mostMatchLength(value),
      lastChar: lastCharOf(value),
    };
  }
  if (value instanceof Struct) {
    checkSize(value.size, "a record", value);
    return {
      kind: "core",
      rule: value.rule,
      fixedSize: value.size,
      struct: value,
      netStruct: null,
      record: { read: structReader(value), values: valuesArray(value.valueCount) },
    };
  }
  if (value instanceof NetStruct) {
    return {
      kind: "core",
      rule: value.rule,
      fixedSize: 0,
      struct: null,
      netStruct: value,
      record: { read: netStructReader(value), values: valuesArray(value.valueCount) },
    };
  }
  throw new TypeError(
    `Invalid readDelimiter ${describe(value)}: expected null, a string, a Uint8Array, ` +
      `a positive integer, a RegExp, a Struct or a NetStruct`,
  );
}

/**
 * Validates a `bufferSize` setting.
 *
 * @param value The most bytes to buffer for one frame (or datagram).
 * @param most The largest value that works (`MAX_BUFFER_SIZE` by default).
 * @returns The value.
 * @throws {RangeError} For a value that is not a positive integer up to `most`.
 */
export function checkBufferSize(value: number, most: number = MAX_BUFFER_SIZE): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > most) {
    throw new RangeError(
      `Invalid bufferSize ${describe(value)}: expected a positive integer up to ${most}`,
    );
  }
  return value;
}
