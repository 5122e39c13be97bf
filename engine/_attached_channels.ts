/**
 * The channels attached to an engine: counted by kind for `counts()`, and
 * closed in `stop()`'s order (servers, then the rest with `flush: true`,
 * then whatever is left after the grace period without flushing).
 *
 * @module
 */

import type { ChannelCounts } from "./stats.ts";
import type { Clock } from "./clock.ts";
import type { EngineChannel } from "./engine_channel.ts";
import type { TimerErrorReporter } from "./timer_ring.ts";

/** An engine's attached channels. */
export class AttachedChannels {
  readonly #channels = new Set<EngineChannel>();
  readonly #counts: ChannelCounts = { stream: 0, server: 0, datagram: 0 };
  #emptyWaiter: (() => void) | null = null;

  /**
   * Attached channels.
   *
   * @returns The count.
   */
  get size(): number {
    return this.#channels.size;
  }

  /**
   * Attached channels by kind.
   *
   * @returns A fresh `{ stream, server, datagram }` object.
   */
  counts(): ChannelCounts {
    return { ...this.#counts };
  }

  /**
   * The attached channels for a message, by kind with their class names:
   * `["1 server (Server)", "2 streams (Client)"]`.
   *
   * @returns One entry per kind present.
   */
  describe(): string[] {
    const classes: Record<EngineChannel["kind"], Set<string>> = {
      server: new Set(),
      stream: new Set(),
      datagram: new Set(),
    };
    for (const channel of this.#channels) classes[channel.kind].add(channel.constructor.name);
    const parts: string[] = [];
    for (const kind of ["server", "stream", "datagram"] as const) {
      const n = this.#counts[kind];
      if (n === 0) continue;
      const noun = kind === "datagram" ? "datagram channel" : kind;
      parts.push(`${n} ${noun}${n === 1 ? "" : "s"} (${[...classes[kind]].join(", ")})`);
    }
    return parts;
  }

  /**
   * Whether `channel` is attached.
   *
   * @param channel The channel.
   * @returns `true` if attached.
   */
  has(channel: EngineChannel): boolean {
    return this.#channels.has(channel);
  }

  /**
   * Attaches `channel`.
   *
   * @param channel The channel.
   * @returns `false` if it was attached already.
   */
  add(channel: EngineChannel): boolean {
    if (this.#channels.has(channel)) return false;
    this.#channels.add(channel);
    this.#counts[channel.kind]++;
    return true;
  }

  /**
   * Detaches `channel`; detaching the last one ends a
   * {@linkcode AttachedChannels.whenEmpty} wait.
   *
   * @param channel The channel.
   * @returns `false` if it was not attached.
   */
  delete(channel: EngineChannel): boolean {
    if (!this.#channels.delete(channel)) return false;
    this.#counts[channel.kind]--;
    if (this.#channels.size === 0) {
      const waiter = this.#emptyWaiter;
      if (waiter !== null) waiter();
    }
    return true;
  }

  /**
   * The first step of `stop()`: closes the servers (they stop listening),
   * then asks every other channel to close with `flush: true`.
   *
   * @param report Receives exceptions thrown by `close()`.
   */
  closeGracefully(report: TimerErrorReporter): void {
    for (const channel of [...this.#channels]) {
      if (channel.kind === "server") close(channel, undefined, report);
    }
    for (const channel of [...this.#channels]) {
      if (channel.kind !== "server") close(channel, { flush: true }, report);
    }
  }

  /**
   * Closes every channel still attached with `flush: false`.
   *
   * @param report Receives exceptions thrown by `close()`.
   */
  closeRemaining(report: TimerErrorReporter): void {
    for (const channel of [...this.#channels]) close(channel, { flush: false }, report);
  }

  /**
   * Waits until every channel detached or `graceMs` elapsed.
   *
   * @param clock Arms the grace timer.
   * @param graceMs The longest wait in milliseconds.
   * @returns A promise resolved when either happened.
   */
  whenEmpty(clock: Clock, graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const grace = clock.setTimer(() => done(), graceMs);
      const done = () => {
        this.#emptyWaiter = null;
        clock.clearTimer(grace);
        resolve();
      };
      this.#emptyWaiter = done;
    });
  }
}

function close(
  channel: EngineChannel,
  options: { flush: boolean } | undefined,
  report: TimerErrorReporter,
): void {
  try {
    channel.close(options);
  } catch (err) {
    report(err, channel.close);
  }
}
