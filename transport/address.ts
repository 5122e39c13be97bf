/**
 * Addresses that channels listen on and connect to.
 *
 * @module
 */

import { describe } from "../framing/_describe.ts";

import { isIP } from "node:net";

/**
 * Where a channel listens or connects.
 *
 * - a port number: all interfaces when listening, `localhost` when connecting;
 * - `[host, port]` or `{ hostname, port }`: a host name or an IPv4/IPv6
 *   literal (`"::1"` or `"[::1]"`);
 * - `{ path }` or a string: a Unix socket path.
 *
 * @example Usage
 * ```ts
 * import { type AddressInput, Server, Stream } from "@pants/pants";
 *
 * const addresses: AddressInput[] = [4040, ["127.0.0.1", 4041], { hostname: "::1", port: 4042 }];
 * for (const address of addresses) new Server(Stream).listen(address);
 * ```
 */
export type AddressInput =
  | number
  | string
  | readonly [hostname: string, port: number]
  | { readonly hostname?: string; readonly port: number }
  | { readonly path: string };

/** A validated address: TCP/UDP host and port (`hostname` undefined = any), or a Unix path. */
export type ResolvedAddress =
  | { readonly transport: "tcp"; readonly hostname: string | undefined; readonly port: number }
  | { readonly transport: "unix"; readonly path: string };

function checkPort(port: unknown, input: unknown): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(
      `Invalid address ${describe(input)}: the port must be an integer from 0 to 65535`,
    );
  }
  return port;
}

function checkHostname(hostname: unknown, input: unknown): string {
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError(
      `Invalid address ${describe(input)}: the host must be a non-empty string such as "127.0.0.1"`,
    );
  }
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}

/**
 * Validates an address given by a user.
 *
 * @param input The address as given to `listen()` or `connect()`.
 * @returns The address in one shape.
 * @throws {TypeError} When the value is not an address; the message names it.
 */
export function resolveAddress(input: AddressInput): ResolvedAddress {
  if (typeof input === "number") {
    return { transport: "tcp", hostname: undefined, port: checkPort(input, input) };
  }
  if (typeof input === "string") {
    if (input === "" || /^[^/]*:\d+$/.test(input)) {
      throw new TypeError(
        `Invalid address ${describe(input)}: a string is a Unix socket path; ` +
          `for a host and port use ["host", port] or { hostname, port }`,
      );
    }
    return { transport: "unix", path: input };
  }
  if (Array.isArray(input)) {
    if (input.length !== 2) {
      throw new TypeError(`Invalid address ${describe(input)}: expected [hostname, port]`);
    }
    return {
      transport: "tcp",
      hostname: checkHostname(input[0], input),
      port: checkPort(input[1], input),
    };
  }
  if (input !== null && typeof input === "object") {
    if ("path" in input) {
      if (typeof input.path !== "string" || input.path === "") {
        throw new TypeError(
          `Invalid address ${describe(input)}: the path must be a non-empty string`,
        );
      }
      return { transport: "unix", path: input.path };
    }
    if ("port" in input) {
      const hostname = input.hostname === undefined
        ? undefined
        : checkHostname(input.hostname, input);
      return { transport: "tcp", hostname, port: checkPort(input.port, input) };
    }
  }
  throw new TypeError(
    `Invalid address ${describe(input)}: expected a port, [hostname, port], ` +
      `{ hostname, port }, { path } or a Unix socket path`,
  );
}

/** Formats a host and port the way `--allow-net` spells them (`[::1]:80`). */
export function hostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** Formats an address for messages. */
export function formatAddress(address: ResolvedAddress): string {
  return address.transport === "unix"
    ? address.path
    : hostPort(address.hostname ?? "0.0.0.0", address.port);
}

/** Maps an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) back to IPv4, as a dual-stack listener sees it. */
export function normalizeAddr(addr: Deno.Addr): Deno.Addr {
  if (
    (addr.transport === "tcp" || addr.transport === "udp") && addr.hostname.startsWith("::ffff:")
  ) {
    const v4 = addr.hostname.slice(7);
    if (/^\d+\.\d+\.\d+\.\d+$/.test(v4)) return { ...addr, hostname: v4 };
  }
  return addr;
}

/** Canonical text of an IP literal (`0:0::1` → `::1`), or the input. */
export function canonicalIp(host: string): string {
  if (isIP(host) !== 6) return host;
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    return host;
  }
}
