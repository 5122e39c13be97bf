/**
 * The values records hold: what `Struct` and `NetStruct` unpack, and what they pack.
 *
 * @module
 */

/**
 * A value unpacked from a record: `number` for integers up to 32 bits and
 * floats, `bigint` for 64-bit integers, `boolean` for `?`, and `Uint8Array`
 * for `c`, `s` and `p` (a view into the unpacked bytes).
 *
 * @example Usage
 * ```ts
 * import { Struct, type StructValue } from "@pants/pants";
 *
 * const [id, flag]: StructValue[] = new Struct("!H?").unpack(new Uint8Array([0, 7, 1]));
 * ```
 */
export type StructValue = number | bigint | boolean | Uint8Array;

/**
 * A value to pack: integers as `number` or `bigint`, floats as `number`,
 * `?` as `boolean` (or a number, 0 being false), byte strings (`c`, `s`, `p`)
 * as `Uint8Array` or `string` (encoded as UTF-8).
 *
 * @example Usage
 * ```ts
 * import { Struct, type StructInput } from "@pants/pants";
 *
 * const values: StructInput[] = [1, 2n, true, "name"];
 * const bytes = new Struct("!Bq?4s").pack(...values);
 * ```
 */
export type StructInput = number | bigint | boolean | Uint8Array | string;
