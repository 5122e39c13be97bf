/**
 * Testing protocol classes without sockets or sleeps: `@pants/pants/testing`.
 *
 * - {@linkcode TestEngine}: an engine on a {@linkcode ManualClock} that never
 *   runs by itself. `flush()` lets in-memory I/O settle and runs the queued
 *   work; `advance(ms)` moves virtual time, firing due timers in order.
 * - {@linkcode attach}: connects a stream to an in-memory {@linkcode Peer}
 *   that plays the remote side: `send()`, `received()`, `end()`, `close()`.
 * - {@linkcode accept}: the same for a connection "accepted" by a server,
 *   so `server.channels` and `stream.server` work as in production.
 * - {@linkcode connectStreams}: links two of your streams to each other.
 * - {@linkcode attachWebSocket}: upgrades a `WebSocketChannel` for an
 *   in-memory {@linkcode WebSocketPeer} that speaks frames.
 *
 * The ideas are Twisted's `StringTransport` and `Clock`, and netty's
 * `EmbeddedChannel`.
 *
 * @example Testing an echo protocol
 * ```ts
 * import { Stream } from "@pants/pants";
 * import { attach, TestEngine } from "@pants/pants/testing";
 * import assert from "node:assert/strict";
 *
 * class Echo extends Stream {
 *   override onRead(data: Uint8Array): void {
 *     this.write(data);
 *   }
 * }
 *
 * const engine = new TestEngine();
 * const peer = attach(new Echo({ engine }));
 * await peer.send("hello");
 * assert.equal(await peer.received(), "hello");
 * await peer.close();
 * assert.equal(peer.stream.closed, true);
 * ```
 *
 * @module
 */

import { drivenByHand, Engine } from "./engine/engine.ts";
import { ManualClock } from "./engine/clock.ts";
import type { Timer } from "./engine/timer.ts";
import type { Stream } from "./channels/stream.ts";
import type { Server } from "./channels/server.ts";
import { accept as acceptTransport, adopt, begin } from "./channels/_symbols.ts";
import { MemoryTransport } from "./transport/_memory_transport.ts";
import { applyMask, maskKey } from "./framing/_mask.ts";
import type { WebSocketChannel } from "./websocket/websocket_channel.ts";
import {
  closePayload,
  MAX_HEADER,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  writeHeader,
} from "./websocket/_frame.ts";
import { FrameReader } from "./websocket/_frame_reader.ts";
import { headEnd, newKey } from "./websocket/_handshake.ts";

export { ManualClock };

/** Rounds `flush()` runs before it gives up on a system that never settles. */
const MAX_FLUSH_ROUNDS = 10_000;
/** Steps `advance()` takes at most (one per due timer slot). */
const MAX_ADVANCE_STEPS = 1_000_000;

const host = globalThis as unknown as { setImmediate?: (fn: () => void) => unknown };
/** One macrotask: every promise chain of in-memory I/O settles before it runs. */
const macrotask = (): Promise<void> =>
  new Promise((resolve) => (host.setImmediate ?? ((fn) => setTimeout(fn, 0)))(() => resolve()));

/** Counts in-memory I/O as engine activity (set by `TestEngine`). */
let noteActivity: (engine: TestEngine) => void;

/** A manual clock that also tells when its earliest timer is due. */
class SteppedClock extends ManualClock {
  readonly #due = new Map<unknown, number>();

  override setTimer(callback: () => void, delayMs: number): unknown {
    let id: unknown = undefined;
    id = super.setTimer(() => {
      this.#due.delete(id);
      callback();
    }, delayMs);
    this.#due.set(id, this.now() + Math.max(0, delayMs));
    return id;
  }

  override clearTimer(handle: unknown): void {
    this.#due.delete(handle);
    super.clearTimer(handle);
  }

  /** When the earliest armed timer is due, or `Infinity`. */
  get nextTimerAt(): number {
    let next = Infinity;
    for (const at of this.#due.values()) if (at < next) next = at;
    return next;
  }
}

/**
 * Options for {@linkcode TestEngine}.
 *
 * @example Usage
 * ```ts
 * import { TestEngine } from "@pants/pants/testing";
 *
 * await using engine = new TestEngine({ start: 1000 });
 * ```
 */
export interface TestEngineOptions {
  /**
   * The virtual clock's starting time in milliseconds.
   *
   * @default {0}
   */
  start?: number;
  /**
   * How long `stop()` lets channels flush, in virtual milliseconds.
   *
   * @default {1000}
   */
  graceMs?: number;
}

/**
 * An {@linkcode Engine} for tests: on a {@linkcode ManualClock}, and never
 * running by itself. Nothing happens between your statements; you drive it:
 *
 * - `flush()`: lets in-memory I/O settle and runs engine iterations until
 *   nothing new happens (close notifications, `callback` timers, queued
 *   connects).
 * - `advance(ms)`: moves virtual time forward, stopping at each due timer
 *   so every timer fires at its own time, with a `flush()` after each.
 *
 * Do not call `start()` on it; `stop()` works and closes every channel.
 * With `await using`, the engine is stopped when the scope ends. Connect
 * streams with {@linkcode attach} or {@linkcode accept}: `connect()` and
 * `listen()` would still open real sockets once flushed.
 *
 * @example An idle timeout, tested in virtual time
 * ```ts
 * import { Stream } from "@pants/pants";
 * import { attach, TestEngine } from "@pants/pants/testing";
 * import assert from "node:assert/strict";
 *
 * class Idle extends Stream {
 *   override onConnect(): void {
 *     this.engine.defer(30_000, () => this.close());
 *   }
 * }
 *
 * const engine = new TestEngine();
 * const peer = attach(new Idle({ engine }));
 * await engine.advance(29_999);
 * assert.equal(peer.stream.closed, false);
 * await engine.advance(1);
 * assert.equal(peer.stream.closed, true);
 * ```
 */
export class TestEngine extends Engine {
  /** The virtual clock; `advance()` moves it (prefer the engine's `advance()`). */
  readonly clock: ManualClock;
  readonly #clock: SteppedClock;
  readonly #graceMs: number;
  #activity = 0;

  /**
   * Makes an engine on a fresh virtual clock.
   *
   * @param options The clock's start and the stop grace period.
   */
  constructor(options: TestEngineOptions = {}) {
    const clock = new SteppedClock(options.start ?? 0);
    const graceMs = options.graceMs ?? 1000;
    super({ clock, graceMs });
    this[drivenByHand](); // never warn at exit that it was not started
    this.#graceMs = graceMs;
    this.#clock = clock;
    this.clock = clock;
  }

  /**
   * Lets in-memory I/O settle and runs engine iterations until two rounds in
   * a row start no new work. Real I/O (files, sockets) is not waited for.
   *
   * @example Usage
   * ```ts
   * import { TestEngine } from "@pants/pants/testing";
   * import assert from "node:assert/strict";
   *
   * const engine = new TestEngine();
   * let ran = false;
   * engine.callback(() => ran = true);
   * await engine.flush();
   * assert.equal(ran, true);
   * ```
   *
   * @returns A promise resolved once the engine is quiet.
   * @throws {Error} If work keeps being queued for 10,000 rounds (e.g. a
   * `loop` timer that writes in every iteration).
   */
  async flush(): Promise<void> {
    let quiet = 0;
    for (let round = 0; round < MAX_FLUSH_ROUNDS; round++) {
      const before = this.#activity;
      await macrotask();
      await this.poll();
      quiet = this.#activity === before ? quiet + 1 : 0;
      if (quiet >= 2) return;
    }
    throw new Error(
      `TestEngine.flush() gave up after ${MAX_FLUSH_ROUNDS} rounds: work is queued in every ` +
        "iteration (a loop timer or a callback that reschedules itself?); cancel it first",
    );
  }

  /**
   * Moves virtual time forward by `ms`, stopping at each due timer slot so
   * each timer fires at its own time, and flushing after each step.
   *
   * @example Usage
   * ```ts
   * import { TestEngine } from "@pants/pants/testing";
   * import assert from "node:assert/strict";
   *
   * const engine = new TestEngine();
   * const seen: number[] = [];
   * const ticker = engine.cycle(10, () => seen.push(engine.now()));
   * await engine.advance(35);
   * ticker.cancel();
   * assert.deepEqual(seen, [10, 20, 30]);
   * ```
   *
   * @param ms How far to move, in milliseconds (finite, `>= 0`).
   * @returns A promise resolved once time reached the target and the engine is quiet.
   * @throws {RangeError} If `ms` is negative or not finite.
   */
  async advance(ms: number): Promise<void> {
    if (typeof ms !== "number" || !(ms >= 0) || ms === Infinity) {
      throw new RangeError(`Invalid advance "${ms}": pass a finite number of milliseconds >= 0`);
    }
    const clock = this.#clock;
    const end = clock.now() + ms;
    await this.flush();
    for (let step = 0; step < MAX_ADVANCE_STEPS && clock.now() < end; step++) {
      const now = clock.now();
      // poll() arms the host timer for the next due slot (or `end`) and
      // waits for it, unless work is ready (then it iterates at once).
      const polled = this.poll(end - now);
      const at = clock.nextTimerAt;
      clock.advance(at === Infinity ? Math.min(1, end - now) : Math.min(at, end) - now);
      await polled;
      await this.flush();
    }
  }

  /**
   * Stops the engine (see {@linkcode Engine.stop}); called by `await using`.
   *
   * @returns A promise resolved once every channel is closed.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    const stopped = this.stop();
    let done = false;
    stopped.then(() => done = true, () => done = true);
    // Channels that cannot flush in memory are closed after the virtual grace period.
    for (let round = 0; round <= 100 && !done; round++) {
      await macrotask();
      if (!done) this.#clock.advance(this.#graceMs / 100);
    }
    await stopped;
  }

  // Every way work enters the engine counts as activity for flush().

  /** As {@linkcode Engine.whenRunning}, counted as activity by `flush()`. @ignore */
  override whenRunning(fn: () => void): void {
    this.#activity++;
    super.whenRunning(fn);
  }

  /** As {@linkcode Engine.queueClose}, counted as activity by `flush()`. @ignore */
  override queueClose(fn: () => void): void {
    this.#activity++;
    super.queueClose(fn);
  }

  /** As {@linkcode Engine.callback}, counted as activity by `flush()`. @ignore */
  override callback<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Timer {
    this.#activity++;
    return super.callback(fn, ...args);
  }

  /** As {@linkcode Engine.loop}, counted as activity by `flush()`. @ignore */
  override loop<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Timer {
    this.#activity++;
    return super.loop(fn, ...args);
  }

  /** As {@linkcode Engine.defer}, counted as activity by `flush()`. @ignore */
  override defer<A extends unknown[]>(
    ms: number,
    fn: (...args: A) => unknown,
    ...args: A
  ): Timer {
    this.#activity++;
    return super.defer(ms, fn, ...args);
  }

  /** As {@linkcode Engine.cycle}, counted as activity by `flush()`. @ignore */
  override cycle<A extends unknown[]>(
    ms: number,
    fn: (...args: A) => unknown,
    ...args: A
  ): Timer {
    this.#activity++;
    return super.cycle(ms, fn, ...args);
  }

  static {
    noteActivity = (engine) => engine.#activity++;
  }
}

/** A memory transport whose every operation counts as engine activity. */
class TracedTransport extends MemoryTransport {
  readonly #engine: TestEngine;

  constructor(local: Deno.Addr, remote: Deno.Addr, engine: TestEngine) {
    super(local, remote);
    this.#engine = engine;
  }

  override read(buffer: Uint8Array): Promise<number | null> {
    noteActivity(this.#engine);
    return super.read(buffer);
  }

  override write(data: Uint8Array): Promise<number> {
    noteActivity(this.#engine);
    return super.write(data);
  }

  override closeWrite(): Promise<void> {
    noteActivity(this.#engine);
    return super.closeWrite();
  }

  override close(): void {
    noteActivity(this.#engine);
    super.close();
  }
}

/**
 * Options for {@linkcode attach} and {@linkcode accept}.
 *
 * @example Usage
 * ```ts
 * import { Stream } from "@pants/pants";
 * import { attach, TestEngine } from "@pants/pants/testing";
 *
 * await using engine = new TestEngine();
 * const peer = attach(new Stream({ engine }), {
 *   remoteAddress: { transport: "tcp", hostname: "192.0.2.7", port: 5000 },
 * });
 * ```
 */
export interface AttachOptions {
  /**
   * The stream's `remoteAddress` (the peer's address).
   *
   * @default {a 127.0.0.1 address with a port unique to this peer}
   */
  remoteAddress?: Deno.Addr;
  /**
   * The stream's `localAddress`.
   *
   * @default {{ transport: "tcp", hostname: "127.0.0.1", port: 4040 }}
   */
  localAddress?: Deno.Addr;
}

let nextPeerPort = 50_000;

function testEngineOf(stream: Stream, caller: string): TestEngine {
  const engine = stream.engine;
  if (!(engine instanceof TestEngine)) {
    throw new TypeError(
      `${caller} needs a stream on a TestEngine: create it with { engine } where ` +
        "engine = new TestEngine() (for a server, pass { engine } to the server)",
    );
  }
  return engine;
}

function checkFresh(stream: Stream, caller: string): void {
  if (stream.connected || stream.connecting || stream.closed) {
    throw new TypeError(`${caller} needs a new stream, not one already connected or closed`);
  }
}

function transportPair(
  engine: TestEngine,
  options: AttachOptions,
): [stream: MemoryTransport, peer: MemoryTransport] {
  const remote = options.remoteAddress ??
    { transport: "tcp", hostname: "127.0.0.1", port: nextPeerPort++ };
  const local = options.localAddress ?? { transport: "tcp", hostname: "127.0.0.1", port: 4040 };
  const streamEnd = new TracedTransport(local, remote, engine);
  const peerEnd = new TracedTransport(remote, local, engine);
  MemoryTransport.link(streamEnd, peerEnd);
  return [streamEnd, peerEnd];
}

/**
 * The remote side of a stream under test: what you `send()` is what the
 * stream reads; `received()` returns what the stream wrote. Every method
 * flushes the engine before it returns, so callbacks have run by then.
 *
 * @example Usage
 * ```ts
 * import { Stream } from "@pants/pants";
 * import { attach, TestEngine } from "@pants/pants/testing";
 * import assert from "node:assert/strict";
 *
 * class Upper extends Stream {
 *   override onConnect(): void {
 *     this.readDelimiter = "\n";
 *     this.encoding = "utf-8";
 *   }
 *   override onRead(line: string): void {
 *     this.write(line.toUpperCase() + "\n");
 *   }
 * }
 *
 * const peer = attach(new Upper({ engine: new TestEngine() }));
 * await peer.send("a\nb");
 * assert.equal(await peer.received(), "A\n");
 * await peer.send("c\n");
 * assert.equal(await peer.received(), "BC\n");
 * ```
 */
export class Peer<S extends Stream = Stream> {
  /** The stream under test. */
  readonly stream: S;
  readonly #transport: MemoryTransport;
  readonly #engine: TestEngine;
  readonly #decoder = new TextDecoder();

  /**
   * Made by {@linkcode attach} and {@linkcode accept}.
   *
   * @param stream The stream under test.
   * @param transport The peer's end of the in-memory connection.
   * @param engine The stream's engine.
   */
  constructor(stream: S, transport: MemoryTransport, engine: TestEngine) {
    this.stream = stream;
    this.#transport = transport;
    this.#engine = engine;
  }

  /**
   * Whether the stream closed (or half-closed) its side and everything it
   * wrote before that was taken with `received()`.
   *
   * @returns `true` once the stream's side has ended.
   */
  get ended(): boolean {
    return this.#transport.ended;
  }

  /**
   * Sends bytes (a string is sent as UTF-8) to the stream, as one chunk, then
   * flushes the engine.
   *
   * @param data What the peer sends.
   * @returns A promise resolved once the stream's callbacks ran.
   * @throws {Deno.errors.BrokenPipe} If either side is closed.
   */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await this.#transport.write(bytes);
    await this.#engine.flush();
  }

  /**
   * Flushes the engine, then takes everything the stream wrote since the
   * last call, decoded as UTF-8.
   *
   * @returns The text received; `""` if nothing.
   */
  async received(): Promise<string> {
    return this.#decoder.decode(await this.receivedBytes());
  }

  /**
   * Flushes the engine, then takes everything the stream wrote since the
   * last call.
   *
   * @returns The bytes received (empty if nothing).
   */
  async receivedBytes(): Promise<Uint8Array> {
    await this.#engine.flush();
    const transport = this.#transport;
    const out = new Uint8Array(transport.pendingBytes);
    let at = 0;
    while (at < out.length) {
      const n = await transport.read(out.subarray(at));
      if (n === null) break;
      at += n;
    }
    return out.subarray(0, at);
  }

  /**
   * Half-closes the peer's side (like `conn.closeWrite()`): the stream's
   * `onEnd()` runs after its last frame, and it may still write.
   *
   * @returns A promise resolved once the stream's callbacks ran.
   */
  async end(): Promise<void> {
    await this.#transport.closeWrite();
    await this.#engine.flush();
  }

  /**
   * Closes the peer's side: the stream reads end of input (`onEnd()`, whose
   * default closes the stream), then `onClose()` runs. Idempotent.
   *
   * @returns A promise resolved once the stream's callbacks ran.
   */
  async close(): Promise<void> {
    if (!this.#transport.closed) this.#transport.close();
    await this.#engine.flush();
  }
}

/**
 * Connects a new stream to an in-memory peer, as if `connect()` had
 * succeeded: `onConnect()` runs at once and reading starts.
 *
 * @example Usage
 * ```ts
 * import { Stream } from "@pants/pants";
 * import { attach, TestEngine } from "@pants/pants/testing";
 * import assert from "node:assert/strict";
 *
 * class Hello extends Stream {
 *   override onConnect(): void {
 *     this.write("hello\r\n");
 *   }
 * }
 * const peer = attach(new Hello({ engine: new TestEngine() }));
 * assert.equal(await peer.received(), "hello\r\n");
 * ```
 *
 * @param stream A new stream made with `{ engine }` of a {@linkcode TestEngine}.
 * @param options The addresses the stream sees.
 * @returns The peer.
 * @throws {TypeError} If the stream is not on a `TestEngine` or was already connected.
 */
export function attach<S extends Stream>(stream: S, options: AttachOptions = {}): Peer<S> {
  const engine = testEngineOf(stream, "attach()");
  checkFresh(stream, "attach()");
  const [local, peer] = transportPair(engine, options);
  stream[adopt](local, null);
  stream[begin]();
  return new Peer(stream, peer, engine);
}

/**
 * Hands the server a new in-memory connection, as if it had accepted one:
 * a `ConnectionClass` instance joins `server.channels`, `onAccept()` then
 * its `onConnect()` run, and the server's `timeout` and `frameTimeout`
 * apply. The server need not listen. Not applied: `maxConnections`,
 * `maxConnectionsPerAddress` and TLS.
 *
 * @example Usage
 * ```ts
 * import { Server, Stream } from "@pants/pants";
 * import { accept, TestEngine } from "@pants/pants/testing";
 * import assert from "node:assert/strict";
 *
 * class Greeter extends Stream {
 *   override onConnect(): void {
 *     this.write(`welcome, you are one of ${this.server!.channels.size}\n`);
 *   }
 * }
 * const server = new Server({ ConnectionClass: Greeter, engine: new TestEngine() });
 * await accept(server).received();
 * assert.equal(await accept(server).received(), "welcome, you are one of 2\n");
 * ```
 *
 * @param server A server made with `{ engine }` of a {@linkcode TestEngine}.
 * @param options The addresses the stream sees.
 * @returns The peer; `peer.stream` is the new connection.
 * @throws {TypeError} If the server is not on a `TestEngine`.
 */
export function accept<S extends Stream>(server: Server<S>, options: AttachOptions = {}): Peer<S> {
  if (!(server.engine instanceof TestEngine)) {
    throw new TypeError(
      "accept() needs a server on a TestEngine: create it with { engine } where " +
        "engine = new TestEngine()",
    );
  }
  const engine = server.engine;
  const [local, peer] = transportPair(engine, options);
  const stream = server[acceptTransport](local);
  if (stream === null) {
    throw new RangeError("accept(): the server refused the connection (a connection limit)");
  }
  return new Peer(stream, peer, engine);
}

/**
 * Connects two new streams to each other in memory (both on the same
 * {@linkcode TestEngine}); both `onConnect()`s run, `a`'s first.
 *
 * @example A client against a server class
 * ```ts
 * import { Stream } from "@pants/pants";
 * import { connectStreams, TestEngine } from "@pants/pants/testing";
 * import assert from "node:assert/strict";
 *
 * class Echo extends Stream {
 *   override onRead(data: Uint8Array): void {
 *     this.write(data);
 *   }
 * }
 * class Client extends Stream {
 *   reply = "";
 *   override onConnect(): void {
 *     this.encoding = "utf-8";
 *     this.write("ping");
 *   }
 *   override onRead(data: string): void {
 *     this.reply += data;
 *   }
 * }
 * const engine = new TestEngine();
 * const client = new Client({ engine });
 * connectStreams(client, new Echo({ engine }));
 * await engine.flush();
 * assert.equal(client.reply, "ping");
 * ```
 *
 * @param a One stream (its `remoteAddress` is `b`'s `localAddress`).
 * @param b The other.
 * @throws {TypeError} If a stream is not on a `TestEngine`, they are on
 * different engines, or one was already connected.
 */
export function connectStreams(a: Stream, b: Stream): void {
  const engine = testEngineOf(a, "connectStreams()");
  if (b.engine !== engine) {
    throw new TypeError("connectStreams() needs both streams on the same TestEngine");
  }
  checkFresh(a, "connectStreams()");
  checkFresh(b, "connectStreams()");
  const [left, right] = transportPair(engine, {});
  a[adopt](left, null);
  b[adopt](right, null);
  a[begin]();
  b[begin]();
}

/**
 * Options for {@linkcode attachWebSocket}.
 *
 * @example Usage
 * ```ts
 * import type { AttachWebSocketOptions } from "@pants/pants/testing";
 *
 * const options: AttachWebSocketOptions = { path: "/chat?room=1", protocols: ["chat.v1"] };
 * ```
 */
export interface AttachWebSocketOptions extends AttachOptions {
  /**
   * The upgrade request's path and query.
   *
   * @default {"/"}
   */
  path?: string;
  /**
   * Subprotocols the peer offers.
   *
   * @default {[]}
   */
  protocols?: string[];
  /**
   * More request header fields (e.g. `Origin`).
   *
   * @default {{}}
   */
  headers?: Record<string, string>;
}

/** The masking key every frame of a {@linkcode WebSocketPeer} uses (any key will do). */
const PEER_KEY = new Uint8Array([0x5a, 0x13, 0xc4, 0x7e]);

/**
 * The browser side of a `WebSocketChannel` under test, in memory: it sent
 * the upgrade request (`response` holds the answer's head), `send()`s
 * masked messages, and decodes what the channel sends with `messages()`.
 * Made by {@linkcode attachWebSocket}; `peer` is the byte-level
 * {@linkcode Peer} underneath, for frames a browser would never send.
 *
 * @example Usage
 * ```ts
 * import { WebSocketChannel } from "@pants/pants";
 * import { attachWebSocket, TestEngine } from "@pants/pants/testing";
 * import assert from "node:assert/strict";
 *
 * class Shout extends WebSocketChannel {
 *   override onRead(message: string): void {
 *     this.write(message.toUpperCase());
 *   }
 * }
 * const ws = await attachWebSocket(new Shout({ engine: new TestEngine() }));
 * await ws.send("hi");
 * assert.deepEqual(await ws.messages(), ["HI"]);
 * ```
 */
export class WebSocketPeer<S extends WebSocketChannel = WebSocketChannel> {
  /** The byte-level peer. */
  readonly peer: Peer<S>;
  /** The head of the channel's answer to the upgrade (`HTTP/1.1 101 …`, or an error status). */
  readonly response: string;
  /** The close frame the channel sent (`code` 1005 when it had none), or `null`. */
  closeFrame: { code: number; reason: string } | null = null;
  /** Payloads of the pongs received. */
  readonly pongs: Uint8Array[] = [];
  readonly #frames = new FrameReader(false);
  readonly #decoder = new TextDecoder();
  #parts: Uint8Array[] = [];

  /**
   * Made by {@linkcode attachWebSocket}.
   *
   * @param peer The byte-level peer.
   * @param response The upgrade answer's head.
   * @param rest Bytes that followed the head.
   */
  constructor(peer: Peer<S>, response: string, rest: Uint8Array) {
    this.peer = peer;
    this.response = response;
    this.#frames.begin(rest);
    this.#frames.end();
  }

  /** The channel under test. */
  get channel(): S {
    return this.peer.stream;
  }

  /**
   * Sends one message as a masked frame, or as `fragments` frames.
   *
   * @param message Text (a string) or binary.
   * @param fragments How many frames to cut it into.
   * @returns A promise resolved once the channel's callbacks ran.
   */
  send(message: string | Uint8Array, fragments = 1): Promise<void> {
    const bytes = typeof message === "string" ? new TextEncoder().encode(message) : message;
    const step = Math.ceil(bytes.length / fragments) || 1;
    const frames: Uint8Array[] = [];
    for (let at = 0, first = true; first || at < bytes.length; at += step, first = false) {
      const last = at + step >= bytes.length;
      const opcode = first ? (typeof message === "string" ? OP_TEXT : OP_BINARY) : 0;
      frames.push(maskedFrame(opcode, bytes.subarray(at, at + step), last));
    }
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const frame of frames) all.set(frame, at), at += frame.length;
    return this.peer.send(all);
  }

  /**
   * Sends a ping; the channel's pong lands in `pongs` at the next `messages()`.
   *
   * @param payload At most 125 bytes.
   * @returns A promise resolved once the channel's callbacks ran.
   */
  ping(payload: string | Uint8Array = ""): Promise<void> {
    const bytes = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
    return this.peer.send(maskedFrame(OP_PING, bytes, true));
  }

  /**
   * Sends a close frame.
   *
   * @param code The status code.
   * @param reason The reason.
   * @returns A promise resolved once the channel's callbacks ran.
   */
  close(code = 1000, reason = ""): Promise<void> {
    return this.peer.send(maskedFrame(OP_CLOSE, closePayload(code, reason), true));
  }

  /**
   * Flushes the engine, then decodes what the channel sent since the last
   * call: its messages (text as `string`, binary as `Uint8Array`); pongs go
   * to `pongs`, a close frame to `closeFrame`.
   *
   * @returns The messages.
   */
  async messages(): Promise<(string | Uint8Array)[]> {
    const frames = this.#frames;
    frames.begin(await this.peer.receivedBytes());
    const out: (string | Uint8Array)[] = [];
    while (frames.next(Infinity)) {
      const payload = frames.payload.slice();
      if (frames.opcode === OP_PONG) this.pongs.push(payload);
      else if (frames.opcode === OP_CLOSE) {
        this.closeFrame = {
          code: payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : 1005,
          reason: this.#decoder.decode(payload.subarray(2)),
        };
      } else if (frames.opcode <= OP_BINARY) {
        this.#parts.push(payload);
        if (!frames.fin) continue;
        const whole = new Uint8Array(this.#parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const part of this.#parts) whole.set(part, at), at += part.length;
        this.#parts = [];
        out.push(frames.messageType === OP_TEXT ? this.#decoder.decode(whole) : whole);
      }
    }
    frames.end();
    if (frames.failure !== 0) {
      throw new Error(`The channel sent a bad frame: ${frames.failureReason}`);
    }
    return out;
  }
}

function maskedFrame(opcode: number, payload: Uint8Array, fin: boolean): Uint8Array {
  const out = new Uint8Array(MAX_HEADER + payload.length);
  const at = writeHeader(out, opcode, payload.length, PEER_KEY);
  if (!fin) out[0] = out[0]! & 0x7f;
  out.set(payload, at);
  applyMask(out.subarray(at, at + payload.length), maskKey(PEER_KEY));
  return out.subarray(0, at + payload.length);
}

/**
 * Connects a `WebSocketChannel` to an in-memory browser-like peer and
 * performs the upgrade: the channel's `onHandshake()` and `onConnect()` run
 * as they would for a `WebSocketServer`'s connection (an `Origin` or
 * protocols come from `options`). A refused upgrade is in `response`.
 *
 * @example Usage
 * ```ts
 * import { WebSocketChannel } from "@pants/pants";
 * import { attachWebSocket, TestEngine } from "@pants/pants/testing";
 * import assert from "node:assert/strict";
 *
 * class Greeter extends WebSocketChannel {
 *   override onConnect(): void {
 *     this.write(`hello ${new URL(this.request!.url).searchParams.get("name")}`);
 *   }
 * }
 * const ws = await attachWebSocket(new Greeter({ engine: new TestEngine() }), { path: "/?name=ada" });
 * assert.match(ws.response, /^HTTP\/1\.1 101 /);
 * assert.deepEqual(await ws.messages(), ["hello ada"]);
 * ```
 *
 * @param channel A new channel on a `TestEngine`.
 * @param options The request's path, subprotocols and headers; as for `attach`.
 * @returns The peer, once the channel answered the upgrade.
 * @throws {TypeError} If the channel is not on a `TestEngine` or was already connected.
 */
export async function attachWebSocket<S extends WebSocketChannel>(
  channel: S,
  options: AttachWebSocketOptions = {},
): Promise<WebSocketPeer<S>> {
  const peer = attach(channel, options);
  let head = `GET ${options.path ?? "/"} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${newKey()}\r\nSec-WebSocket-Version: 13\r\n`;
  if (options.protocols?.length) {
    head += `Sec-WebSocket-Protocol: ${options.protocols.join(", ")}\r\n`;
  }
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    head += `${name}: ${value}\r\n`;
  }
  await peer.send(head + "\r\n");
  const bytes = await peer.receivedBytes();
  const end = headEnd(bytes, 0);
  const text = new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end - 4));
  return new WebSocketPeer(peer, text, end < 0 ? new Uint8Array(0) : bytes.subarray(end));
}
