/**
 * The stream send queue: writes coalesce into one buffer, and a drained
 * queue hands its buffers to a pool shared by every stream (an idle stream
 * holds none), never a buffer a socket write may still hold.
 *
 * @module
 */

import { deepStrictEqual, notStrictEqual, strictEqual } from "node:assert/strict";
import { SendQueue } from "../channels/_send_queue.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

/** Sends everything `queue` collected, as a socket would, and returns what it sent. */
function sendAll(queue: SendQueue): Uint8Array {
  const taken = queue.take();
  const copy = taken.slice();
  queue.sent(taken.length);
  queue.release();
  return copy;
}

Deno.test("SendQueue hands the writes of one iteration to the socket as one buffer", () => {
  const queue = new SendQueue();
  queue.push(bytes(1, 2));
  queue.push("hi");
  queue.push(bytes(3));
  strictEqual(queue.size, 5);
  deepStrictEqual(sendAll(queue), bytes(1, 2, 0x68, 0x69, 3));
  strictEqual(queue.size, 0);
});

Deno.test("SendQueue gives a drained buffer to the next queue that writes", () => {
  const idle = new SendQueue();
  idle.push(bytes(1, 2, 3));
  const sent = idle.take();
  idle.sent(sent.length);
  idle.release();
  const next = new SendQueue();
  next.push(bytes(9));
  const taken = next.take();
  strictEqual(taken.buffer, sent.buffer);
  deepStrictEqual(taken, bytes(9));
});

Deno.test("SendQueue keeps the sent buffer for writes queued while it was being sent", () => {
  const queue = new SendQueue();
  queue.push(bytes(1));
  const first = queue.take();
  queue.push(bytes(2));
  queue.sent(1);
  queue.release();
  const other = new SendQueue();
  other.push(bytes(7));
  notStrictEqual(other.take().buffer, first.buffer);
  deepStrictEqual(sendAll(queue), bytes(2));
  queue.push(bytes(3));
  strictEqual(queue.take().buffer, first.buffer);
});

Deno.test("SendQueue.clear pools what was queued but never the buffer a socket write holds", () => {
  const queue = new SendQueue();
  queue.push(bytes(1));
  const inFlight = queue.take();
  queue.push(bytes(2));
  queue.clear();
  const a = new SendQueue();
  a.push(bytes(3));
  const b = new SendQueue();
  b.push(bytes(4));
  notStrictEqual(a.take().buffer, inFlight.buffer);
  notStrictEqual(b.take().buffer, inFlight.buffer);
});

Deno.test("SendQueue does not pool buffers over 64 KiB", () => {
  const queue = new SendQueue();
  queue.push(new Uint8Array(100 * 1024));
  const big = queue.take();
  queue.sent(big.length);
  queue.release();
  const next = new SendQueue();
  next.push(new Uint8Array(100 * 1024));
  notStrictEqual(next.take().buffer, big.buffer);
});
