/**
 * The one module that opens stream sockets: every `Deno.listen` /
 * `Deno.connect` of Pants is here, so channels can be tested with fakes. The
 * wording of its errors about addresses and permissions comes from
 * `_permissions.ts`, which the datagram sockets share.
 *
 * @module
 */

import { formatAddress, hostPort, type ResolvedAddress } from "./address.ts";
import { ListenError, StreamConnectError } from "./errors.ts";
import {
  describeTarget,
  errorText,
  isPermissionError,
  listenReason,
  netPermitted,
  permissionDenied,
  type PermissionTarget,
} from "./_permissions.ts";
import type { ListenOptions } from "./listen_options.ts";
import type { ProxyHeader } from "./proxy_protocol.ts";

/** What a stream needs of a connection (a subset of `Deno.Conn`). */
export interface Transport {
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  close(): void;
  closeWrite(): Promise<void>;
  /** `TCP_NODELAY` on or off; absent on Unix sockets (no Nagle there). */
  setNoDelay?(noDelay: boolean): void;
  /** `SO_KEEPALIVE` on or off (Deno 2.9 takes no delay); absent on Unix sockets. */
  setKeepAlive?(keepAlive: boolean): void;
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  /** The PROXY header it began with and the balancer's address (`_proxy_acceptor.ts`). */
  readonly proxy?: { readonly header: ProxyHeader; readonly address: Deno.Addr };
}

/** What a server needs of a listener (a subset of `Deno.Listener`). */
export interface Acceptor {
  accept(): Promise<Transport>;
  close(): void;
  readonly addr: Deno.Addr;
}

function listenError(error: unknown, address: ResolvedAddress, hostname?: string): ListenError {
  const where: PermissionTarget = address.transport === "unix"
    ? address
    : { hostname: hostname ?? "0.0.0.0", port: address.port };
  return new ListenError(
    `Cannot listen on ${describeTarget(where)}: ${listenReason(error, where, "server")}`,
    { cause: error },
  );
}

/** Whether `--unstable-net` is on (it adds `Deno.listenDatagram`). */
function unstableNet(): boolean {
  return typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";
}

function listenTcp(hostname: string, port: number, options: ListenOptions): Deno.Listener {
  const common = { hostname, port, tcpBacklog: options.backlog, reusePort: options.reusePort };
  return Deno.listen(
    { ...common, transport: "tcp" } as Deno.TcpListenOptions & { transport: "tcp" },
  );
}

/**
 * A port alone listens on all interfaces, IPv4 and IPv6, through one
 * dual-stack `::` socket when `--allow-net` permits `[::]:port`; otherwise (for
 * example with `--allow-net=0.0.0.0:4040`, or no IPv6) on `0.0.0.0`.
 */
function listenAnyHost(port: number, options: ListenOptions): Deno.Listener {
  if (netPermitted(hostPort("::", port))) {
    try {
      return listenTcp("::", port, options);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrNotAvailable)) throw error;
    }
  }
  return listenTcp("0.0.0.0", port, options);
}

async function isStaleUnixSocket(path: string): Promise<boolean> {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    return false;
  }
  if (!info.isSocket) return false;
  try {
    const probe = await Deno.connect({ transport: "unix", path });
    probe.close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.ConnectionRefused;
  }
}

/**
 * Listens for stream connections (TLS servers listen here too, and run
 * TLS over what they accept: `_tls.ts`).
 *
 * A Unix socket file left behind by a killed process (a socket nothing
 * accepts on) is replaced; a live socket or any other file is never removed.
 *
 * @throws {ListenError} With the address and the flag that would allow it.
 */
export async function listenStream(
  address: ResolvedAddress,
  options: ListenOptions = {},
): Promise<Acceptor> {
  if (address.transport === "unix") {
    try {
      return Deno.listen({ transport: "unix", path: address.path });
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse) || !(await isStaleUnixSocket(address.path))) {
        throw listenError(error, address);
      }
    }
    try {
      Deno.removeSync(address.path);
      return Deno.listen({ transport: "unix", path: address.path });
    } catch (error) {
      throw listenError(error, address);
    }
  }
  if (options.reusePort && !unstableNet()) {
    throw new ListenError(
      `Cannot listen on ${formatAddress(address)} with reusePort: Deno 2.9 supports it only ` +
        "with --unstable-net (without the flag it ends the process)",
    );
  }
  try {
    return address.hostname === undefined
      ? listenAnyHost(address.port, options)
      : listenTcp(address.hostname, address.port, options);
  } catch (error) {
    throw listenError(error, address, address.hostname);
  }
}

/**
 * Connects a stream. A port alone connects to `localhost`.
 *
 * @param signal Abandons a pending TCP connect (Deno closes the half-open
 * socket); a Unix socket connect does not wait, so it takes none.
 * @throws {StreamConnectError} With the Deno error as `cause`.
 */
export async function connectStream(
  address: ResolvedAddress,
  signal?: AbortSignal,
): Promise<Transport> {
  try {
    if (address.transport === "unix") {
      return await Deno.connect({ transport: "unix", path: address.path });
    }
    const conn = await Deno.connect({
      hostname: address.hostname ?? "localhost",
      port: address.port,
      signal,
    });
    conn.setNoDelay(true);
    return conn;
  } catch (error) {
    const target: PermissionTarget = address.transport === "unix"
      ? address
      : { hostname: address.hostname ?? "localhost", port: address.port };
    const what = isPermissionError(error)
      ? permissionDenied(target)
      : error instanceof Deno.errors.ConnectionRefused
      ? "connection refused"
      : errorText(error);
    return Promise.reject(
      new StreamConnectError(`Cannot connect to ${describeTarget(target)}: ${what}`, {
        cause: error,
      }),
    );
  }
}

/** Applies per-connection options to an accepted TCP connection. */
export function tuneAccepted(conn: Transport): void {
  (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
}
