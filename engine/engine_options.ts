/**
 * Options for creating an {@linkcode Engine}.
 *
 * @module
 */

import type { Clock } from "./clock.ts";

/**
 * Options for {@linkcode Engine}.
 *
 * @example Usage
 * ```ts
 * import { Engine, ManualClock } from "@pants/pants";
 *
 * const engine = new Engine({ clock: new ManualClock(), graceMs: 1000 });
 * ```
 */
export interface EngineOptions {
  /**
   * Time source and host timer; a `ManualClock` makes tests deterministic.
   *
   * @default {realClock}
   */
  clock?: Clock;
  /**
   * How long `stop()` lets channels flush before it closes them without
   * flushing, in milliseconds.
   *
   * @default {5000}
   */
  graceMs?: number;
  /**
   * Slots of the timer ring (a power of two; one slot per millisecond).
   *
   * @default {4096}
   */
  timerSlots?: number;
}
