/**
 * IP literals as bytes and back, strictly: what the PROXY protocol's
 * headers and the trusted CIDR ranges are made of. IPv4 takes four decimal
 * numbers without leading zeros (no octal look-alikes); IPv6 takes hex
 * groups with at most one `::` and an optional IPv4 tail, no zone.
 *
 * @module
 */

import { canonicalIp } from "./address.ts";

/** The 4 bytes of a dotted-quad IPv4 literal, or `null`. */
export function ipv4Bytes(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes[i] = n;
  }
  return bytes;
}

function groups(text: string): number[] | null {
  if (text === "") return [];
  const out: number[] = [];
  const parts = text.split(":");
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (i === parts.length - 1 && part.includes(".")) {
      const v4 = ipv4Bytes(part);
      if (v4 === null) return null;
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) out.push(parseInt(part, 16));
    else return null;
  }
  return out;
}

/** The 16 bytes of an IPv6 literal, or `null`. */
export function ipv6Bytes(text: string): Uint8Array | null {
  if (text.length > 45) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** Dotted-quad text of 4 bytes at `offset`. */
export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** Canonical IPv6 text (RFC 5952, as `URL` writes it) of 16 bytes at `offset`. */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    parts.push(((bytes[offset + i]! << 8) | bytes[offset + i + 1]!).toString(16));
  }
  return canonicalIp(parts.join(":"));
}
