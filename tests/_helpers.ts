/**
 * Shared test helpers: engines that start and stop around a test, waiting
 * for conditions, and raw socket peers. Streams under test without sockets
 * use the public harness, `testing.ts` (`attach`, `accept`, `TestEngine`).
 *
 * @module
 */

import { Engine, type Server, type Stream } from "../mod.ts";

/** Waits until `condition()` is true, polling; fails after `timeoutMs`. */
export async function until(
  condition: () => boolean,
  what = "condition",
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Runs `body` with a fresh started engine, and stops it afterwards. */
export async function withEngine(body: (engine: Engine) => Promise<void> | void): Promise<void> {
  const engine = new Engine({ graceMs: 1000 });
  const running = engine.start();
  try {
    await body(engine);
  } finally {
    await engine.stop();
    await running;
  }
}

/** Waits for a server to listen and returns its address. */
export async function listening(server: Server<Stream>): Promise<Deno.Addr> {
  await until(() => server.listening || server.closed, "the server to listen");
  if (!server.listening) throw new Error("The server closed instead of listening");
  return server.address!;
}

/** Connects a raw Deno socket to a server's address (loopback). */
export function connectTo(address: Deno.Addr): Promise<Deno.Conn> {
  if (address.transport === "unix") return Deno.connect({ transport: "unix", path: address.path });
  const net = address as Deno.NetAddr;
  const hostname = net.hostname === "::"
    ? "::1"
    : net.hostname === "0.0.0.0"
    ? "127.0.0.1"
    : net.hostname;
  return Deno.connect({ hostname, port: net.port });
}

/** Reads exactly `n` bytes from a connection. */
export async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const read = await conn.read(out.subarray(got));
    if (read === null) throw new Error(`EOF after ${got} of ${n} bytes`);
    got += read;
  }
  return out;
}

/** Reads until EOF. */
export async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    parts.push(buffer.slice(0, n));
  }
  return concat(parts);
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed of a seeded test: `--seed=N` after `--` on the command line, else
 * the environment variable `env` (when readable), else `fallback`.
 */
export function testSeed(fallback: number, env = "FRAMING_SEED"): number {
  let text = Deno.args.find((a) => a.startsWith("--seed="))?.slice("--seed=".length);
  if (
    text === undefined &&
    Deno.permissions.querySync({ name: "env", variable: env }).state === "granted"
  ) {
    text = Deno.env.get(env);
  }
  if (text === undefined || text === "") return fallback;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) {
    throw new TypeError(`The seed must be an integer, got "${text}"`);
  }
  return seed >>> 0;
}

/** mulberry32: small, fast, good enough for test data. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed | 0;
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.next() / 2 ** 32) * n);
  }
  /** An integer in [low, high]. */
  range(low: number, high: number): number {
    return low + this.int(high - low + 1);
  }
  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** Random bytes from a PRNG. */
export function randomBytes(random: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (random() * 256) | 0;
  return out;
}

/** UTF-8 encodes a string. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
/** UTF-8 decodes bytes. */
export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
