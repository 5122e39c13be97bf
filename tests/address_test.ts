import { deepStrictEqual, throws } from "node:assert/strict";
import { normalizeAddr, resolveAddress } from "../transport/address.ts";

Deno.test("resolveAddress takes a port alone as any host", () => {
  deepStrictEqual(resolveAddress(4040), { transport: "tcp", hostname: undefined, port: 4040 });
});

Deno.test("resolveAddress takes [host, port] and strips IPv6 brackets", () => {
  deepStrictEqual(resolveAddress(["[::1]", 1]), { transport: "tcp", hostname: "::1", port: 1 });
  deepStrictEqual(resolveAddress(["127.0.0.1", 2]), {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 2,
  });
});

Deno.test("resolveAddress takes { hostname, port }", () => {
  deepStrictEqual(resolveAddress({ hostname: "::1", port: 3 }), {
    transport: "tcp",
    hostname: "::1",
    port: 3,
  });
});

Deno.test("resolveAddress takes a Unix path as a string or { path }", () => {
  deepStrictEqual(resolveAddress("/tmp/a.sock"), { transport: "unix", path: "/tmp/a.sock" });
  deepStrictEqual(resolveAddress({ path: "b.sock" }), { transport: "unix", path: "b.sock" });
});

Deno.test("resolveAddress throws a TypeError naming an invalid value", () => {
  throws(() => resolveAddress(70000), /Invalid address 70000/);
  throws(() => resolveAddress(-1), TypeError);
  throws(() => resolveAddress(1.5), TypeError);
  throws(() => resolveAddress("localhost:80"), /Invalid address "localhost:80"/);
  throws(() => resolveAddress(["", 80]), TypeError);
  throws(() => resolveAddress([1, 2] as unknown as [string, number]), TypeError);
  throws(() => resolveAddress({} as unknown as number), /expected a port/);
  throws(() => resolveAddress(null as unknown as number), TypeError);
});

Deno.test("normalizeAddr shows IPv4-mapped IPv6 addresses as IPv4", () => {
  deepStrictEqual(normalizeAddr({ transport: "tcp", hostname: "::ffff:127.0.0.1", port: 5 }), {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 5,
  });
  deepStrictEqual(normalizeAddr({ transport: "tcp", hostname: "::1", port: 5 }), {
    transport: "tcp",
    hostname: "::1",
    port: 5,
  });
});
