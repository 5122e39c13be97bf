/**
 * Calling `onRead(...values)` for a record without a spread.
 *
 * The `Deframer` hands a stream each record's values in one array it
 * reuses; a spread call would copy them into a new arguments list per
 * record. Up to eight values go as fixed-arity calls instead (the common
 * formats), read out of the array before the call, so `onRead` may keep its
 * arguments and the array is free for the next record.
 *
 * @module
 */

import type { StructValue } from "../framing/struct_value.ts";

/** What a record is delivered to: a stream's `onRead`. */
export interface RecordTarget {
  // deno-lint-ignore no-explicit-any
  onRead(...data: any[]): void;
}

/**
 * Calls `target.onRead(values[0], ..., values[n - 1])`.
 *
 * @param target The stream.
 * @param v The record's values.
 */
export function onReadRecord(target: RecordTarget, v: StructValue[]): void {
  switch (v.length) {
    case 0:
      return target.onRead();
    case 1:
      return target.onRead(v[0]);
    case 2:
      return target.onRead(v[0], v[1]);
    case 3:
      return target.onRead(v[0], v[1], v[2]);
    case 4:
      return target.onRead(v[0], v[1], v[2], v[3]);
    case 5:
      return target.onRead(v[0], v[1], v[2], v[3], v[4]);
    case 6:
      return target.onRead(v[0], v[1], v[2], v[3], v[4], v[5]);
    case 7:
      return target.onRead(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
    case 8:
      return target.onRead(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    default:
      return target.onRead(...v);
  }
}
