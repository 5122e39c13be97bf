/**
 * The datagram sockets the channels use: the interface they talk to, the
 * choice of backend, and the functions that open a socket and say why one
 * could not be opened or could not send.
 *
 * Two backends, chosen once per process, each in a file of its own since
 * they share no code past this interface:
 *
 * - `"deno"` (`_datagram_deno.ts`): `Deno.listenDatagram`, present only with
 *   `--unstable-net`; two to three times the datagrams per second of
 *   `node:dgram`, and the only backend for Unix datagram sockets.
 * - `"node"` (`_datagram_node.ts`): `node:dgram`, in stable Deno with only
 *   `--allow-net`.
 *
 * The backends bind and throw what the runtime throws; the messages (which
 * address, which flag to add) are made here, from `_permissions.ts`, so they
 * read the same whichever backend runs. The interface they implement is in
 * `_datagram_types.ts` (so they need not import this file) and is re-exported
 * here, the one datagram module the channels import.
 *
 * Sending needs `--allow-net` for each destination: a UDP server that
 * answers anyone needs plain `--allow-net`.
 *
 * Both send one datagram at a time per socket (the channel queues the rest):
 * in Deno 2.9, sends issued together complete, and reach the peer, in
 * reverse order, with either backend.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { canonicalIp, hostPort, type ResolvedAddress } from "./address.ts";
import { DatagramError } from "./datagram_errors.ts";
import { ListenError } from "./errors.ts";
import {
  bindReason,
  describeTarget,
  errnoCode,
  errorText,
  isPermissionError,
  listenReason,
  netPermitted,
  notPermitted,
  sendDenied,
} from "./_permissions.ts";
import {
  connectDenoUdp,
  hasListenDatagram,
  openDenoUdp,
  openDenoUnix,
  UNSTABLE_HINT,
} from "./_datagram_deno.ts";
import { connectNodeUdp, openNodeUdp } from "./_datagram_node.ts";
import type { DatagramPeer, DatagramSink, DatagramSocket } from "./_datagram_types.ts";

export type { DatagramPeer, DatagramSink, DatagramSocket };

/** Which API a datagram socket uses. */
export type DatagramBackend = "deno" | "node";

/** Options for {@linkcode openDatagram} and {@linkcode connectDatagram}. */
export interface DatagramOpenOptions {
  /** The smallest receive buffer wanted, in bytes. */
  receiveSize: number;
}

let forced: DatagramBackend | null = null;

/**
 * The backend new sockets use: `"deno"` when `Deno.listenDatagram` exists,
 * else `"node"` (or the one forced by {@linkcode setDatagramBackend}).
 */
export function datagramBackend(): DatagramBackend {
  return forced ?? (hasListenDatagram() ? "deno" : "node");
}

/** Forces a backend for new sockets (tests), or `null` to choose again. */
export function setDatagramBackend(backend: DatagramBackend | null): void {
  forced = backend;
}

// --- messages ------------------------------------------------------------------

/** Formats a datagram peer for messages. */
export function describePeer(peer: DatagramPeer): string {
  return describeTarget(peer);
}

function listenFailure(where: DatagramPeer, error: unknown): ListenError {
  return new ListenError(
    `Cannot listen on ${describePeer(where)}: ${listenReason(error, where, "program")}`,
    { cause: error },
  );
}

/** The errors {@linkcode sendFailure} made for sends `--allow-net` refused. */
const deniedSends = new WeakSet<DatagramError>();

/**
 * Whether `error` is a send refused for want of a permission (made by
 * {@linkcode sendFailure}): the channel logs the first one only.
 */
export function isSendDenied(error: DatagramError): boolean {
  return deniedSends.has(error);
}

/**
 * The message for a failed send: what was refused and what to do (for a
 * refused permission, {@linkcode sendDenied}'s advice).
 *
 * @param error What the backend reported.
 * @param to Where the datagram was going.
 * @param bytes Its size.
 */
export function sendFailure(error: unknown, to: DatagramPeer, bytes: number): DatagramError {
  const errno = errnoCode(error);
  let what: string;
  let denied = false;
  if (
    isPermissionError(error) ||
    (errno === "UNKNOWN" && to.transport === "udp" &&
      !netPermitted(hostPort(to.hostname, to.port)))
  ) {
    what = sendDenied(to);
    denied = true;
  } else if (errno === "EMSGSIZE" || /too long|os error 90\b/i.test(String(error))) {
    what = "the datagram is too large (at most 65507 bytes over UDP/IPv4, 65527 over IPv6)";
  } else if (error instanceof Deno.errors.ConnectionRefused || errno === "ECONNREFUSED") {
    what = "the peer refused it (nothing listens there)";
  } else {
    what = errorText(error);
  }
  const failure = new DatagramError(
    "send",
    `Cannot send a datagram of ${bytes} bytes to ${describePeer(to)}: ${what}`,
    { cause: error, remoteAddress: to, bytes },
  );
  if (denied) deniedSends.add(failure);
  return failure;
}

// --- addresses -----------------------------------------------------------------

const LOOPBACK_V4 = "127.0.0.1";

/** An IP address for a host name: `localhost` is 127.0.0.1; other names are looked up. */
async function resolveHost(hostname: string): Promise<string> {
  if (isIP(hostname) !== 0) return canonicalIp(hostname);
  if (hostname === "localhost") return LOOPBACK_V4;
  const found = await lookup(hostname);
  return canonicalIp(found.address);
}

/** Where a connected socket binds: the loopback for a loopback peer, else any address. */
function localHostFor(ip: string): string {
  if (ip === "::1" || ip.startsWith("127.")) return ip === "::1" ? "::1" : LOOPBACK_V4;
  return isIP(ip) === 6 ? "::" : "0.0.0.0";
}

// --- opening -----------------------------------------------------------------------

/**
 * Binds a datagram socket: UDP on the address, or a Unix datagram socket on
 * a path (which needs the `"deno"` backend).
 *
 * @throws {ListenError} With the address and the flag that would allow it.
 */
export async function openDatagram(
  address: ResolvedAddress,
  options: DatagramOpenOptions,
): Promise<DatagramSocket> {
  const backend = datagramBackend();
  if (address.transport === "unix") {
    const where: DatagramPeer = { transport: "unixpacket", path: address.path };
    if (backend !== "deno" || !hasListenDatagram()) {
      throw new ListenError(
        `Cannot listen on ${address.path}: Unix datagram sockets need Deno.listenDatagram; ` +
          UNSTABLE_HINT,
      );
    }
    try {
      return openDenoUnix(address.path, options.receiveSize);
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse) {
        throw new ListenError(
          `Cannot listen on ${address.path}: the path exists; if no program uses it ` +
            "(a socket file left by a killed process), remove it",
          { cause: error },
        );
      }
      throw listenFailure(where, error);
    }
  }
  let hostname = address.hostname;
  const shown = (): DatagramPeer => ({
    transport: "udp",
    hostname: hostname ?? "0.0.0.0",
    port: address.port,
  });
  try {
    if (backend === "deno") return openDenoUdp(hostname, address.port, options.receiveSize);
    if (hostname !== undefined) hostname = await resolveHost(hostname);
    return await openNodeUdp(hostname, address.port, options.receiveSize);
  } catch (error) {
    throw listenFailure(shown(), error);
  }
}

/**
 * Binds a UDP socket on an ephemeral port (on the loopback address for a
 * loopback peer, else on any address) and connects it to `address` (a port
 * alone means `localhost`). Neither backend connects in the kernel (Deno's
 * `node:dgram` only records the peer): datagrams from other senders are
 * dropped here.
 *
 * @throws {DatagramError} With reason `"connect"`: not permitted, not
 * resolvable, or a Unix path.
 */
export async function connectDatagram(
  address: ResolvedAddress,
  options: DatagramOpenOptions,
): Promise<DatagramSocket> {
  if (address.transport === "unix") {
    throw new DatagramError(
      "connect",
      `Cannot connect to ${address.path}: a Unix datagram channel cannot connect; ` +
        "listen on a path of your own and write to the peer's path",
    );
  }
  const named = address.hostname ?? "localhost";
  let ip: string;
  try {
    ip = await resolveHost(named);
  } catch (error) {
    throw new DatagramError(
      "connect",
      `Cannot connect to ${hostPort(named, address.port)}: cannot resolve "${named}"`,
      { cause: error },
    );
  }
  const peer: Deno.NetAddr = { transport: "udp", hostname: ip, port: address.port };
  const localHost = localHostFor(ip);
  const local = hostPort(localHost, 0);
  const target = hostPort(ip, address.port);
  const localAllowed = netPermitted(local, true);
  if (!localAllowed || !netPermitted(target, true)) {
    throw new DatagramError(
      "connect",
      `Cannot connect to ${target}: permission denied: run with --allow-net=${
        localAllowed ? target : `${local},${target}`
      } (a connected channel binds ${local}, a port of its own)`,
      { cause: notPermitted(localAllowed ? target : local), remoteAddress: peer },
    );
  }
  try {
    if (datagramBackend() === "deno") return connectDenoUdp(localHost, peer, options.receiveSize);
    return await connectNodeUdp(localHost, peer, options.receiveSize);
  } catch (error) {
    throw new DatagramError(
      "connect",
      `Cannot connect to ${target}: ${bindReason(error, "program")}`,
      { cause: error, remoteAddress: peer },
    );
  }
}
