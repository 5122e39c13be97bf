/**
 * The PROXY protocol header parser, encoder and trusted ranges, without
 * sockets: versions 1 and 2, TLVs, bounds, every kind of bad header, and a
 * seeded fuzz of random, mutated and truncated headers (`--seed=N` after
 * `--`, or PROXY_SEED, replays one run).
 */
import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { ProxyProtocolError } from "../mod.ts";
import {
  crc32c,
  parseProxyHeader,
  ProxyHeaderReader,
  V1_MAX,
  V2_MAX,
  V2_SIGNATURE,
} from "../transport/_proxy_protocol.ts";
import { encodeProxyHeader } from "../transport/_proxy_client.ts";
import { ipBytes16, parseCidr, trustedPeer } from "../transport/_cidr.ts";
import { concat, Rng, testSeed, utf8 } from "./_helpers.ts";

function v2(verCmd: number, fam: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + body.length);
  out.set(V2_SIGNATURE);
  out[12] = verCmd;
  out[13] = fam;
  out[14] = body.length >> 8;
  out[15] = body.length & 0xff;
  out.set(body, 16);
  return out;
}

function tlv(type: number, value: Uint8Array): Uint8Array {
  return concat([new Uint8Array([type, value.length >> 8, value.length & 0xff]), value]);
}

const IPV4_BLOCK = new Uint8Array([203, 0, 113, 7, 198, 51, 100, 1, 0xc8, 0x22, 0x01, 0xbb]);

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    ok(error instanceof ProxyProtocolError, `not a ProxyProtocolError: ${error}`);
    return error.reason;
  }
  throw new Error("did not throw");
}

Deno.test("parseProxyHeader reads a version 1 TCP4 line and its length", () => {
  const line = "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\n";
  const parsed = parseProxyHeader(utf8(line + "GET /"))!;
  strictEqual(parsed.length, line.length);
  strictEqual(parsed.header.version, 1);
  strictEqual(parsed.header.command, "proxy");
  deepStrictEqual(parsed.header.source, { transport: "tcp", hostname: "203.0.113.7", port: 51234 });
  deepStrictEqual(parsed.header.destination, {
    transport: "tcp",
    hostname: "198.51.100.1",
    port: 443,
  });
  deepStrictEqual(parsed.header.tlvs, []);
});

Deno.test("parseProxyHeader writes version 1 IPv6 addresses canonically", () => {
  const line = "PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 1 65535\r\n";
  const { header } = parseProxyHeader(utf8(line))!;
  deepStrictEqual(header.source, { transport: "tcp", hostname: "2001:db8::1", port: 1 });
  deepStrictEqual(header.destination, { transport: "tcp", hostname: "::1", port: 65535 });
});

Deno.test("parseProxyHeader takes version 1 UNKNOWN, with or without addresses, as no addresses", () => {
  for (const line of ["PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n"]) {
    const parsed = parseProxyHeader(utf8(line))!;
    strictEqual(parsed.length, line.length);
    strictEqual(parsed.header.source, null);
    strictEqual(parsed.header.destination, null);
  }
});

Deno.test("parseProxyHeader refuses malformed version 1 lines", () => {
  const bad = [
    "PROXY TCP4 203.0.113.07 198.51.100.1 51234 443\r\n", // leading zero
    "PROXY TCP4 203.0.113.7 198.51.100.1 051234 443\r\n",
    "PROXY TCP4 203.0.113.7 198.51.100.1 65536 443\r\n",
    "PROXY TCP4 203.0.113.7  198.51.100.1 1 443\r\n", // two spaces
    "PROXY TCP4 ::1 ::1 1 2\r\n", // family mismatch
    "PROXY TCP6 203.0.113.7 ::1 1 2\r\n",
    "PROXY UDP4 203.0.113.7 198.51.100.1 1 2\r\n",
    "PROXY TCP4 203.0.113.7 198.51.100.1 1 2\n", // LF alone
    "PROXY TCP4 203.0.113.7\r198.51.100.1 1 2\r\n", // CR alone
    "PROXY TCP4 203.0.113.7 198.51.100.1 1 2 3\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\t\r\n",
  ];
  for (const line of bad) {
    strictEqual(reason(() => parseProxyHeader(utf8(line))), "malformed", line);
  }
});

Deno.test("parseProxyHeader waits for a version 1 line up to 107 bytes, then refuses it as oversized", () => {
  const long = "PROXY UNKNOWN " + "x".repeat(200);
  strictEqual(parseProxyHeader(utf8(long.slice(0, V1_MAX - 1))), null);
  strictEqual(reason(() => parseProxyHeader(utf8(long.slice(0, V1_MAX)))), "oversized");
  const longest = "PROXY UNKNOWN " + "x".repeat(V1_MAX - 16) + "\r\n";
  strictEqual(longest.length, V1_MAX);
  strictEqual(parseProxyHeader(utf8(longest))!.length, V1_MAX);
});

Deno.test("parseProxyHeader refuses a connection that starts with anything else at its first bytes", () => {
  for (const start of ["GET / HTTP/1.1\r\n", "\x16\x03\x01", "P", "PROXX", "\r\n\r\n\x01"]) {
    const bytes = utf8(start);
    const complete = start === "P" ? null : "missing";
    if (complete === null) strictEqual(parseProxyHeader(bytes), null);
    else strictEqual(reason(() => parseProxyHeader(bytes)), "missing", JSON.stringify(start));
  }
});

Deno.test("parseProxyHeader reads version 2 TCP over IPv4 with ALPN, authority, unique id and raw TLVs", () => {
  const body = concat([
    IPV4_BLOCK,
    tlv(0x01, utf8("h2")),
    tlv(0x02, utf8("example.com")),
    tlv(0x05, utf8("req-42")),
    tlv(0xe0, new Uint8Array([1, 2, 3])),
    tlv(0x20, new Uint8Array([1, 0, 0, 0, 0])),
  ]);
  const bytes = v2(0x21, 0x11, body);
  const parsed = parseProxyHeader(concat([bytes, utf8("after")]))!;
  strictEqual(parsed.length, bytes.length);
  const { header } = parsed;
  strictEqual(header.version, 2);
  strictEqual(header.command, "proxy");
  deepStrictEqual(header.source, { transport: "tcp", hostname: "203.0.113.7", port: 51234 });
  deepStrictEqual(header.destination, { transport: "tcp", hostname: "198.51.100.1", port: 443 });
  strictEqual(header.alpn, "h2");
  strictEqual(header.authority, "example.com");
  deepStrictEqual(header.uniqueId, utf8("req-42"));
  deepStrictEqual(header.tlvs.map((t) => t.type), [0x01, 0x02, 0x05, 0xe0, 0x20]);
  deepStrictEqual(header.tlvs[3]!.value, new Uint8Array([1, 2, 3]));
});

Deno.test("parseProxyHeader reads version 2 IPv6, UDP and Unix addresses", () => {
  const six = new Uint8Array(36);
  six[15] = 1; // ::1
  six.set([0x20, 0x01, 0x0d, 0xb8], 16);
  six[31] = 2; // 2001:db8::2
  six.set([0, 80, 0, 81], 32);
  deepStrictEqual(parseProxyHeader(v2(0x21, 0x21, six))!.header.source, {
    transport: "tcp",
    hostname: "::1",
    port: 80,
  });
  deepStrictEqual(parseProxyHeader(v2(0x21, 0x22, six))!.header.destination, {
    transport: "udp",
    hostname: "2001:db8::2",
    port: 81,
  });
  const unix = new Uint8Array(216);
  unix.set(utf8("/run/a.sock"), 0);
  unix.set(utf8("/run/b.sock"), 108);
  const { header } = parseProxyHeader(v2(0x21, 0x31, unix))!;
  deepStrictEqual(header.source, { transport: "unix", path: "/run/a.sock" });
  deepStrictEqual(header.destination, { transport: "unix", path: "/run/b.sock" });
});

Deno.test("parseProxyHeader takes version 2 LOCAL and UNSPEC as no addresses", () => {
  const local = parseProxyHeader(v2(0x20, 0x00, new Uint8Array(0)))!;
  strictEqual(local.header.command, "local");
  strictEqual(local.header.source, null);
  // LOCAL ignores whatever address block it carries.
  strictEqual(parseProxyHeader(v2(0x20, 0x11, new Uint8Array(3)))!.header.command, "local");
  const unspec = parseProxyHeader(v2(0x21, 0x00, tlv(0x04, new Uint8Array(2))))!;
  strictEqual(unspec.header.command, "proxy");
  strictEqual(unspec.header.source, null);
});

Deno.test("parseProxyHeader refuses bad version 2 headers", () => {
  const cases: [string, Uint8Array][] = [
    ["version 1 in binary", v2(0x11, 0x11, IPV4_BLOCK)],
    ["command 2", v2(0x22, 0x11, IPV4_BLOCK)],
    ["family 4", v2(0x21, 0x41, IPV4_BLOCK)],
    ["protocol 3", v2(0x21, 0x13, IPV4_BLOCK)],
    ["short address block", v2(0x21, 0x11, IPV4_BLOCK.subarray(0, 11))],
    ["TLV cut short", v2(0x21, 0x11, concat([IPV4_BLOCK, new Uint8Array([1, 0])]))],
    ["TLV beyond length", v2(0x21, 0x11, concat([IPV4_BLOCK, new Uint8Array([1, 0, 5, 1])]))],
    ["unique id over 128", v2(0x21, 0x11, concat([IPV4_BLOCK, tlv(0x05, new Uint8Array(129))]))],
  ];
  for (const [what, bytes] of cases) {
    strictEqual(reason(() => parseProxyHeader(bytes)), "malformed", what);
  }
});

Deno.test("parseProxyHeader checks a version 2 CRC32C TLV", () => {
  const body = concat([IPV4_BLOCK, tlv(0x03, new Uint8Array(4)), tlv(0x02, utf8("a"))]);
  const bytes = v2(0x21, 0x11, body);
  const crc = crc32c(bytes);
  const at = 16 + 12 + 3;
  bytes.set([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff], at);
  strictEqual(parseProxyHeader(bytes)!.header.authority, "a");
  bytes[at] = bytes[at]! ^ 1;
  strictEqual(reason(() => parseProxyHeader(bytes)), "malformed");
  // RFC 3720's check value of CRC32C.
  strictEqual(crc32c(utf8("123456789")), 0xe3069283);
});

Deno.test("parseProxyHeader takes the largest version 2 header, 16 + 65,535 bytes", () => {
  const body = concat([IPV4_BLOCK, tlv(0x04, new Uint8Array(0xffff - 12 - 3))]);
  const bytes = v2(0x21, 0x11, body);
  strictEqual(bytes.length, V2_MAX);
  strictEqual(parseProxyHeader(bytes.subarray(0, V2_MAX - 1)), null);
  strictEqual(parseProxyHeader(bytes)!.length, V2_MAX);
});

Deno.test("ProxyHeaderReader gathers a header fed one byte at a time and returns what follows", () => {
  for (
    const header of [
      utf8("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
      v2(0x21, 0x11, concat([IPV4_BLOCK, tlv(0x02, utf8("x"))])),
    ]
  ) {
    const reader = new ProxyHeaderReader();
    const input = concat([header, utf8("rest")]);
    let result = null;
    let i = 0;
    for (; result === null; i++) result = reader.push(input.subarray(i, i + 1));
    strictEqual(i, header.length);
    strictEqual(result.length, header.length);
    deepStrictEqual(result.rest, new Uint8Array(0));
    const again = new ProxyHeaderReader().push(input)!;
    deepStrictEqual(again.rest, utf8("rest"));
    deepStrictEqual(again.header, result.header);
  }
});

Deno.test("ProxyHeaderReader tells a peer that closed early: missing before any byte, truncated after", () => {
  const reader = new ProxyHeaderReader();
  strictEqual(reader.ended().reason, "missing");
  strictEqual(reader.push(utf8("PROXY TCP4 1.2")), null);
  strictEqual(reader.ended().reason, "truncated");
});

Deno.test("encodeProxyHeader writes headers the parser reads back", () => {
  const source = { hostname: "203.0.113.7", port: 51234 };
  const destination = { hostname: "198.51.100.1", port: 443 };
  const one = encodeProxyHeader({ version: 1, source, destination });
  strictEqual(new TextDecoder().decode(one), "PROXY TCP4 203.0.113.7 198.51.100.1 51234 443\r\n");
  const tlvs = [{ type: 0x05, value: utf8("id") }, { type: 0x02, value: utf8("host") }];
  const two = encodeProxyHeader({ version: 2, source, destination, tlvs });
  const { header } = parseProxyHeader(two)!;
  deepStrictEqual(header.source, { transport: "tcp", ...source });
  deepStrictEqual(header.destination, { transport: "tcp", ...destination });
  deepStrictEqual(header.uniqueId, utf8("id"));
  strictEqual(header.authority, "host");
  const six = encodeProxyHeader({
    version: 2,
    source: { hostname: "2001:db8::7", port: 1 },
    destination: { hostname: "::1", port: 2 },
  });
  strictEqual(parseProxyHeader(six)!.header.source!.transport, "tcp");
  deepStrictEqual((parseProxyHeader(six)!.header.source as Deno.NetAddr).hostname, "2001:db8::7");
  strictEqual(new TextDecoder().decode(encodeProxyHeader({ version: 1 })), "PROXY UNKNOWN\r\n");
  strictEqual(parseProxyHeader(encodeProxyHeader({ version: 2 }))!.header.command, "local");
});

Deno.test("encodeProxyHeader throws a TypeError for headers it cannot write", () => {
  const a = { hostname: "1.2.3.4", port: 1 };
  const bad: unknown[] = [
    { version: 3 },
    { version: 1, source: a },
    { version: 1, source: { hostname: "localhost", port: 1 }, destination: a },
    { version: 1, source: a, destination: { hostname: "1.2.3.4", port: 70000 } },
    { version: 1, source: a, destination: { hostname: "::1", port: 1 } },
    { version: 1, tlvs: [{ type: 1, value: utf8("x") }] },
    { version: 2, tlvs: [{ type: 256, value: utf8("x") }] },
    { version: 2, tlvs: [{ type: 1, value: "x" }] },
    { version: 2, tlvs: [{ type: 4, value: new Uint8Array(0xffff) }] },
  ];
  for (const options of bad) {
    throws(() => encodeProxyHeader(options as never), TypeError, JSON.stringify(options));
  }
});

Deno.test("parseCidr takes IPv4 and IPv6 ranges and single addresses, and refuses others", () => {
  deepStrictEqual(parseCidr("10.0.0.0/8").prefix, 96 + 8);
  deepStrictEqual(parseCidr("::1").prefix, 128);
  for (
    const bad of ["10.0.0.0/33", "::/129", "10.0.0/8", "localhost", "1.2.3.4/", "1.2.3.4/08", 7]
  ) {
    throws(() => parseCidr(bad), TypeError, String(bad));
  }
});

Deno.test("trustedPeer matches ranges, IPv4-mapped peers included, and never a Unix socket", () => {
  const ranges = ["10.0.0.0/8", "192.168.1.128/25", "fd00::/8"].map(parseCidr);
  const at = (hostname: string): Deno.Addr => ({ transport: "tcp", hostname, port: 1 });
  ok(trustedPeer(ranges, at("10.200.3.4")));
  ok(trustedPeer(ranges, at("::ffff:10.1.1.1")));
  ok(trustedPeer(ranges, at("192.168.1.200")));
  ok(!trustedPeer(ranges, at("192.168.1.127")));
  ok(trustedPeer(ranges, at("fd12::1")));
  ok(!trustedPeer(ranges, at("fe80::1")));
  ok(!trustedPeer(ranges, at("11.0.0.1")));
  ok(!trustedPeer(ranges, { transport: "unix", path: "/tmp/x" }));
  ok(trustedPeer([parseCidr("0.0.0.0/0")], at("8.8.8.8")));
  ok(!trustedPeer([parseCidr("0.0.0.0/0")], at("2001:db8::1")));
  deepStrictEqual(ipBytes16("1.2.3.4"), ipBytes16("::ffff:1.2.3.4"));
});

// --- fuzz ------------------------------------------------------------------

const SEED = testSeed(0x5eed1e, "PROXY_SEED");

function validHeaders(rng: Rng): Uint8Array[] {
  const ip4 = () => `${rng.int(256)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`;
  const ip6 = () => Array.from({ length: 8 }, () => rng.int(65536).toString(16)).join(":");
  const tlvs = Array.from({ length: rng.int(4) }, () => ({
    type: rng.pick([1, 2, 3, 4, 5, 0x20, 0xe3]),
    value: new Uint8Array(rng.int(40)).map(() => rng.int(256)),
  })).filter((t) => t.type !== 3);
  const six = rng.chance(0.5);
  const address = () => ({ hostname: six ? ip6() : ip4(), port: rng.int(65536) });
  return [
    encodeProxyHeader({ version: 1, source: address(), destination: address() }),
    encodeProxyHeader({ version: 2, source: address(), destination: address(), tlvs }),
    encodeProxyHeader({ version: 2, tlvs }),
    encodeProxyHeader({ version: 1 }),
  ];
}

/** Parses, allowing only a header, "need more", or a ProxyProtocolError. */
function outcome(bytes: Uint8Array): string {
  try {
    const parsed = parseProxyHeader(bytes);
    if (parsed === null) return "more";
    ok(parsed.length > 0 && parsed.length <= bytes.length, `length ${parsed.length}`);
    ok(parsed.length <= (bytes[0] === 0x50 ? V1_MAX : V2_MAX));
    return `header ${parsed.length} ${JSON.stringify(parsed.header.source)}`;
  } catch (error) {
    if (!(error instanceof ProxyProtocolError)) {
      throw new Error(`seed ${SEED}: threw ${error} for ${Array.from(bytes)}`);
    }
    return `error ${error.reason}`;
  }
}

Deno.test(`parseProxyHeader survives random, mutated and truncated headers (seed ${SEED})`, () => {
  const rng = new Rng(SEED);
  let headers = 0;
  for (let round = 0; round < 400; round++) {
    for (const valid of validHeaders(rng)) {
      // Every proper prefix of a valid header asks for more; the whole parses;
      // bytes after it change nothing (nothing is read beyond the header).
      const step = Math.max(1, Math.floor(valid.length / 16));
      for (let cut = 1; cut < valid.length; cut += step) {
        strictEqual(outcome(valid.subarray(0, cut)), "more", `seed ${SEED} cut ${cut}`);
      }
      const whole = outcome(valid);
      ok(whole.startsWith(`header ${valid.length}`), `seed ${SEED}: ${whole}`);
      const tail = new Uint8Array(rng.int(64)).map(() => rng.int(256));
      strictEqual(outcome(concat([valid, tail])), whole, `seed ${SEED}`);
      headers++;
      // Mutations: flip, drop or insert bytes anywhere.
      const mutated = valid.slice();
      for (let n = rng.range(1, 4); n > 0; n--) mutated[rng.int(mutated.length)] = rng.int(256);
      outcome(mutated);
      const at = rng.int(valid.length);
      outcome(concat([valid.subarray(0, at), valid.subarray(at + 1)]));
      outcome(concat([valid.subarray(0, at), new Uint8Array([rng.int(256)]), valid.subarray(at)]));
    }
    // Random bytes, some behind a valid start.
    const noise = new Uint8Array(rng.int(300)).map(() => rng.int(256));
    outcome(noise);
    outcome(concat([V2_SIGNATURE, noise]));
    outcome(concat([utf8("PROXY "), noise]));
  }
  ok(headers >= 1600);
});

Deno.test(`ProxyHeaderReader never holds more than a header and one read (seed ${SEED})`, () => {
  const rng = new Rng(SEED ^ 0x1234);
  for (let round = 0; round < 200; round++) {
    const reader = new ProxyHeaderReader();
    const start = rng.chance(0.5) ? V2_SIGNATURE : utf8("PROXY ");
    const input = concat([start, new Uint8Array(rng.int(70_000)).map(() => rng.int(256))]);
    let at = 0;
    try {
      while (at < input.length) {
        const n = rng.range(1, 5000);
        if (reader.push(input.subarray(at, at + n)) !== null) break;
        at += n;
        ok(reader.buffered <= V2_MAX, `seed ${SEED}: ${reader.buffered} bytes buffered`);
      }
    } catch (error) {
      ok(error instanceof ProxyProtocolError, `seed ${SEED}: ${error}`);
    }
  }
});
