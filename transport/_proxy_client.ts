/**
 * The client side of the PROXY protocol (Pants as a balancer or proxy,
 * `connect(address, { proxyHeader })`): encoding the header, checked at
 * `connect()` so a bad one throws there, and sending it first on the new
 * connection, before any TLS handshake.
 *
 * @module
 */

import { describe } from "../framing/_describe.ts";
import { StreamConnectError } from "./errors.ts";
import type { Transport } from "./_socket.ts";
import { formatIpv6, ipv4Bytes, ipv6Bytes } from "./_ip.ts";
import { V1_MAX, V2_SIGNATURE } from "./_proxy_protocol.ts";
import type { ProxyHeaderAddress, ProxyHeaderOptions } from "./proxy_protocol.ts";

interface Endpoint {
  readonly v4: Uint8Array | null;
  readonly v6: Uint8Array | null;
  readonly port: number;
}

function endpoint(address: ProxyHeaderAddress | undefined, what: string): Endpoint {
  const bad = (why: string) =>
    new TypeError(`Invalid proxyHeader ${what} ${describe(address)}: ${why}`);
  if (address === null || typeof address !== "object") throw bad("expected { hostname, port }");
  const { hostname, port } = address;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw bad("the port must be an integer from 0 to 65535");
  }
  const v4 = typeof hostname === "string" ? ipv4Bytes(hostname) : null;
  const v6 = v4 === null && typeof hostname === "string" ? ipv6Bytes(hostname) : null;
  if (v4 === null && v6 === null) throw bad("the hostname must be an IPv4 or IPv6 literal");
  return { v4, v6, port };
}

/**
 * Encodes the header `options` describe.
 *
 * @throws {TypeError} For a version other than 1 or 2, an address that is
 * not an IP literal and port, `source` without `destination` (or the
 * reverse) or of two families, TLVs on version 1, a TLV type or size out of
 * range, or a version 2 header over 65,535 bytes of addresses and TLVs.
 */
export function encodeProxyHeader(options: ProxyHeaderOptions): Uint8Array {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Invalid proxyHeader ${describe(options)}: expected { version, ... }`);
  }
  const { version, source, destination } = options;
  if (version !== 1 && version !== 2) {
    throw new TypeError(`Invalid proxyHeader version ${describe(version)}: expected 1 or 2`);
  }
  if ((source === undefined) !== (destination === undefined)) {
    throw new TypeError("Invalid proxyHeader: give both source and destination, or neither");
  }
  const from = source === undefined ? null : endpoint(source, "source");
  const to = destination === undefined ? null : endpoint(destination, "destination");
  if (from !== null && to !== null && (from.v4 === null) !== (to.v4 === null)) {
    throw new TypeError("Invalid proxyHeader: source and destination must both be IPv4 or IPv6");
  }
  const tlvs = options.tlvs ?? [];
  if (!Array.isArray(tlvs)) throw new TypeError("Invalid proxyHeader tlvs: expected an array");
  if (version === 1) {
    if (tlvs.length > 0) throw new TypeError("Invalid proxyHeader: TLVs need version 2");
    return v1(from, to);
  }
  return v2(from, to, tlvs);
}

function v1(from: Endpoint | null, to: Endpoint | null): Uint8Array {
  if (from === null || to === null) return new TextEncoder().encode("PROXY UNKNOWN\r\n");
  const text = (e: Endpoint) => e.v4 !== null ? e.v4.join(".") : formatIpv6(e.v6!);
  const family = from.v4 !== null ? "TCP4" : "TCP6";
  const line = `PROXY ${family} ${text(from)} ${text(to)} ${from.port} ${to.port}\r\n`;
  if (line.length > V1_MAX) throw new TypeError(`Invalid proxyHeader: ${line.length} bytes`);
  return new TextEncoder().encode(line);
}

function v2(
  from: Endpoint | null,
  to: Endpoint | null,
  tlvs: ProxyHeaderOptions["tlvs"] & object,
): Uint8Array {
  const v4 = from?.v4 != null;
  const addressBytes = from === null ? 0 : v4 ? 12 : 36;
  let tlvBytes = 0;
  for (const tlv of tlvs) {
    if (
      tlv === null || typeof tlv !== "object" || !Number.isInteger(tlv.type) || tlv.type < 0 ||
      tlv.type > 255 || !(tlv.value instanceof Uint8Array) || tlv.value.length > 0xffff
    ) {
      throw new TypeError(
        `Invalid proxyHeader TLV ${describe(tlv)}: expected { type: 0-255, value: Uint8Array }`,
      );
    }
    tlvBytes += 3 + tlv.value.length;
  }
  const length = addressBytes + tlvBytes;
  if (length > 0xffff) {
    throw new TypeError(
      `Invalid proxyHeader: ${length} bytes of addresses and TLVs (at most 65535)`,
    );
  }
  const out = new Uint8Array(16 + length);
  out.set(V2_SIGNATURE);
  out[12] = from === null ? 0x20 : 0x21; // version 2, LOCAL or PROXY
  out[13] = from === null ? 0x00 : v4 ? 0x11 : 0x21; // TCP over IPv4 or IPv6
  out[14] = length >> 8;
  out[15] = length & 0xff;
  let at = 16;
  if (from !== null && to !== null) {
    const size = v4 ? 4 : 16;
    out.set(from.v4 ?? from.v6!, at);
    out.set(to.v4 ?? to.v6!, at + size);
    at += 2 * size;
    out[at++] = from.port >> 8;
    out[at++] = from.port & 0xff;
    out[at++] = to.port >> 8;
    out[at++] = to.port & 0xff;
  }
  for (const tlv of tlvs) {
    out[at] = tlv.type;
    out[at + 1] = tlv.value.length >> 8;
    out[at + 2] = tlv.value.length & 0xff;
    out.set(tlv.value, at + 3);
    at += 3 + tlv.value.length;
  }
  return out;
}

/**
 * Writes `header` on a new connection, whole, before anything else.
 *
 * @throws {StreamConnectError} When the write fails (the connection is closed then).
 */
export async function sendProxyHeader(conn: Transport, header: Uint8Array): Promise<Transport> {
  try {
    for (let at = 0; at < header.length;) at += await conn.write(header.subarray(at));
  } catch (error) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    throw new StreamConnectError(`Cannot send the PROXY protocol header: ${error}`, {
      cause: error,
    });
  }
  return conn;
}
