/**
 * A stream's TCP options, `noDelay` and `keepAlive`: checked at assignment,
 * kept on the stream, and applied to its connection when it is adopted (a
 * connect or an accept) or at once when set on a connected stream.
 *
 * What Deno 2.9 offers is `Deno.TcpConn.setNoDelay(on)` and
 * `setKeepAlive(on)`: one boolean each. `setKeepAlive` takes no delay (a
 * second argument is ignored), so the kernel's keep-alive timings apply
 * (`net.ipv4.tcp_keepalive_time`, 7,200 s by default on Linux). A Unix
 * socket has neither option and a TLS stream sets them on the TCP connection
 * under TLS (`TlsTransport`), so one code path serves all three.
 *
 * @module
 */

import { describe } from "../framing/_describe.ts";
import type { Transport } from "../transport/_socket.ts";

/** `channel[socketAdopted](transport)`: the stream has a connection; apply the options. */
export const socketAdopted: unique symbol = Symbol("pants.socketAdopted");

/** `TCP_NODELAY` as Pants sets it on every TCP connection unless told otherwise. */
export const DEFAULT_NO_DELAY = true;
/** `SO_KEEPALIVE` as the OS leaves it. */
export const DEFAULT_KEEP_ALIVE = false;

/**
 * Checks a boolean socket option at assignment.
 *
 * @throws {TypeError} For anything but a boolean (a keep-alive delay too:
 * Deno 2.9 cannot set one).
 */
export function checkFlag(name: "noDelay" | "keepAlive", value: unknown): boolean {
  if (typeof value === "boolean") return value;
  const hint = name === "keepAlive" && typeof value === "number"
    ? ": Deno 2.9 can only turn keep-alive on or off (the OS sets its delay)"
    : "";
  throw new TypeError(`Invalid ${name} ${describe(value)}: use true or false${hint}`);
}

/**
 * Applies the options to a connection; only those that differ from what
 * the transport already set (`noDelay` on, `keepAlive` off), so the default
 * costs no system call. A Unix socket ignores both.
 */
export function applySocketOptions(
  transport: Transport,
  noDelay: boolean,
  keepAlive: boolean,
): void {
  if (noDelay !== DEFAULT_NO_DELAY) transport.setNoDelay?.(noDelay);
  if (keepAlive !== DEFAULT_KEEP_ALIVE) transport.setKeepAlive?.(keepAlive);
}
