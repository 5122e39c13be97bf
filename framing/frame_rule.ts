/**
 * Frame rules: how the framing core cuts bytes into frames (a delimiter, a
 * fixed size, or length-prefixed records), and the limits every core
 * enforces.
 *
 * @module
 */

/**
 * One step of a length-prefixed record: `fixed` bytes, then an optional length prefix.
 *
 * @example Usage
 * ```ts
 * import type { RecordStep } from "@pants/pants";
 *
 * // "!BH$": one type byte, then a big-endian 16-bit length and the payload.
 * const step: RecordStep = { fixed: 1, prefix: 2, littleEndian: false };
 * ```
 */
export interface RecordStep {
  /** Bytes of fixed size before the prefix (may be 0). */
  readonly fixed: number;
  /** Width in bytes of the length prefix that follows, or 0 for none (a trailing fixed part). */
  readonly prefix: 0 | 1 | 2 | 4 | 8;
  /** Whether the prefix is little-endian (else big-endian, network order). */
  readonly littleEndian: boolean;
}

/**
 * How buffered bytes are cut into frames.
 *
 * - `delimiter`: frames end at each occurrence of the bytes (length 1 to
 *   `MAX_DELIMITER_LENGTH`); the delimiter is dropped from the frame.
 * - `fixed`: every frame is `size` bytes (size >= 1).
 * - `record`: variable-length records (1 to `MAX_RECORD_STEPS` steps); the
 *   record's length is the sum over `steps` of `fixed + prefix + value of the
 *   prefix` (unsigned).
 *
 * @example Usage
 * ```ts
 * import { type FrameRule, NetStruct } from "@pants/pants";
 *
 * const rule: FrameRule = new NetStruct("!I$").rule;
 * console.log(rule.kind); // "record"
 * ```
 */
export type FrameRule =
  | { readonly kind: "delimiter"; readonly delimiter: Uint8Array }
  | { readonly kind: "fixed"; readonly size: number }
  | { readonly kind: "record"; readonly steps: readonly RecordStep[] };

/** Longest delimiter of a `delimiter` rule, in bytes (rules live in a fixed-size area of each region). */
export const MAX_DELIMITER_LENGTH = 192;

/** Most steps of a `record` rule. */
export const MAX_RECORD_STEPS = 24;

/** Largest frame size, step size or scan limit: frame offsets are int32. */
export const MAX_INT32: number = 2 ** 31 - 1;
