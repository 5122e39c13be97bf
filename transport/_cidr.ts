/**
 * CIDR ranges (`"10.0.0.0/8"`, `"::1/128"`, or a bare address) and whether
 * a peer's address falls in one: the trust test of the PROXY protocol.
 * IPv4 is compared as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), so a dual-stack
 * listener's mapped peers match IPv4 ranges and the other way round.
 *
 * @module
 */

import { describe } from "../framing/_describe.ts";
import { ipv4Bytes, ipv6Bytes } from "./_ip.ts";

/** A parsed range: 16 bytes (IPv4 mapped) and a prefix length of 0 to 128. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** The 16-byte (IPv4-mapped when IPv4) form of an IP literal, or `null`. */
export function ipBytes16(text: string): Uint8Array | null {
  const v4 = ipv4Bytes(text);
  if (v4 !== null) {
    const mapped = new Uint8Array(16);
    mapped[10] = mapped[11] = 0xff;
    mapped.set(v4, 12);
    return mapped;
  }
  return ipv6Bytes(text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text);
}

/**
 * Parses one range.
 *
 * @throws {TypeError} For anything but an IP literal with an optional `/prefix`.
 */
export function parseCidr(text: unknown): Cidr {
  const bad = (why: string): TypeError =>
    new TypeError(
      `Invalid trusted range ${describe(text)}: ${why} (expected a CIDR range such as ` +
        `"10.0.0.0/8" or "::1/128", or a single address)`,
    );
  if (typeof text !== "string") throw bad("not a string");
  const slash = text.indexOf("/");
  const host = slash < 0 ? text : text.slice(0, slash);
  const bytes = ipBytes16(host);
  if (bytes === null) throw bad("not an IPv4 or IPv6 address");
  const v4 = ipv4Bytes(host) !== null;
  const max = v4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(digits) || Number(digits) > max) {
      throw bad(`the prefix length must be 0 to ${max}`);
    }
    prefix = Number(digits);
  }
  return { bytes, prefix: v4 ? prefix + 96 : prefix };
}

/** Whether `hostname` (an IP literal) lies in `range`. */
export function inRange(range: Cidr, address: Uint8Array): boolean {
  let bits = range.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((range.bytes[i]! & mask) !== (address[i]! & mask)) return false;
  }
  return true;
}

/** Whether the peer at `addr` lies in one of `ranges` (Unix sockets never do). */
export function trustedPeer(ranges: readonly Cidr[], addr: Deno.Addr): boolean {
  if (ranges.length === 0 || !("hostname" in addr)) return false;
  const bytes = ipBytes16(addr.hostname);
  return bytes !== null && ranges.some((range) => inRange(range, bytes));
}
