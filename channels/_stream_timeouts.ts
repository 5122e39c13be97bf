/**
 * A stream's idle and frame timeouts, on one timer of the engine's ring.
 *
 * The timer is armed for the earlier of the two deadlines and never re-armed
 * per read: a read only records when it happened, and the timer, when it
 * fires, checks the real deadlines and re-arms for the rest. A stream gets
 * this object only once a timeout is set, so streams without timeouts pay
 * nothing for them.
 *
 * @module
 */

import type { Engine } from "../engine/engine.ts";
import type { Timer } from "../engine/timer.ts";

/**
 * Which limit `onTimeout` reports: no traffic for `timeout` ms, or a frame not completed within `frameTimeout` ms.
 *
 * @example Usage
 * ```ts
 * import { Stream, type StreamTimeout } from "@pants/pants";
 *
 * class Patient extends Stream {
 *   override onTimeout(kind: StreamTimeout): void {
 *     if (kind === "idle") this.write("PING\n");
 *     else this.close();
 *   }
 * }
 * ```
 */
export type StreamTimeout = "idle" | "frame";

/** `stream[timedOut](kind)`: a deadline passed. */
export const timedOut: unique symbol = Symbol("pants.timedOut");

/** What the timeouts belong to. */
export interface TimeoutOwner {
  /** The engine whose clock and ring run the timer. */
  readonly engine: Engine;
  /** A deadline passed: report it (`onTimeout`). */
  [timedOut](kind: StreamTimeout): void;
}

/**
 * Checks a timeout setting.
 *
 * @throws {RangeError} For a value that is not a finite number of milliseconds, 0 or more.
 */
export function checkTimeout(name: string, ms: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`Invalid ${name} ${ms}: expected milliseconds, 0 or more (0 disables it)`);
  }
  return ms;
}

function fire(timeouts: StreamTimeouts): void {
  timeouts.check();
}

/** The idle and frame deadlines of one stream. */
export class StreamTimeouts {
  readonly #owner: TimeoutOwner;
  #idle = 0;
  #frame = 0;
  #running = false;
  #lastActivity = 0;
  /** When the first byte of the pending partial frame arrived, or -1. */
  #frameSince = -1;
  #timer: Timer | null = null;

  /** Creates the timeouts of a stream; they run once `start()` is called. */
  constructor(owner: TimeoutOwner) {
    this.#owner = owner;
    this.#lastActivity = owner.engine.now();
  }

  /** The idle timeout (ms, 0 = off). */
  get idle(): number {
    return this.#idle;
  }
  set idle(ms: number) {
    this.#idle = checkTimeout("timeout", ms);
    this.#lastActivity = this.#owner.engine.now();
    this.#arm();
  }

  /** The frame timeout (ms, 0 = off). */
  get frame(): number {
    return this.#frame;
  }
  set frame(ms: number) {
    this.#frame = checkTimeout("frameTimeout", ms);
    this.#arm();
  }

  /** The stream is connected: deadlines count from now. */
  start(): void {
    this.#running = true;
    this.#lastActivity = this.#owner.engine.now();
    this.#arm();
  }

  /** The stream closed: no deadline fires any more. */
  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** A byte was read or written. */
  activity(): void {
    if (this.#idle > 0) this.#lastActivity = this.#owner.engine.now();
  }

  /**
   * After a read: a partial frame starts (or restarts, when frames were
   * delivered) the frame clock; no partial frame stops it.
   *
   * @param progressed Whether the read completed frames.
   * @param partial Whether a partial frame is buffered now.
   */
  read(progressed: boolean, partial: boolean): void {
    if (this.#frame === 0) return;
    if (!partial) {
      this.#frameSince = -1;
    } else if (progressed || this.#frameSince < 0) {
      const idle = this.#frameSince < 0;
      this.#frameSince = this.#owner.engine.now();
      if (idle) this.#arm();
    }
  }

  /** The timer fired: reports a passed deadline, or re-arms for the next one. */
  check(): void {
    this.#timer = null;
    if (!this.#running) return;
    const now = this.#owner.engine.now();
    let kind: StreamTimeout | null = null;
    if (this.#idle > 0 && now - this.#lastActivity >= this.#idle) kind = "idle";
    else if (this.#frame > 0 && this.#frameSince >= 0 && now - this.#frameSince >= this.#frame) {
      kind = "frame";
    }
    if (kind !== null) {
      this.#frameSince = -1;
      this.#lastActivity = now;
      this.#owner[timedOut](kind);
    }
    this.#arm();
  }

  #arm(): void {
    this.#timer?.cancel();
    this.#timer = null;
    if (!this.#running) return;
    let due = Infinity;
    if (this.#idle > 0) due = this.#lastActivity + this.#idle;
    if (this.#frame > 0 && this.#frameSince >= 0) {
      due = Math.min(due, this.#frameSince + this.#frame);
    }
    if (due !== Infinity) {
      const engine = this.#owner.engine;
      this.#timer = engine.defer(Math.max(0, due - engine.now()), fire, this);
    }
  }
}
