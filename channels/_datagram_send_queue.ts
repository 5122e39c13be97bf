/**
 * A datagram channel's send queue: datagrams copied into one growable
 * buffer while the socket sends from another, so steady traffic allocates
 * no buffers; each datagram keeps its size and destination.
 *
 * @module
 */

import type { DatagramPeer } from "../transport/_datagram_socket.ts";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/**
 * Datagrams queued by `write()`: copied into one growable buffer while the
 * socket sends from another, so steady traffic allocates no buffers.
 */
export class DatagramSendQueue {
  #pending = new Uint8Array(1024);
  #pendingUsed = 0;
  #pendingCount = 0;
  #pendingSizes: number[] = [];
  #pendingTargets: (DatagramPeer | null)[] = [];
  #out = new Uint8Array(1024);
  #outCount = 0;
  #outSizes: number[] = [];
  #outTargets: (DatagramPeer | null)[] = [];
  #outIndex = 0;
  #outOffset = 0;
  /** Bytes queued and not yet sent. */
  size = 0;
  /** The datagram being sent (after `next()` returned true). */
  view: Uint8Array = EMPTY;
  /** Its destination (`null`: the connected peer). */
  target: DatagramPeer | null = null;

  push(data: Uint8Array | string, target: DatagramPeer | null): void {
    const used = this.#pendingUsed;
    const room = used + (typeof data === "string" ? data.length * 3 : data.length);
    if (room > this.#pending.length) {
      let capacity = this.#pending.length * 2;
      while (capacity < room) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.#pending.subarray(0, used));
      this.#pending = grown;
    }
    let n = data.length;
    if (typeof data === "string") {
      n = encoder.encodeInto(data, this.#pending.subarray(used)).written;
    } else this.#pending.set(data, used);
    this.#pendingUsed = used + n;
    this.#pendingSizes[this.#pendingCount] = n;
    this.#pendingTargets[this.#pendingCount++] = target;
    this.size += n;
  }

  /** Moves to the next datagram to send; false when the queue is empty. */
  next(): boolean {
    if (this.#outIndex === this.#outCount) {
      if (this.#pendingCount === 0) return false;
      const buffer = this.#out, sizes = this.#outSizes, targets = this.#outTargets;
      this.#out = this.#pending;
      this.#outSizes = this.#pendingSizes;
      this.#outTargets = this.#pendingTargets;
      this.#outCount = this.#pendingCount;
      this.#pending = buffer.length > 256 * 1024 ? new Uint8Array(1024) : buffer;
      this.#pendingSizes = sizes;
      this.#pendingTargets = targets;
      this.#pendingUsed = 0;
      this.#pendingCount = 0;
      this.#outIndex = 0;
      this.#outOffset = 0;
    }
    const n = this.#outSizes[this.#outIndex]!;
    this.view = this.#out.subarray(this.#outOffset, this.#outOffset + n);
    this.target = this.#outTargets[this.#outIndex]!;
    return true;
  }

  /** The current datagram was sent (or failed). */
  done(): void {
    const n = this.view.length;
    this.#outTargets[this.#outIndex++] = null;
    this.#outOffset += n;
    this.size -= n;
    this.view = EMPTY;
    this.target = null;
  }

  clear(): void {
    this.#pendingTargets.fill(null);
    this.#outTargets.fill(null);
    this.#pendingUsed =
      this.#pendingCount =
      this.#outCount =
      this.#outIndex =
      this.size =
        0;
    this.view = EMPTY;
    this.target = null;
  }
}
