/**
 * The `node:dgram` backend of the datagram sockets: every `node:dgram` call
 * in Pants is here.
 *
 * It works in stable Deno with only `--allow-net`, which is why it is the
 * default without `--unstable-net`; `_datagram_deno.ts` holds the faster
 * `Deno.listenDatagram` backend. Two quirks of Deno's polyfill shape it:
 *
 * - A bind it is not permitted to make throws an uncatchable error from a
 *   later tick, so permissions are checked here before binding.
 * - Its `connect()` only records the peer, so a connected socket drops
 *   datagrams from other senders itself. It also allocates a 64 KiB buffer
 *   per received datagram; the socket hands it on without copying.
 *
 * The functions here bind and throw the underlying error as is (or a
 * `NotCapable` made up front); `_datagram_socket.ts` chooses the backend and
 * turns errors into messages.
 *
 * @module
 */

import dgram from "node:dgram";
import { isIP } from "node:net";
import { canonicalIp, hostPort, normalizeAddr } from "./address.ts";
import { errnoCode, netPermitted, notPermitted } from "./_permissions.ts";
import type { DatagramPeer, DatagramSink, DatagramSocket } from "./_datagram_types.ts";

/** A `node:dgram` socket; see the module comment for what it does itself. */
class NodeDatagramSocket implements DatagramSocket {
  readonly localAddr: DatagramPeer;
  readonly remoteAddr: DatagramPeer | null;
  receiveSize: number;
  readonly #socket: dgram.Socket;
  #sink: DatagramSink | null = null;
  #closed = false;
  readonly #sent = (error: Error | null): void => this.#sink?.sent(error ?? null);

  constructor(socket: dgram.Socket, receiveSize: number, peer: DatagramPeer | null) {
    this.#socket = socket;
    const local = socket.address();
    this.localAddr = { transport: "udp", hostname: canonicalIp(local.address), port: local.port };
    this.remoteAddr = peer;
    this.receiveSize = receiveSize;
    socket.on("error", this.#onError);
  }

  start(sink: DatagramSink): void {
    this.#sink = sink;
    this.#socket.on("message", this.#onMessage);
  }

  readonly #onMessage = (message: Uint8Array, info: dgram.RemoteInfo): void => {
    if (this.#closed) return;
    const address: Deno.NetAddr = { transport: "udp", hostname: info.address, port: info.port };
    const from = normalizeAddr(address) as Deno.NetAddr;
    const peer = this.remoteAddr as Deno.NetAddr | null;
    // Deno's polyfill does not connect in the kernel: filter here.
    if (peer !== null && (from.port !== peer.port || from.hostname !== peer.hostname)) return;
    // A plain Uint8Array, not a Buffer (whose slice() does not copy).
    const data = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    this.#sink!.datagram(data, false, from);
  };

  readonly #onError = (error: Error): void => {
    if (!this.#closed) this.#sink?.failed(error, false);
  };

  send(data: Uint8Array, to: DatagramPeer | null): void {
    try {
      if (this.remoteAddr !== null) this.#socket.send(data, this.#sent);
      else {
        const target = to as Deno.NetAddr;
        this.#socket.send(data, target.port, target.hostname, this.#sent);
      }
    } catch (error) {
      queueMicrotask(() => this.#sink?.sent(error));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.off("message", this.#onMessage);
    try {
      this.#socket.close();
    } catch {
      // Already closed.
    }
  }
}

/** Binds a node:dgram socket; rejects with the socket's error. */
function nodeBind(host: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: isIP(host) === 6 ? "udp6" : "udp4" });
  return new Promise((resolve, reject) => {
    const failed = (error: Error): void => {
      socket.off("listening", bound);
      try {
        socket.close();
      } catch {
        // Never opened.
      }
      reject(error);
    };
    const bound = (): void => {
      socket.off("error", failed);
      resolve(socket);
    };
    socket.once("error", failed);
    socket.once("listening", bound);
    socket.bind(port, host);
  });
}

async function nodeListen(hostname: string | undefined, port: number): Promise<dgram.Socket> {
  if (hostname === undefined) {
    // A port alone: dual-stack "::" when permitted and available, else 0.0.0.0.
    if (netPermitted(hostPort("::", port))) {
      try {
        return await nodeBind("::", port);
      } catch (error) {
        const errno = errnoCode(error);
        if (errno !== "EAFNOSUPPORT" && errno !== "EADDRNOTAVAIL") throw error;
      }
    }
    hostname = "0.0.0.0";
  }
  if (!netPermitted(hostPort(hostname, port), true)) throw notPermitted(hostPort(hostname, port));
  return await nodeBind(hostname, port);
}

/**
 * Binds a UDP socket on `hostname` (an IP address; none: any address);
 * rejects with the socket's error, or `NotCapable` when not permitted.
 */
export async function openNodeUdp(
  hostname: string | undefined,
  port: number,
  receiveSize: number,
): Promise<DatagramSocket> {
  return new NodeDatagramSocket(await nodeListen(hostname, port), receiveSize, null);
}

/**
 * Binds a UDP socket on an ephemeral port of `localHost` and connects it to
 * `peer` (an IP address); rejects with the socket's error. The caller checks
 * permissions first.
 */
export async function connectNodeUdp(
  localHost: string,
  peer: Deno.NetAddr,
  receiveSize: number,
): Promise<DatagramSocket> {
  const socket = await nodeBind(localHost, 0);
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error): void => reject(error);
    socket.once("error", failed);
    socket.connect(peer.port, peer.hostname, () => {
      socket.off("error", failed);
      resolve();
    });
  }).catch((error) => {
    socket.close();
    throw error;
  });
  return new NodeDatagramSocket(socket, receiveSize, peer);
}
