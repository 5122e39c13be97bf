/**
 * The checks every framing core applies to a rule before accepting it.
 *
 * @module
 */

import {
  type FrameRule,
  MAX_DELIMITER_LENGTH,
  MAX_INT32,
  MAX_RECORD_STEPS,
  type RecordStep,
} from "./frame_rule.ts";

/**
 * Checks a rule against the `FrameRule` contract.
 *
 * @param rule The rule to check.
 * @returns The record's least length (sum of `fixed + prefix`), or 0 for other kinds.
 */
export function checkRule(rule: FrameRule): number {
  switch (rule?.kind) {
    case "delimiter": {
      const delimiter: unknown = rule.delimiter;
      if (!(delimiter instanceof Uint8Array)) {
        throw new TypeError(`The delimiter must be a Uint8Array, got "${typeof delimiter}"`);
      }
      if (delimiter.length < 1 || delimiter.length > MAX_DELIMITER_LENGTH) {
        throw new RangeError(
          `The delimiter must be 1 to ${MAX_DELIMITER_LENGTH} bytes long, got "${delimiter.length}"`,
        );
      }
      return 0;
    }
    case "fixed":
      if (!Number.isInteger(rule.size) || rule.size < 1 || rule.size > MAX_INT32) {
        throw new RangeError(
          `The frame size must be an integer from 1 to ${MAX_INT32}, got "${rule.size}"`,
        );
      }
      return 0;
    case "record": {
      const steps: readonly RecordStep[] = rule.steps;
      if (!Array.isArray(steps) || steps.length < 1 || steps.length > MAX_RECORD_STEPS) {
        throw new RangeError(
          `A record must have 1 to ${MAX_RECORD_STEPS} steps, got "${steps?.length}"`,
        );
      }
      let least = 0;
      for (const step of steps) {
        if (!Number.isInteger(step.fixed) || step.fixed < 0 || step.fixed > MAX_INT32) {
          throw new RangeError(
            `A step's fixed size must be an integer from 0 to ${MAX_INT32}, got "${step.fixed}"`,
          );
        }
        if (![0, 1, 2, 4, 8].includes(step.prefix)) {
          throw new RangeError(
            `A step's prefix must be 0, 1, 2, 4 or 8 bytes, got "${step.prefix}"`,
          );
        }
        if (typeof step.littleEndian !== "boolean") {
          throw new TypeError(
            `A step's littleEndian must be a boolean, got "${typeof step.littleEndian}"`,
          );
        }
        least += step.fixed + step.prefix;
      }
      if (least < 1 || least > MAX_INT32) {
        throw new RangeError(
          `A record's fixed parts and prefixes must take 1 to ${MAX_INT32} bytes, got "${least}"`,
        );
      }
      return least;
    }
    default:
      throw new TypeError(
        `Unknown frame rule kind "${
          (rule as { kind?: unknown })?.kind
        }": use "delimiter", "fixed" or "record"`,
      );
  }
}
