/**
 * Datagram addresses for sending: where a write goes, and the error a
 * datagram too large to receive is reported with.
 *
 * @module
 */

import { type AddressInput, resolveAddress } from "./address.ts";
import { DatagramError } from "./datagram_errors.ts";
import { describePeer } from "./_datagram_socket.ts";
import type { DatagramPeer } from "./_datagram_types.ts";

/** `localhost` for a port alone: the loopback address of the socket's family. */
function loopback(local: Deno.NetAddr): string {
  return local.hostname.includes(":") && local.hostname !== "::" ? "::1" : "127.0.0.1";
}

/**
 * Where `Datagram.write(data, address)` sends: `address` resolved against
 * the channel's socket (a port alone is the loopback of the socket's
 * family), or `null` for a connected channel's own peer.
 *
 * @throws {TypeError} For an address of another kind than the socket, port
 * 0, or on a connected channel another peer than its own.
 */
export function datagramTarget(
  address: AddressInput | DatagramPeer,
  local: DatagramPeer,
  remote: DatagramPeer | null,
): DatagramPeer | null {
  let target: DatagramPeer;
  if (
    typeof address === "object" && address !== null && "transport" in address &&
    (address.transport === "udp" || address.transport === "unixpacket")
  ) {
    target = address;
  } else {
    const resolved = resolveAddress(address as AddressInput);
    target = resolved.transport === "unix" ? { transport: "unixpacket", path: resolved.path } : {
      transport: "udp",
      hostname: resolved.hostname ?? loopback(local as Deno.NetAddr),
      port: resolved.port,
    };
  }
  if (target.transport !== local.transport) {
    throw new TypeError(
      `Cannot write to ${describePeer(target)} from ${describePeer(local)}: ` +
        (local.transport === "udp"
          ? "a UDP channel cannot send to a Unix socket path"
          : "a Unix datagram channel sends only to { path } addresses"),
    );
  }
  if (target.transport === "udp" && target.port === 0) {
    throw new TypeError(`Cannot write to ${describePeer(target)}: the port must not be 0`);
  }
  if (remote !== null) {
    const peer = remote as Deno.NetAddr, to = target as Deno.NetAddr;
    if (to.port !== peer.port || (to.hostname !== peer.hostname && to.hostname !== "localhost")) {
      throw new TypeError(
        `Cannot write to ${describePeer(target)}: this channel is connected to ` +
          `${describePeer(remote)}; use write(data) or an unconnected channel`,
      );
    }
    return null;
  }
  return target;
}

/**
 * The error for a datagram dropped because it did not fit: larger than
 * `bufferSize`, or (`truncated`) larger than the socket's receive buffer.
 */
export function oversizedDatagram(
  from: DatagramPeer,
  bytes: number,
  limit: number,
  truncated: boolean,
): DatagramError {
  return new DatagramError(
    truncated ? "truncated" : "oversized",
    truncated
      ? `Dropped a datagram from ${describePeer(from)} larger than the receive buffer ` +
        `(at least ${bytes} bytes); raise bufferSize above its size to receive it`
      : `Dropped a datagram of ${bytes} bytes from ${describePeer(from)}: larger than ` +
        `bufferSize (${limit}); raise bufferSize to receive it`,
    { remoteAddress: from, bytes, limit },
  );
}
