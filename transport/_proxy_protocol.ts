/**
 * The PROXY protocol header parser (HAProxy's spec, versions 1 and 2): a
 * pure "bytes in, header out" function ({@linkcode parseProxyHeader}) and
 * the incremental reader that feeds it the first reads of a connection
 * ({@linkcode ProxyHeaderReader}). It never sees a socket; the acceptor
 * (`_proxy_acceptor.ts`) does the reading.
 *
 * Bounds: a version 1 line is at most 107 bytes with its CRLF; a version 2
 * header is 16 bytes plus the length it declares (at most 65,535). The
 * parser reads only within the bytes given; every failure is a
 * `ProxyProtocolError`, raised as soon as the bytes so far cannot begin a
 * valid header (a peer that speaks something else is refused at its first
 * read, not at the timeout).
 *
 * @module
 */

import { normalizeAddr } from "./address.ts";
import { formatIpv4, formatIpv6, ipv4Bytes, ipv6Bytes } from "./_ip.ts";
import {
  type ProxyHeader,
  ProxyProtocolError,
  type ProxyProtocolErrorReason,
  type ProxyTlv,
} from "./proxy_protocol.ts";

/** The longest version 1 line, CRLF included. */
export const V1_MAX = 107;
/** The longest version 2 header: 16 bytes and a 16-bit length. */
export const V2_MAX = 16 + 0xffff;
/** The 12 bytes every version 2 header starts with. */
export const V2_SIGNATURE: Uint8Array = new Uint8Array([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);
const V1_START = new TextEncoder().encode("PROXY ");
const CR = 0x0d;
const LF = 0x0a;

/** A complete header and how many bytes it took. */
export interface ParsedProxyHeader {
  readonly header: ProxyHeader;
  readonly length: number;
}

function fail(reason: ProxyProtocolErrorReason, what: string): never {
  throw new ProxyProtocolError(`Invalid PROXY protocol header: ${what}`, reason);
}

/** Whether `bytes` begins like `start` as far as both go. */
function startsLike(bytes: Uint8Array, start: Uint8Array): boolean {
  const n = Math.min(bytes.length, start.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== start[i]) return false;
  return true;
}

/**
 * Parses the header at the start of `bytes`.
 *
 * @returns The header and its length, or `null` when `bytes` is a valid
 * beginning that needs more bytes.
 * @throws {ProxyProtocolError} When `bytes` cannot begin a valid header.
 */
export function parseProxyHeader(bytes: Uint8Array): ParsedProxyHeader | null {
  if (bytes.length === 0) return null;
  if (startsLike(bytes, V2_SIGNATURE)) return parseV2(bytes);
  if (startsLike(bytes, V1_START)) return parseV1(bytes);
  return fail(
    "missing",
    "the connection does not start with one (is the balancer sending it, " +
      "and is this peer meant to be trusted?)",
  );
}

// --- version 1 -----------------------------------------------------------

function parseV1(bytes: Uint8Array): ParsedProxyHeader | null {
  const n = Math.min(bytes.length, V1_MAX);
  let end = -1;
  for (let i = 0; i < n; i++) {
    const byte = bytes[i]!;
    if (byte === LF) {
      if (i === 0 || bytes[i - 1] !== CR) {
        fail("malformed", "a version 1 line ends in LF without CR");
      }
      end = i;
      break;
    }
    if (byte === CR) {
      if (i + 1 < bytes.length && bytes[i + 1] !== LF) {
        fail("malformed", "a CR inside a version 1 line");
      }
    } else if (byte < 0x20 || byte > 0x7e) {
      fail("malformed", `byte 0x${byte.toString(16)} in a version 1 line`);
    }
  }
  if (end < 0) {
    if (bytes.length >= V1_MAX) fail("oversized", `a version 1 line longer than ${V1_MAX} bytes`);
    return null;
  }
  const line = String.fromCharCode(...bytes.subarray(0, end - 1));
  return { header: v1Header(line), length: end + 1 };
}

function v1Header(line: string): ProxyHeader {
  const parts = line.split(" ");
  const family = parts[1];
  if (family === "UNKNOWN") return header(1, "proxy", null, null, []);
  if (family !== "TCP4" && family !== "TCP6") {
    fail("malformed", `version 1 protocol ${JSON.stringify(family)} (TCP4, TCP6 or UNKNOWN)`);
  }
  if (parts.length !== 6) fail("malformed", `version 1 line ${JSON.stringify(line)}`);
  const source = v1Address(family, parts[2]!, parts[4]!);
  const destination = v1Address(family, parts[3]!, parts[5]!);
  return header(1, "proxy", source, destination, []);
}

function v1Address(family: "TCP4" | "TCP6", host: string, port: string): Deno.NetAddr {
  let hostname: string;
  if (family === "TCP4") {
    if (ipv4Bytes(host) === null) fail("malformed", `IPv4 address ${JSON.stringify(host)}`);
    hostname = host;
  } else {
    const bytes = ipv6Bytes(host);
    if (bytes === null) fail("malformed", `IPv6 address ${JSON.stringify(host)}`);
    hostname = formatIpv6(bytes);
  }
  if (!/^(0|[1-9]\d{0,4})$/.test(port) || Number(port) > 65535) {
    fail("malformed", `port ${JSON.stringify(port)}`);
  }
  return normalizeAddr({ transport: "tcp", hostname, port: Number(port) }) as Deno.NetAddr;
}

// --- version 2 -----------------------------------------------------------

const ADDRESS_BYTES = [0, 12, 36, 216];

function parseV2(bytes: Uint8Array): ParsedProxyHeader | null {
  if (bytes.length < 16) return null;
  const verCmd = bytes[12]!;
  if (verCmd >> 4 !== 2) fail("malformed", `version ${verCmd >> 4} in a binary header (only 2)`);
  const command = verCmd & 0xf;
  if (command > 1) fail("malformed", `command ${command} (0 LOCAL or 1 PROXY)`);
  const family = bytes[13]! >> 4;
  const protocol = bytes[13]! & 0xf;
  if (family > 3 || protocol > 2) {
    fail("malformed", `address family and protocol 0x${bytes[13]!.toString(16)}`);
  }
  const length = 16 + ((bytes[14]! << 8) | bytes[15]!);
  if (bytes.length < length) return null;
  const block = bytes.subarray(16, length);
  const addressBytes = ADDRESS_BYTES[family]!;
  if (block.length < addressBytes) {
    // LOCAL ignores the address block whatever it holds.
    if (command === 0) return { header: header(2, "local", null, null, []), length };
    fail("malformed", `${block.length} address bytes where the family needs ${addressBytes}`);
  }
  const tlvs = parseTlvs(block.subarray(addressBytes));
  checkCrc(bytes.subarray(0, length), tlvs, addressBytes);
  if (command === 0) return { header: header(2, "local", null, null, tlvs), length };
  if (family === 0 || protocol === 0) {
    return { header: header(2, "proxy", null, null, tlvs), length };
  }
  const [source, destination] = v2Addresses(block, family, protocol);
  return { header: header(2, "proxy", source, destination, tlvs), length };
}

function v2Addresses(block: Uint8Array, family: number, protocol: number): [Deno.Addr, Deno.Addr] {
  if (family === 3) {
    const transport = protocol === 2 ? "unixpacket" : "unix";
    return [
      { transport, path: unixPath(block.subarray(0, 108)) },
      { transport, path: unixPath(block.subarray(108, 216)) },
    ];
  }
  const transport = protocol === 2 ? "udp" : "tcp";
  const size = family === 1 ? 4 : 16;
  const text = family === 1 ? formatIpv4 : formatIpv6;
  const port = (at: number): number => (block[at]! << 8) | block[at + 1]!;
  return [
    normalizeAddr({ transport, hostname: text(block, 0), port: port(2 * size) }),
    normalizeAddr({ transport, hostname: text(block, size), port: port(2 * size + 2) }),
  ];
}

function unixPath(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function parseTlvs(bytes: Uint8Array): ProxyTlv[] {
  const tlvs: ProxyTlv[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 3) fail("malformed", "a TLV cut short by the header's length");
    const type = bytes[at]!;
    const size = (bytes[at + 1]! << 8) | bytes[at + 2]!;
    if (at + 3 + size > bytes.length) {
      fail("malformed", `TLV 0x${type.toString(16)} of ${size} bytes beyond the header's length`);
    }
    if (type === 0x05 && size > 128) {
      fail("malformed", `a unique id of ${size} bytes (at most 128)`);
    }
    tlvs.push({ type, value: bytes.slice(at + 3, at + 3 + size) });
    at += 3 + size;
  }
  return tlvs;
}

function header(
  version: 1 | 2,
  command: "proxy" | "local",
  source: Deno.Addr | null,
  destination: Deno.Addr | null,
  tlvs: ProxyTlv[],
): ProxyHeader {
  const find = (type: number) => tlvs.find((tlv) => tlv.type === type)?.value;
  const text = (type: number) => {
    const value = find(type);
    return value === undefined ? undefined : new TextDecoder().decode(value);
  };
  return {
    version,
    command,
    source,
    destination,
    tlvs,
    alpn: text(0x01),
    authority: text(0x02),
    uniqueId: find(0x05),
  };
}

// --- CRC32C (RFC 4960 appendix B), checked when a header carries one ------

let crcTable: Uint32Array | null = null;

/** CRC32C of `bytes` (the checksum of a version 2 header's CRC32C TLV). */
export function crc32c(bytes: Uint8Array): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function checkCrc(whole: Uint8Array, tlvs: ProxyTlv[], addressBytes: number): void {
  const index = tlvs.findIndex((tlv) => tlv.type === 0x03);
  if (index < 0) return;
  const sent = tlvs[index]!.value;
  if (sent.length !== 4) fail("malformed", `a CRC32C TLV of ${sent.length} bytes (4)`);
  let at = 16 + addressBytes;
  for (let i = 0; i < index; i++) at += 3 + tlvs[i]!.value.length;
  const copy = whole.slice();
  copy.fill(0, at + 3, at + 7);
  const expected = ((sent[0]! << 24) | (sent[1]! << 16) | (sent[2]! << 8) | sent[3]!) >>> 0;
  if (crc32c(copy) !== expected) fail("malformed", "its CRC32C checksum does not match");
}

// --- the incremental reader ----------------------------------------------

/** A complete header, and the bytes after it in the reads so far. */
export interface ProxyHeaderRead extends ParsedProxyHeader {
  readonly rest: Uint8Array;
}

/**
 * Gathers the first reads of a connection until they hold a whole header.
 * It keeps at most one header's bytes (and the read that completed it).
 */
export class ProxyHeaderReader {
  #bytes = new Uint8Array(0);
  #length = 0;

  /** How many bytes were pushed and not yet given back. */
  get buffered(): number {
    return this.#length;
  }

  /**
   * Adds a read.
   *
   * @returns The header and the bytes after it, or `null` for "need more".
   * @throws {ProxyProtocolError} As {@linkcode parseProxyHeader}.
   */
  push(chunk: Uint8Array): ProxyHeaderRead | null {
    const bytes = this.#append(chunk);
    const parsed = parseProxyHeader(bytes);
    if (parsed === null) return null;
    const rest = bytes.slice(parsed.length);
    this.#bytes = new Uint8Array(0);
    this.#length = 0;
    return { ...parsed, rest };
  }

  /** The error for a peer that closed before its header was complete. */
  ended(): ProxyProtocolError {
    return this.#length === 0
      ? new ProxyProtocolError(
        "Invalid PROXY protocol header: the peer closed before sending any",
        "missing",
      )
      : new ProxyProtocolError(
        `Invalid PROXY protocol header: the peer closed after ${this.#length} bytes of it`,
        "truncated",
      );
  }

  #append(chunk: Uint8Array): Uint8Array {
    const length = this.#length + chunk.length;
    if (length > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(length, Math.min(2 * this.#bytes.length, V2_MAX)));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    this.#bytes.set(chunk, this.#length);
    this.#length = length;
    return this.#bytes.subarray(0, length);
  }
}
