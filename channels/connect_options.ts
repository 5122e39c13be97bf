/**
 * Options of `Stream.connect()`.
 *
 * @module
 */

/**
 * Options for `Stream.connect()`: a deadline and a cancel switch for the
 * connect. Either one ends a pending connect in `onConnectError`, and the
 * connection being opened is abandoned (closed at once, should the OS still
 * complete it).
 *
 * @example A bounded connect that the caller can cancel
 * ```ts
 * import type { ConnectOptions } from "@pants/pants";
 *
 * const cancel = new AbortController();
 * const options: ConnectOptions = { connectTimeout: 5000, signal: cancel.signal };
 * cancel.abort();
 * ```
 */
export interface ConnectOptions {
  /**
   * The most milliseconds the connect may take: name resolution, the TCP (or
   * Unix socket) connect and, for TLS from the start, the handshake. Past it
   * the connect fails with a `ConnectTimeoutError`. Measured on the engine's
   * clock from the moment the engine runs the connect. `0` for no limit (the
   * operating system's, one to two minutes for an unreachable host).
   *
   * @default {0}
   */
  connectTimeout?: number;
  /**
   * Cancels a pending connect when aborted: `onConnectError` gets a
   * `StreamConnectError` whose `cause` is `signal.reason` (an `AbortError`
   * `DOMException` by default). Already aborted at `connect()`: the connect
   * fails without touching the network. Ignored once connected: use
   * `close()` then.
   */
  signal?: AbortSignal;
  /**
   * Connect through a SOCKS5 proxy (RFC 1928): `socks5://host:port`, or
   * `socks5://user:pass@host:port` for username/password authentication
   * (RFC 1929; percent-encode `@`, `:` and the like in either). Host names
   * of the target are resolved by the proxy. The SOCKS5 handshake runs
   * before `onConnect()`; a TLS client (`startSSL()` before `connect()`)
   * runs TLS with the target inside the tunnel. Failures reach
   * `onConnectError`: a `StreamConnectError` when the proxy cannot be
   * reached, a `ProxyError` when it refuses. A bad URL throws a `TypeError`
   * from `connect()`. Once connected, `remoteAddress` is the proxy's.
   *
   * @default {undefined}
   */
  proxy?: string;
}
