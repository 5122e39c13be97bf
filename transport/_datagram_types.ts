/**
 * What a datagram socket is to the channels: the `DatagramSocket` interface
 * both backends implement (`_datagram_deno.ts`, `_datagram_node.ts`), the
 * `DatagramSink` it reports to, and the `DatagramPeer` addresses it uses.
 *
 * Only types, in a file of their own: `_datagram_socket.ts`, which re-exports
 * them for the channels, imports the backends to dispatch to them, so the
 * backends cannot import the interface from there without an import cycle
 * (tools/check_imports.ts counts type-only imports too).
 *
 * @module
 */

/** A datagram peer: UDP (`transport: "udp"`) or Unix (`transport: "unixpacket"`). */
export type DatagramPeer = Deno.NetAddr | Deno.UnixAddr;

/** Receives what a datagram socket reports. */
export interface DatagramSink {
  /**
   * One datagram. `data` is valid only during the call. `truncated`: the
   * datagram was larger than the receive buffer and `data` holds its start.
   */
  datagram(data: Uint8Array, truncated: boolean, from: DatagramPeer): void;
  /** The send started by `send()` finished: `error` is `null` on success. */
  sent(error: unknown): void;
  /** A receive error; `fatal`: the socket stopped receiving. */
  failed(error: unknown, fatal: boolean): void;
}

/** An open datagram socket. */
export interface DatagramSocket {
  /** The bound address (IPv4-mapped addresses shown as IPv4). */
  readonly localAddr: DatagramPeer;
  /** The peer of a connected socket, else `null`. */
  readonly remoteAddr: DatagramPeer | null;
  /** The smallest receive buffer wanted (bytes); applies from the next receive. */
  receiveSize: number;
  /** Starts receiving; reports go to `sink`. Call once. */
  start(sink: DatagramSink): void;
  /**
   * Sends one datagram (the peer's, for a connected socket: `to` is then
   * ignored). `sink.sent` follows once; call `send` again only after it.
   * `data` must stay unchanged until then.
   */
  send(data: Uint8Array, to: DatagramPeer | null): void;
  /** Closes the socket; a Unix socket's file is removed. Idempotent. */
  close(): void;
}
