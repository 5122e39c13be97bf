/**
 * The server side of the PROXY protocol: an `Acceptor` around a plain
 * listener that reads the header of every connection from a trusted peer
 * before handing the connection on. A TLS server wraps this acceptor (the
 * header comes before the ClientHello), and the server's accept loop sees
 * only connections whose header is done.
 *
 * Each trusted connection's header is read in a task of its own, bounded by
 * `headerTimeout`, so a slow balancer never holds up the accept loop. What
 * a connection sends after its header in the same read is not lost: the
 * {@linkcode ProxiedTransport} returns it first, then reads the socket. A
 * failure closes that connection only and is reported to the host with the
 * peer's address; peers outside the trusted ranges pass through untouched
 * (their bytes are never parsed).
 *
 * @module
 */

import { normalizeAddr } from "./address.ts";
import { type Cidr, parseCidr, trustedPeer } from "./_cidr.ts";
import { type ProxyHeaderRead, ProxyHeaderReader } from "./_proxy_protocol.ts";
import type { Acceptor, Transport } from "./_socket.ts";
import {
  type ProxyHeader,
  ProxyProtocolError,
  type ProxyProtocolOptions,
} from "./proxy_protocol.ts";

/** Checked `ProxyProtocolOptions`. */
export interface ProxySettings {
  readonly trusted: readonly Cidr[];
  readonly headerTimeout: number;
  /** As given (for the server's getter). */
  readonly options: ProxyProtocolOptions;
}

/** What the acceptor needs of its server: a timer, and where failures go. */
export interface ProxyAcceptorHost {
  defer(ms: number, fn: () => void): { cancel(): void };
  failed(error: ProxyProtocolError, from: Deno.Addr): void;
}

const DEFAULT_HEADER_TIMEOUT = 5000;

/**
 * Checks the options of `Server.proxyProtocol`.
 *
 * @throws {TypeError} For a missing or bad `trusted` list (the bad range named).
 * @throws {RangeError} For a negative or non-finite `headerTimeout`.
 */
export function proxySettings(options: ProxyProtocolOptions): ProxySettings {
  if (options === null || typeof options !== "object" || !Array.isArray(options.trusted)) {
    throw new TypeError(
      'Invalid proxyProtocol: expected { trusted: ["10.0.0.0/8", ...], headerTimeout? }',
    );
  }
  const trusted = options.trusted.map(parseCidr);
  const headerTimeout = options.headerTimeout ?? DEFAULT_HEADER_TIMEOUT;
  if (typeof headerTimeout !== "number" || !Number.isFinite(headerTimeout) || headerTimeout < 0) {
    throw new RangeError(
      `Invalid headerTimeout ${headerTimeout}: expected milliseconds, 0 or more (0 for no limit)`,
    );
  }
  return { trusted, headerTimeout, options: { trusted: [...options.trusted], headerTimeout } };
}

function closeQuietly(transport: Transport): void {
  try {
    transport.close();
  } catch {
    // Already closed.
  }
}

/**
 * A connection whose PROXY header was read: its addresses are the header's
 * (the balancer's for `LOCAL` and `UNKNOWN`), `proxy` tells the header and
 * the balancer's address, and the bytes that came after the header are read
 * first.
 */
export class ProxiedTransport implements Transport {
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  readonly proxy: { readonly header: ProxyHeader; readonly address: Deno.Addr };
  readonly #conn: Transport;
  #rest: Uint8Array | null;

  constructor(conn: Transport, read: ProxyHeaderRead) {
    const { header } = read;
    this.#conn = conn;
    this.#rest = read.rest.length > 0 ? read.rest : null;
    this.remoteAddr = header.source ?? normalizeAddr(conn.remoteAddr);
    this.localAddr = header.destination ?? normalizeAddr(conn.localAddr);
    this.proxy = { header, address: normalizeAddr(conn.remoteAddr) };
  }

  read(buffer: Uint8Array): Promise<number | null> {
    const rest = this.#rest;
    if (rest === null) return this.#conn.read(buffer);
    const n = Math.min(rest.length, buffer.length);
    buffer.set(rest.subarray(0, n));
    this.#rest = n === rest.length ? null : rest.subarray(n);
    return Promise.resolve(n);
  }

  write(data: Uint8Array): Promise<number> {
    return this.#conn.write(data);
  }

  close(): void {
    this.#rest = null;
    this.#conn.close();
  }

  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }

  setNoDelay(noDelay: boolean): void {
    this.#conn.setNoDelay?.(noDelay);
  }

  setKeepAlive(keepAlive: boolean): void {
    this.#conn.setKeepAlive?.(keepAlive);
  }
}

/** Wraps `plain` so that trusted peers' connections come out with their header read. */
export function proxyAcceptor(
  plain: Acceptor,
  settings: ProxySettings,
  host: ProxyAcceptorHost,
): Acceptor {
  return new ProxyAcceptor(plain, settings, host);
}

class ProxyAcceptor implements Acceptor {
  readonly #plain: Acceptor;
  readonly #settings: ProxySettings;
  readonly #host: ProxyAcceptorHost;
  #pending: Promise<Transport> | null = null;
  readonly #ready: Transport[] = [];
  readonly #reading = new Set<Transport>();
  #wake: (() => void) | null = null;
  #closed = false;

  constructor(plain: Acceptor, settings: ProxySettings, host: ProxyAcceptorHost) {
    this.#plain = plain;
    this.#settings = settings;
    this.#host = host;
  }

  get addr(): Deno.Addr {
    return this.#plain.addr;
  }

  async accept(): Promise<Transport> {
    for (;;) {
      const ready = this.#ready.shift();
      if (ready !== undefined) return ready;
      if (this.#closed) throw new Deno.errors.BadResource("Listener has been closed");
      const pending = this.#pending ??= this.#plain.accept();
      const woken = new Promise<null>((resolve) => this.#wake = () => resolve(null));
      let conn: Transport | null;
      try {
        conn = await Promise.race([pending, woken]);
      } catch (error) {
        this.#pending = null;
        throw error;
      } finally {
        this.#wake = null;
      }
      if (conn === null) continue;
      this.#pending = null;
      if (!trustedPeer(this.#settings.trusted, conn.remoteAddr)) return conn;
      void this.#readHeader(conn);
    }
  }

  close(): void {
    this.#closed = true;
    for (const conn of [...this.#reading, ...this.#ready.splice(0)]) closeQuietly(conn);
    this.#reading.clear();
    this.#wake?.();
    this.#plain.close();
  }

  async #readHeader(conn: Transport): Promise<void> {
    const reader = new ProxyHeaderReader();
    const buffer = new Uint8Array(4096);
    const ms = this.#settings.headerTimeout;
    let timedOut = false;
    const timer = ms === 0 ? null : this.#host.defer(ms, () => {
      timedOut = true;
      closeQuietly(conn);
    });
    this.#reading.add(conn);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) throw reader.ended();
        const read = reader.push(buffer.subarray(0, n));
        if (read === null) continue;
        if (this.#closed) return closeQuietly(conn);
        this.#ready.push(new ProxiedTransport(conn, read));
        this.#wake?.();
        return;
      }
    } catch (error) {
      closeQuietly(conn);
      if (this.#closed) return;
      this.#host.failed(
        timedOut
          ? new ProxyProtocolError(
            `Invalid PROXY protocol header: not complete within ${ms} ms (headerTimeout); ` +
              `${reader.buffered} bytes of it arrived`,
            "timeout",
          )
          : error instanceof ProxyProtocolError
          ? error
          : new ProxyProtocolError(
            `Invalid PROXY protocol header: the connection failed while sending it: ${error}`,
            "truncated",
            { cause: error },
          ),
        normalizeAddr(conn.remoteAddr),
      );
    } finally {
      timer?.cancel();
      this.#reading.delete(conn);
    }
  }
}
