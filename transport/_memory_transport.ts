/**
 * An in-memory connection pair implementing the stream `Transport`: what one
 * end writes, the other reads, chunk by chunk, always asynchronously (so
 * user callbacks never run inside `write()`).
 *
 * @module
 */

import type { Transport } from "./_socket.ts";

const LOOPBACK: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 0 };

/** One end of an in-memory connection. */
export class MemoryTransport implements Transport {
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  #peer: MemoryTransport | null = null;
  #inbox: Uint8Array[] = [];
  #waiter: PromiseWithResolvers<number | null> | null = null;
  #waiterBuffer: Uint8Array | null = null;
  #ended = false;
  #closed = false;

  /**
   * Creates an unconnected end; use {@linkcode memoryTransportPair}.
   *
   * @param localAddr This end's address.
   * @param remoteAddr The other end's address.
   */
  constructor(localAddr: Deno.Addr, remoteAddr: Deno.Addr) {
    this.localAddr = localAddr;
    this.remoteAddr = remoteAddr;
  }

  /** Links two ends. */
  static link(a: MemoryTransport, b: MemoryTransport): void {
    a.#peer = b;
    b.#peer = a;
  }

  /** Whether this end was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received from the other end and not read yet. */
  get pendingBytes(): number {
    let total = 0;
    for (const chunk of this.#inbox) total += chunk.length;
    return total;
  }

  /** Whether the other end ended its side (closed or half-closed) and everything it sent was read. */
  get ended(): boolean {
    return this.#ended && this.#inbox.length === 0;
  }

  /** Reads the next chunk (or part of it) into `buffer`; `null` after the peer ended. */
  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("The transport is closed"));
    }
    if (this.#inbox.length > 0) return Promise.resolve(this.#take(buffer));
    if (this.#ended) return Promise.resolve(null);
    this.#waiter = Promise.withResolvers();
    this.#waiterBuffer = buffer;
    return this.#waiter.promise;
  }

  #take(buffer: Uint8Array): number {
    const chunk = this.#inbox[0]!;
    const n = Math.min(chunk.length, buffer.length);
    buffer.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#inbox.shift();
    else this.#inbox[0] = chunk.subarray(n);
    return n;
  }

  #deliver(chunk: Uint8Array | null): void {
    if (chunk === null) this.#ended = true;
    else this.#inbox.push(chunk);
    const waiter = this.#waiter;
    if (waiter === null) return;
    this.#waiter = null;
    if (this.#inbox.length > 0) waiter.resolve(this.#take(this.#waiterBuffer!));
    else waiter.resolve(null);
    this.#waiterBuffer = null;
  }

  /** Sends a copy of `data` to the other end as one chunk. */
  write(data: Uint8Array): Promise<number> {
    const peer = this.#peer;
    if (this.#closed || peer === null || peer.#closed) {
      return Promise.reject(new Deno.errors.BrokenPipe("The peer closed the connection"));
    }
    peer.#deliver(data.slice());
    return Promise.resolve(data.length);
  }

  /** Ends this side: the peer reads `null` after what was sent. */
  closeWrite(): Promise<void> {
    if (this.#peer !== null) this.#peer.#deliver(null);
    return Promise.resolve();
  }

  /** Closes this end; the peer reads `null`, a pending read here rejects. */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("The transport is already closed");
    this.#closed = true;
    if (this.#peer !== null) this.#peer.#deliver(null);
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.reject(new Deno.errors.Interrupted("The transport was closed"));
  }
}

/**
 * Creates two linked in-memory transports.
 *
 * @returns `[a, b]`: what `a` writes, `b` reads, and the reverse.
 */
export function memoryTransportPair(
  a: Deno.Addr = LOOPBACK,
  b: Deno.Addr = LOOPBACK,
): [MemoryTransport, MemoryTransport] {
  const left = new MemoryTransport(a, b);
  const right = new MemoryTransport(b, a);
  MemoryTransport.link(left, right);
  return [left, right];
}
