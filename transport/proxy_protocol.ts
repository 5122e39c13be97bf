/**
 * The PROXY protocol (HAProxy's, versions 1 and 2) as Pants' users see it:
 * the header a load balancer puts before a connection's data, the server's
 * options to accept it, the client's options to send it, and its error.
 *
 * @module
 */

/**
 * One type-length-value field of a version 2 header. The registered types
 * are 0x01 ALPN, 0x02 authority, 0x03 CRC32C (checked when present), 0x04
 * no-op, 0x05 unique id, 0x20 SSL (with sub-fields, kept raw here), 0x30
 * network namespace; 0xE0–0xEF are for applications.
 *
 * @example A unique id to send
 * ```ts
 * import type { ProxyTlv } from "@pants/pants";
 *
 * const tlv: ProxyTlv = { type: 0x05, value: new TextEncoder().encode("req-42") };
 * ```
 */
export interface ProxyTlv {
  /** The type byte. */
  readonly type: number;
  /** The value (at most 65,535 bytes). */
  readonly value: Uint8Array;
}

/**
 * A parsed PROXY protocol header: who the client really is. `source` and
 * `destination` are `null` when the header names no addresses (a version 2
 * `LOCAL` health check, a version 1 `UNKNOWN`, a version 2 unspecified
 * family); the connection then keeps the balancer's addresses.
 *
 * @example Logging the TLVs of an accepted stream
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * class Logged extends Stream {
 *   override onConnect(): void {
 *     const header = this.proxyHeader;
 *     if (header !== null) console.log(header.version, header.authority, header.alpn);
 *   }
 * }
 * ```
 */
export interface ProxyHeader {
  /** 1 (text) or 2 (binary). */
  readonly version: 1 | 2;
  /** `"proxy"`: relayed for `source`; `"local"`: the balancer's own connection (health check). */
  readonly command: "proxy" | "local";
  /** The client's address, or `null` when the header names none. */
  readonly source: Deno.Addr | null;
  /** The address the client connected to, or `null` when the header names none. */
  readonly destination: Deno.Addr | null;
  /** Every TLV of a version 2 header, in order (empty for version 1). */
  readonly tlvs: readonly ProxyTlv[];
  /** The ALPN TLV (0x01) as text, e.g. `"h2"`. */
  readonly alpn: string | undefined;
  /** The authority TLV (0x02): the host name the client asked for (TLS SNI). */
  readonly authority: string | undefined;
  /** The unique id TLV (0x05): the balancer's opaque id of the connection (at most 128 bytes). */
  readonly uniqueId: Uint8Array | undefined;
}

/**
 * Options of `Server.proxyProtocol`: which peers are load balancers that
 * start every connection with a PROXY header, and how long they may take.
 *
 * @example Trusting the balancers on loopback
 * ```ts
 * import { type ProxyProtocolOptions, Server, Stream } from "@pants/pants";
 *
 * const proxyProtocol: ProxyProtocolOptions = { trusted: ["127.0.0.1/32", "::1/128"] };
 * new Server({ ConnectionClass: Stream, proxyProtocol }).listen(4040);
 * ```
 */
export interface ProxyProtocolOptions {
  /**
   * CIDR ranges (`"10.0.0.0/8"`, `"fd00::/8"`) or single addresses of the
   * trusted balancers. A connection from one of them must start with a
   * header; a connection from anyone else (Unix socket peers included) is
   * read as it is (a header from it is ordinary data, never believed).
   */
  readonly trusted: readonly string[];
  /**
   * The most milliseconds a trusted peer may take to send its whole header;
   * past it the connection is closed with a `ProxyProtocolError`.
   *
   * @default {5000}
   */
  readonly headerTimeout?: number;
}

/**
 * An address in a PROXY header a client sends: an IPv4 or IPv6 literal and
 * a port (a `Deno.NetAddr` fits).
 *
 * @example Usage
 * ```ts
 * import type { ProxyHeaderAddress } from "@pants/pants";
 *
 * const client: ProxyHeaderAddress = { hostname: "203.0.113.7", port: 51234 };
 * ```
 */
export interface ProxyHeaderAddress {
  /** An IPv4 or IPv6 literal (no host names). */
  readonly hostname: string;
  /** 0 to 65535. */
  readonly port: number;
}

/**
 * The header `connect(address, { proxyHeader })` sends before anything
 * else (before a TLS handshake too). Without `source` and `destination` it
 * is a version 1 `UNKNOWN` or a version 2 `LOCAL` header.
 *
 * @example A version 2 header with a unique id
 * ```ts
 * import { Stream } from "@pants/pants";
 *
 * new Stream().connect(["127.0.0.1", 4040], {
 *   proxyHeader: {
 *     version: 2,
 *     source: { hostname: "203.0.113.7", port: 51234 },
 *     destination: { hostname: "198.51.100.1", port: 443 },
 *     tlvs: [{ type: 0x05, value: new TextEncoder().encode("req-42") }],
 *   },
 * });
 * ```
 */
export interface ProxyHeaderOptions {
  /** 1 (text) or 2 (binary). */
  readonly version: 1 | 2;
  /** The client's address; both or neither of `source` and `destination`, of one family. */
  readonly source?: ProxyHeaderAddress;
  /** The address the client connected to. */
  readonly destination?: ProxyHeaderAddress;
  /** TLVs for a version 2 header (a version 1 header has none). */
  readonly tlvs?: readonly ProxyTlv[];
}

/**
 * What went wrong with a PROXY header: the `reason` of a {@linkcode ProxyProtocolError}.
 *
 * @example Counting late headers apart from bad ones
 * ```ts
 * import { type ProxyProtocolError, Server } from "@pants/pants";
 *
 * class Watched extends Server {
 *   late = 0;
 *   override onProxyProtocolError(error: ProxyProtocolError, _from: Deno.Addr): void {
 *     if (error.reason === "timeout") this.late++;
 *   }
 * }
 * ```
 */
export type ProxyProtocolErrorReason =
  | "missing"
  | "malformed"
  | "truncated"
  | "oversized"
  | "timeout";

/**
 * A trusted peer's connection did not start with a valid PROXY header:
 * none at all (`"missing"`), one that breaks the spec (`"malformed"`), the
 * peer closed in the middle of it (`"truncated"`), a version 1 line over 107
 * bytes (`"oversized"`), or not complete within `headerTimeout`
 * (`"timeout"`). That connection is closed and the server keeps serving; the
 * error goes to `Server.onProxyProtocolError`.
 *
 * @example Counting bad headers
 * ```ts
 * import { type ProxyProtocolError, Server } from "@pants/pants";
 *
 * class Counted extends Server {
 *   bad = 0;
 *   override onProxyProtocolError(_error: ProxyProtocolError, _from: Deno.Addr): void {
 *     this.bad++;
 *   }
 * }
 * ```
 */
export class ProxyProtocolError extends Error {
  /** What was wrong. */
  readonly reason: ProxyProtocolErrorReason;

  /**
   * Creates the error.
   *
   * @param message What was wrong, and what to check.
   * @param reason The kind of failure.
   * @param options The underlying error, if any, as `cause`.
   */
  constructor(message: string, reason: ProxyProtocolErrorReason, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProxyProtocolError";
    this.reason = reason;
  }
}
