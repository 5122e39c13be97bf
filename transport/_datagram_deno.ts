/**
 * The `Deno.listenDatagram` backend of the datagram sockets: every call of
 * that API in Pants is here.
 *
 * `Deno.listenDatagram` exists only with `--unstable-net` (or
 * `"unstable": ["net"]`). It receives into one reused buffer: an echo server
 * on it handles two to three times the datagrams per second of one on
 * `node:dgram` (bench/udp_bench.ts). It has no `connect()`, so a connected
 * socket drops datagrams from other senders itself. It is the only backend
 * for Unix datagram sockets, which in Deno 2.9 cannot send while a receive is
 * pending: that quirk, and the wake-up socket that works around it, is what
 * makes `DenoDatagramSocket` longer than its `node:dgram` twin, and is why
 * the two live in files of their own (`_datagram_node.ts`).
 *
 * The functions here bind and throw Deno's error as is; `_datagram_socket.ts`
 * chooses the backend and turns errors into messages.
 *
 * @module
 */

import { hostPort, normalizeAddr } from "./address.ts";
import { DatagramError } from "./datagram_errors.ts";
import { bindReason, netPermitted, permissionFlags } from "./_permissions.ts";
import type { DatagramPeer, DatagramSink, DatagramSocket } from "./_datagram_types.ts";

/** UDP receive buffers are at least this big: the largest UDP payload (65527 bytes, IPv6) fits. */
const MIN_RECEIVE = 64 * 1024;
/**
 * Unix receive buffers are at least this big: Linux's default send buffer
 * (212992 bytes) bounds most Unix datagrams, so their exact size is known.
 */
const MIN_RECEIVE_UNIX = 256 * 1024;
/** Consecutive receive errors after which a socket stops receiving. */
const MAX_RECEIVE_ERRORS = 64;

/** What to do when `Deno.listenDatagram` is missing. */
export const UNSTABLE_HINT = 'run with --unstable-net (or add "unstable": ["net"] to deno.json)';

/** The name of a Unix channel's wake-up socket: its own path plus this. */
export const WAKE_SUFFIX = ".wake";

type ListenDatagram = (
  options: Deno.UdpListenOptions & { transport: "udp" } | {
    transport: "unixpacket";
    path: string;
  },
) => Deno.DatagramConn;

function nativeListen(): ListenDatagram | undefined {
  const fn = (Deno as unknown as { listenDatagram?: ListenDatagram }).listenDatagram;
  return typeof fn === "function" ? fn : undefined;
}

/** Whether `Deno.listenDatagram` exists (`--unstable-net` is on). */
export function hasListenDatagram(): boolean {
  return nativeListen() !== undefined;
}

function denoListen(options: Parameters<ListenDatagram>[0]): Deno.DatagramConn {
  const listen = nativeListen();
  if (listen === undefined) {
    throw new Error(`Deno.listenDatagram is not available: ${UNSTABLE_HINT}`);
  }
  return listen(options);
}

/**
 * `Deno.listenDatagram`. UDP sockets send and receive at once. Deno 2.9's
 * Unix datagram sockets do not: a send while a receive is pending fails
 * with `Busy`. So a Unix socket sends only between receives: sends made
 * while a datagram is delivered go out before the next receive; a send at
 * another time interrupts the pending receive with an empty datagram from a
 * second socket at `path + WAKE_SUFFIX` (bound on first need, removed on
 * close), which is then ignored.
 */
class DenoDatagramSocket implements DatagramSocket {
  readonly localAddr: DatagramPeer;
  readonly remoteAddr: DatagramPeer | null;
  receiveSize: number;
  readonly #conn: Deno.DatagramConn;
  readonly #unixPath: string | null;
  #buffer: Uint8Array;
  #sink: DatagramSink | null = null;
  #closed = false;
  // Unix sockets only: see the class comment.
  #receiving = false;
  #sending = false;
  #deferred: { data: Uint8Array; to: DatagramPeer | null } | null = null;
  #resume: (() => void) | null = null;
  #wake: Deno.DatagramConn | null = null;
  #wakePending = false;

  readonly #sentOk = (): void => this.#sent(null);
  readonly #sentFailed = (error: unknown): void => this.#sent(error);

  constructor(conn: Deno.DatagramConn, receiveSize: number, peer: DatagramPeer | null) {
    this.#conn = conn;
    this.localAddr = normalizeAddr(conn.addr) as DatagramPeer;
    this.remoteAddr = peer;
    this.#unixPath = "path" in conn.addr ? conn.addr.path : null;
    this.receiveSize = receiveSize;
    const least = this.#unixPath === null ? MIN_RECEIVE : MIN_RECEIVE_UNIX;
    this.#buffer = new Uint8Array(Math.max(least, receiveSize));
  }

  start(sink: DatagramSink): void {
    this.#sink = sink;
    void this.#receiveLoop(sink);
  }

  async #receiveLoop(sink: DatagramSink): Promise<void> {
    const peer = this.remoteAddr as Deno.NetAddr | null;
    const unix = this.#unixPath !== null;
    const wakePath = unix ? this.#unixPath + WAKE_SUFFIX : "";
    let errors = 0;
    while (!this.#closed) {
      if (unix && (this.#sending || this.#deferred !== null)) {
        await this.#sendsDone();
        continue;
      }
      if (this.#buffer.length < this.receiveSize) this.#buffer = new Uint8Array(this.receiveSize);
      const buffer = this.#buffer;
      let data: Uint8Array;
      let from: Deno.Addr;
      this.#receiving = true;
      try {
        [data, from] = await this.#conn.receive(buffer);
      } catch (error) {
        this.#receiving = false;
        if (this.#closed) return;
        const fatal = error instanceof Deno.errors.BadResource ||
          error instanceof Deno.errors.Interrupted || ++errors >= MAX_RECEIVE_ERRORS;
        sink.failed(error, fatal);
        if (fatal) return;
        continue;
      }
      this.#receiving = false;
      errors = 0;
      if (this.#closed) return;
      if (from.transport === "udp") {
        const net = normalizeAddr(from) as Deno.NetAddr;
        if (peer !== null && (net.port !== peer.port || net.hostname !== peer.hostname)) continue;
        from = net;
      } else if (unix && (from as Deno.UnixAddr).path === wakePath) {
        this.#wakePending = false;
        continue;
      }
      sink.datagram(data, data.length === buffer.length, from as DatagramPeer);
    }
  }

  send(data: Uint8Array, to: DatagramPeer | null): void {
    if (this.#receiving && this.#unixPath !== null) {
      this.#deferred = { data, to };
      this.#interrupt();
      return;
    }
    this.#sending = true;
    this.#conn.send(data, to ?? this.remoteAddr!).then(this.#sentOk, this.#sentFailed);
  }

  #sent(error: unknown): void {
    this.#sending = false;
    this.#sink?.sent(error); // may send the next datagram at once
    if (!this.#sending && this.#resume !== null) {
      const resume = this.#resume;
      this.#resume = null;
      resume();
    }
  }

  /** Unix: sends the deferred datagram, then waits until no send is in flight. */
  #sendsDone(): Promise<void> {
    const deferred = this.#deferred;
    if (deferred !== null) {
      this.#deferred = null;
      this.send(deferred.data, deferred.to);
    }
    if (!this.#sending) return Promise.resolve();
    return new Promise((resolve) => this.#resume = resolve);
  }

  /** Unix: ends the pending receive with an empty datagram from the wake-up socket. */
  #interrupt(): void {
    if (this.#wakePending) return;
    this.#wakePending = true;
    const path = this.#unixPath!;
    try {
      this.#wake ??= denoListen({ transport: "unixpacket", path: path + WAKE_SUFFIX });
    } catch (error) {
      this.#sink?.failed(
        new DatagramError(
          "send",
          `Cannot send from ${path} now: Deno cannot send on a Unix datagram socket while it ` +
            `waits for input, and the wake-up socket ${path}${WAKE_SUFFIX} could not be bound ` +
            `(${bindReason(error, "program")}); the datagram waits for the next one received. ` +
            `Allow it with ${permissionFlags({ path: path + WAKE_SUFFIX })}`,
          { cause: error },
        ),
        false,
      );
      return;
    }
    this.#wake.send(new Uint8Array(0), { transport: "unixpacket", path }).catch(() => {
      this.#wakePending = false;
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const conn of [this.#conn, this.#wake]) {
      try {
        conn?.close();
      } catch {
        // Already closed.
      }
    }
    const resume = this.#resume;
    this.#resume = null;
    resume?.();
    if (this.#unixPath === null) return;
    for (
      const path of [this.#unixPath, this.#wake === null ? null : this.#unixPath + WAKE_SUFFIX]
    ) {
      if (path === null) continue;
      try {
        Deno.removeSync(path);
      } catch {
        // Removed already, or not permitted: the file stays, as Deno leaves it.
      }
    }
  }
}

/** Binds a Unix datagram socket at `path`; throws Deno's error. */
export function openDenoUnix(path: string, receiveSize: number): DatagramSocket {
  const conn = denoListen({ transport: "unixpacket", path });
  return new DenoDatagramSocket(conn, receiveSize, null);
}

/**
 * Binds a UDP socket; throws Deno's error. No `hostname` (a port alone):
 * dual-stack `::` when permitted and available, else `0.0.0.0`.
 */
export function openDenoUdp(
  hostname: string | undefined,
  port: number,
  receiveSize: number,
): DatagramSocket {
  if (hostname === undefined) {
    if (netPermitted(hostPort("::", port))) {
      try {
        const conn = denoListen({ transport: "udp", hostname: "::", port });
        return new DenoDatagramSocket(conn, receiveSize, null);
      } catch (error) {
        if (!(error instanceof Deno.errors.AddrNotAvailable)) throw error;
      }
    }
    hostname = "0.0.0.0";
  }
  const conn = denoListen({ transport: "udp", hostname, port });
  return new DenoDatagramSocket(conn, receiveSize, null);
}

/**
 * Binds a UDP socket on an ephemeral port of `localHost` that takes
 * datagrams from `peer` only and sends to it; throws Deno's error.
 */
export function connectDenoUdp(
  localHost: string,
  peer: Deno.NetAddr,
  receiveSize: number,
): DatagramSocket {
  const conn = denoListen({ transport: "udp", hostname: localHost, port: 0 });
  return new DenoDatagramSocket(conn, receiveSize, peer);
}
