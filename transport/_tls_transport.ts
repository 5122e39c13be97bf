/**
 * A TLS connection as a stream sees it: {@linkcode TlsTransport}, the
 * `Transport` interface (`read`, `write`, `closeWrite`, `close`) over a
 * `node:tls` `TLSSocket` that runs on the plain Deno connection through a
 * {@linkcode PlainDuplex} (`_tls_start.ts` makes both; `_tls.ts` says why
 * TLS runs so).
 *
 * Flow of bytes: Deno connection → `PlainDuplex` (one pending `read()` at a
 * time, none while the transport holds it) → `TLSSocket` (decrypts) → the
 * transport's queue → the stream's `read()`. Writes take the opposite way;
 * `write()` resolves once the TLS socket accepted the bytes and its buffer
 * is below its high-water mark, so the stream's own back-pressure
 * (`writeBufferSize`, `onWrite`) still applies.
 *
 * Why it is shaped so:
 *
 * - Back-pressure on input: the transport does not pause the `TLSSocket`
 *   (Deno's keeps reading its duplex even when paused); once
 *   {@linkcode READ_HIGH_WATER} decrypted bytes wait unread it holds the
 *   duplex, which then issues no `read()` on the connection until the
 *   stream reads some. What the process holds for a stream that stopped
 *   reading is at most that mark plus what one read of `PLAIN_READ` bytes
 *   decrypts to.
 * - Reads and writes keep Deno's contract (one pending read, `Interrupted`
 *   on close, `BadResource` once closed; Node's reset and broken-pipe
 *   errors become Deno's), so the stream's reader and writer cannot tell
 *   this transport from a plain connection.
 * - Writes made during the handshake wait for it, so a stream may write in
 *   `onConnect()` or straight after `startSSL()`.
 * - Closing is graceful once secure: everything accepted is encrypted and
 *   written, a `close_notify` alert and a FIN follow, and only then is the
 *   Deno connection closed (at most {@linkcode CLOSE_GRACE_MS} later if the
 *   peer stops reading). During the handshake, or with a write still
 *   waiting for the peer, closing closes the connection at once.
 * - A client that rejects the server's certificate says why in a TLS alert
 *   first, as Deno's TLS does (`_tls_certificate_failure.ts`).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { TLSSocket } from "node:tls";
import type { Transport } from "./_socket.ts";
import { certificateFailure } from "./_tls_certificate_failure.ts";
import type { PlainDuplex } from "./_tls_duplex.ts";
import {
  clientRefusal,
  refusedByServer,
  serverFailure,
  sessionOf,
  type TlsSession,
} from "./_tls_peer.ts";

/** Decrypted bytes queued unread before the connection is no longer read. */
export const READ_HIGH_WATER = 64 * 1024;
/** The longest a graceful close waits for the peer to take the last bytes. */
export const CLOSE_GRACE_MS = 5000;
/** The most one `write()` hands to the TLS socket; the stream's writer sends the rest after. */
const WRITE_CHUNK = 64 * 1024;

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

/**
 * A stream `Transport` over a `TLSSocket` on a {@linkcode PlainDuplex}. The
 * handshake starts at construction; `handshake()` tells how it ended.
 */
export class TlsTransport implements Transport {
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  readonly proxy: Transport["proxy"];
  readonly #socket: TLSSocket;
  readonly #duplex: PlainDuplex;
  readonly #plain: Transport;
  readonly #secured: Promise<void>;
  #secure = false;
  readonly #chunks: Uint8Array[] = [];
  #head = 0;
  #queued = 0;
  #held = false;
  #ended = false;
  #error: unknown = null;
  #closed = false;
  #reader: PromiseWithResolvers<number | null> | null = null;
  #readerBuffer: Uint8Array | null = null;
  #drain: PromiseWithResolvers<void> | null = null;
  #graceTimer: ReturnType<typeof setTimeout> | null = null;
  #ending: Promise<void> | null = null;
  /** Writes made during the handshake wait for it. */
  #handshakeWait: PromiseWithResolvers<void> | null = null;
  #session: TlsSession | null = null;
  /** The client side (it verified `hostname`). */
  readonly #client: boolean;

  /**
   * Takes over `plain` (through `duplex`) and `socket`.
   *
   * @param secureEvent The socket's event for a completed handshake:
   * `"secure"` on the server side, `"secureConnect"` (after verification) on
   * the client side.
   * @param hostname For a client: the name verified, for error messages.
   * @param checksClients For a server with `caCerts`: a client certificate
   * they did not sign fails the handshake.
   */
  constructor(
    plain: Transport,
    duplex: PlainDuplex,
    socket: TLSSocket,
    secureEvent: "secure" | "secureConnect",
    hostname?: string,
    checksClients = false,
  ) {
    this.localAddr = plain.localAddr;
    this.remoteAddr = plain.remoteAddr;
    this.proxy = plain.proxy;
    this.#plain = plain;
    this.#client = hostname !== undefined;
    this.#duplex = duplex;
    this.#socket = socket;
    this.#secured = this.#watchHandshake(secureEvent, hostname, checksClients);
    // Nobody may ask (the stream closed first): not an unhandled rejection.
    this.#secured.catch(() => {});
    socket.on("data", (chunk: Uint8Array) => this.#data(chunk));
    socket.on("end", () => this.#end());
    socket.on("error", (error: unknown) => this.#fail(denoError(error)));
    socket.on("drain", () => this.#drained());
    socket.on("close", () => this.#socketClosed());
    duplex.on("error", (error: unknown) => this.#fail(denoError(error)));
  }

  /** Whether the handshake completed. */
  get secure(): boolean {
    return this.#secure;
  }

  /** What the handshake settled (ALPN, the peer's certificate); `null` until it completed. */
  get session(): TlsSession | null {
    return this.#session;
  }

  /** Resolves once the Deno connection is closed. */
  get released(): Promise<void> {
    return this.#duplex.released;
  }

  /**
   * The handshake's outcome: resolves once it completed, rejects on its
   * error, an early close by the peer, or `close()` during it.
   */
  handshake(): Promise<void> {
    return this.#secured;
  }

  #watchHandshake(
    secureEvent: string,
    hostname: string | undefined,
    checksClients: boolean,
  ): Promise<void> {
    const socket = this.#socket;
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown): void => {
        socket.off(secureEvent, onSecure);
        socket.off("error", settle);
        socket.off("end", onEnd);
        socket.off("close", onEnd);
        this.#duplex.handshaking = false;
        if (error === undefined) {
          this.#secure = true;
          this.#handshakeWait?.resolve();
          this.#handshakeWait = null;
          return resolve();
        }
        const failure = hostname === undefined
          ? serverFailure(error)
          : certificateFailure(error, hostname);
        if (failure?.alert) this.#duplex.farewell(failure.alert);
        // The socket goes now; writes waiting for the handshake stay pending
        // until close(), so that the stream hears of the failed handshake
        // first, not of a failed write.
        this.#duplex.abort();
        this.#release();
        reject(failure?.error ?? error);
      };
      const onSecure = (): void => {
        const refused = checksClients ? clientRefusal(socket) : null;
        if (refused === null) this.#session = sessionOf(socket);
        settle(refused ?? undefined);
      };
      const onEnd = (): void => {
        settle(
          this.#error ??
            (this.#closed
              ? new Deno.errors.Interrupted("The TLS connection was closed during its handshake")
              : new Deno.errors.UnexpectedEof(
                "The peer closed the connection before the TLS handshake completed",
              )),
        );
      };
      socket.once(secureEvent, onSecure);
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

  /** Copies queued bytes into `buffer`; reads the connection again below the high-water mark. */
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
    if (this.#held && this.#queued < READ_HIGH_WATER) {
      this.#held = false;
      this.#duplex.hold(false);
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
    if (this.#queued >= READ_HIGH_WATER && !this.#held) {
      this.#held = true;
      this.#duplex.hold(true);
    }
  }

  #end(): void {
    this.#ended = true;
    this.#settleReader(null);
  }

  #fail(error: unknown): void {
    if (this.#client && this.#secure) error = refusedByServer(error, this.remoteAddr) ?? error;
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

  /**
   * Writes (at most 64 KiB of `data`); resolves once the TLS socket took
   * the bytes and its buffer is below its high-water mark. During the
   * handshake the write waits for it: what the stream writes then is sent
   * once secure, and `close()` meanwhile drops it.
   */
  write(data: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#error !== null) return Promise.reject(this.#error);
    if (!this.#secure) {
      this.#handshakeWait ??= Promise.withResolvers();
      return this.#handshakeWait.promise.then(() => this.write(data));
    }
    const socket = this.#socket;
    if (socket.destroyed || socket.writableEnded) {
      return Promise.reject(new Deno.errors.BrokenPipe("The TLS connection is closed for writing"));
    }
    const length = data.length < WRITE_CHUNK ? data.length : WRITE_CHUNK;
    if (socket.write(Buffer.from(data.subarray(0, length)))) return Promise.resolve(length);
    this.#drain ??= Promise.withResolvers();
    return this.#drain.promise.then(() => length);
  }

  /** Sets `TCP_NODELAY` on the TCP connection under TLS. */
  setNoDelay(noDelay: boolean): void {
    this.#plain.setNoDelay?.(noDelay);
  }

  /** Sets `SO_KEEPALIVE` on the TCP connection under TLS. */
  setKeepAlive(keepAlive: boolean): void {
    this.#plain.setKeepAlive?.(keepAlive);
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#error !== null) return Promise.reject(this.#error);
    if (!this.#secure) return this.#secured.then(() => this.closeWrite());
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
   * Closes. Once secure, gracefully: bytes already accepted are encrypted
   * and sent, then `close_notify` and a FIN, and only then is the Deno
   * connection closed (after {@linkcode CLOSE_GRACE_MS} at the latest, if
   * the peer stops reading); input is no longer read meanwhile. During the
   * handshake (writes waiting for it are dropped), after an error, or with
   * a write still waiting for the peer (`close({ flush: false })` on a
   * blocked stream), the Deno connection is closed at once. A pending read
   * rejects with `Interrupted`, as with Deno's conns.
   */
  close(): void {
    // A write still waiting for the peer means the stream drops what is queued.
    const dropping = this.#drain !== null;
    if (!this.#shut()) return;
    const socket = this.#socket;
    if (
      !this.#secure || dropping || this.#error !== null || socket.destroyed ||
      this.#duplex.destroyed
    ) {
      return this.abort();
    }
    this.#held = true;
    this.#duplex.hold(true);
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = null;
      this.abort();
    }, CLOSE_GRACE_MS);
    Deno.unrefTimer(this.#graceTimer as unknown as number);
    const release = (): void => this.#release();
    this.#endWrites().then(release, release);
  }

  /** Closes the Deno connection now, whatever is in flight (idempotent). */
  abort(): void {
    this.#shut();
    this.#duplex.abort();
    this.#release();
  }

  /** Marks the transport closed and settles a pending read and write; false if it already was. */
  #shut(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    this.#settleReader(new Deno.errors.Interrupted("The TLS connection was closed"));
    this.#settleDrain(closedError());
    this.#handshakeWait?.reject(closedError());
    this.#handshakeWait = null;
    this.#chunks.length = 0;
    this.#queued = 0;
    return true;
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
