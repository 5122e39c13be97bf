/**
 * The HTTP/1.1 side of a WebSocket (RFC 6455 section 4): finding and
 * parsing a bounded request or response head, the accept key, the upgrade
 * checks, and writing a `Response` as HTTP/1.1 bytes. No sockets here.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The most bytes a request or response head may take, its blank line included. */
export const MAX_HEAD = 8 * 1024;
/** The GUID RFC 6455 appends to the key. */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const LATIN1 = new TextDecoder("latin1");
const UTF8 = new TextEncoder();

/** A parsed HTTP head: the start line's three parts and the headers. */
export interface Head {
  /** Request: method; response: version. */
  first: string;
  /** Request: target; response: status code. */
  second: string;
  /** Request: version; response: reason phrase. */
  third: string;
  /** The header fields. */
  headers: Headers;
}

/**
 * Where a head ends in `bytes`: the offset just past its blank line, or -1.
 *
 * @param bytes The bytes received so far.
 * @param from Where the search may start (the previous length minus 3).
 * @returns The head's length, or -1.
 */
export function headEnd(bytes: Uint8Array, from: number): number {
  for (let i = Math.max(0, from); i + 3 < bytes.length; i++) {
    if (
      bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10
    ) return i + 4;
  }
  return -1;
}

/**
 * Parses a head (start line, header lines; no body).
 *
 * @param bytes The head, blank line included.
 * @returns The head, or a reason why it is malformed.
 */
export function parseHead(bytes: Uint8Array): Head | string {
  const lines = LATIN1.decode(bytes).split("\r\n");
  const start = lines[0]!;
  const a = start.indexOf(" ");
  const b = a < 0 ? -1 : start.indexOf(" ", a + 1);
  if (a <= 0 || b < 0) return `malformed start line ${JSON.stringify(start)}`;
  const headers = new Headers();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0 || line[0] === " " || line[0] === "\t") {
      return `malformed header line ${JSON.stringify(line)}`;
    }
    try {
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    } catch {
      return `invalid header ${JSON.stringify(line.slice(0, colon))}`;
    }
  }
  return {
    first: start.slice(0, a),
    second: start.slice(a + 1, b),
    third: start.slice(b + 1),
    headers,
  };
}

/**
 * Whether a comma-separated header holds `token` (case-insensitive).
 *
 * @param headers The headers.
 * @param name The header's name.
 * @param token The token looked for, lower case.
 * @returns Whether it is there.
 */
export function hasToken(headers: Headers, name: string, token: string): boolean {
  const value = headers.get(name);
  if (value === null) return false;
  return value.split(",").some((part) => part.trim().toLowerCase() === token);
}

/**
 * The comma-separated values of a header, trimmed, empty ones left out.
 *
 * @param headers The headers.
 * @param name The header's name.
 * @returns The values.
 */
export function listOf(headers: Headers, name: string): string[] {
  const value = headers.get(name);
  if (value === null) return [];
  return value.split(",").map((part) => part.trim()).filter((part) => part !== "");
}

/**
 * `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`.
 *
 * @param key The client's key.
 * @returns base64(SHA-1(key + GUID)).
 */
export function acceptFor(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/**
 * Whether a `Sec-WebSocket-Key` is base64 of 16 bytes.
 *
 * @param key The header's value.
 * @returns Whether it is valid.
 */
export function validKey(key: string | null): key is string {
  if (key === null || !/^[A-Za-z0-9+/]{22}==$/.test(key)) return false;
  return true;
}

/**
 * A fresh `Sec-WebSocket-Key`: 16 random bytes, base64.
 *
 * @returns The key.
 */
export function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The head of an HTTP/1.1 response, as bytes.
 *
 * @param status The status code.
 * @param reason The reason phrase.
 * @param headers The header fields, in order.
 * @returns The head, blank line included.
 */
export function responseHead(
  status: number,
  reason: string,
  headers: Iterable<[string, string]>,
): Uint8Array {
  let text = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return UTF8.encode(text + "\r\n");
}

/**
 * A plain-text error response that closes the connection.
 *
 * @param status The status code.
 * @param message The body, one line.
 * @param extra More header fields.
 * @returns The whole response.
 */
export function errorResponse(
  status: number,
  message: string,
  extra: [string, string][] = [],
): Uint8Array {
  const body = UTF8.encode(message + "\n");
  const head = responseHead(status, STATUS_TEXT[status] ?? "Error", [
    ["Content-Type", "text/plain; charset=utf-8"],
    ["Content-Length", String(body.length)],
    ["Connection", "close"],
    ...extra,
  ]);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/**
 * A `Response` as HTTP/1.1 bytes: status line, its headers (hop-by-hop ones
 * replaced), `Content-Length`, `Connection: close`, then the body.
 *
 * @param response The response.
 * @param head Whether the request was HEAD (no body sent).
 * @returns The bytes.
 */
export async function renderResponse(response: Response, head: boolean): Promise<Uint8Array> {
  const body = new Uint8Array(await response.arrayBuffer());
  const fields: [string, string][] = [];
  for (const [name, value] of response.headers) {
    if (HOP_BY_HOP.has(name)) continue;
    fields.push([name, value]);
  }
  fields.push(["content-length", String(body.length)], ["connection", "close"]);
  const reason = response.statusText || (STATUS_TEXT[response.status] ?? "Status");
  const top = responseHead(response.status, reason, fields);
  const out = new Uint8Array(top.length + (head ? 0 : body.length));
  out.set(top);
  if (!head) out.set(body, top.length);
  return out;
}

const HOP_BY_HOP = new Set([
  "connection",
  "content-length",
  "keep-alive",
  "transfer-encoding",
]);

/** Reason phrases of the statuses Pants itself sends. */
export const STATUS_TEXT: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
};

/** Collects a head of at most {@linkcode MAX_HEAD} bytes from the reads that bring it. */
export class HeadBuffer {
  #bytes = new Uint8Array(0);
  #length = 0;

  /**
   * Adds a read.
   *
   * @param bytes The bytes read.
   * @returns The head (blank line included) and the bytes after it once
   * complete; `"more"` while incomplete; `"overflow"` past `MAX_HEAD`.
   */
  push(bytes: Uint8Array): { head: Uint8Array; rest: Uint8Array } | "more" | "overflow" {
    if (this.#bytes.length === 0) this.#bytes = new Uint8Array(MAX_HEAD);
    const taken = Math.min(MAX_HEAD - this.#length, bytes.length);
    const from = this.#length - 3;
    this.#bytes.set(bytes.subarray(0, taken), this.#length);
    this.#length += taken;
    const end = headEnd(this.#bytes.subarray(0, this.#length), from);
    if (end < 0) return this.#length < MAX_HEAD ? "more" : "overflow";
    const head = this.#bytes.subarray(0, end);
    const rest = bytes.subarray(taken - (this.#length - end));
    this.#bytes = new Uint8Array(0);
    this.#length = 0;
    return { head, rest };
  }
}
