/**
 * TLS over a connection Pants owns: the TLS of every stream, client and
 * server side, from the start or after STARTTLS, runs in `node:tls` over the
 * plain Deno connection. (The file keeps its first use in its name: Deno has
 * no server-side `startTls`.)
 *
 * Why not Deno's own TLS (`Deno.listenTls`, `Deno.connectTls`,
 * `Deno.startTls`)? Deno 2.9 runs each handshake in a task of its own that
 * holds the socket until the handshake ends: `close()` during a handshake
 * frees the resource but not the socket, which stays open until the peer
 * sends or leaves (a silent peer: for ever), and the plain connection given
 * to `startTls` can no longer be closed either. Here the plain connection
 * stays ours, so closing it ends the TCP connection at once, whatever state
 * the handshake is in.
 *
 * Flow of bytes: Deno connection → {@linkcode PlainDuplex} (one pending
 * `read()` at a time, none while {@linkcode TlsTransport} holds it) →
 * `TLSSocket` (decrypts) → `TlsTransport` queue → the stream's `read()`.
 * Writes take the opposite way; `write()` resolves once the TLS socket
 * accepted the bytes and its buffer is below its high-water mark, so the
 * stream's own back-pressure (`writeBufferSize`, `onWrite`) still applies.
 *
 * Back-pressure on input: Deno's `TLSSocket` keeps reading its duplex even
 * when paused (decrypted bytes then pile up inside it without bound), so the
 * transport does not pause it; it stops the duplex instead. Once
 * {@linkcode READ_HIGH_WATER} decrypted bytes wait unread, no `read()` is
 * issued on the connection until the stream reads some: the kernel's
 * buffers fill and the peer stalls, as on a plain connection. What the
 * process holds for a stream that stopped reading is then at most the
 * queue's high-water mark plus what one read of {@linkcode PLAIN_READ}
 * bytes decrypts to.
 *
 * Writes made during the handshake wait for it. Closing is graceful once
 * secure: everything accepted is encrypted and written, a `close_notify`
 * alert and a FIN follow, and only then is the Deno connection closed (at
 * most {@linkcode CLOSE_GRACE_MS} later if the peer stops reading). During
 * the handshake, or with a write still waiting for the peer, closing closes
 * the connection at once. A client that rejects the server's certificate
 * says why in a TLS alert first, as Deno's TLS does.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { Duplex } from "node:stream";
import {
  connect as connectSocket,
  type ConnectionOptions,
  createSecureContext,
  type SecureContext,
  TLSSocket,
} from "node:tls";
import type { Transport } from "./_socket.ts";

/** Decrypted bytes queued unread before the connection is no longer read. */
export const READ_HIGH_WATER = 64 * 1024;
/** The longest a graceful close waits for the peer to take the last bytes. */
export const CLOSE_GRACE_MS = 5000;
/** The most one `read()` of the plain connection takes (a TLS record is at most 16 KiB and a header). */
export const PLAIN_READ = 64 * 1024;
/** The read size of a quiet connection (a handshake message, a short record). */
const SMALL_READ = 1024;
/** Small reads in a row after which a large read buffer is given back. */
const SHRINK_AFTER = 64;
/** The most one `write()` hands to the TLS socket; the stream's writer sends the rest after. */
const WRITE_CHUNK = 64 * 1024;

/** The certificate, key and ALPN protocols of the TLS server end. */
export interface ServerTlsOptions {
  cert: string;
  key: string;
  alpnProtocols?: string[];
}

/** What the TLS client end verifies and offers. */
export interface ClientTlsOptions {
  /** The name (or IP address) the server's certificate must be valid for. */
  hostname: string;
  /** CAs to trust instead of the default ones. */
  caCerts?: string[];
  alpnProtocols?: string[];
}

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
class PlainDuplex extends Duplex {
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

/** OpenSSL's verification codes for a chain that ends at no trusted CA. */
const UNKNOWN_ISSUER = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

/** A rejected server certificate: the error to report, and the TLS alert that says why. */
interface CertificateFailure {
  error: Error;
  /** A fatal alert record, sent in the clear as Deno's TLS (rustls) does. */
  alert: Uint8Array;
}

/** TLS alert descriptions (RFC 8446, 6.2). */
const BAD_CERTIFICATE = 42;
const CERTIFICATE_EXPIRED = 45;
const UNKNOWN_CA = 48;

/**
 * A client's certificate error in the words of Deno's own TLS (rustls), as
 * Pants reported it before its TLS moved to `node:tls` ("invalid peer
 * certificate: UnknownIssuer", "certificate not valid for name …"), with
 * Node's error as `cause`, and the alert rustls sends for it (Node sends
 * none: the server would only see the connection end). `null` for other
 * errors.
 */
function certificateFailure(error: unknown, hostname: string): CertificateFailure | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return null;
  let reason: string;
  let alert: number;
  if (UNKNOWN_ISSUER.has(code)) [reason, alert] = ["UnknownIssuer", UNKNOWN_CA];
  else if (code === "CERT_HAS_EXPIRED") [reason, alert] = ["Expired", CERTIFICATE_EXPIRED];
  else if (code === "CERT_NOT_YET_VALID") [reason, alert] = ["NotValidYet", CERTIFICATE_EXPIRED];
  else if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    [reason, alert] = [
      `certificate not valid for name ${JSON.stringify(hostname)}`,
      BAD_CERTIFICATE,
    ];
  } else return null;
  const detail = (error as Error).message;
  return {
    error: new Deno.errors.InvalidData(`invalid peer certificate: ${reason} (${detail})`, {
      cause: error,
    }),
    // An alert record: type 21, legacy version 3.3, length 2, level fatal (2), description.
    alert: new Uint8Array([21, 3, 3, 0, 2, 2, alert]),
  };
}

/**
 * A stream `Transport` over a `TLSSocket` on a {@linkcode PlainDuplex}. The
 * handshake starts at construction; `handshake()` tells how it ended.
 */
export class TlsTransport implements Transport {
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  readonly #socket: TLSSocket;
  readonly #duplex: PlainDuplex;
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

  /**
   * Takes over `plain` (through `duplex`) and `socket`.
   *
   * @param secureEvent The socket's event for a completed handshake:
   * `"secure"` on the server side, `"secureConnect"` (after verification) on
   * the client side.
   * @param hostname For a client: the name verified, for error messages.
   */
  constructor(
    plain: Transport,
    duplex: PlainDuplex,
    socket: TLSSocket,
    secureEvent: "secure" | "secureConnect",
    hostname?: string,
  ) {
    this.localAddr = plain.localAddr;
    this.remoteAddr = plain.remoteAddr;
    this.#duplex = duplex;
    this.#socket = socket;
    this.#secured = this.#watchHandshake(secureEvent, hostname);
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

  #watchHandshake(secureEvent: string, hostname: string | undefined): Promise<void> {
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
        const failure = hostname === undefined ? null : certificateFailure(error, hostname);
        if (failure !== null) this.#duplex.farewell(failure.alert);
        // The socket goes now; writes waiting for the handshake stay pending
        // until close(), so that the stream hears of the failed handshake
        // first, not of a failed write.
        this.#duplex.abort();
        this.#release();
        reject(failure?.error ?? error);
      };
      const onSecure = (): void => settle();
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

/** Secure contexts by certificate and key: parsing them once per server, not per connection. */
const contexts = new Map<string, SecureContext>();
const MAX_CONTEXTS = 64;

function secureContext(cert: string, key: string): SecureContext {
  const id = `${cert}\u0000${key}`;
  let context = contexts.get(id);
  if (context === undefined) {
    context = createSecureContext({ cert, key });
    if (contexts.size >= MAX_CONTEXTS) contexts.clear();
    contexts.set(id, context);
  }
  return context;
}

/**
 * Checks that `cert` and `key` are PEM and belong together, so that a
 * mistake shows when a server starts rather than at each handshake.
 *
 * @throws {TypeError} Naming what is wrong.
 */
export function checkServerKeys(cert: string, key: string): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new TypeError(`The TLS certificate is not a PEM certificate: ${message(error)}`, {
      cause: error,
    });
  }
  let publicKey: string;
  try {
    publicKey = String(
      createPublicKey(createPrivateKey(key)).export({ type: "spki", format: "pem" }),
    );
  } catch (error) {
    throw new TypeError(`The TLS key is not a PEM private key: ${message(error)}`, {
      cause: error,
    });
  }
  if (String(certificate.publicKey.export({ type: "spki", format: "pem" })) !== publicKey) {
    throw new TypeError("The TLS key does not belong to the certificate (the first of the chain)");
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Starts the server side of a TLS handshake over a plain connection. The
 * plain connection belongs to the result from now on (closed with it).
 *
 * @param plain A connection accepted by a server; no read may be pending.
 * @param options Certificate chain and key (PEM), ALPN protocols.
 * @returns The TLS connection, its handshake under way (`handshake()`).
 */
export function serveTls(plain: Transport, options: ServerTlsOptions): TlsTransport {
  const duplex = new PlainDuplex(plain);
  const socket = new TLSSocket(duplex, {
    isServer: true,
    secureContext: secureContext(options.cert, options.key),
    ALPNProtocols: options.alpnProtocols,
  });
  return new TlsTransport(plain, duplex, socket, "secure");
}

/**
 * Starts the client side of a TLS handshake over a plain connection,
 * verifying the server's certificate against `hostname` (sent as SNI unless
 * it is an IP address) and `caCerts` (default: Node's root CAs). The plain
 * connection belongs to the result from now on (closed with it).
 *
 * @param plain A connected client connection; no read may be pending.
 * @param options The name to verify, the CAs, the ALPN protocols.
 * @returns The TLS connection, its handshake under way (`handshake()`).
 */
export function connectTlsOver(plain: Transport, options: ClientTlsOptions): TlsTransport {
  const duplex = new PlainDuplex(plain);
  const hostname = options.hostname;
  const connectOptions: ConnectionOptions & { allowHalfOpen: boolean } = {
    socket: duplex,
    host: hostname,
    servername: isIP(hostname) === 0 ? hostname : undefined,
    ca: options.caCerts,
    ALPNProtocols: options.alpnProtocols,
    // The stream may still write after the server's end (onEnd), as on TCP.
    allowHalfOpen: true,
  };
  const socket = connectSocket(connectOptions);
  return new TlsTransport(plain, duplex, socket, "secureConnect", hostname);
}
