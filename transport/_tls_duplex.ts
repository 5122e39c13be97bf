/**
 * The plain side of a TLS connection: a `node:stream` Duplex over the Deno
 * connection Pants keeps, the one `node:tls` reads ciphertext from and
 * writes it to (`_tls_start.ts` puts a `TLSSocket` on it and hands both to
 * a `TlsTransport`; `_tls.ts` says why TLS runs so).
 *
 * Why it is shaped so:
 *
 * - Read-side back-pressure lives here, not in the `TLSSocket`: Deno's
 *   `TLSSocket` keeps reading its duplex even when paused, so pausing it
 *   would let decrypted bytes pile up without bound. The duplex issues one
 *   `read()` at a time, only while the TLS socket asks for more, and none
 *   while the transport holds it (`hold(true)`: its queue of decrypted
 *   bytes is full, or it is closing). The kernel's buffers then fill and
 *   the peer stalls, as on a plain connection.
 * - Reads are 1 KiB (`SMALL_READ`) on a quiet connection (handshake
 *   messages, short records), grow to {@linkcode PLAIN_READ} once a read
 *   fills the buffer (a busy upload), and shrink back after a run of small
 *   reads, so an idle TLS stream keeps no large buffer.
 * - Destroying closes the Deno connection once an in-flight write settled
 *   (at once when destroyed with an error). During the handshake it leaves
 *   the connection alone: Node destroys the socket before it reports why
 *   the handshake failed, and the transport closes the connection then,
 *   after its last words (`farewell()`: the TLS alert a rejecting client
 *   sends). `abort()` closes it at once, whatever is in flight: closing
 *   during a handshake ends the TCP connection then.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import type { Transport } from "./_socket.ts";

/** The most one `read()` of the plain connection takes (a TLS record is at most 16 KiB and a header). */
export const PLAIN_READ = 64 * 1024;
/** The read size of a quiet connection (a handshake message, a short record). */
const SMALL_READ = 1024;
/** Small reads in a row after which a large read buffer is given back. */
const SHRINK_AFTER = 64;
/** The longest the last words of a failed handshake (a TLS alert) may take to leave. */
const FAREWELL_MS = 200;

/**
 * A `node:stream` Duplex over a plain Deno connection. Reading pulls one
 * `read()` at a time while the TLS socket wants more and the transport does
 * not hold it; ending calls `closeWrite()`; destroying closes the
 * connection once an in-flight write settled (at once when destroyed with
 * an error, or by `abort()`), except during the handshake: the transport
 * closes it then, after its last words (`farewell()`).
 */
export class PlainDuplex extends Duplex {
  readonly #plain: Transport;
  #buffer = new Uint8Array(SMALL_READ);
  #smallReads = 0;
  /** The TLS socket asked for more (`_read`) since a push was refused. */
  #wanted = false;
  /** The decrypted side is full or closed: read nothing. */
  #held = false;
  #pulling = false;
  #writing: Promise<void> | null = null;
  #farewell: Promise<void> | null = null;
  #closed = false;
  readonly #released = Promise.withResolvers<void>();
  /** The handshake is under way: a destroy leaves the connection to the transport. */
  handshaking = true;

  constructor(plain: Transport) {
    super({ allowHalfOpen: true });
    this.#plain = plain;
  }

  /** Resolves once the Deno connection is closed. */
  get released(): Promise<void> {
    return this.#released.promise;
  }

  override _read(): void {
    this.#wanted = true;
    this.#pull();
  }

  /** Stops reading the connection (`true`), or goes on (`false`). */
  hold(held: boolean): void {
    this.#held = held;
    if (!held) this.#pull();
  }

  #pull(): void {
    if (this.#pulling || this.#held || !this.#wanted || this.#closed) return;
    this.#pulling = true;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    while (this.#wanted && !this.#held && !this.#closed) {
      let n: number | null;
      try {
        n = await this.#plain.read(this.#buffer);
      } catch (error) {
        this.#pulling = false;
        if (!this.#closed) this.destroy(error as Error);
        return;
      }
      if (this.#closed) break;
      if (n === null) {
        this.#wanted = false;
        this.push(null);
        break;
      }
      if (!this.push(Buffer.from(this.#buffer.subarray(0, n)))) this.#wanted = false;
      this.#adapt(n);
    }
    this.#pulling = false;
  }

  /** Grows the read buffer when a read filled it; gives it back after a run of small reads. */
  #adapt(n: number): void {
    if (n > SMALL_READ) {
      this.#smallReads = 0;
    } else if (n === this.#buffer.length) {
      this.#buffer = new Uint8Array(PLAIN_READ);
    } else if (this.#buffer.length > SMALL_READ && ++this.#smallReads >= SHRINK_AFTER) {
      this.#buffer = new Uint8Array(SMALL_READ);
      this.#smallReads = 0;
    }
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    const writing = this.#writeAll(chunk);
    this.#writing = writing;
    writing.then(
      () => {
        if (this.#writing === writing) this.#writing = null;
        callback();
      },
      (error: Error) => {
        if (this.#writing === writing) this.#writing = null;
        callback(error);
      },
    );
  }

  async #writeAll(chunk: Uint8Array): Promise<void> {
    for (let offset = 0; offset < chunk.length;) {
      offset += await this.#plain.write(offset === 0 ? chunk : chunk.subarray(offset));
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#plain.closeWrite().then(() => callback(), (error: Error) => callback(error));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const writing = this.#writing;
    if (error === null && this.handshaking) {
      // Node destroys the socket before it reports why: the transport closes.
    } else if (error === null && writing !== null) {
      const close = (): void => this.#closePlain();
      writing.then(close, close);
    } else {
      this.#closePlain();
    }
    callback(error);
  }

  /** Closes the Deno connection now (idempotent). */
  #closePlain(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#plain.close();
    } catch {
      // Already closed by Deno (peer reset) or by the stream.
    }
    this.#released.resolve();
  }

  /**
   * Closes the Deno connection now, even with a write in flight; after the
   * farewell if one is being written.
   */
  abort(): void {
    if (this.#farewell === null) this.#closePlain();
    if (!this.destroyed) this.destroy();
  }

  /**
   * Writes `bytes` (a plaintext TLS alert: why the handshake failed), then
   * closes the connection, within {@linkcode FAREWELL_MS} whatever the peer
   * does.
   */
  farewell(bytes: Uint8Array): void {
    if (this.#closed || this.#farewell !== null || this.#writing !== null) return;
    const close = (): void => {
      clearTimeout(timer);
      this.#closePlain();
    };
    const timer = setTimeout(close, FAREWELL_MS);
    this.#farewell = this.#plain.write(bytes).then(close, close);
  }
}
