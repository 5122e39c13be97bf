/**
 * TLS for streams: connecting, listening, and upgrading a connected stream
 * in place (STARTTLS), on both the client and the server side. The
 * transport's TLS entry point: the channels import no other TLS file, and
 * only it and the files listed below run TLS.
 *
 * Every TLS connection is a plain Deno connection that Pants owns, with
 * `node:tls` running over it. Why not Deno's own TLS (`Deno.listenTls`,
 * `Deno.connectTls`, `Deno.startTls`)? Deno 2.9 runs each handshake in a
 * task of its own that holds the socket until the handshake ends:
 * `close()` during a handshake frees the resource but not the socket,
 * which stays open until the peer sends or leaves (a silent peer: for
 * ever), and the plain connection given to `startTls` can no longer be
 * closed either. Here the plain connection stays ours, so closing it ends
 * the TCP connection at once, whatever state the handshake is in.
 *
 * The machinery, one file each:
 *
 * - `_tls_start.ts`: starts the server or client side over a plain
 *   connection (`serveTls`, `connectTlsOver`).
 * - `_tls_transport.ts`: `TlsTransport`, the `Transport` a TLS stream reads
 *   and writes (handshake outcome, input queue, graceful close).
 * - `_tls_duplex.ts`: `PlainDuplex`, the Deno connection as the Duplex
 *   `node:tls` runs on, with the read-side back-pressure.
 * - `_tls_server_keys.ts`: a server's certificate and key, checked at
 *   listen and parsed once per server.
 * - `_tls_certificate_failure.ts`: a client's certificate errors in the
 *   words (and with the alert) of Deno's TLS.
 *
 * What this module does with them:
 *
 * - A client connects over TCP (`connectStream`, so `setNoDelay` and the
 *   permission hints are those of plain streams) and then runs the
 *   handshake; the certificate is checked against `hostname`, which may
 *   differ from the address connected to (connect to `127.0.0.1`, verify
 *   `localhost`). STARTTLS on a client is the same step.
 * - A TLS server listens on plain TCP (`listenStream`); each accepted
 *   connection starts its handshake at once and completes it before its
 *   stream's `onConnect()`. Closing it during the handshake (the
 *   `handshakeTimeout`, a refused connection) ends the TCP connection then.
 * - Server-side STARTTLS is the server step on a connection already in use.
 *
 * Every failure of a handshake becomes a {@linkcode TlsHandshakeError} whose
 * `cause` is the Deno or Node error; a client's certificate errors keep the
 * wording of Deno's TLS ("invalid peer certificate: UnknownIssuer", with
 * Node's error as their `cause`).
 *
 * A peer that closes without a TLS `close_notify` alert (Python's `ssl`,
 * browsers, a killed `openssl s_client`) reads as a normal end of input
 * (`onEnd()`), as on plain streams and as in Node and Python by default.
 * Protocols that must detect a truncated stream frame their own end.
 *
 * @module
 */

import { formatAddress, type ResolvedAddress } from "./address.ts";
import { ListenError, TlsHandshakeError } from "./errors.ts";
import type { ListenOptions } from "./listen_options.ts";
import {
  type Acceptor,
  connectStream,
  listenStream,
  type Transport,
  tuneAccepted,
} from "./_socket.ts";
import type { TlsClientOptions, TlsServerOptions } from "./tls_options.ts";
import { checkCaCerts, checkServerKeys } from "./_tls_server_keys.ts";
import type { TlsSession } from "./_tls_peer.ts";
import { connectTlsOver, serveTls } from "./_tls_start.ts";
import { TlsTransport } from "./_tls_transport.ts";

function handshakeError(error: unknown, where: string): TlsHandshakeError {
  const reason = error instanceof Error ? error.message : String(error);
  return new TlsHandshakeError(`TLS handshake with ${where} failed: ${reason}`, { cause: error });
}

function peer(transport: Transport): string {
  const addr = transport.remoteAddr;
  if ("path" in addr) return addr.path;
  if (!("hostname" in addr)) return addr.transport;
  return formatAddress({ transport: "tcp", hostname: addr.hostname, port: addr.port });
}

/**
 * Waits for a TLS transport's handshake; throws a `TlsHandshakeError` on
 * failure (the transport closed its socket already).
 */
async function secured(tls: TlsTransport, where: string): Promise<TlsTransport> {
  try {
    await tls.handshake();
  } catch (error) {
    throw handshakeError(error, where);
  }
  return tls;
}

/**
 * Connects and completes the TLS handshake.
 *
 * @param started Called with the connection once its handshake is under
 * way: closing it then ends the TCP connection at once and makes this fail.
 * @param signal Abandons the TCP connect while it is pending.
 * @param connectPlain Opens the plain connection (one that first sends a
 * PROXY header, for example).
 * @throws {StreamConnectError} When the TCP connection fails.
 * @throws {TlsHandshakeError} When the handshake fails.
 */
export async function connectTls(
  address: ResolvedAddress,
  options: TlsClientOptions,
  started?: (pending: Transport) => void,
  signal?: AbortSignal,
  connectPlain: typeof connectStream = connectStream,
): Promise<Transport> {
  const plain = await connectPlain(address, signal);
  const hostname = options.hostname ??
    (address.transport === "tcp" ? address.hostname ?? "localhost" : "localhost");
  const tls = startClient(plain, { ...options, hostname });
  started?.(tls);
  return await secured(tls, peer(plain));
}

/**
 * Completes the handshake of a TLS connection: one accepted by a TLS server
 * ({@linkcode listenTls}), which started when it was accepted, or one
 * returned by {@linkcode upgradeClient} or {@linkcode upgradeServer}.
 *
 * @throws {TlsHandshakeError} When it fails (the socket is closed then).
 */
export async function handshake(transport: Transport): Promise<void> {
  if (!(transport instanceof TlsTransport)) {
    throw handshakeError(new TypeError("Not a TLS connection"), peer(transport));
  }
  await secured(transport, peer(transport));
}

/** Starts a client handshake, refusing connections other than TCP as before. */
function startClient(plain: Transport, options: TlsClientOptions): TlsTransport {
  const remote = plain.remoteAddr;
  if (remote.transport !== "tcp") {
    try {
      plain.close();
    } catch {
      // Already closed.
    }
    throw handshakeError(
      new TypeError("Pants upgrades TCP connections only: use TCP for TLS clients"),
      peer(plain),
    );
  }
  return connectTlsOver(plain, {
    hostname: options.hostname ?? remote.hostname,
    caCerts: options.caCerts,
    alpnProtocols: options.alpnProtocols,
    cert: options.cert,
    key: options.key,
  });
}

/**
 * Starts upgrading a connected client stream in place: returns the TLS
 * connection, its handshake under way ({@linkcode handshake} tells how it
 * ends). The plain connection belongs to the result; writes wait for the
 * handshake, and closing the result during it ends the TCP connection.
 *
 * @throws {TlsHandshakeError} For a connection that is not TCP (closed then).
 */
export function upgradeClient(plain: Transport, options: TlsClientOptions): Transport {
  return startClient(plain, options);
}

/**
 * Starts upgrading a stream accepted by a plain server in place, acting as
 * the TLS server: as {@linkcode upgradeClient}. The handshake fails for a
 * bad certificate or key, a plaintext or distrusting peer, the peer closing.
 *
 * @throws {TlsHandshakeError} When `node:tls` refuses the options (the plain
 * connection is closed then).
 */
export function upgradeServer(plain: Transport, options: TlsServerOptions): Transport {
  try {
    return serveTls(plain, options);
  } catch (error) {
    try {
      plain.close();
    } catch {
      // Already closed.
    }
    throw handshakeError(error, peer(plain));
  }
}

/**
 * Listens for TLS connections: plain TCP, each accepted connection
 * starting its server handshake at once (see {@linkcode handshake}).
 *
 * @throws {ListenError} For a bad certificate or key, a Unix socket, or as
 * `listenStream` does.
 * @param around Wraps the plain listener (the PROXY protocol reads its
 * header there, before the TLS handshake).
 */
export async function listenTls(
  address: ResolvedAddress,
  options: ListenOptions,
  keys: TlsServerOptions,
  around: (plain: Acceptor) => Acceptor = (plain) => plain,
): Promise<Acceptor> {
  if (address.transport === "unix") {
    throw new ListenError(`Cannot listen on ${address.path}: Pants serves TLS over TCP only`);
  }
  try {
    checkServerKeys(keys.cert, keys.key);
  } catch (error) {
    throw new ListenError(
      `Cannot listen on ${formatAddress(address)}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const plain = around(await listenStream(address, options));
  const serverKeys = {
    cert: keys.cert,
    key: keys.key,
    alpnProtocols: keys.alpnProtocols,
    caCerts: keys.caCerts,
    requireClientCert: keys.requireClientCert,
  };
  return {
    get addr(): Deno.Addr {
      return plain.addr;
    },
    async accept(): Promise<Transport> {
      const conn = await plain.accept();
      tuneAccepted(conn);
      return serveTls(conn, serverKeys);
    },
    close(): void {
      plain.close();
    },
  };
}

/**
 * Checks TLS options when they are given (`startSSL()`), so that what
 * cannot work throws then rather than failing every handshake: a client
 * certificate without its key (or not matching it), `caCerts` that are not
 * PEM certificates, `requireClientCert` without `caCerts`, a server without
 * `cert` and `key` strings. Whether a server's own `cert` and `key` are
 * usable is checked at `listen()` (a `ListenError`).
 *
 * @throws {TypeError} Naming what is wrong.
 */
export function checkTlsOptions(
  options: TlsClientOptions & Partial<TlsServerOptions>,
  side: "client" | "server",
): void {
  if (side === "server" && (typeof options?.cert !== "string" || typeof options.key !== "string")) {
    throw new TypeError("startSSL needs { cert, key } as PEM strings");
  }
  if (options.caCerts !== undefined) checkCaCerts(options.caCerts);
  if (options.requireClientCert === true && options.caCerts === undefined) {
    throw new TypeError(
      "requireClientCert needs caCerts: the CA certificates that sign client certificates",
    );
  }
  if (side === "server") return;
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError("A client certificate needs both cert and key (PEM strings)");
  }
  if (options.cert !== undefined) checkServerKeys(options.cert, options.key!);
}

/**
 * What a TLS connection's handshake settled (ALPN protocol, the peer's
 * certificate); `null` for a plain connection or before the handshake
 * completed. Still readable after the connection closed.
 */
export function tlsSession(transport: Transport | null): TlsSession | null {
  return transport instanceof TlsTransport ? transport.session : null;
}

/**
 * Closes a connection now, even a TLS one in its handshake or in a graceful
 * close (idempotent; a plain connection closed already is fine).
 */
export function abortTransport(transport: Transport): void {
  if (transport instanceof TlsTransport) return transport.abort();
  try {
    transport.close();
  } catch {
    // Already closed.
  }
}

/**
 * Resolves once the socket under `transport` is closed: for a TLS
 * connection, after its graceful close; for any other, at once (Deno
 * closes those in `close()`).
 */
export function transportReleased(transport: Transport): Promise<void> {
  return transport instanceof TlsTransport ? transport.released : Promise.resolve();
}
