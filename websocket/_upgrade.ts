/**
 * Both ends of the HTTP/1.1 upgrade, as pure functions over parsed heads:
 * the server's checks of a request (what to answer), the client's request,
 * and the client's checks of the answer.
 *
 * @module
 */

import {
  acceptFor,
  errorResponse,
  hasToken,
  type Head,
  listOf,
  parseHead,
  responseHead,
  validKey,
} from "./_handshake.ts";
import type { HandshakeDecision, WebSocketServerSettings } from "./websocket_options.ts";

/** What a server does with a request head. */
export type RequestVerdict =
  /** Upgrade, once `onHandshake` agreed; `key` for the accept header. */
  | { kind: "upgrade"; request: Request; key: string; offered: string[] }
  /** A plain HTTP request, for `onRequest`. */
  | { kind: "http"; request: Request }
  /** Refuse with these bytes (an HTTP error response), then close. */
  | { kind: "refuse"; response: Uint8Array; reason: string };

function refuse(status: number, reason: string, extra: [string, string][] = []): RequestVerdict {
  return { kind: "refuse", response: errorResponse(status, reason, extra), reason };
}

/**
 * Checks a request head received by a server.
 *
 * @param bytes The head, blank line included.
 * @param secure Whether the connection is TLS (the request's URL is then `https:`).
 * @param settings The server's protocols and allowed origins.
 * @returns The verdict.
 */
export function judgeRequest(
  bytes: Uint8Array,
  secure: boolean,
  settings: WebSocketServerSettings | null,
): RequestVerdict {
  const head = parseHead(bytes);
  if (typeof head === "string") return refuse(400, `Bad request: ${head}`);
  const { first: method, second: target, third: version, headers } = head;
  if (version !== "HTTP/1.1") return refuse(400, `Bad request: HTTP/1.1 only, not ${version}`);
  const host = headers.get("host");
  if (host === null || host === "") return refuse(400, "Bad request: no Host header");
  let url: URL;
  try {
    if (!target.startsWith("/")) throw new TypeError("not origin-form");
    url = new URL(target, `${secure ? "https" : "http"}://${host}`);
  } catch {
    return refuse(400, `Bad request: invalid target ${JSON.stringify(target)} or host`);
  }
  const upgrade = hasToken(headers, "upgrade", "websocket");
  if (!upgrade) {
    if (headers.has("transfer-encoding")) return refuse(501, "Request bodies are not supported");
    const length = headers.get("content-length");
    if (length !== null && length !== "0") return refuse(413, "Request bodies are not supported");
    let request: Request;
    try {
      request = new Request(url, { method, headers });
    } catch {
      return refuse(400, `Bad request: method ${JSON.stringify(method)}`);
    }
    return { kind: "http", request };
  }
  if (method !== "GET") return refuse(400, "Bad request: a WebSocket upgrade must be a GET");
  if (!hasToken(headers, "connection", "upgrade")) {
    return refuse(400, "Bad request: Connection must include Upgrade");
  }
  if (headers.get("sec-websocket-version") !== "13") {
    return refuse(426, "WebSocket version 13 only", [["Sec-WebSocket-Version", "13"]]);
  }
  const key = headers.get("sec-websocket-key");
  if (!validKey(key)) return refuse(400, "Bad request: invalid Sec-WebSocket-Key");
  const origin = headers.get("origin");
  const allowed = settings?.allowedOrigins ?? null;
  if (origin !== null && allowed !== null && !allowed.includes(origin)) {
    return refuse(403, `Origin ${origin} is not allowed`);
  }
  const request = new Request(url, { method, headers });
  return { kind: "upgrade", request, key, offered: listOf(headers, "sec-websocket-protocol") };
}

/**
 * The server's `101 Switching Protocols` answer.
 *
 * @param key The client's key.
 * @param protocol The chosen subprotocol, or `null`.
 * @returns The response head.
 */
export function switchingProtocols(key: string, protocol: string | null): Uint8Array {
  const fields: [string, string][] = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", acceptFor(key)],
  ];
  if (protocol !== null) fields.push(["Sec-WebSocket-Protocol", protocol]);
  return responseHead(101, "Switching Protocols", fields);
}

/**
 * The client's upgrade request.
 *
 * @param url The `ws:` / `wss:` URL.
 * @param key A fresh key.
 * @param protocols Subprotocols offered.
 * @param extra More header fields.
 * @returns The request, for `channel.request`, and its bytes.
 */
export function clientRequest(
  url: URL,
  key: string,
  protocols: readonly string[],
  extra: HeadersInit | undefined,
): { request: Request; bytes: Uint8Array } {
  const headers = new Headers(extra);
  headers.set("host", url.host);
  headers.set("upgrade", "websocket");
  headers.set("connection", "Upgrade");
  headers.set("sec-websocket-key", key);
  headers.set("sec-websocket-version", "13");
  if (protocols.length > 0) headers.set("sec-websocket-protocol", protocols.join(", "));
  let text = `GET ${url.pathname}${url.search} HTTP/1.1\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  const http = new URL(url);
  http.protocol = url.protocol === "wss:" ? "https:" : "http:";
  return {
    request: new Request(http, { headers }),
    bytes: new TextEncoder().encode(text + "\r\n"),
  };
}

/**
 * Checks the server's answer to a client's upgrade.
 *
 * @param bytes The response head.
 * @param key The key the client sent.
 * @param offered The subprotocols it offered.
 * @returns The chosen subprotocol (`""` for none), or why the upgrade failed and the status.
 */
export function judgeResponse(
  bytes: Uint8Array,
  key: string,
  offered: readonly string[],
): { protocol: string } | { error: string; status: number | null } {
  const head: Head | string = parseHead(bytes);
  if (typeof head === "string") return { error: `malformed response: ${head}`, status: null };
  const status = Number(head.second);
  if (head.first !== "HTTP/1.1" || !Number.isInteger(status)) {
    return { error: `malformed status line`, status: null };
  }
  if (status !== 101) {
    return { error: `the server answered ${status} ${head.third} instead of 101`, status };
  }
  const { headers } = head;
  if (!hasToken(headers, "upgrade", "websocket") || !hasToken(headers, "connection", "upgrade")) {
    return { error: "the 101 response lacks Upgrade: websocket / Connection: Upgrade", status };
  }
  if (headers.get("sec-websocket-accept") !== acceptFor(key)) {
    return { error: "wrong Sec-WebSocket-Accept", status };
  }
  if (headers.has("sec-websocket-extensions")) {
    return { error: "the server chose an extension that was not offered", status };
  }
  const protocol = headers.get("sec-websocket-protocol") ?? "";
  if (protocol !== "" && !offered.includes(protocol)) {
    return { error: `the server chose subprotocol ${protocol}, which was not offered`, status };
  }
  return { protocol };
}

/**
 * Where `connect(target)` goes: a `ws:` / `wss:` URL becomes a host and
 * port (80 / 443 by default); any other target is an address as for
 * `Stream.connect`, upgraded with path `/`.
 *
 * @param target The URL or address.
 * @returns The URL, the address to connect, and the TLS host name for `wss:` (else `null`).
 * @throws {TypeError} For an invalid URL.
 */
export function clientTarget<A>(
  target: string | A,
): { url: URL; address: string | A | [string, number]; tlsHost: string | null } {
  if (typeof target !== "string" || !/^wss?:\/\//i.test(target)) {
    return { url: new URL("ws://localhost/"), address: target, tlsHost: null };
  }
  const url = new URL(target);
  const secure = url.protocol === "wss:";
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
  return { url, address: [host, port], tlsHost: secure ? host : null };
}

/** What a server does with a complete request head, after asking `onHandshake`. */
export type ServerAction =
  | { kind: "refuse"; response: Uint8Array; reason: string }
  | { kind: "http"; request: Request }
  | { kind: "respond"; request: Request; response: Response }
  | { kind: "failed"; request: Request; error: unknown }
  | { kind: "accept"; request: Request; protocol: string; response: Uint8Array };

/**
 * Judges a request head and, for an upgrade, asks `decide` (the channel's
 * `onHandshake`); an exception of `decide`, or a subprotocol the client did
 * not offer, comes back as `failed`.
 *
 * @param head The request head.
 * @param secure Whether the connection is TLS.
 * @param settings The server's protocols and allowed origins.
 * @param decide The channel's `onHandshake`.
 * @returns What to do.
 */
export function serverUpgrade(
  head: Uint8Array,
  secure: boolean,
  settings: WebSocketServerSettings | null,
  decide: (request: Request) => HandshakeDecision,
): ServerAction {
  const verdict = judgeRequest(head, secure, settings);
  if (verdict.kind !== "upgrade") return verdict;
  const request = verdict.request;
  try {
    const decision = decide(request);
    if (decision instanceof Response) return { kind: "respond", request, response: decision };
    if (decision !== null && !verdict.offered.includes(decision)) {
      throw new TypeError(
        `onHandshake chose subprotocol ${decision}, which the client did not offer`,
      );
    }
    const response = switchingProtocols(verdict.key, decision);
    return { kind: "accept", request, protocol: decision ?? "", response };
  } catch (error) {
    return { kind: "failed", request, error };
  }
}
