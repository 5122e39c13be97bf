/**
 * `Stream.writePacked()`: which format packs the values (the `{ format }`
 * given last, or the `Struct`/`NetStruct` delimiter's), with format strings
 * compiled once per process.
 *
 * @module
 */

import { NetStruct } from "../framing/net_struct.ts";
import type { Delimiter } from "../framing/read_delimiter.ts";
import { Struct } from "../framing/struct.ts";
import type { WritePackedOptions } from "./write_options.ts";

const structs = new Map<string, Struct | NetStruct>();

/** A `Struct` (or, with `$` fields, a `NetStruct`) per format string, compiled once. */
function structFor(format: string): Struct | NetStruct {
  let struct = structs.get(format);
  if (struct === undefined) {
    struct = format.includes("$") ? new NetStruct(format) : new Struct(format);
    if (structs.size >= 256) structs.clear();
    structs.set(format, struct);
  }
  return struct;
}

function isPackedOptions(value: unknown): value is WritePackedOptions {
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return false;
  const format = (value as WritePackedOptions).format;
  return typeof format === "string" || format instanceof Struct || format instanceof NetStruct;
}

/**
 * Picks the format for `writePacked(...values)` and removes a trailing
 * `{ format }` from `values`.
 *
 * @throws {TypeError} Without a `{ format }` and without a struct delimiter.
 */
export function packFormat(values: unknown[], delimiter: Delimiter): Struct | NetStruct {
  const last = values[values.length - 1];
  if (isPackedOptions(last)) {
    values.pop();
    return typeof last.format === "string" ? structFor(last.format) : last.format;
  }
  if (delimiter.kind === "core") {
    const codec = delimiter.struct ?? delimiter.netStruct;
    if (codec !== null) return codec;
  }
  throw new TypeError(
    "Cannot writePacked: set readDelimiter to a Struct or NetStruct, or pass { format } last",
  );
}
