/**
 * The one module that opens datagram sockets: every `node:dgram` and
 * `Deno.listenDatagram` call of Pants is here.
 *
 * Two backends, chosen once per process:
 *
 * - `"deno"`: `Deno.listenDatagram`, present only with `--unstable-net`
 *   (or `"unstable": ["net"]`). It receives into one reused buffer: an echo
 *   server on it handles two to three times the datagrams per second of one on
 *   `node:dgram` (bench/udp_bench.ts). It has no `connect()`. It is the
 *   only backend for Unix datagram sockets, which in Deno 2.9 cannot send
 *   while a receive is pending (see `DenoDatagramSocket`).
 * - `"node"`: `node:dgram`, in stable Deno with only `--allow-net`. Deno's
 *   polyfill allocates a 64 KiB buffer per received datagram, and its
 *   `connect()` does not filter senders. A bind it is not permitted to make
 *   throws an uncatchable error from a later tick, so permissions are
 *   checked here before binding.
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

import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { hostPort, normalizeAddr, type ResolvedAddress } from "./address.ts";
import { DatagramError } from "./datagram_errors.ts";
import { ListenError } from "./errors.ts";

/** Which API a datagram socket uses. */
export type DatagramBackend = "deno" | "node";

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
  /** The API in use. */
  readonly backend: DatagramBackend;
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

/** Options for {@linkcode openDatagram} and {@linkcode connectDatagram}. */
export interface DatagramOpenOptions {
  /** The smallest receive buffer wanted, in bytes. */
  receiveSize: number;
}

/** UDP receive buffers are at least this big: the largest UDP payload (65527 bytes, IPv6) fits. */
const MIN_RECEIVE = 64 * 1024;
/**
 * Unix receive buffers are at least this big: Linux's default send buffer
 * (212992 bytes) bounds most Unix datagrams, so their exact size is known.
 */
const MIN_RECEIVE_UNIX = 256 * 1024;
/** Consecutive receive errors after which a socket stops receiving. */
const MAX_RECEIVE_ERRORS = 64;
const UNSTABLE_HINT = 'run with --unstable-net (or add "unstable": ["net"] to deno.json)';

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

let forced: DatagramBackend | null = null;

/**
 * The backend new sockets use: `"deno"` when `Deno.listenDatagram` exists,
 * else `"node"` (or the one forced by {@linkcode setDatagramBackend}).
 */
export function datagramBackend(): DatagramBackend {
  return forced ?? (nativeListen() !== undefined ? "deno" : "node");
}

/** Forces a backend for new sockets (tests), or `null` to choose again. */
export function setDatagramBackend(backend: DatagramBackend | null): void {
  forced = backend;
}

// --- permissions and messages ------------------------------------------------

function permitted(host: string, request: boolean): boolean {
  try {
    const state = Deno.permissions.querySync({ name: "net", host }).state;
    if (state !== "prompt" || !request) return state === "granted";
    return Deno.permissions.requestSync({ name: "net", host }).state === "granted";
  } catch {
    return false;
  }
}

function isPermissionError(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}

function code(error: unknown): string | undefined {
  const value = (error as { code?: unknown } | null)?.code;
  return typeof value === "string" ? value : undefined;
}

function reasonText(error: unknown): string {
  const errno = code(error);
  if (error instanceof Deno.errors.AddrInUse || errno === "EADDRINUSE") {
    return "the address is already in use: stop the other program or choose another port";
  }
  if (error instanceof Deno.errors.AddrNotAvailable || errno === "EADDRNOTAVAIL") {
    return "the address is not available on this machine";
  }
  if (errno === "EACCES") return "access denied by the system (a port below 1024 needs privileges)";
  return error instanceof Error ? error.message : String(error);
}

/** Formats a datagram peer for messages. */
export function describePeer(peer: DatagramPeer): string {
  return "path" in peer ? peer.path : hostPort(peer.hostname, peer.port);
}

function permissionFlags(peer: DatagramPeer): string {
  return "path" in peer
    ? `--allow-read=${peer.path} --allow-write=${peer.path} --allow-net=unix:${peer.path}`
    : `--allow-net=${hostPort(peer.hostname, peer.port)}`;
}

function listenFailure(where: DatagramPeer, error: unknown): ListenError {
  const what = isPermissionError(error)
    ? `permission denied: run with ${permissionFlags(where)}`
    : reasonText(error);
  return new ListenError(`Cannot listen on ${describePeer(where)}: ${what}`, { cause: error });
}

/**
 * The message for a failed send: what was refused and what to do.
 *
 * @param error What the backend reported.
 * @param to Where the datagram was going.
 * @param bytes Its size.
 */
export function sendFailure(error: unknown, to: DatagramPeer, bytes: number): DatagramError {
  const errno = code(error);
  let what: string;
  if (
    isPermissionError(error) ||
    (errno === "UNKNOWN" && to.transport === "udp" &&
      !permitted(hostPort(to.hostname, to.port), false))
  ) {
    what = `permission denied: run with ${permissionFlags(to)}`;
  } else if (errno === "EMSGSIZE" || /too long|os error 90\b/i.test(String(error))) {
    what = "the datagram is too large (at most 65507 bytes over UDP/IPv4, 65527 over IPv6)";
  } else if (error instanceof Deno.errors.ConnectionRefused || errno === "ECONNREFUSED") {
    what = "the peer refused it (nothing listens there)";
  } else {
    what = error instanceof Error ? error.message : String(error);
  }
  return new DatagramError(
    "send",
    `Cannot send a datagram of ${bytes} bytes to ${describePeer(to)}: ${what}`,
    { cause: error, remoteAddress: to, bytes },
  );
}

// --- addresses -----------------------------------------------------------------

const LOOPBACK_V4 = "127.0.0.1";

/** Canonical text of an IP literal (`0:0::1` → `::1`), or the input. */
function canonicalIp(host: string): string {
  if (isIP(host) !== 6) return host;
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    return host;
  }
}

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

// --- the Deno backend ----------------------------------------------------------

/** The name of a Unix channel's wake-up socket: its own path plus this. */
export const WAKE_SUFFIX = ".wake";

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
  readonly backend = "deno" as const;
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
            `(${reasonText(error)}); the datagram waits for the next one received. Allow it with ` +
            permissionFlags({ transport: "unixpacket", path: path + WAKE_SUFFIX }),
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

function denoListen(options: Parameters<ListenDatagram>[0]): Deno.DatagramConn {
  const listen = nativeListen();
  if (listen === undefined) {
    throw new Error(`Deno.listenDatagram is not available: ${UNSTABLE_HINT}`);
  }
  return listen(options);
}

// --- the node:dgram backend ------------------------------------------------------

class NodeDatagramSocket implements DatagramSocket {
  readonly backend = "node" as const;
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

function notPermitted(host: string): Deno.errors.NotCapable {
  return new Deno.errors.NotCapable(`Requires net access to "${host}"`);
}

async function nodeListen(hostname: string | undefined, port: number): Promise<dgram.Socket> {
  if (hostname === undefined) {
    // A port alone: dual-stack "::" when permitted and available, else 0.0.0.0.
    if (permitted(hostPort("::", port), false)) {
      try {
        return await nodeBind("::", port);
      } catch (error) {
        const errno = code(error);
        if (errno !== "EAFNOSUPPORT" && errno !== "EADDRNOTAVAIL") throw error;
      }
    }
    hostname = "0.0.0.0";
  }
  if (!permitted(hostPort(hostname, port), true)) throw notPermitted(hostPort(hostname, port));
  return await nodeBind(hostname, port);
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
    if (backend !== "deno" || nativeListen() === undefined) {
      throw new ListenError(
        `Cannot listen on ${address.path}: Unix datagram sockets need Deno.listenDatagram; ` +
          UNSTABLE_HINT,
      );
    }
    try {
      const conn = denoListen({ transport: "unixpacket", path: address.path });
      return new DenoDatagramSocket(conn, options.receiveSize, null);
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
    if (backend === "deno") {
      if (hostname === undefined) {
        if (permitted(hostPort("::", address.port), false)) {
          try {
            const conn = denoListen({ transport: "udp", hostname: "::", port: address.port });
            return new DenoDatagramSocket(conn, options.receiveSize, null);
          } catch (error) {
            if (!(error instanceof Deno.errors.AddrNotAvailable)) throw error;
          }
        }
        hostname = "0.0.0.0";
      }
      const conn = denoListen({ transport: "udp", hostname, port: address.port });
      return new DenoDatagramSocket(conn, options.receiveSize, null);
    }
    if (hostname !== undefined) hostname = await resolveHost(hostname);
    return new NodeDatagramSocket(
      await nodeListen(hostname, address.port),
      options.receiveSize,
      null,
    );
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
  const localAllowed = permitted(local, true);
  if (!localAllowed || !permitted(target, true)) {
    throw new DatagramError(
      "connect",
      `Cannot connect to ${target}: permission denied: run with --allow-net=${
        localAllowed ? target : `${local},${target}`
      } (a connected channel binds ${local}, a port of its own)`,
      { cause: notPermitted(localAllowed ? target : local), remoteAddress: peer },
    );
  }
  try {
    if (datagramBackend() === "deno") {
      const conn = denoListen({ transport: "udp", hostname: localHost, port: 0 });
      return new DenoDatagramSocket(conn, options.receiveSize, peer);
    }
    const socket = await nodeBind(localHost, 0);
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => reject(error);
      socket.once("error", failed);
      socket.connect(address.port, ip, () => {
        socket.off("error", failed);
        resolve();
      });
    }).catch((error) => {
      socket.close();
      throw error;
    });
    return new NodeDatagramSocket(socket, options.receiveSize, peer);
  } catch (error) {
    throw new DatagramError(
      "connect",
      `Cannot connect to ${target}: ${reasonText(error)}`,
      { cause: error, remoteAddress: peer },
    );
  }
}
