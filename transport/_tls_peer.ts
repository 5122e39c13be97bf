/**
 * What a completed TLS handshake tells about the peer: the ALPN protocol
 * it settled on, the certificate the peer presented
 * ({@linkcode PeerCertificate}), and, on a server that checks clients
 * (`caCerts`), whether the client's certificate passed.
 *
 * Why the server checks a client's certificate here, after the handshake:
 * Deno 2.9's `node:tls` (rustls underneath) asks a client for a certificate
 * when told to (`requestCert`), and fails the handshake of a client that
 * sends none when one is required, but it completes the handshake of a
 * client whose certificate the CAs did not sign: it only notes why in
 * `socket.ssl.verifyError()` (a code such as
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, or `""`), as Node's `tls.Server`
 * leaves it to JavaScript to act on (a `TLSSocket` made by hand gets no
 * such check in Node either). `TlsTransport` asks {@linkcode clientRefusal}
 * before it calls the handshake done, so such a client fails its handshake
 * like any other, and its stream never starts.
 *
 * On the client side, TLS 1.3 completes the client's handshake before the
 * server has looked at the client's certificate: a server that refuses it
 * says so in an alert that arrives after `onSSLHandshake()`, with the
 * first read. {@linkcode refusedByServer} turns that alert into the
 * `TlsHandshakeError` it is, so the stream reports it to
 * `onSSLHandshakeError()` rather than as a read error.
 *
 * @module
 */

import type { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { hostPort } from "./address.ts";
import { TlsHandshakeError } from "./errors.ts";
import type { PeerCertificate } from "./tls_options.ts";
import type { CertificateFailure } from "./_tls_certificate_failure.ts";

/** What a completed handshake settled: kept by the transport, readable after close. */
export interface TlsSession {
  /** The ALPN protocol both ends agreed on, `null` for none. */
  readonly alpnProtocol: string | null;
  /** The peer's certificate, `null` when it sent none. */
  readonly peerCertificate: PeerCertificate | null;
}

/** OpenSSL's codes for a chain that ends at none of the trusted CAs. */
const UNKNOWN_ISSUER = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

/**
 * Why a server refuses the certificate a client presented, or `null` when
 * it passed `caCerts` (or the client sent none, which `requireClientCert`
 * already refused during the handshake).
 */
export function clientRefusal(socket: TLSSocket): Error | null {
  const ssl = (socket as unknown as { ssl?: { verifyError?: () => unknown } | null }).ssl;
  if (typeof ssl?.verifyError !== "function") {
    // Fail closed: a runtime that cannot tell must not pass a client as verified.
    return new Error("this Deno version cannot verify client certificates (no verifyError)");
  }
  const verdict = ssl.verifyError();
  if (verdict === null || verdict === undefined || verdict === "") return null;
  let code = typeof verdict === "string"
    ? verdict
    : String((verdict as { code?: unknown }).code ?? (verdict as Error).message);
  // Deno 2.9 says UNABLE_TO_VERIFY_LEAF_SIGNATURE for an expired certificate too.
  const peer = sessionOf(socket).peerCertificate;
  const now = Date.now();
  if (peer !== null && now > peer.validTo.getTime()) code = "CERT_HAS_EXPIRED";
  if (peer !== null && now < peer.validFrom.getTime()) code = "CERT_NOT_YET_VALID";
  const reason = UNKNOWN_ISSUER.has(code)
    ? "is not signed by any of caCerts"
    : code === "CERT_HAS_EXPIRED"
    ? "has expired"
    : code === "CERT_NOT_YET_VALID"
    ? "is not valid yet"
    : "was rejected";
  const error = new Error(`the client's certificate ${reason} (${code})`) as Error & {
    code: string;
  };
  error.code = code;
  return error;
}

/**
 * A server's failed handshake, where Pants has better words or the alert
 * the client should get: a client that sent no certificate though
 * `requireClientCert` (rustls says "peer sent no certificates"), and a
 * client that offered none of the server's ALPN protocols, which then gets
 * the `no_application_protocol` alert (RFC 7301) in the clear (the server
 * has sent nothing yet; Node would just close). `null` for other errors.
 */
export function serverFailure(error: unknown): CertificateFailure | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE") {
    const reason = "the client sent no certificate, and requireClientCert requires one";
    return { error: new Error(reason, { cause: error }), alert: null };
  }
  if (code === "ERR_SSL_NO_APPLICATION_PROTOCOL") {
    // An alert record: type 21, version 3.3, length 2, fatal (2), no_application_protocol (120).
    return { error: error as Error, alert: new Uint8Array([21, 3, 3, 0, 2, 2, 120]) };
  }
  return null;
}

/** The session of a socket whose handshake just completed. */
export function sessionOf(socket: TLSSocket): TlsSession {
  const alpn = socket.alpnProtocol;
  const x509 = (socket as { getPeerX509Certificate?: () => X509Certificate | undefined })
    .getPeerX509Certificate?.();
  return {
    alpnProtocol: typeof alpn === "string" && alpn !== "" ? alpn : null,
    peerCertificate: x509 === undefined ? null : certificateOf(x509),
  };
}

function certificateOf(x509: X509Certificate): PeerCertificate {
  return Object.freeze({
    subject: x509.subject,
    issuer: x509.issuer,
    validFrom: new Date(x509.validFrom),
    validTo: new Date(x509.validTo),
    fingerprint256: x509.fingerprint256,
    serialNumber: x509.serialNumber,
    raw: new Uint8Array(x509.raw),
  });
}

/** The alerts a server sends when it refuses a client's certificate (rustls' names). */
const REFUSAL =
  /received fatal alert: (CertificateRequired|BadCertificate|UnsupportedCertificate|CertificateRevoked|CertificateExpired|CertificateUnknown|UnknownCA|AccessDenied)\b/;

/**
 * A client's read or write error that is the server refusing the client's
 * certificate (or its lack of one), as a `TlsHandshakeError`; `null` for
 * any other error.
 */
export function refusedByServer(error: unknown, remote: Deno.Addr): TlsHandshakeError | null {
  const message = error instanceof Error ? error.message : String(error);
  const alert = REFUSAL.exec(message);
  if (alert === null) return null;
  const where = "hostname" in remote ? hostPort(remote.hostname, remote.port) : remote.transport;
  return new TlsHandshakeError(
    `TLS handshake with ${where} failed: the server refused this client's certificate ` +
      `(${alert[0]})`,
    { cause: error },
  );
}
