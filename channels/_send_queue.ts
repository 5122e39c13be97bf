/**
 * A stream's send queue: `write()` calls append to one growable buffer while
 * the socket writes the other, so many small writes in one iteration become
 * one socket write. A queue that drained gives its buffers to a pool shared
 * by every stream, and its next write takes one from there: an idle stream
 * holds no send buffer, and steady traffic allocates nothing.
 *
 * @module
 */

const encoder = new TextEncoder();
const INITIAL_CAPACITY = 256;
/** Buffers larger than this are dropped once drained, not kept or pooled. */
const KEEP_CAPACITY = 64 * 1024;
/** The most bytes the pool holds. */
const POOL_BYTES = 1024 * 1024;

/** Drained buffers, last in first out. */
const pool: Uint8Array[] = [];
let pooledBytes = 0;

/** Keeps a drained buffer for the next queue that needs one (if it is small and the pool not full). */
function recycle(buffer: Uint8Array): void {
  if (buffer.length > KEEP_CAPACITY || pooledBytes + buffer.length > POOL_BYTES) return;
  pool.push(buffer);
  pooledBytes += buffer.length;
}

function grow(buffer: Uint8Array | null, used: number, needed: number): Uint8Array {
  if (buffer === null) {
    const top = pool[pool.length - 1];
    if (top !== undefined && top.length >= needed) {
      pool.pop();
      pooledBytes -= top.length;
      return top;
    }
  }
  let capacity = buffer === null ? INITIAL_CAPACITY : buffer.length;
  while (capacity < needed) capacity *= 2;
  const next = new Uint8Array(capacity);
  if (buffer !== null && used > 0) next.set(buffer.subarray(0, used));
  return next;
}

/** Two buffers: `pending` collects writes, `sending` is handed to the socket. */
export class SendQueue {
  #pending: Uint8Array | null = null;
  #pendingLength = 0;
  #spare: Uint8Array | null = null;
  #sending: Uint8Array | null = null;
  #sendingLength = 0;

  /** Bytes queued and not yet confirmed written by the socket. */
  get size(): number {
    return this.#pendingLength + this.#sendingLength;
  }

  /** Bytes collected since the last `take()`. */
  get pendingLength(): number {
    return this.#pendingLength;
  }

  /** Copies `data` to the end of the queue. */
  push(data: Uint8Array | string): void {
    if (typeof data === "string") {
      // A UTF-8 encoding takes at most 3 bytes per UTF-16 code unit.
      const room = this.#pendingLength + data.length * 3;
      if (this.#pending === null || this.#pending.length < room) {
        this.#pending = grow(this.#pending, this.#pendingLength, room);
      }
      this.#pendingLength +=
        encoder.encodeInto(data, this.#pending.subarray(this.#pendingLength)).written;
      return;
    }
    const end = this.#pendingLength + data.length;
    if (this.#pending === null || this.#pending.length < end) {
      this.#pending = grow(this.#pending, this.#pendingLength, end);
    }
    this.#pending.set(data, this.#pendingLength);
    this.#pendingLength = end;
  }

  /** Appends `count` bytes written in place by `fill(target, offset)`. */
  pushInPlace(count: number, fill: (target: Uint8Array, offset: number) => void): void {
    const end = this.#pendingLength + count;
    if (this.#pending === null || this.#pending.length < end) {
      this.#pending = grow(this.#pending, this.#pendingLength, end);
    }
    fill(this.#pending, this.#pendingLength);
    this.#pendingLength = end;
  }

  /** Hands the collected bytes to the socket; new writes go to the other buffer. */
  take(): Uint8Array {
    const buffer = this.#pending!;
    const length = this.#pendingLength;
    this.#pending = this.#spare;
    this.#pendingLength = 0;
    this.#spare = null;
    this.#sending = buffer;
    this.#sendingLength = length;
    return buffer.subarray(0, length);
  }

  /** Marks `n` bytes of the taken buffer as written. */
  sent(n: number): void {
    this.#sendingLength -= n;
  }

  /** Returns a fully written buffer: kept for the writes queued meanwhile, else pooled. */
  release(): void {
    const buffer = this.#sending!;
    this.#sending = null;
    this.#sendingLength = 0;
    if (this.#pendingLength > 0) {
      if (buffer.length <= KEEP_CAPACITY) this.#spare = buffer;
      return;
    }
    recycle(buffer);
    if (this.#pending !== null) recycle(this.#pending);
    this.#pending = null;
  }

  /** Forgets everything queued (on a close without flush). */
  clear(): void {
    // The buffer being sent stays out of the pool: a socket write may still hold it.
    if (this.#pending !== null) recycle(this.#pending);
    if (this.#spare !== null) recycle(this.#spare);
    this.#pending = null;
    this.#spare = null;
    this.#sending = null;
    this.#pendingLength = 0;
    this.#sendingLength = 0;
  }
}
