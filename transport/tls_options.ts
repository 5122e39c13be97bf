/**
 * TLS options of clients, servers and STARTTLS upgrades.
 *
 * @module
 */

/**
 * TLS options of a client stream (`stream.startSSL()` before `connect()`,
 * or on a connected client stream).
 *
 * @example Trusting a self-signed certificate
 * ```ts
 * import { Stream, type TlsClientOptions } from "@pants/pants";
 *
 * const options: TlsClientOptions = {
 *   hostname: "localhost",
 *   caCerts: [Deno.readTextFileSync("cert.pem")],
 * };
 * new Stream().startSSL(options).connect(["127.0.0.1", 4443]);
 * ```
 *
 * @example Presenting a client certificate (mutual TLS)
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * new Stream().startSSL({
 *   cert: Deno.readTextFileSync("client.pem"),
 *   key: Deno.readTextFileSync("client.key"),
 * }).connect(["db.example", 5433]);
 * ```
 */
export interface TlsClientOptions {
  /**
   * The name the server's certificate must be valid for (also sent as SNI).
   *
   * @default {the host given to connect() ("localhost" for a port alone); for STARTTLS, the peer's IP address}
   */
  hostname?: string;
  /**
   * PEM certificates of the CAs to trust instead of the default ones
   * (Node's bundled root certificates, `tls.rootCertificates`); a
   * self-signed end-entity certificate may be listed directly.
   *
   * @default {undefined}
   */
  caCerts?: string[];
  /**
   * ALPN protocols to offer, most preferred first; the server's choice is
   * `stream.alpnProtocol` after `onSSLHandshake()`.
   *
   * @default {undefined}
   */
  alpnProtocols?: string[];
  /**
   * A client certificate chain (PEM, the client's certificate first) to
   * present when the server asks for one (mutual TLS); give `key` with it.
   *
   * @default {undefined}
   */
  cert?: string;
  /**
   * The private key (PEM) of `cert`.
   *
   * @default {undefined}
   */
  key?: string;
}

/**
 * TLS options of a server (`server.startSSL()`), or of a stream accepted by
 * a plain server that upgrades with STARTTLS (`stream.startSSL()`).
 * Reading them from files needs `--allow-read` for those files.
 *
 * @example Loading the certificate and key from files
 * ```ts
 * import { Server, Stream, type TlsServerOptions } from "@pants/pants";
 *
 * const tls: TlsServerOptions = {
 *   cert: Deno.readTextFileSync("cert.pem"),
 *   key: Deno.readTextFileSync("key.pem"),
 * };
 * new Server(Stream).startSSL(tls).listen(4443);
 * ```
 *
 * @example Mutual TLS: only clients with a certificate signed by our CA
 * ```ts
 * import { Server, Stream } from "@pants/pants";
 *
 * new Server(Stream).startSSL({
 *   cert: Deno.readTextFileSync("cert.pem"),
 *   key: Deno.readTextFileSync("key.pem"),
 *   caCerts: [Deno.readTextFileSync("clients-ca.pem")],
 *   requireClientCert: true,
 * }).listen(4443);
 * ```
 */
export interface TlsServerOptions {
  /** The certificate chain, PEM (the server's certificate first). */
  cert: string;
  /** The private key, PEM. */
  key: string;
  /**
   * ALPN protocols to accept, most preferred first. A client that offers
   * ALPN but none of these fails its handshake (`no_application_protocol`);
   * one that offers none is served, with `stream.alpnProtocol` `null`.
   *
   * @default {undefined}
   */
  alpnProtocols?: string[];
  /**
   * PEM certificates of the CAs that sign client certificates: the server
   * then asks each client for a certificate, and one that presents a
   * certificate these CAs did not sign (or an expired one) fails its
   * handshake. A client may present none unless `requireClientCert`.
   *
   * @default {undefined}
   */
  caCerts?: string[];
  /**
   * Fail the handshake of a client that presents no certificate (mutual
   * TLS); needs `caCerts`.
   *
   * @default {false}
   */
  requireClientCert?: boolean;
}

/**
 * What `stream.startSSL()` takes: the client options, and on a stream
 * accepted by a plain server (which acts as the TLS server) the server
 * options (`cert` and `key`, and `caCerts` / `requireClientCert` to check
 * the client's certificate).
 *
 * @example Usage
 * ```ts
 * import { type StartTlsOptions, Stream } from "@pants/pants";
 *
 * const options: StartTlsOptions = { hostname: "localhost" };
 * new Stream().startSSL(options);
 * ```
 */
export type StartTlsOptions = TlsClientOptions & Partial<TlsServerOptions>;

/**
 * The certificate a TLS peer presented, as `stream.peerCertificate` gives
 * it after `onSSLHandshake()`: the server's (always, on a client stream),
 * or a client's (on a server stream whose server asks for one with
 * `caCerts`, when the client sent one; it was verified against them).
 *
 * @example Who is the client?
 * ```ts
 * import { type PeerCertificate, Stream } from "@pants/pants";
 *
 * class Authenticated extends Stream {
 *   override onSSLHandshake(): void {
 *     const peer: PeerCertificate | null = this.peerCertificate;
 *     console.log(peer?.subject, peer?.fingerprint256, peer?.validTo.toISOString());
 *   }
 * }
 * ```
 */
export interface PeerCertificate {
  /** The subject's distinguished name, one `key=value` per line (`"CN=alice"`), as `node:crypto`'s `X509Certificate.subject`. */
  readonly subject: string;
  /** The issuer's distinguished name, in the same form. */
  readonly issuer: string;
  /** The start of the validity period. */
  readonly validFrom: Date;
  /** The end of the validity period. */
  readonly validTo: Date;
  /** The SHA-256 fingerprint of the DER bytes, hex pairs joined by colons (`"9F:94:…"`). */
  readonly fingerprint256: string;
  /** The serial number, hex. */
  readonly serialNumber: string;
  /** The certificate itself, DER. */
  readonly raw: Uint8Array;
}
