/**
 * Starting TLS on a plain connection: the server side
 * ({@linkcode serveTls}: a `TLSSocket` with the server's secure context)
 * and the client side ({@linkcode connectTlsOver}: `tls.connect` verifying
 * the server's name and chain). Either way the plain Deno connection goes
 * into a {@linkcode PlainDuplex}, and the result is a
 * {@linkcode TlsTransport} whose handshake is under way.
 *
 * Why it is shaped so: these are the only two places that make a
 * `node:tls` socket, and they take a connection Pants already holds
 * (accepted by a plain listener, connected by `Deno.connect`, or a stream
 * being upgraded by STARTTLS): Pants never hands a socket to Deno's own TLS,
 * so it can always close it (`_tls.ts` says why). Client and server differ
 * only in how the socket is made and which event means "secure"; what
 * follows is the same transport.
 *
 * @module
 */

import { isIP } from "node:net";
import { connect as connectSocket, type ConnectionOptions, TLSSocket } from "node:tls";
import type { Transport } from "./_socket.ts";
import { PlainDuplex } from "./_tls_duplex.ts";
import { secureContext } from "./_tls_server_keys.ts";
import { TlsTransport } from "./_tls_transport.ts";

/** The certificate, key and ALPN protocols of the TLS server end, and how it checks clients. */
export interface ServerTlsOptions {
  cert: string;
  key: string;
  alpnProtocols?: string[];
  /** CAs of client certificates: ask each client for one, verify what it sends. */
  caCerts?: string[];
  /** Fail a client that sends no certificate (with `caCerts`). */
  requireClientCert?: boolean;
}

/** What the TLS client end verifies and offers. */
export interface ClientTlsOptions {
  /** The name (or IP address) the server's certificate must be valid for. */
  hostname: string;
  /** CAs to trust instead of the default ones. */
  caCerts?: string[];
  alpnProtocols?: string[];
  /** A client certificate chain and its key (PEM), sent when the server asks. */
  cert?: string;
  key?: string;
}

/**
 * Starts the server side of a TLS handshake over a plain connection. The
 * plain connection belongs to the result from now on (closed with it).
 *
 * With `caCerts` the client is asked for a certificate; the handshake
 * fails for one these CAs did not sign (`_tls_peer.ts`), or for none with
 * `requireClientCert`.
 *
 * @param plain A connection accepted by a server; no read may be pending.
 * @param options Certificate chain and key (PEM), ALPN protocols, client CAs.
 * @returns The TLS connection, its handshake under way (`handshake()`).
 */
export function serveTls(plain: Transport, options: ServerTlsOptions): TlsTransport {
  const duplex = new PlainDuplex(plain);
  const checksClients = options.caCerts !== undefined;
  const socket = new TLSSocket(duplex, {
    isServer: true,
    secureContext: secureContext(options.cert, options.key, options.caCerts),
    ALPNProtocols: options.alpnProtocols,
    requestCert: checksClients,
    rejectUnauthorized: checksClients && options.requireClientCert === true,
  });
  return new TlsTransport(plain, duplex, socket, "secure", undefined, checksClients);
}

/**
 * Starts the client side of a TLS handshake over a plain connection,
 * verifying the server's certificate against `hostname` (sent as SNI unless
 * it is an IP address) and `caCerts` (default: Node's root CAs). The plain
 * connection belongs to the result from now on (closed with it).
 *
 * @param plain A connected client connection; no read may be pending.
 * @param options The name to verify, the CAs, the ALPN protocols, a client certificate.
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
    cert: options.cert,
    key: options.key,
    // The stream may still write after the server's end (onEnd), as on TCP.
    allowHalfOpen: true,
  };
  const socket = connectSocket(connectOptions);
  return new TlsTransport(plain, duplex, socket, "secureConnect", hostname);
}
