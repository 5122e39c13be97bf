/**
 * Server-side STARTTLS: turning a plain accepted connection into the server
 * end of a TLS connection, in place.
 *
 * Deno's `startTls` upgrades client connections only. The server side runs
 * on `node:tls`: a `TLSSocket({ isServer: true })` over a `node:stream`
 * `Duplex` that reads from and writes to the plain Deno connection, wrapped
 * back into a stream `Transport`. This keeps the upgrade inside the process
 * and needs no permission beyond the connection itself (the alternative, a
 * relay through an internal `Deno.listenTls` on `127.0.0.1:0`, would need
 * `--allow-net` for that port and two extra sockets per stream).
 *
 * Flow of bytes: Deno connection → `PlainDuplex` (one pending `read()` at a
 * time, paused when the TLS socket stops pulling) → `TLSSocket` (decrypts)
 * → `UpgradedTransport` queue (the TLS socket is paused while more than
 * {@linkcode READ_HIGH_WATER} bytes wait) → the stream's `read()`. Writes
 * take the opposite way; `write()` resolves once the TLS socket accepted the
 * bytes and its buffer is below its high-water mark, so the stream's own
 * back-pressure (`writeBufferSize`, `onWrite`) still applies.
 *
 * Closing is graceful: everything accepted is encrypted and written, a
 * `close_notify` alert and a FIN follow, and only then is the Deno
 * connection closed (at most {@linkcode CLOSE_GRACE_MS} later if the peer
 * stops reading).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import { createSecureContext, TLSSocket } from "node:tls";
import type { Transport } from "./_socket.ts";

/** Decrypted bytes queued before the TLS socket is paused. */
export const READ_HIGH_WATER = 64 * 1024;
/** The longest a graceful close waits for the peer to take the last bytes. */
export const CLOSE_GRACE_MS = 5000;
const PLAIN_READ = 16 * 1024 + 512;
/** The most one `write()` hands to the TLS socket; the stream's writer sends the rest after. */
const WRITE_CHUNK = 64 * 1024;

/** The certificate, key and ALPN protocols of the TLS server end. */
export interface ServerUpgradeOptions {
  cert: string;
  key: string;
  alpnProtocols?: string[];
}

/**
 * A `node:stream` Duplex over a plain Deno connection. Reading pulls one
 * `read()` at a time while the consumer wants more; ending calls
 * `closeWrite()`; destroying closes the connection once an in-flight write
 * settled (at once when destroyed with an error).
 */
class PlainDuplex extends Duplex {
  readonly #plain: Transport;
  readonly #buffer = new Uint8Array(PLAIN_READ);
  #pulling = false;
  #writing: Promise<void> | null = null;
  #closed = false;

  constructor(plain: Transport) {
    super({ allowHalfOpen: true });
    this.#plain = plain;
  }

  override _read(): void {
    if (this.#pulling) return;
    this.#pulling = true;
    void this.#pull();
  }

  async #pull(): Promise<void> {
    while (!this.#closed) {
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
        this.push(null);
        break;
      }
      if (!this.push(Buffer.from(this.#buffer.subarray(0, n)))) break;
    }
    this.#pulling = false;
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
    if (error === null && writing !== null) {
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
  }

  /** Closes the Deno connection now, even with a write in flight. */
  abort(): void {
    this.#closePlain();
    if (!this.destroyed) this.destroy();
  }
}

/** The reason `read()`/`write()` fail once the transport was closed. */
function closedError(): Error {
  return new Deno.errors.BadResource("The TLS connection is closed");
}

/**
 * Maps Node's socket errors to the Deno errors a stream treats as a quiet
 * close (reset, broken pipe); TLS errors pass unchanged.
 */
function denoError(error: unknown): unknown {
  if (error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe) {
    return error;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ECONNRESET") {
    return new Deno.errors.ConnectionReset("The peer reset the TLS connection", { cause: error });
  }
  if (
    code === "EPIPE" || code === "ERR_STREAM_DESTROYED" || code === "ERR_STREAM_WRITE_AFTER_END"
  ) {
    return new Deno.errors.BrokenPipe("The TLS connection is closed for writing", {
      cause: error,
    });
  }
  return error;
}

/** A stream `Transport` over a server-mode `TLSSocket`. */
class UpgradedTransport implements Transport {
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  readonly #socket: TLSSocket;
  readonly #duplex: PlainDuplex;
  readonly #chunks: Uint8Array[] = [];
  #head = 0;
  #queued = 0;
  #paused = false;
  #ended = false;
  #error: unknown = null;
  #closed = false;
  #reader: PromiseWithResolvers<number | null> | null = null;
  #readerBuffer: Uint8Array | null = null;
  #drain: PromiseWithResolvers<void> | null = null;
  #graceTimer: ReturnType<typeof setTimeout> | null = null;
  #ending: Promise<void> | null = null;

  constructor(plain: Transport, duplex: PlainDuplex, socket: TLSSocket) {
    this.localAddr = plain.localAddr;
    this.remoteAddr = plain.remoteAddr;
    this.#duplex = duplex;
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => this.#data(chunk));
    socket.on("end", () => this.#end());
    socket.on("error", (error: unknown) => this.#fail(denoError(error)));
    socket.on("drain", () => this.#drained());
    socket.on("close", () => this.#socketClosed());
    duplex.on("error", (error: unknown) => this.#fail(denoError(error)));
  }

  /** The handshake's outcome: resolves on `secure`, rejects on an error or an early close. */
  secured(): Promise<void> {
    const socket = this.#socket;
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown): void => {
        socket.off("secure", onSecure);
        socket.off("error", settle);
        socket.off("end", onEnd);
        socket.off("close", onEnd);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onSecure = (): void => settle();
      const onEnd = (): void => {
        settle(
          this.#error ??
            new Deno.errors.UnexpectedEof(
              "The peer closed the connection before the TLS handshake completed",
            ),
        );
      };
      socket.once("secure", onSecure);
      socket.once("error", settle);
      socket.once("end", onEnd);
      socket.once("close", onEnd);
    });
  }

  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#reader !== null) {
      return Promise.reject(new Deno.errors.Busy("A read is already pending on this connection"));
    }
    if (this.#queued > 0) return Promise.resolve(this.#take(buffer));
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    this.#reader = Promise.withResolvers();
    this.#readerBuffer = buffer;
    return this.#reader.promise;
  }

  /** Copies queued bytes into `buffer`; resumes the socket below the high-water mark. */
  #take(buffer: Uint8Array): number {
    let n = 0;
    while (n < buffer.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0]!;
      const count = Math.min(chunk.length - this.#head, buffer.length - n);
      buffer.set(chunk.subarray(this.#head, this.#head + count), n);
      n += count;
      this.#head += count;
      if (this.#head === chunk.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    this.#queued -= n;
    if (this.#paused && this.#queued <= READ_HIGH_WATER / 2) {
      this.#paused = false;
      this.#socket.resume();
    }
    return n;
  }

  #data(chunk: Uint8Array): void {
    if (this.#closed || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    const reader = this.#reader;
    if (reader !== null) {
      const n = this.#take(this.#readerBuffer!);
      this.#reader = null;
      this.#readerBuffer = null;
      reader.resolve(n);
    }
    if (this.#queued > READ_HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #end(): void {
    this.#ended = true;
    this.#settleReader(null);
  }

  #fail(error: unknown): void {
    this.#error ??= error;
    this.#settleReader(this.#error);
    this.#settleDrain(this.#error);
    if (this.#closed) this.#release();
  }

  #socketClosed(): void {
    if (!this.#ended && this.#error === null) this.#ended = true;
    this.#settleReader(this.#error);
    this.#settleDrain(this.#error ?? closedError());
  }

  /** Resolves a pending read with `null`, or rejects it with `error`. */
  #settleReader(error: unknown): void {
    const reader = this.#reader;
    if (reader === null) return;
    this.#reader = null;
    this.#readerBuffer = null;
    if (error === null) reader.resolve(null);
    else reader.reject(error);
  }

  #drained(): void {
    const drain = this.#drain;
    this.#drain = null;
    drain?.resolve();
  }

  #settleDrain(error: unknown): void {
    const drain = this.#drain;
    this.#drain = null;
    drain?.reject(error);
  }

  write(data: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#error !== null) return Promise.reject(this.#error);
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) {
      return Promise.reject(new Deno.errors.BrokenPipe("The TLS connection is closed for writing"));
    }
    const length = data.length < WRITE_CHUNK ? data.length : WRITE_CHUNK;
    if (socket.write(Buffer.from(data.subarray(0, length)))) return Promise.resolve(length);
    this.#drain ??= Promise.withResolvers();
    return this.#drain.promise.then(() => length);
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#error !== null) return Promise.reject(this.#error);
    return this.#endWrites();
  }

  /**
   * Ends the TLS side (`close_notify` after everything accepted), then the
   * plain side (a FIN, once all was written); resolves when both are done,
   * rejects if the connection fails or closes first.
   */
  #endWrites(): Promise<void> {
    this.#ending ??= new Promise<void>((resolve, reject) => {
      const socket = this.#socket;
      const duplex = this.#duplex;
      if (duplex.writableFinished) return resolve();
      const done = (error?: unknown): void => {
        duplex.off("finish", done);
        duplex.off("close", closed);
        socket.off("error", done);
        duplex.off("error", done);
        if (error === undefined) resolve();
        else reject(denoError(error));
      };
      const closed = (): void => {
        done(duplex.writableFinished ? undefined : this.#error ?? closedError());
      };
      duplex.once("finish", done);
      duplex.once("close", closed);
      socket.once("error", done);
      duplex.once("error", done);
      // The TLS socket finishes once close_notify was handed to the duplex.
      if (socket.writableFinished) duplex.end();
      else socket.once("finish", () => duplex.writableEnded || duplex.end());
      if (!socket.writableEnded) socket.end();
    });
    return this.#ending;
  }

  /**
   * Closes gracefully: bytes already accepted are encrypted and sent, then
   * `close_notify` and a FIN, and only then is the Deno connection closed
   * (after {@linkcode CLOSE_GRACE_MS} at the latest, if the peer stops
   * reading). A write still waiting for the peer (`close({ flush: false })`
   * on a blocked stream) makes it close at once instead. A pending read
   * rejects with `Interrupted`, as with Deno's conns.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A write still waiting for the peer means the stream drops what is queued.
    const dropping = this.#drain !== null;
    this.#settleReader(new Deno.errors.Interrupted("The TLS connection was closed"));
    this.#settleDrain(closedError());
    this.#chunks.length = 0;
    this.#queued = 0;
    const socket = this.#socket;
    if (dropping || this.#error !== null || socket.destroyed || this.#duplex.destroyed) {
      this.#duplex.abort();
      this.#release();
      return;
    }
    if (this.#paused) socket.resume();
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = null;
      this.#duplex.abort();
      this.#release();
    }, CLOSE_GRACE_MS);
    Deno.unrefTimer(this.#graceTimer as unknown as number);
    const release = (): void => this.#release();
    this.#endWrites().then(release, release);
  }

  /** Destroys the TLS socket and the duplex; the Deno connection closes after an in-flight write. */
  #release(): void {
    if (this.#graceTimer !== null) {
      clearTimeout(this.#graceTimer);
      this.#graceTimer = null;
    }
    if (!this.#socket.destroyed) this.#socket.destroy();
    if (!this.#duplex.destroyed) this.#duplex.destroy();
    if (this.#error !== null) this.#duplex.abort();
  }
}

/**
 * Runs the server side of a TLS handshake over a connected plain
 * connection, and returns the secured connection. The plain connection
 * belongs to the result from now on (closed with it, or on failure).
 *
 * @param plain The connection accepted by a plain server; no read may be pending.
 * @param options Certificate chain and key (PEM), ALPN protocols.
 * @returns The TLS connection, once the handshake completed.
 * @throws The Node or Deno error of a failed handshake (the caller wraps it).
 */
export async function acceptTlsUpgrade(
  plain: Transport,
  options: ServerUpgradeOptions,
): Promise<Transport> {
  const secureContext = createSecureContext({ cert: options.cert, key: options.key });
  const duplex = new PlainDuplex(plain);
  const socket = new TLSSocket(duplex, {
    isServer: true,
    secureContext,
    ALPNProtocols: options.alpnProtocols,
  });
  const transport = new UpgradedTransport(plain, duplex, socket);
  try {
    await transport.secured();
  } catch (error) {
    transport.close();
    duplex.abort();
    throw error;
  }
  return transport;
}
