/**
 * A TLS server's certificate and key (and a client's, for mutual TLS):
 * checked once when the server starts listening or the client calls
 * `startSSL()` ({@linkcode checkServerKeys}, {@linkcode checkCaCerts}), and
 * a server's turned into a `node:tls` secure context once per server rather
 * than per connection ({@linkcode secureContext}).
 *
 * Why: with TLS in `node:tls` over Pants' own connections (`_tls.ts`),
 * nothing would read the keys before the first connection, so a wrong key
 * would only show as every handshake failing; and parsing a PEM chain and
 * key for each accepted connection would cost every handshake that work
 * again.
 *
 * @module
 */

import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { createSecureContext, type SecureContext } from "node:tls";

/** Secure contexts by certificate and key: parsing them once per server, not per connection. */
const contexts = new Map<string, SecureContext>();
const MAX_CONTEXTS = 64;

/**
 * The secure context of a certificate chain and key (PEM), and of the CAs
 * that sign client certificates (PEM) if any, made on first use and kept
 * (at most 64; the cache starts over beyond that).
 *
 * @throws {Error} `node:tls`'s error for a chain or key it cannot use.
 */
export function secureContext(cert: string, key: string, ca?: string[]): SecureContext {
  const id = `${cert}\u0000${key}\u0000${ca?.join("\u0000") ?? ""}`;
  let context = contexts.get(id);
  if (context === undefined) {
    context = createSecureContext({ cert, key, ca });
    if (contexts.size >= MAX_CONTEXTS) contexts.clear();
    contexts.set(id, context);
  }
  return context;
}

/**
 * Checks that `cert` and `key` are PEM and belong together, so that a
 * mistake shows when a server starts rather than at each handshake.
 *
 * @throws {TypeError} Naming what is wrong.
 */
export function checkServerKeys(cert: string, key: string): void {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new TypeError(`The TLS certificate is not a PEM certificate: ${message(error)}`, {
      cause: error,
    });
  }
  let publicKey: string;
  try {
    publicKey = String(
      createPublicKey(createPrivateKey(key)).export({ type: "spki", format: "pem" }),
    );
  } catch (error) {
    throw new TypeError(`The TLS key is not a PEM private key: ${message(error)}`, {
      cause: error,
    });
  }
  if (String(certificate.publicKey.export({ type: "spki", format: "pem" })) !== publicKey) {
    throw new TypeError("The TLS key does not belong to the certificate (the first of the chain)");
  }
}

/**
 * Checks the CA certificates a peer's certificate is verified against:
 * each a PEM certificate (a bundle's first one is checked).
 *
 * @throws {TypeError} Naming the one that is not.
 */
export function checkCaCerts(caCerts: unknown): void {
  if (!Array.isArray(caCerts) || caCerts.some((ca) => typeof ca !== "string")) {
    throw new TypeError("caCerts must be an array of PEM certificates (strings)");
  }
  caCerts.forEach((ca: string, index) => {
    try {
      new X509Certificate(ca);
    } catch (error) {
      throw new TypeError(`caCerts[${index}] is not a PEM certificate: ${message(error)}`, {
        cause: error,
      });
    }
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
