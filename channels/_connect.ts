/**
 * One client connect of a stream, with what `ConnectOptions` adds to it:
 * the `connectTimeout` deadline (on the engine's timer ring), the caller's
 * `AbortSignal`, the writes made before the connection is up, and the
 * `stream.ready` promise.
 *
 * Abandoning a connect is real: the socket call gets an `AbortSignal` of
 * its own (Deno then drops the half-open socket), and a connection that
 * completes anyway after the attempt gave up is closed at once.
 *
 * Writes before the connection is up wait as one exclusive job of the
 * stream's `Writer` (`_writer.ts`): the job ends when the stream connects,
 * and everything written meanwhile is sent in order, before what
 * `onConnect()` writes. The job starts only at the first early write, so a
 * stream that writes nothing before connecting sees no extra `onWrite()`.
 *
 * @module
 */

import type { Engine } from "../engine/engine.ts";
import type { Timer } from "../engine/timer.ts";
import { describe } from "../framing/_describe.ts";
import { hostPort, type ResolvedAddress } from "../transport/address.ts";
import { connectStream, type Transport } from "../transport/_socket.ts";
import { connectSocks5, type Socks5Proxy } from "../transport/_socks5.ts";
import { connectTls } from "../transport/_tls.ts";
import { encodeProxyHeader, sendProxyHeader } from "../transport/_proxy_client.ts";
import type { TlsClientOptions } from "../transport/tls_options.ts";
import { StreamConnectError } from "../transport/errors.ts";
import type { ConnectOptions } from "./connect_options.ts";
import { ChannelClosedError, ConnectTimeoutError } from "./errors.ts";
import type { Writer } from "./_writer.ts";

/** `channel[holdWrites]()`: may a write wait for the connect? (`true` once it is held). */
export const holdWrites: unique symbol = Symbol("pants.holdWrites");

const noop = (): void => {};

function checkOptions(options: ConnectOptions): void {
  const ms = options.connectTimeout ?? 0;
  if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) {
    throw new RangeError(
      `Invalid connectTimeout ${describe(ms)}: expected milliseconds, 0 or more (0 for no limit)`,
    );
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError(`Invalid signal ${describe(options.signal)}: expected an AbortSignal`);
  }
  if (options.proxyHeader !== undefined && options.proxy !== undefined) {
    throw new TypeError(
      "A proxyHeader cannot be sent through a SOCKS5 proxy: use one or the other",
    );
  }
}

/** A client's connect, from `connect()` until it connected, failed or was closed. */
export class ConnectAttempt {
  readonly #engine: Engine;
  readonly #options: ConnectOptions;
  readonly #where: string;
  /** The PROXY protocol header to send first, encoded. */
  readonly #header: Uint8Array | null;
  readonly #abandon = new AbortController();
  readonly #ready: PromiseWithResolvers<void>;
  #timer: Timer | null = null;
  #writer: Writer | null = null;
  #release: (() => void) | null = null;
  #settled = false;
  #connected = false;
  #onAbort: (() => void) | null = null;

  /**
   * @param address Where to, for messages.
   * @param previous The attempt this one retries, when it never connected:
   * this one takes over its `ready` promise and the writes it holds.
   * @throws {RangeError} For an invalid `connectTimeout`.
   * @throws {TypeError} For a `signal` that is not an `AbortSignal`.
   */
  constructor(
    engine: Engine,
    options: ConnectOptions,
    address: ResolvedAddress,
    previous?: ConnectAttempt,
  ) {
    checkOptions(options);
    this.#header = options.proxyHeader === undefined
      ? null
      : encodeProxyHeader(options.proxyHeader);
    this.#engine = engine;
    this.#options = options;
    this.#where = address.transport === "unix"
      ? address.path
      : hostPort(address.hostname ?? "localhost", address.port);
    if (previous !== undefined && !previous.#connected) {
      this.#ready = previous.#ready;
      this.#release = previous.#release;
      this.#writer = previous.#writer;
      return;
    }
    this.#ready = Promise.withResolvers<void>();
    this.#ready.promise.catch(noop); // nobody needs to await stream.ready
  }

  /** `stream.ready` of a stream that never called `connect()`. */
  static settled(connected: boolean): Promise<void> {
    if (connected) return Promise.resolve();
    const never = Promise.reject(
      new ChannelClosedError("The stream is not connecting: call connect() first"),
    );
    never.catch(noop);
    return never;
  }

  /** `stream.ready`. */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /**
   * Opens the connection, within the deadline and the caller's signal:
   * through a SOCKS5 proxy, with TLS from the start, or plain (after the
   * PROXY header, when one is to be sent first). `started`
   * gets a connection whose handshake is under way (closing it ends that).
   */
  open(
    address: ResolvedAddress,
    proxy: Socks5Proxy | null,
    tls: TlsClientOptions | null,
    started: (pending: Transport) => void,
  ): Promise<Transport> {
    const header = this.#header;
    const plain = header === null
      ? connectStream
      : (to: ResolvedAddress, signal?: AbortSignal) =>
        connectStream(to, signal).then((conn) => sendProxyHeader(conn, header));
    return this.run((signal) =>
      proxy !== null
        ? connectSocks5(proxy, address, tls, started, signal)
        : tls === null
        ? plain(address, signal)
        : connectTls(address, tls, started, signal, plain)
    );
  }

  /**
   * Runs the socket call `start(signal)` within the deadline and the
   * caller's signal. Rejects with a `ConnectTimeoutError`, or a
   * `StreamConnectError` whose `cause` is the signal's reason; a transport
   * that arrives after that is closed at once.
   */
  run(start: (signal: AbortSignal) => Promise<Transport>): Promise<Transport> {
    const { promise, resolve, reject } = Promise.withResolvers<Transport>();
    const fail = (error: unknown): void => {
      if (this.#settled) return;
      this.#settle();
      this.#abandon.abort(error);
      reject(error);
    };
    const signal = this.#options.signal;
    if (signal?.aborted) {
      fail(this.#aborted(signal));
      return promise;
    }
    if (signal !== undefined) {
      this.#onAbort = () => fail(this.#aborted(signal));
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
    const ms = this.#options.connectTimeout ?? 0;
    if (ms > 0) {
      this.#timer = this.#engine.defer(ms, () => {
        this.#timer = null;
        fail(
          new ConnectTimeoutError(
            `Cannot connect to ${this.#where}: not connected within ${ms} ms (connectTimeout); ` +
              "check that the host is reachable, or raise connectTimeout",
            ms,
          ),
        );
      });
    }
    start(this.#abandon.signal).then((transport) => {
      if (this.#settled) return closeQuietly(transport);
      this.#settle();
      resolve(transport);
    }, fail);
    return promise;
  }

  /** Holds writes made before the connection is up behind one writer job. */
  holdWrites(writer: Writer): boolean {
    if (this.#release === null && !this.#settled) {
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#release = resolve;
      this.#writer = writer;
      writer.runExclusive(() => promise);
    }
    return this.#release !== null;
  }

  /** The stream connected (`onConnect` is next): resolve `ready`, send the held writes. */
  connected(): void {
    this.#connected = true;
    this.#ready.resolve();
    this.#releaseWrites();
  }

  /** The stream closed: give up a pending connect; `ready` rejects unless settled. */
  closed(): void {
    this.#releaseWrites();
    if (this.#connected) return;
    if (!this.#settled) {
      this.#settle();
      this.#abandon.abort();
    }
    this.#ready.reject(
      new ChannelClosedError(
        `The stream to ${this.#where} was closed before it connected; ` +
          "await stream.ready before closing it",
      ),
    );
  }

  #releaseWrites(): void {
    this.#release?.();
    this.#release = null;
    this.#writer = null;
  }

  #settle(): void {
    this.#settled = true;
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#onAbort !== null) {
      this.#options.signal?.removeEventListener("abort", this.#onAbort);
      this.#onAbort = null;
    }
  }

  #aborted(signal: AbortSignal): StreamConnectError {
    return new StreamConnectError(
      `Cannot connect to ${this.#where}: aborted by the caller's signal`,
      { cause: signal.reason },
    );
  }

  /**
   * The stream gives up connecting after this attempt failed: `ready`
   * rejects, and the error says what the early writes lost.
   */
  failed(error: Error): void {
    const dropped = this.#writer?.size ?? 0;
    if (dropped > 0) error.message += `; ${dropped} bytes written before the connect were dropped`;
    // Whoever awaits it resumes in a microtask: after onConnectError() ran.
    this.#ready.reject(error);
  }
}

function closeQuietly(transport: Transport): void {
  try {
    transport.close();
  } catch {
    // Already closed.
  }
}
