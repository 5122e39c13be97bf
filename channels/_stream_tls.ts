/**
 * A stream's TLS, apart from the sockets: {@linkcode StreamTls} keeps
 * whether the stream is secure or upgrading and the options of TLS from the
 * start, checks when STARTTLS may run, runs the upgrade (an exclusive job
 * of the stream's writer: which side of the handshake it takes, the swap of
 * connections), waits for an accepted TLS connection's handshake within its
 * deadline, and reports how a handshake ended to the stream's callbacks.
 * The socket work itself is the transport's (`transport/_tls.ts`).
 *
 * Why it is shaped so: a stream makes its `StreamTls` when it first uses
 * TLS, so a plain stream pays for nothing; the stream is the host
 * ({@linkcode TlsHost}: its public callbacks and two symbol-keyed methods),
 * so `stream.ts` keeps only what every stream needs.
 *
 * @module
 */

import type { Engine } from "../engine/engine.ts";
import { checkTlsOptions, handshake, upgradeClient, upgradeServer } from "../transport/_tls.ts";
import type { Transport } from "../transport/_socket.ts";
import { TlsHandshakeError } from "../transport/errors.ts";
import type {
  StartTlsOptions,
  TlsClientOptions,
  TlsServerOptions,
} from "../transport/tls_options.ts";
import { type Channel, notify } from "./channel.ts";
import type { CloseOptions } from "./channel.ts";
import type { StreamPhase } from "./buffered_channel.ts";
import type { Deframer } from "../framing/_deframer.ts";
import { StartTlsError } from "./errors.ts";
import { readable } from "./_reader.ts";
import { begin, deframer, dropConnection, phase, writer } from "./_symbols.ts";
import type { Writer } from "./_writer.ts";

/** `stream[useTransport](transport)`: the stream's connection is now this TLS one (handshake under way). */
export const useTransport: unique symbol = Symbol("pants.useTransport");
/** `stream[startReading]()`: start the read loop on the stream's connection. */
export const startReading: unique symbol = Symbol("pants.startReading");

/** What a stream's TLS needs of the stream. */
export interface TlsHost extends Channel {
  readonly engine: Engine;
  readonly server: unknown;
  readonly [phase]: StreamPhase;
  readonly [deframer]: Deframer;
  readonly [writer]: Writer;
  [readable](): boolean;
  [begin](secure?: boolean): void;
  [useTransport](transport: Transport): void;
  [startReading](): void;
  close(options?: CloseOptions): void;
  onSSLHandshake(): void;
  onSSLHandshakeError(error: TlsHandshakeError): void;
}

/** Where a stream stands when `startSSL()` is called on it. */
export interface StartTlsState {
  /** The stream's state (`"connected"` is the only one that can upgrade). */
  readonly state: string;
  /** Already TLS, or upgrading. */
  readonly secure: boolean;
  /** A read is pending on the plaintext connection. */
  readonly readPending: boolean;
  /** Plaintext bytes received and not yet delivered. */
  readonly unread: number;
  /** The stream was accepted by a server (it acts as the TLS server). */
  readonly accepted: boolean;
}

/** A stream's TLS state and steps; made when the stream first uses TLS. */
export class StreamTls {
  readonly #host: TlsHost;
  /** The options of TLS from the start (`startSSL()` before `connect()`). */
  client: TlsClientOptions | null = null;
  /** The connection is TLS (an accepted one from its accept, else once its handshake completed). */
  secure = false;
  /** A STARTTLS upgrade is under way: no input is delivered. */
  upgrading = false;

  constructor(host: TlsHost) {
    this.#host = host;
  }

  /**
   * `startSSL()`: before `connect()`, keeps the client options; on a
   * connected stream, checks that STARTTLS can run and queues the upgrade
   * behind the writes queued so far.
   *
   * @throws {StartTlsError} See {@linkcode checkStartTls}.
   * @throws {TypeError} For options that cannot work.
   */
  start(options: StartTlsOptions, readPending: boolean, connectHost: string | undefined): void {
    const host = this.#host;
    if (host[phase] === "idle") {
      checkTlsOptions(options, "client");
      this.client = options;
      return;
    }
    const accepted = host.server !== null;
    checkStartTls({
      state: host[phase],
      secure: this.secure || this.upgrading,
      readPending,
      unread: host[deframer].unread,
      accepted,
    }, options);
    this.upgrading = host[deframer].held = true;
    host[writer].runExclusive((plain) => {
      // Runs once every write queued before it was sent.
      let secured: Transport;
      try {
        secured = upgrade(plain, options, accepted, connectHost);
      } catch (error) {
        this.#ended(error as TlsHandshakeError, true);
        return Promise.resolve();
      }
      if (host[phase] === "closed") return Promise.resolve(secured.close());
      // The TLS connection is the stream's from now on: later writes wait in
      // it for the handshake, and close() or engine.stop() end it at once
      // unless a write waits (a flushing close then waits for the handshake).
      host[useTransport](secured);
      this.#await(secured, 0, true);
      return Promise.resolve();
    }, true);
  }

  /**
   * An accepted TLS connection: completes its handshake within `timeoutMs`
   * (0: no limit), then `onSSLHandshake()` and the stream's `onConnect()`.
   */
  accepted(transport: Transport, timeoutMs: number): void {
    this.secure = true;
    this.#await(transport, timeoutMs, false);
  }

  #await(transport: Transport, timeoutMs: number, upgraded: boolean): void {
    handshakeWithin(this.#host.engine, transport, timeoutMs).then(
      () => this.#ended(null, upgraded),
      (error: TlsHandshakeError) => this.#ended(error, upgraded),
    );
  }

  /** A handshake ended (`error` `null` once secure): tells the stream, unless it closed first. */
  #ended(error: TlsHandshakeError | null, upgraded: boolean): void {
    const host = this.#host;
    const state = host[phase];
    if (state === "closed" || (!upgraded && error === null && state !== "connected")) return;
    this.upgrading = false;
    if (error !== null) {
      notify(host, host.onSSLHandshakeError, error);
      if (host[phase] !== "closed") host[dropConnection](false);
      return;
    }
    this.secure = true;
    host[deframer].held = !host[readable]();
    notify(host, host.onSSLHandshake);
    if (!upgraded) host[begin]();
    else if (host[readable]()) host[startReading]();
  }
}

/**
 * Refuses a STARTTLS upgrade that would be unsafe or cannot work.
 *
 * @throws {StartTlsError} Not connected, already TLS, a read pending,
 * unread plaintext, or an accepted stream without `cert` and `key`.
 * @throws {TypeError} For options that cannot work (`checkTlsOptions`).
 */
export function checkStartTls(at: StartTlsState, options: StartTlsOptions): void {
  if (at.state !== "connected") {
    throw new StartTlsError(`Cannot start TLS: the stream is ${at.state}`);
  }
  if (at.secure) {
    throw new StartTlsError("Cannot start TLS: the stream is already secured with TLS");
  }
  if (at.readPending) {
    throw new StartTlsError(
      "Cannot start TLS while a read is pending: call startSSL() from onConnect() or onRead()",
    );
  }
  if (at.unread > 0) {
    throw new StartTlsError(
      `Refusing to start TLS: ${at.unread} bytes of plaintext arrived after the STARTTLS point ` +
        "and are still unread; they must not be treated as TLS-protected",
    );
  }
  if (at.accepted && (options.cert === undefined || options.key === undefined)) {
    throw new StartTlsError(
      "Cannot start TLS on an accepted stream without { cert, key }: it acts as the TLS server",
    );
  }
  checkTlsOptions(options, at.accepted ? "server" : "client");
}

/**
 * Starts upgrading a plaintext connection in place: as the TLS server for
 * an accepted stream, else as the client verifying `connectHost` by
 * default. Returns the TLS connection at once, its handshake under way
 * (`handshakeWithin` waits for it): writes wait for the handshake, and
 * closing it meanwhile ends the TCP connection at once.
 *
 * @throws {TlsHandshakeError} When the upgrade cannot start.
 */
function upgrade(
  plain: Transport,
  options: StartTlsOptions,
  accepted: boolean,
  connectHost: string | undefined,
): Transport {
  return accepted
    ? upgradeServer(plain, options as TlsServerOptions)
    : upgradeClient(plain, { ...options, hostname: options.hostname ?? connectHost });
}

/**
 * Completes a TLS connection's handshake (accepted by a TLS server, or
 * started by `upgrade`), failing it after `timeoutMs` (0: no limit) on the
 * engine's timer ring.
 *
 * @throws {TlsHandshakeError} When the handshake fails or takes too long.
 */
function handshakeWithin(engine: Engine, transport: Transport, timeoutMs: number): Promise<void> {
  if (timeoutMs <= 0) return handshake(transport);
  return new Promise((resolve, reject) => {
    const limit = engine.defer(timeoutMs, () => {
      reject(
        new TlsHandshakeError(`TLS handshake did not complete within ${timeoutMs} ms; closing`),
      );
    });
    handshake(transport).then(
      () => {
        limit.cancel();
        resolve();
      },
      (error) => {
        limit.cancel();
        reject(error);
      },
    );
  });
}
