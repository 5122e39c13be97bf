/**
 * The error of a connection through a proxy that failed at the proxy: it
 * refused the credentials, refused or could not reach the target, or replied
 * something that is not SOCKS5.
 *
 * @module
 */

import { StreamConnectError } from "./errors.ts";

/**
 * A connection through a SOCKS5 proxy failed after the proxy was reached: no
 * acceptable authentication method, wrong username or password, the proxy
 * could not connect to the target (its reply code is in {@linkcode ProxyError.code}
 * and in the message), or a malformed or truncated reply. A proxy that cannot
 * be reached at all is a plain {@linkcode StreamConnectError}; a `ProxyError`
 * is one too (a subclass), so it reaches `Stream.onConnectError`.
 *
 * @example Telling a refusal by the proxy from other connect errors
 * ```ts
 * import { ProxyError, Stream, StreamConnectError } from "@pants/pants";
 *
 * class Client extends Stream {
 *   override onConnectError(err: StreamConnectError): void {
 *     if (err instanceof ProxyError && err.code === 5) console.error("target refused");
 *     else console.error(err.message);
 *   }
 * }
 * ```
 */
export class ProxyError extends StreamConnectError {
  /**
   * The SOCKS5 reply code when the proxy refused the request (1 general
   * failure, 2 not allowed by its rules, 3 network unreachable, 4 host
   * unreachable, 5 connection refused, 6 TTL expired, 7 command not
   * supported, 8 address type not supported); `undefined` for every other
   * failure.
   */
  readonly code: number | undefined;

  /**
   * Creates the error.
   *
   * @param message What happened and what to do.
   * @param code The SOCKS5 reply code, when the proxy sent one.
   * @param options The underlying error, if any, as `cause`.
   */
  constructor(message: string, code?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProxyError";
    this.code = code;
  }
}
