/**
 * A stream's write side: the send queue, the loop that hands it to the
 * socket, and exclusive jobs (sending a file, a TLS upgrade) that run once
 * everything queued before them was sent while later writes wait behind
 * them, in order.
 *
 * @module
 */

import { SendQueue } from "./_send_queue.ts";
import type { Transport } from "../transport/_socket.ts";

/** `host[sendTarget]`: the connection to write to. */
export const sendTarget: unique symbol = Symbol("pants.sendTarget");
/** `host[sent](n)`: `n` bytes were written to the socket. */
export const sent: unique symbol = Symbol("pants.sent");
/** `host[sendDrained]()`: everything queued was sent. */
export const sendDrained: unique symbol = Symbol("pants.sendDrained");
/** `host[sendFailed](error)`: a socket write failed; the queue was cleared. */
export const sendFailed: unique symbol = Symbol("pants.sendFailed");
/** `host[sendLow]()`: the queue fell to the low-water mark (and is not empty). */
export const sendLow: unique symbol = Symbol("pants.sendLow");

/**
 * What the writer needs from its stream: symbol-keyed members of the stream
 * itself, so a stream pays for no host object or closures.
 */
export interface WriterHost {
  /** The connection to write to. */
  readonly [sendTarget]: Transport;
  /** `n` bytes were written to the socket. */
  [sent](n: number): void;
  /** Everything queued was sent. */
  [sendDrained](): void;
  /** A socket write failed; the queue was cleared. */
  [sendFailed](error: unknown): void;
  /** The queue fell from above `Writer.lowWater` to it or below, and is not empty. */
  [sendLow]?(): void;
}

/** Work that needs the connection to itself (e.g. streaming a file). */
export type ExclusiveJob = (transport: Transport) => Promise<void>;

const encoder = new TextEncoder();

/** Queues writes, coalesces them per iteration, and runs exclusive jobs in order. */
export class Writer {
  readonly #host: WriterHost;
  readonly #queue = new SendQueue();
  #writing = false;
  #scheduled = false;
  #held: (Uint8Array | ExclusiveJob)[] | null = null;
  #heldBytes = 0;
  #drainWaiter: PromiseWithResolvers<void> | null = null;
  #stopped = false;
  /** `end()` was called: no more writes, and a FIN after what was queued. */
  #ended = false;
  /** The low-water mark in bytes; 0: only an empty queue is reported. */
  lowWater = 0;
  /** The chunk being written, and how much of it was written. */
  #chunk: Uint8Array | null = null;
  #offset = 0;
  readonly #written = (n: number): void => this.#afterWrite(n);
  readonly #failed = (error: unknown): void => this.#writeFailed(error);
  readonly #flushTask = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  /** Creates the write side of a stream. */
  constructor(host: WriterHost) {
    this.#host = host;
  }

  /** Bytes queued (or held behind a job) and not yet sent. */
  get size(): number {
    return this.#queue.size + this.#heldBytes;
  }

  /** Whether anything is queued, being written, or a job is running. */
  get busy(): boolean {
    return this.#writing || this.#queue.pendingLength > 0 || this.#held !== null;
  }

  /** Queues bytes (copied) or a string (as UTF-8), to be sent at the end of the iteration. */
  write(data: Uint8Array | string): void {
    if (this.#held !== null) {
      const copy = typeof data === "string" ? encoder.encode(data) : data.slice();
      this.#held.push(copy);
      this.#heldBytes += copy.length;
      return;
    }
    this.#queue.push(data);
    this.#schedule();
  }

  /** Queues `count` bytes written in place by `fill(target, offset)`. */
  writeInPlace(count: number, fill: (target: Uint8Array, offset: number) => void): void {
    if (this.#held !== null) {
      const bytes = new Uint8Array(count);
      fill(bytes, 0);
      this.write(bytes);
      return;
    }
    this.#queue.pushInPlace(count, fill);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      queueMicrotask(this.#flushTask);
    }
  }

  /** Starts sending now. */
  flush(): void {
    if (!this.#writing && !this.#stopped && this.#queue.pendingLength > 0) this.#next();
  }

  /**
   * Runs `job` after everything queued so far was sent; later writes wait
   * for it. It starts at the end of the iteration, like a write, or at once
   * with `now`.
   */
  runExclusive(job: ExclusiveJob, now = false): void {
    if (this.#held !== null) {
      this.#held.push(job);
      return;
    }
    this.#held = [];
    if (now) void this.#run(job);
    else queueMicrotask(() => void this.#run(job));
  }

  /** Whether `end()` was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Half-closes the connection once everything queued so far was sent (an
   * exclusive job, so it stays in order); a failure goes to `sendFailed`.
   */
  end(): void {
    this.#ended = true;
    this.runExclusive((transport) =>
      transport.closeWrite().catch((error: unknown) => {
        if (this.#stopped) return;
        this.stop();
        this.#host[sendFailed](error);
      })
    );
  }

  /** Drops everything queued and stops (on close). */
  stop(): void {
    this.#stopped = true;
    this.#queue.clear();
    this.#held = null;
    this.#heldBytes = 0;
    this.#drainWaiter?.resolve();
    this.#drainWaiter = null;
  }

  /** Hands the next collected chunk to the socket (there is one). */
  #next(): void {
    this.#writing = true;
    this.#chunk = this.#queue.take();
    this.#offset = 0;
    this.#send();
  }

  /**
   * One socket write of the rest of the current chunk. A state machine with
   * pre-bound continuations rather than an async loop: no promise chain or
   * closure per write.
   */
  #send(): void {
    const chunk = this.#chunk!;
    let writing: Promise<number>;
    try {
      writing = this.#host[sendTarget].write(
        this.#offset === 0 ? chunk : chunk.subarray(this.#offset),
      );
    } catch (error) {
      return this.#writeFailed(error);
    }
    writing.then(this.#written, this.#failed);
  }

  #afterWrite(n: number): void {
    if (this.#stopped) {
      this.#writing = false;
      return;
    }
    this.#offset += n;
    const before = this.size;
    this.#queue.sent(n);
    this.#host[sent](n);
    const low = this.lowWater;
    if (low > 0 && before > low && this.size <= low && this.size > 0) {
      this.#host[sendLow]?.();
      if (this.#stopped) {
        this.#writing = false;
        this.#chunk = null;
        return;
      }
    }
    if (this.#offset < this.#chunk!.length) return this.#send();
    this.#chunk = null;
    this.#queue.release();
    if (this.#queue.pendingLength > 0) return this.#next();
    this.#writing = false;
    if (this.#drainWaiter !== null) {
      const waiter = this.#drainWaiter;
      this.#drainWaiter = null;
      waiter.resolve();
    } else if (this.#held === null) {
      this.#host[sendDrained]();
    }
  }

  #writeFailed(error: unknown): void {
    this.#writing = false;
    this.#chunk = null;
    if (this.#stopped) return;
    this.stop();
    this.#host[sendFailed](error);
  }

  #sent(): Promise<void> {
    if (!this.#writing && this.#queue.pendingLength === 0) return Promise.resolve();
    this.#drainWaiter ??= Promise.withResolvers();
    this.flush();
    return this.#drainWaiter.promise;
  }

  async #run(job: ExclusiveJob): Promise<void> {
    await this.#sent();
    if (this.#stopped) return;
    await job(this.#host[sendTarget]);
    if (this.#stopped) return;
    const held = this.#held ?? [];
    this.#held = null;
    this.#heldBytes = 0;
    for (let i = 0; i < held.length; i++) {
      const item = held[i]!;
      if (typeof item === "function") {
        this.#held = [];
        for (const rest of held.slice(i + 1)) {
          this.#held.push(rest);
          if (typeof rest !== "function") this.#heldBytes += rest.length;
        }
        void this.#run(item);
        return;
      }
      this.#queue.push(item);
    }
    if (this.#queue.pendingLength > 0) this.flush();
    else if (!this.#writing) this.#host[sendDrained]();
  }
}
