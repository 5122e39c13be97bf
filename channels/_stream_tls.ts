/**
 * The TLS steps of a stream's life that are not sockets: when STARTTLS may
 * run, which side of the handshake an upgrade takes, and the handshake
 * deadline of an accepted TLS connection. The socket work itself is the
 * transport's (`transport/_tls.ts`).
 *
 * @module
 */

import type { Engine } from "../engine/engine.ts";
import { handshake, upgradeClient, upgradeServer } from "../transport/_tls.ts";
import type { Transport } from "../transport/_socket.ts";
import { TlsHandshakeError } from "../transport/errors.ts";
import type { StartTlsOptions, TlsServerOptions } from "../transport/tls_options.ts";
import { StartTlsError } from "./errors.ts";

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

/**
 * Refuses a STARTTLS upgrade that would be unsafe or cannot work.
 *
 * @throws {StartTlsError} Not connected, already TLS, a read pending,
 * unread plaintext, or an accepted stream without `cert` and `key`.
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
export function upgrade(
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
export function handshakeWithin(
  engine: Engine,
  transport: Transport,
  timeoutMs: number,
): Promise<void> {
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
