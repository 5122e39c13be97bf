/**
 * Options of `Stream.connect()`.
 *
 * @module
 */

import type { ProxyHeaderOptions } from "../transport/proxy_protocol.ts";

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
  /**
   * A PROXY protocol header (HAProxy's, version 1 or 2) to send first, before
   * anything else (before the TLS handshake of a TLS client): for Pants
   * acting as a balancer or proxy in front of a server that expects one. A
   * bad header (addresses that are not IP literals, TLVs on version 1)
   * throws a `TypeError` from `connect()`; not with `proxy`.
   *
   * @default {undefined}
   */
  proxyHeader?: ProxyHeaderOptions;
  /**
   * Connect again, with exponential backoff, after a failed connect or a
   * lost connection: `true` for the defaults, or the policy (see
   * {@linkcode ReconnectOptions}). The same stream object reconnects:
   * `onConnect()` runs after every connect, `onReconnecting()` before every
   * wait, and `onClose()` only once, when the stream is closed for good.
   *
   * @default {undefined}
   */
  reconnect?: boolean | ReconnectOptions;
}

/**
 * How a stream connected with `connect(address, { reconnect })` waits
 * between attempts. The wait before attempt `n` (1 for the first
 * reconnect) is `initialDelay * factor ** (n - 1)`, at most `maxDelay`,
 * spread by `jitter`: a random part of up to `jitter` times the wait is
 * added or taken away, so that clients that lost the same server do not
 * all come back in the same millisecond. The defaults are close to
 * Twisted's `ReconnectingClientFactory`.
 *
 * @example A client that reconnects within a second, every time
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Feed extends Stream {
 *   override onReconnecting(attempt: number, delay: number, error: Error | null): void {
 *     console.log(`attempt ${attempt} in ${delay} ms`, error?.message ?? "connection lost");
 *   }
 * }
 * new Feed().connect(["127.0.0.1", 7000], {
 *   reconnect: { initialDelay: 100, maxDelay: 1000, factor: 2, jitter: 0.1 },
 * });
 * ```
 */
export interface ReconnectOptions {
  /**
   * Milliseconds to wait before the first reconnect.
   *
   * @default {1000}
   */
  initialDelay?: number;
  /**
   * The longest wait between two attempts, in milliseconds.
   *
   * @default {60000}
   */
  maxDelay?: number;
  /**
   * How much longer each wait is than the one before (1 or more).
   *
   * @default {1.6}
   */
  factor?: number;
  /**
   * The random spread of each wait, as a fraction of it (0 to 1).
   *
   * @default {0.1}
   */
  jitter?: number;
  /**
   * How many attempts in a row may fail before the stream gives up:
   * the last one's error then reaches `onConnectError()`, and the stream
   * closes. The attempts are the reconnects, numbered as in
   * `onReconnecting()`; the first connect is not one of them, so with
   * `maxAttempts: 3` a server that never answers sees four connects.
   *
   * @default {Infinity}
   */
  maxAttempts?: number;
  /**
   * A connection that stayed up at least this many milliseconds resets the
   * backoff: after it is lost, the next wait is `initialDelay` again. One
   * lost sooner counts as a failed attempt, so a server that accepts and
   * drops at once is not hammered.
   *
   * @default {5000}
   */
  resetAfter?: number;
}
