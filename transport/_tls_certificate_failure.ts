/**
 * A TLS client's rejection of the server's certificate, as Pants reported
 * it while its TLS was Deno's own (rustls): the error in rustls' words, and
 * the fatal alert rustls sends before it closes.
 *
 * Why it exists: Pants' TLS now runs in `node:tls` (`_tls.ts` says why),
 * whose client reports OpenSSL's codes (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`,
 * `ERR_TLS_CERT_ALTNAME_INVALID`) and closes without an alert, so a server
 * would only see the connection end. Mapping the codes here keeps the
 * messages users match on and the alert the server logs;
 * `_tls_transport.ts` applies it when a client handshake fails.
 *
 * @module
 */

/** OpenSSL's verification codes for a chain that ends at no trusted CA. */
const UNKNOWN_ISSUER = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

/** A rejected server certificate: the error to report, and the TLS alert that says why. */
export interface CertificateFailure {
  error: Error;
  /** A fatal alert record, sent in the clear as Deno's TLS (rustls) does; `null` for none. */
  alert: Uint8Array | null;
}

/** TLS alert descriptions (RFC 8446, 6.2). */
const BAD_CERTIFICATE = 42;
const CERTIFICATE_EXPIRED = 45;
const UNKNOWN_CA = 48;

/**
 * A client's certificate error in the words of Deno's own TLS (rustls), as
 * Pants reported it before its TLS moved to `node:tls` ("invalid peer
 * certificate: UnknownIssuer", "certificate not valid for name …"), with
 * Node's error as `cause`, and the alert rustls sends for it (Node sends
 * none: the server would only see the connection end). `null` for other
 * errors.
 */
export function certificateFailure(error: unknown, hostname: string): CertificateFailure | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return null;
  let reason: string;
  let alert: number;
  if (UNKNOWN_ISSUER.has(code)) [reason, alert] = ["UnknownIssuer", UNKNOWN_CA];
  else if (code === "CERT_HAS_EXPIRED") [reason, alert] = ["Expired", CERTIFICATE_EXPIRED];
  else if (code === "CERT_NOT_YET_VALID") [reason, alert] = ["NotValidYet", CERTIFICATE_EXPIRED];
  else if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    [reason, alert] = [
      `certificate not valid for name ${JSON.stringify(hostname)}`,
      BAD_CERTIFICATE,
    ];
  } else return null;
  const detail = (error as Error).message;
  return {
    error: new Deno.errors.InvalidData(`invalid peer certificate: ${reason} (${detail})`, {
      cause: error,
    }),
    // An alert record: type 21, legacy version 3.3, length 2, level fatal (2), description.
    alert: new Uint8Array([21, 3, 3, 0, 2, 2, alert]),
  };
}
