/**
 * TLS for streams: connecting, listening, and upgrading a connected stream
 * in place (STARTTLS), on both the client and the server side. Part of the
 * socket layer: the only module that calls Deno's TLS APIs.
 *
 * @module
 */

import { formatAddress, type ResolvedAddress } from "./address.ts";
import { StreamConnectError, TlsHandshakeError } from "./errors.ts";
import {
  type Acceptor,
  connectStream,
  listenStream,
  type StreamListenOptions,
  type Transport,
} from "./_socket.ts";
import { acceptTlsUpgrade } from "./_tls_server_upgrade.ts";

/** TLS options of a client stream. */
export interface TlsClientOptions {
  /**
   * The name the server's certificate must be valid for.
   *
   * @default {the connected host name}
   */
  hostname?: string;
  /**
   * PEM certificates of the CAs to trust instead of the system's.
   *
   * @default {undefined}
   */
  caCerts?: string[];
  /**
   * ALPN protocols to offer.
   *
   * @default {undefined}
   */
  alpnProtocols?: string[];
}

/** TLS options of a server (or of a stream accepted by a plain server that upgrades). */
export interface TlsServerOptions {
  /** The certificate chain, PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
  /**
   * ALPN protocols to accept.
   *
   * @default {undefined}
   */
  alpnProtocols?: string[];
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
  if (address.transport === "unix") {
    const plain = await connectStream(address);
    return await upgradeClient(plain, options);
  }
  const hostname = address.hostname ?? "localhost";
  let conn: Deno.TlsConn;
  try {
    conn = await Deno.connectTls({
      hostname,
      port: address.port,
      caCerts: options.caCerts,
      alpnProtocols: options.alpnProtocols,
    });
  } catch (error) {
    throw new StreamConnectError(`Cannot connect to ${formatAddress(address)}: ${String(error)}`, {
      cause: error,
    });
  }
  try {
    await conn.handshake();
  } catch (error) {
    conn.close();
    throw handshakeError(error, formatAddress({ ...address, hostname }));
  }
  return conn;
}

/** Listens for TLS connections; each accepted one must complete `handshake()`. */
export async function listenTls(
  address: ResolvedAddress,
  tls: TlsServerOptions,
  options: StreamListenOptions = {},
): Promise<Acceptor> {
  return await listenStream(address, options, tls);
}

/**
 * Completes the handshake of an accepted TLS connection.
 *
 * @throws {TlsHandshakeError} When it fails.
 */
export async function handshake(transport: Transport): Promise<void> {
  try {
    await (transport as Deno.TlsConn).handshake();
  } catch (error) {
    throw handshakeError(error, peer(transport));
  }
}

/**
 * Upgrades a connected client stream in place (`Deno.startTls`).
 *
 * @throws {TlsHandshakeError} When the handshake fails.
 */
export async function upgradeClient(
  plain: Transport,
  options: TlsClientOptions,
): Promise<Transport> {
  const remote = plain.remoteAddr;
  const hostname = options.hostname ??
    (remote.transport === "tcp" ? remote.hostname : "localhost");
  let conn: Deno.TlsConn;
  try {
    conn = await Deno.startTls(plain as Deno.TcpConn, {
      hostname,
      caCerts: options.caCerts,
      alpnProtocols: options.alpnProtocols,
    });
    await conn.handshake();
  } catch (error) {
    throw handshakeError(error, peer(plain));
  }
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
