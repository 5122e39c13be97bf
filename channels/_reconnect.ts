/**
 * The backoff of `connect(address, { reconnect })`: the validated policy,
 * the count of attempts that failed in a row, and the wait before the next.
 *
 * @module
 */

import { describe } from "../framing/_describe.ts";
import type { ReconnectOptions } from "./connect_options.ts";

const DEFAULTS: Required<ReconnectOptions> = {
  initialDelay: 1000,
  maxDelay: 60_000,
  factor: 1.6,
  jitter: 0.1,
  maxAttempts: Infinity,
  resetAfter: 5000,
};

function check(name: keyof ReconnectOptions, value: number, min: number, max = Infinity): void {
  if (typeof value !== "number" || !(value >= min && value <= max)) {
    const range = max === Infinity ? `${min} or more` : `${min} to ${max}`;
    throw new RangeError(`Invalid reconnect.${name} ${describe(value)}: expected ${range}`);
  }
}

/** A stream's reconnect policy and where it stands. */
export class Backoff {
  readonly initialDelay: number;
  readonly maxDelay: number;
  readonly factor: number;
  readonly jitter: number;
  readonly maxAttempts: number;
  readonly resetAfter: number;
  readonly #random: () => number;
  /** Attempts made since the last connection that stayed up. */
  #attempts = 0;
  #connectedAt = -1;

  /**
   * @param options `true` for the defaults, or the policy.
   * @param random The source of jitter, in [0, 1).
   * @throws {RangeError} For a value out of range.
   * @throws {TypeError} For something that is neither `true` nor an object.
   */
  constructor(options: true | ReconnectOptions, random: () => number = Math.random) {
    if (options !== true && (typeof options !== "object" || options === null)) {
      throw new TypeError(
        `Invalid reconnect ${describe(options)}: expected true or { initialDelay, maxDelay, ... }`,
      );
    }
    const policy = { ...DEFAULTS, ...(options === true ? {} : options) };
    check("initialDelay", policy.initialDelay, 0, 2 ** 31 - 1);
    check("maxDelay", policy.maxDelay, policy.initialDelay, 2 ** 31 - 1);
    check("factor", policy.factor, 1, 1000);
    check("jitter", policy.jitter, 0, 1);
    check("maxAttempts", policy.maxAttempts, 0);
    if (policy.maxAttempts !== Infinity && !Number.isInteger(policy.maxAttempts)) {
      check("maxAttempts", NaN, 0);
    }
    check("resetAfter", policy.resetAfter, 0);
    this.initialDelay = policy.initialDelay;
    this.maxDelay = policy.maxDelay;
    this.factor = policy.factor;
    this.jitter = policy.jitter;
    this.maxAttempts = policy.maxAttempts;
    this.resetAfter = policy.resetAfter;
    this.#random = random;
  }

  /** The number of the next attempt (1 for the first reconnect). */
  get attempt(): number {
    return this.#attempts + 1;
  }

  /** A connection came up at `now` (engine clock, ms). */
  connected(now: number): void {
    this.#connectedAt = now;
  }

  /**
   * The connection that came up is lost at `now`: reset if it stayed up long
   * enough, unless it was `refused` on top (a WebSocket upgrade): that
   * counts as a failed attempt.
   */
  lost(now: number, refused = false): void {
    const stayed = this.#connectedAt >= 0 && now - this.#connectedAt >= this.resetAfter;
    if (stayed && !refused) this.#attempts = 0;
    this.#connectedAt = -1;
  }

  /**
   * Takes the next attempt: its wait in whole milliseconds, or `-1` when
   * `maxAttempts` were made in a row and the stream gives up.
   */
  next(): number {
    if (this.#attempts >= this.maxAttempts) return -1;
    const base = Math.min(this.maxDelay, this.initialDelay * this.factor ** this.#attempts);
    this.#attempts++;
    const spread = base * this.jitter * (2 * this.#random() - 1);
    return Math.round(Math.min(this.maxDelay, Math.max(0, base + spread)));
  }
}
