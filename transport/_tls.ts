/**
 * TLS for streams: connecting, listening, and upgrading a connected stream
 * in place (STARTTLS), on both the client and the server side. Part of the
 * socket layer: the only module that calls Deno's TLS APIs.
 *
 * - A client connects over TCP (`connectStream`, so `setNoDelay` and the
 *   permission hints are those of plain streams) and then runs the
 *   handshake with `Deno.startTls`; the certificate is checked against
 *   `hostname`, which may differ from the address connected to (connect to
 *   `127.0.0.1`, verify `localhost`). STARTTLS on a client is the same call.
 * - A TLS server is a `Deno.listenTls` listener; each accepted connection
 *   completes `handshake()` before its stream's `onConnect()`.
 * - Server-side STARTTLS has no Deno API: `_tls_server_upgrade.ts` runs a
 *   `node:tls` server socket over the Deno connection, in process, with no
 *   extra permission.
 *
 * Every failure of a handshake becomes a {@linkcode TlsHandshakeError} whose
 * `cause` is the Deno or Node error.
 *
 * A peer that closes without a TLS `close_notify` alert (Python's `ssl`,
 * browsers, a killed `openssl s_client`) reads as a normal end of input
 * (`onEnd()`), as on plain streams and as in Node and Python by default,
 * instead of rustls' `UnexpectedEof` error. Protocols that must detect a
 * truncated stream frame their own end.
 *
 * @module
 */

import { formatAddress, type ResolvedAddress } from "./address.ts";
import { TlsHandshakeError } from "./errors.ts";
import { connectStream, type Transport } from "./_socket.ts";
import type { TlsClientOptions, TlsServerOptions } from "./tls_options.ts";
import { acceptTlsUpgrade } from "./_tls_server_upgrade.ts";

/** Reads `null` instead of rejecting when the peer closed without `close_notify`. */
function endOnRaggedEof(conn: Deno.TlsConn): void {
  const read = conn.read;
  conn.read = (buffer: Uint8Array): Promise<number | null> =>
    read.call(conn, buffer).catch(raggedEof);
}

function raggedEof(error: unknown): null {
  if (error instanceof Deno.errors.UnexpectedEof) return null;
  throw error;
}

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
 * Connects and completes the TLS handshake.
 *
 * @throws {StreamConnectError} When the TCP connection fails.
 * @throws {TlsHandshakeError} When the handshake fails.
 */
export async function connectTls(
  address: ResolvedAddress,
  options: TlsClientOptions,
): Promise<Transport> {
  const plain = await connectStream(address);
  const hostname = options.hostname ??
    (address.transport === "tcp" ? address.hostname ?? "localhost" : "localhost");
  return await upgradeClient(plain, { ...options, hostname });
}

/**
 * Completes the handshake of an accepted TLS connection.
 *
 * @throws {TlsHandshakeError} When it fails.
 */
export async function handshake(transport: Transport): Promise<void> {
  const conn = transport as Deno.TlsConn;
  try {
    await conn.handshake();
  } catch (error) {
    throw handshakeError(error, peer(transport));
  }
  endOnRaggedEof(conn);
}

/**
 * Upgrades a connected client stream in place (`Deno.startTls`). The plain
 * connection belongs to the result (Deno closes it on failure).
 *
 * @throws {TlsHandshakeError} When the handshake fails.
 */
export async function upgradeClient(
  plain: Transport,
  options: TlsClientOptions,
): Promise<Transport> {
  const remote = plain.remoteAddr;
  if (remote.transport !== "tcp") {
    try {
      plain.close();
    } catch {
      // Already closed.
    }
    throw handshakeError(
      new TypeError("Deno.startTls upgrades TCP connections only: use TCP for TLS clients"),
      peer(plain),
    );
  }
  const hostname = options.hostname ?? remote.hostname;
  let conn: Deno.TlsConn | null = null;
  try {
    conn = await Deno.startTls(plain as Deno.TcpConn, {
      hostname,
      caCerts: options.caCerts,
      alpnProtocols: options.alpnProtocols,
    });
    await conn.handshake();
  } catch (error) {
    try {
      (conn ?? plain).close();
    } catch {
      // Already closed by Deno.
    }
    throw handshakeError(error, peer(plain));
  }
  endOnRaggedEof(conn);
  return conn;
}

/**
 * Upgrades a stream accepted by a plain server in place, acting as the TLS
 * server. Deno has no server-side `startTls`: this runs `node:tls` over the
 * Deno connection (see `_tls_server_upgrade.ts` for why and how).
 *
 * @throws {TlsHandshakeError} When the handshake fails (bad certificate or
 * key, a plaintext or distrusting peer, the peer closing).
 */
export async function upgradeServer(
  plain: Transport,
  options: TlsServerOptions,
): Promise<Transport> {
  try {
    return await acceptTlsUpgrade(plain, options);
  } catch (error) {
    throw handshakeError(error, peer(plain));
  }
}
