/**
 * A client stream's connecting, from `connect()` until the stream is closed
 * for good: the resolved address and proxy, the current `ConnectAttempt`
 * (`_connect.ts`), and with `reconnect` the `Backoff` (`_reconnect.ts`) and
 * the timer of the next attempt, on the engine's timing ring.
 *
 * An attempt that fails while the policy allows another hands its `ready`
 * promise and its held writes to the next one: a script awaiting
 * `stream.ready` waits for the first connection that comes up, and writes
 * made meanwhile are sent on it. A lost connection starts a fresh attempt
 * (its `ready` pending until the stream is connected again).
 *
 * @module
 */

import type { Engine } from "../engine/engine.ts";
import type { Timer } from "../engine/timer.ts";
import { type AddressInput, resolveAddress, type ResolvedAddress } from "../transport/address.ts";
import type { Transport } from "../transport/_socket.ts";
import { type Socks5Proxy, socks5Proxy } from "../transport/_socks5.ts";
import type { StreamConnectError, TlsHandshakeError } from "../transport/errors.ts";
import type { TlsClientOptions } from "../transport/tls_options.ts";
import type { StreamPhase } from "./buffered_channel.ts";
import type { ConnectOptions } from "./connect_options.ts";
import { ConnectAttempt } from "./_connect.ts";
import { Backoff } from "./_reconnect.ts";
import { phase } from "./_symbols.ts";
import type { Writer } from "./_writer.ts";

/** `stream[connectStarted](pending)`: a connection whose TLS or SOCKS5 handshake is under way. */
export const connectStarted: unique symbol = Symbol("pants.connectStarted");
/** `stream[connectSucceeded](transport, secure)`: the connection is up. */
export const connectSucceeded: unique symbol = Symbol("pants.connectSucceeded");
/** `stream[connectFailed](error)`: the stream gives up connecting. */
export const connectFailed: unique symbol = Symbol("pants.connectFailed");
/** `stream[reconnecting](attempt, delay, error)`: the next attempt is due in `delay` ms. */
export const reconnecting: unique symbol = Symbol("pants.reconnecting");

/** What a `Connector` drives: the client stream. */
export interface ConnectorHost {
  readonly engine: Engine;
  readonly [phase]: StreamPhase;
  [connectStarted](pending: Transport): void;
  [connectSucceeded](transport: Transport, secure: boolean): void;
  [connectFailed](error: StreamConnectError | TlsHandshakeError): void;
  [reconnecting](attempt: number, delay: number, error: Error | null): void;
}

/** The connecting side of one client stream. */
export class Connector {
  /** The host name given to `connect()`: what STARTTLS verifies by default. */
  readonly hostname: string | undefined;
  readonly #host: ConnectorHost;
  readonly #address: ResolvedAddress;
  readonly #proxy: Socks5Proxy | null;
  readonly #options: ConnectOptions;
  readonly #tls: TlsClientOptions | null;
  readonly #backoff: Backoff | null;
  #attempt: ConnectAttempt;
  #timer: Timer | null = null;
  #stopped = false;
  readonly #onAbort = (): void => {
    if (this.#timer === null) return;
    this.#timer.cancel();
    this.#timer = null;
    this.#open(); // fails at once with the abort, and for good
  };

  /**
   * Checks everything `connect()` was given; nothing starts before `start()`.
   *
   * @throws {TypeError} For an invalid address, proxy URL, signal or reconnect policy.
   * @throws {RangeError} For an out-of-range `connectTimeout` or reconnect setting.
   */
  constructor(
    host: ConnectorHost,
    address: AddressInput,
    options: ConnectOptions,
    tls: TlsClientOptions | null,
  ) {
    const resolved = resolveAddress(address);
    this.#proxy = options.proxy === undefined ? null : socks5Proxy(resolved, options.proxy);
    const policy = options.reconnect;
    this.#backoff = policy === undefined || policy === false ? null : new Backoff(policy);
    this.#attempt = new ConnectAttempt(host.engine, options, resolved);
    this.#host = host;
    this.#address = resolved;
    this.#options = options;
    this.#tls = tls;
    this.hostname = resolved.transport === "tcp" ? resolved.hostname ?? "localhost" : undefined;
  }

  /** `stream.ready`: the current attempt's promise. */
  get ready(): Promise<void> {
    return this.#attempt.ready;
  }

  /** Whether a lost connection is followed by another attempt. */
  get reconnects(): boolean {
    return this.#backoff !== null && !this.#stopped;
  }

  /** Holds writes made while not connected behind one writer job. */
  holdWrites(writer: Writer): boolean {
    return this.#attempt.holdWrites(writer);
  }

  /** Runs the first attempt once the engine runs. */
  start(): void {
    if (this.#backoff !== null) {
      this.#options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    }
    this.#host.engine.whenRunning(() => this.#open());
  }

  /** The stream connected (`onConnect` is next). */
  connected(): void {
    this.#attempt.connected();
    this.#backoff?.connected(this.#host.engine.now());
  }

  /**
   * The connection was lost and the stream reset itself to connecting:
   * schedules the next attempt. `false` when the stream must close instead.
   *
   * @param refused Why the protocol on top refused the connection (a
   * WebSocket upgrade): a failed attempt, for `onReconnecting`; `null` when lost.
   */
  lost(refused: Error | null = null): boolean {
    if (!this.reconnects) return false;
    this.#backoff!.lost(this.#host.engine.now(), refused !== null);
    const previous = this.#attempt;
    this.#attempt = new ConnectAttempt(this.#host.engine, this.#options, this.#address, previous);
    return this.#schedule(refused);
  }

  /** The stream closed for good: no more attempts; `ready` rejects unless settled. */
  closed(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    this.#attempt.closed();
  }

  #open(): void {
    const host = this.#host;
    if (host[phase] !== "connecting") return;
    const attempt = this.#attempt;
    const tls = this.#tls;
    attempt.open(this.#address, this.#proxy, tls, (pending) => host[connectStarted](pending)).then(
      (transport) => {
        if (host[phase] !== "connecting" || attempt !== this.#attempt) return transport.close();
        host[connectSucceeded](transport, tls !== null);
      },
      (error: StreamConnectError | TlsHandshakeError) => {
        if (host[phase] !== "connecting" || attempt !== this.#attempt) return;
        if (this.#retry(error)) return;
        attempt.failed(error);
        host[connectFailed](error);
      },
    );
  }

  /** An attempt failed: schedules the next one, if the policy allows. */
  #retry(error: Error): boolean {
    if (!this.reconnects || this.#options.signal?.aborted) return false;
    const previous = this.#attempt;
    this.#attempt = new ConnectAttempt(this.#host.engine, this.#options, this.#address, previous);
    if (this.#schedule(error)) return true;
    this.#attempt = previous;
    return false;
  }

  #schedule(error: Error | null): boolean {
    const backoff = this.#backoff!;
    const attempt = backoff.attempt;
    const delay = backoff.next();
    if (delay < 0) return false;
    this.#timer = this.#host.engine.defer(delay, () => {
      this.#timer = null;
      this.#open();
    });
    this.#host[reconnecting](attempt, delay, error);
    return true;
  }
}
