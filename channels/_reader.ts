/**
 * A stream's read side: the loop that reads the socket into one buffer and
 * hands each read to the stream, and the buffer's size, which follows the
 * traffic: small (256 bytes) for an idle or chatty stream, 64 KiB while
 * reads fill it, small again after a run of small reads. The mirror of
 * `_writer.ts`; the stream is the host, through symbol-keyed methods.
 *
 * @module
 */

import type { Transport } from "../transport/_socket.ts";

/** `host[readable]()`: whether to read now (connected, not paused, not upgrading). */
export const readable: unique symbol = Symbol("pants.readable");
/**
 * `host[bytesRead](bytes, shrunk)`: one read's bytes, valid during the call;
 * `shrunk` when the reader gave its large buffer back (the host may trim
 * its own buffers too).
 */
export const bytesRead: unique symbol = Symbol("pants.bytesRead");
/** `host[readEnded]()`: the peer half-closed (EOF). */
export const readEnded: unique symbol = Symbol("pants.readEnded");
/** `host[readFailed](error)`: the read failed. */
export const readFailed: unique symbol = Symbol("pants.readFailed");

/** What the reader feeds. */
export interface ReaderHost {
  [readable](): boolean;
  [bytesRead](bytes: Uint8Array, shrunk: boolean): void;
  [readEnded](): void;
  [readFailed](error: unknown): void;
}

const SMALL_READ = 256;
const LARGE_READ = 64 * 1024;
/** Small reads in a row after which a large buffer is given back. */
const SHRINK_AFTER = 64;
const EMPTY = new Uint8Array(0);

/** Reads one connection while its host is readable. */
export class Reader {
  readonly #host: ReaderHost;
  #buffer: Uint8Array = EMPTY;
  #smallReads = 0;
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
    if (!this.#running) void this.#loop(transport);
  }

  /** Releases the read buffer: the stream closed. */
  stop(): void {
    this.#buffer = EMPTY;
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
        this.#pending = this.#running = false;
        host[readFailed](error);
        return;
      }
      this.#pending = false;
      if (n === null) {
        this.#running = false;
        host[readEnded]();
        return;
      }
      host[bytesRead](buffer.subarray(0, n), this.#adapt(n, buffer));
    }
    this.#running = false;
  }

  /** Sizes the buffer of the next read; true when it shrank. */
  #adapt(n: number, buffer: Uint8Array): boolean {
    if (this.#buffer === EMPTY) return false; // stopped: the stream closed
    if (n > SMALL_READ) {
      this.#smallReads = 0;
    } else if (n === buffer.length && buffer.length < LARGE_READ) {
      this.#buffer = new Uint8Array(LARGE_READ);
      this.#smallReads = 0;
    } else if (buffer.length > SMALL_READ && ++this.#smallReads >= SHRINK_AFTER) {
      this.#buffer = new Uint8Array(SMALL_READ);
      this.#smallReads = 0;
      return true;
    }
    return false;
  }
}
