/**
 * A SOCKS5 client (RFC 1928, CONNECT only) with the "no authentication" and
 * username/password (RFC 1929) methods: {@linkcode parseSocks5Url} checks a
 * `socks5://user:pass@host:port` URL when `connect()` is called, and
 * {@linkcode connectSocks5} connects to the proxy and asks it for a tunnel to
 * the target. The result is the proxy connection itself, carrying the
 * target's bytes from then on: a TLS client runs its handshake over it.
 *
 * Why it is shaped so: every read of the handshake asks for exactly the bytes
 * the protocol still owes (2 for a method choice, 4 for a reply's head, then
 * the length its address type implies, at most 1 + 255 + 2), so the memory a
 * proxy can make us hold is bounded by the protocol, and bytes the target
 * sends right after the reply (a server greeting) are never read here: they
 * stay in the socket for the stream's reader. Anything a proxy sends that is
 * not SOCKS5 ends in a {@linkcode ProxyError}, as does a refusal.
 *
 * Host names are sent to the proxy unresolved (address type 3): the proxy
 * resolves them (as curl's `socks5h://`); IP literals go as IPv4 or IPv6
 * addresses.
 *
 * @module
 */

import { isIP } from "node:net";
import { formatAddress, hostPort, type ResolvedAddress } from "./address.ts";
import { errorText } from "./_permissions.ts";
import { ProxyError } from "./proxy_error.ts";
import { connectStream, type Transport } from "./_socket.ts";
import { handshake as handshakeTls, upgradeClient } from "./_tls.ts";
import type { TlsClientOptions } from "./tls_options.ts";

/** A proxy given as `socks5://user:pass@host:port`, checked. */
export interface Socks5Proxy {
  readonly hostname: string;
  readonly port: number;
  /** UTF-8, 1 to 255 bytes; `undefined` offers "no authentication" only. */
  readonly username: Uint8Array | undefined;
  /** UTF-8, 0 to 255 bytes. */
  readonly password: Uint8Array | undefined;
}

const VERSION = 5;
const NO_AUTH = 0;
const USER_PASS = 2;
const NO_ACCEPTABLE = 0xff;
const CONNECT = 1;
const IPV4 = 1;
const DOMAIN = 3;
const IPV6 = 4;

/** RFC 1928 section 6, the replies other than "succeeded". */
const REPLIES = [
  "succeeded",
  "general SOCKS server failure",
  "connection not allowed by ruleset",
  "network unreachable",
  "host unreachable",
  "connection refused",
  "TTL expired",
  "command not supported",
  "address type not supported",
];

const encoder = new TextEncoder();

function badUrl(url: unknown, why: string): TypeError {
  const shown = typeof url === "string" ? url.replace(/\/\/[^@/]*@/, "//***@") : String(url);
  return new TypeError(`Invalid proxy "${shown}": ${why}`);
}

function credential(url: string, field: string, what: string, min: number): Uint8Array {
  let decoded: string;
  try {
    decoded = decodeURIComponent(field);
  } catch {
    throw badUrl(url, `the ${what} is not valid percent-encoding`);
  }
  const bytes = encoder.encode(decoded);
  if (bytes.length < min || bytes.length > 255) {
    throw badUrl(url, `the ${what} must be ${min} to 255 bytes of UTF-8 (RFC 1929)`);
  }
  return bytes;
}

/**
 * Checks a proxy URL: `socks5://host:port` or
 * `socks5://user:pass@host:port` (`socks5h://` too; names are always
 * resolved by the proxy). The user and password are percent-decoded; the
 * port defaults to 1080.
 *
 * @throws {TypeError} For anything else; the message hides the credentials.
 */
export function parseSocks5Url(url: string): Socks5Proxy {
  if (typeof url !== "string") throw badUrl(url, "expected a string such as socks5://host:1080");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(url, "not a URL; expected socks5://[user:pass@]host:port");
  }
  if (parsed.protocol !== "socks5:" && parsed.protocol !== "socks5h:") {
    throw badUrl(url, `Pants speaks SOCKS5 only; expected socks5://, not ${parsed.protocol}//`);
  }
  if ((parsed.pathname !== "" && parsed.pathname !== "/") || parsed.search || parsed.hash) {
    throw badUrl(url, "a proxy URL has no path, query or fragment");
  }
  let hostname = parsed.hostname;
  if (hostname.startsWith("[") && hostname.endsWith("]")) hostname = hostname.slice(1, -1);
  if (hostname === "") throw badUrl(url, "the proxy host is missing");
  const port = parsed.port === "" ? 1080 : Number(parsed.port);
  if (port === 0) throw badUrl(url, "the proxy port must be 1 to 65535");
  if (parsed.username === "" && parsed.password !== "") {
    throw badUrl(url, "a password needs a username");
  }
  const username = parsed.username === ""
    ? undefined
    : credential(url, parsed.username, "username", 1);
  const password = username === undefined
    ? undefined
    : credential(url, parsed.password, "password", 0);
  return { hostname, port, username, password };
}

/**
 * Checks a `proxy` option for a connect to `target` (as `connect()` is
 * called): the URL, a TCP target, a host name SOCKS5 can carry.
 *
 * @throws {TypeError} For a bad URL, a Unix socket target, a name over 255 bytes.
 */
export function socks5Proxy(target: ResolvedAddress, url: string): Socks5Proxy {
  const proxy = parseSocks5Url(url);
  if (target.transport !== "tcp") {
    throw new TypeError(
      `Cannot connect to ${target.path} through a proxy: SOCKS5 carries TCP only`,
    );
  }
  connectRequest(target.hostname ?? "localhost", target.port);
  return proxy;
}

/** Bytes 0..15 of an IPv6 literal (`isIP(text) === 6` already). */
function ipv6Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let head = text;
  let tail = "";
  const gap = text.indexOf("::");
  if (gap >= 0) {
    head = text.slice(0, gap);
    tail = text.slice(gap + 2);
  }
  const groups = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    for (const piece of part.split(":")) {
      if (piece.includes(".")) {
        const [a, b, c, d] = piece.split(".").map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(piece, 16));
    }
    return out;
  };
  const first = groups(head);
  const last = groups(tail);
  const view = new DataView(bytes.buffer);
  first.forEach((group, i) => view.setUint16(i * 2, group));
  last.forEach((group, i) => view.setUint16((8 - last.length + i) * 2, group));
  return bytes;
}

/**
 * The CONNECT request for `target`: an IP literal as its address type, a
 * name as a domain for the proxy to resolve.
 *
 * @throws {TypeError} For a name longer than 255 bytes.
 */
export function connectRequest(hostname: string, port: number): Uint8Array {
  let type: number;
  let address: Uint8Array;
  const family = isIP(hostname);
  if (family === 4) {
    type = IPV4;
    address = Uint8Array.from(hostname.split(".").map(Number));
  } else if (family === 6) {
    type = IPV6;
    address = ipv6Bytes(hostname);
  } else {
    const name = encoder.encode(hostname);
    if (name.length > 255) {
      throw new TypeError(
        `Invalid address "${hostname}": SOCKS5 carries host names of at most 255 bytes`,
      );
    }
    type = DOMAIN;
    address = new Uint8Array(1 + name.length);
    address[0] = name.length;
    address.set(name, 1);
  }
  const request = new Uint8Array(4 + address.length + 2);
  request.set([VERSION, CONNECT, 0, type]);
  request.set(address, 4);
  new DataView(request.buffer).setUint16(4 + address.length, port);
  return request;
}

/** One SOCKS5 exchange over a connection to the proxy. */
class Handshake {
  readonly #conn: Transport;
  readonly #proxy: string;
  readonly #target: string;

  constructor(conn: Transport, proxy: string, target: string) {
    this.#conn = conn;
    this.#proxy = proxy;
    this.#target = target;
  }

  fail(what: string, code?: number, cause?: unknown): ProxyError {
    return new ProxyError(
      `Cannot connect to ${this.#target} through the SOCKS5 proxy ${this.#proxy}: ${what}`,
      code,
      cause === undefined ? undefined : { cause },
    );
  }

  async send(data: Uint8Array): Promise<void> {
    try {
      for (let done = 0; done < data.length;) {
        done += await this.#conn.write(data.subarray(done));
      }
    } catch (error) {
      throw this.fail(`sending to the proxy failed (${errorText(error)})`, undefined, error);
    }
  }

  /** Reads exactly `n` bytes (never more: what follows is the tunnel's). */
  async receive(n: number, what: string): Promise<Uint8Array> {
    const bytes = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      let count: number | null;
      try {
        count = await this.#conn.read(bytes.subarray(got));
      } catch (error) {
        throw this.fail(`reading ${what} failed (${errorText(error)})`, undefined, error);
      }
      if (count === null) {
        throw this.fail(
          `the proxy closed the connection ${got === 0 ? "before" : "in the middle of"} ${what}; ` +
            "is it a SOCKS5 proxy?",
        );
      }
      got += count;
    }
    return bytes;
  }

  async negotiate(proxy: Socks5Proxy, request: Uint8Array): Promise<void> {
    const { username, password } = proxy;
    await this.send(
      username === undefined
        ? Uint8Array.of(VERSION, 1, NO_AUTH)
        : Uint8Array.of(VERSION, 2, NO_AUTH, USER_PASS),
    );
    const [version, method] = await this.receive(2, "its method choice");
    if (version !== VERSION) {
      throw this.fail(`the reply is not SOCKS5 (version byte ${version}); is it a SOCKS5 proxy?`);
    }
    if (method === NO_ACCEPTABLE) {
      throw this.fail(
        username === undefined
          ? "the proxy requires authentication; give socks5://user:pass@host:port"
          : "the proxy accepts neither no authentication nor username/password",
      );
    }
    if (method === USER_PASS && username !== undefined) {
      await this.authenticate(username, password!);
    } else if (method !== NO_AUTH) {
      throw this.fail(`the proxy chose method ${method}, which was not offered`);
    }
    await this.send(request);
    await this.reply();
  }

  async authenticate(username: Uint8Array, password: Uint8Array): Promise<void> {
    const message = new Uint8Array(3 + username.length + password.length);
    message[0] = 1;
    message[1] = username.length;
    message.set(username, 2);
    message[2 + username.length] = password.length;
    message.set(password, 3 + username.length);
    await this.send(message);
    const [version, status] = await this.receive(2, "its authentication reply");
    if (version !== 1) {
      throw this.fail(`malformed authentication reply (version byte ${version}, expected 1)`);
    }
    if (status !== 0) {
      throw this.fail(`authentication failed (status ${status}): check the username and password`);
    }
  }

  async reply(): Promise<void> {
    const head = await this.receive(4, "its reply");
    const version = head[0]!;
    const code = head[1]!;
    const type = head[3]!;
    if (version !== VERSION) {
      throw this.fail(`malformed reply (version byte ${version}, expected 5)`);
    }
    if (code !== 0) {
      const text = REPLIES[code] ?? "unknown reply";
      throw this.fail(`the proxy replied "${text}" (SOCKS5 reply code ${code})`, code);
    }
    let rest: number;
    if (type === IPV4) rest = 4 + 2;
    else if (type === IPV6) rest = 16 + 2;
    else if (type === DOMAIN) rest = (await this.receive(1, "its reply"))[0]! + 2;
    else throw this.fail(`malformed reply (address type ${type})`);
    await this.receive(rest, "its reply");
  }
}

function abandon(conn: Transport): void {
  try {
    conn.close();
  } catch {
    // Already closed (by close() during the handshake).
  }
}

/**
 * Connects to `target` through a SOCKS5 proxy: a TCP connection to the
 * proxy, the handshake, then, for a TLS client, the TLS handshake with the
 * target inside the tunnel (the certificate is checked against
 * `tls.hostname`, by default the target's host name). Resolves when the
 * tunnel (and TLS) is up, with the connection (its `remoteAddr` is the
 * proxy's).
 *
 * @param started Called with the connection once it is open, and again with
 * the TLS connection once its handshake is under way: closing it ends the
 * handshakes at once and makes this fail.
 * @param signal Abandons the connect to the proxy, and is checked again
 * once the proxy is reached.
 * @throws {StreamConnectError} When the proxy cannot be reached.
 * @throws {ProxyError} When the proxy refuses, or replies what is not SOCKS5.
 * @throws {TlsHandshakeError} When the TLS handshake with the target fails.
 */
export async function connectSocks5(
  proxy: Socks5Proxy,
  target: ResolvedAddress,
  tls: TlsClientOptions | null,
  started?: (pending: Transport) => void,
  signal?: AbortSignal,
): Promise<Transport> {
  if (target.transport !== "tcp") {
    throw new TypeError(
      `Cannot connect to ${target.path} through a proxy: SOCKS5 carries TCP only`,
    );
  }
  const hostname = target.hostname ?? "localhost";
  const request = connectRequest(hostname, target.port);
  const conn = await connectStream(
    { transport: "tcp", hostname: proxy.hostname, port: proxy.port },
    signal,
  );
  if (signal?.aborted) {
    abandon(conn);
    throw signal.reason;
  }
  started?.(conn);
  const handshake = new Handshake(
    conn,
    hostPort(proxy.hostname, proxy.port),
    formatAddress({ transport: "tcp", hostname, port: target.port }),
  );
  try {
    await handshake.negotiate(proxy, request);
  } catch (error) {
    abandon(conn);
    throw error;
  }
  if (tls === null) return conn;
  const secured = upgradeClient(conn, { ...tls, hostname: tls.hostname ?? hostname });
  started?.(secured);
  await handshakeTls(secured);
  return secured;
}
