/**
 * A stream's read side: the loop that reads the socket into one buffer and
 * hands each read to the stream, and the buffer's size, which follows the
 * traffic. The mirror of `_writer.ts`; the stream is the host, through
 * symbol-keyed methods.
 *
 * Sizing: a read that fills the buffer grows it four times (256 B, 1 KiB,
 * 4 KiB, 16 KiB, 64 KiB); a read that uses an eighth of it or less
 * shrinks it to twice that read (at least 256 B), so reads of steady size
 * keep their buffer. An idle stream's pending read thus holds 1 KiB after a
 * 256-byte message (where growing straight to 64 KiB would pin 64 KiB per
 * idle peer), at most eight times its last partial read, and never more
 * than 64 KiB, whatever came before; a bulk transfer reaches 64 KiB reads
 * after four reads. (Deno cannot swap the buffer of a pending read, so a
 * stream that falls silent right after a large read keeps that buffer.)
 *
 * @module
 */

import type { Transport } from "../transport/_socket.ts";

/** `host[readable]()`: whether to read now (connected, not paused, not upgrading). */
export const readable: unique symbol = Symbol("pants.readable");
/** `host[bytesRead](bytes)`: one read's bytes, valid during the call. */
export const bytesRead: unique symbol = Symbol("pants.bytesRead");
/** `host[readEnded]()`: the peer half-closed (EOF). */
export const readEnded: unique symbol = Symbol("pants.readEnded");
/** `host[readFailed](error)`: the read failed. */
export const readFailed: unique symbol = Symbol("pants.readFailed");

/** What the reader feeds. */
export interface ReaderHost {
  [readable](): boolean;
  [bytesRead](bytes: Uint8Array): void;
  [readEnded](): void;
  [readFailed](error: unknown): void;
}

const SMALL_READ = 256;
const LARGE_READ = 64 * 1024;
/** How much a full read grows the buffer. */
const GROWTH = 4;
/** A read this many times smaller than the buffer shrinks it. */
const SHRINK = 8;
const EMPTY = new Uint8Array(0);

/** Reads one connection while its host is readable. */
export class Reader {
  readonly #host: ReaderHost;
  #buffer: Uint8Array = EMPTY;
  /** The connection read now; a loop left on another one after `stop()` ends silently. */
  #transport: Transport | null = null;
  #running = false;
  #pending = false;

  /** Creates the read side of a stream. */
  constructor(host: ReaderHost) {
    this.#host = host;
  }

  /** Whether the loop runs (a read pending or being handled). */
  get running(): boolean {
    return this.#running;
  }

  /** Whether a read is pending on the socket. */
  get pending(): boolean {
    return this.#pending;
  }

  /** Starts the loop on `transport` unless it runs already. */
  start(transport: Transport): void {
    if (this.#running) return;
    this.#transport = transport;
    void this.#loop(transport);
  }

  /**
   * Releases the read buffer: the connection closed. A read still pending
   * on it reports nothing, so the host may start on a new connection.
   */
  stop(): void {
    this.#buffer = EMPTY;
    this.#transport = null;
    this.#running = this.#pending = false;
  }

  async #loop(transport: Transport): Promise<void> {
    const host = this.#host;
    this.#running = true;
    if (this.#buffer.length === 0) this.#buffer = new Uint8Array(SMALL_READ);
    while (host[readable]()) {
      const buffer = this.#buffer;
      let n: number | null;
      this.#pending = true;
      try {
        n = await transport.read(buffer);
      } catch (error) {
        if (this.#transport !== transport) return;
        this.#pending = this.#running = false;
        host[readFailed](error);
        return;
      }
      if (this.#transport !== transport) return;
      this.#pending = false;
      if (n === null) {
        this.#running = false;
        host[readEnded]();
        return;
      }
      host[bytesRead](buffer.subarray(0, n));
      this.#adapt(n, buffer);
    }
    this.#running = false;
  }

  /** Sizes the buffer of the next read. */
  #adapt(n: number, buffer: Uint8Array): void {
    if (this.#buffer !== buffer) return; // stopped: the stream closed
    const size = buffer.length;
    if (n === size) {
      if (size < LARGE_READ) this.#buffer = new Uint8Array(Math.min(size * GROWTH, LARGE_READ));
    } else if (size > SMALL_READ && n * SHRINK <= size) {
      let next = SMALL_READ;
      while (next < 2 * n) next *= 2;
      this.#buffer = new Uint8Array(next);
    }
  }
}
