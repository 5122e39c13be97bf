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
   * ALPN protocols to offer, most preferred first.
   *
   * @default {undefined}
   */
  alpnProtocols?: string[];
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
 */
export interface TlsServerOptions {
  /** The certificate chain, PEM (the server's certificate first). */
  cert: string;
  /** The private key, PEM. */
  key: string;
  /**
   * ALPN protocols to accept, most preferred first.
   *
   * @default {undefined}
   */
  alpnProtocols?: string[];
}

/**
 * What `stream.startSSL()` takes: the client options, and on a stream
 * accepted by a plain server (which acts as the TLS server) `cert` and `key`.
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
