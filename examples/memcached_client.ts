/**
 * A memcached client speaking its text protocol: reply lines
 * (`STORED`, `END`, `VALUE key flags bytes`), and after each `VALUE` header
 * a block of exactly `bytes + 2` bytes (`readDelimiter = bytes + 2`), then
 * lines again.
 *
 *     deno run --allow-net=127.0.0.1:11211 examples/memcached_client.ts [port] [hostname]
 *
 * Run against a local server (`memcached -l 127.0.0.1 -p 11211 -U 0`), it
 * stores, reads, counts and deletes a few keys and prints the results. The
 * class is exported for `tests/memcached_client_test.ts`.
 *
 * Requests may be made at once: Pants queues writes made before the
 * connection is up. Connected with `{ reconnect }`, the client survives a
 * server restart: requests whose replies the lost connection took with it
 * are rejected, and later ones go to the next connection.
 *
 * @module
 */
import { type ChannelOptions, engine, Stream, type StreamConnectError } from "../mod.ts";

/** A stored value and the flags stored with it. */
export interface MemcachedItem {
  /** The bytes stored (a copy). */
  value: Uint8Array;
  /** The 32-bit flags given to `set`. */
  flags: number;
}

/** Options for `set`. */
export interface SetOptions {
  /** Opaque 32-bit flags kept with the value (default 0). */
  flags?: number;
  /** Expiry in seconds; 0 (the default) never expires. */
  ttl?: number;
}

/** An `ERROR`, `CLIENT_ERROR …` or `SERVER_ERROR …` reply. */
export class MemcachedError extends Error {
  override name = "MemcachedError";
}

const CRLF = "\r\n";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Kind = "store" | "retrieve" | "delete" | "arith";

interface Pending {
  kind: Kind;
  items: Map<string, MemcachedItem>;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** The `VALUE` header whose data block is being read. */
interface Header {
  key: string;
  flags: number;
  bytes: number;
}

function checkKey(key: string): string {
  const bytes = encoder.encode(key);
  if (bytes.length === 0 || bytes.length > 250 || bytes.some((b) => b <= 0x20 || b === 0x7f)) {
    throw new TypeError(
      `Invalid memcached key "${key}": use 1 to 250 bytes without spaces or control characters`,
    );
  }
  return key;
}

/**
 * A memcached connection. Calls may be made at once, before the connection
 * is up; requests are pipelined and answered in order.
 */
export class MemcachedClient extends Stream {
  #pending: Pending[] = [];
  #header: Header | null = null;

  constructor(options?: ChannelOptions) {
    super(options);
    this.readDelimiter = CRLF;
  }

  /**
   * Stores a value.
   *
   * @param key The key.
   * @param value The value (a string is stored as UTF-8).
   * @param options Flags and expiry.
   * @returns `true` once stored.
   */
  set(key: string, value: string | Uint8Array, options: SetOptions = {}): Promise<boolean> {
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    const header = `set ${checkKey(key)} ${options.flags ?? 0} ${options.ttl ?? 0} ${bytes.length}`;
    return this.#request("store", [encoder.encode(header + CRLF), bytes, encoder.encode(CRLF)]);
  }

  /**
   * Reads one key.
   *
   * @param key The key.
   * @returns The item, or `null` if the key is not stored.
   */
  get(key: string): Promise<MemcachedItem | null> {
    return this.getMany([key]).then((items) => items.get(key) ?? null);
  }

  /**
   * Reads several keys in one request.
   *
   * @param keys The keys.
   * @returns The items found, by key.
   */
  getMany(keys: readonly string[]): Promise<Map<string, MemcachedItem>> {
    const line = `get ${keys.map(checkKey).join(" ")}${CRLF}`;
    return this.#request("retrieve", [encoder.encode(line)]);
  }

  /**
   * Deletes a key.
   *
   * @param key The key.
   * @returns `true` if it was stored, `false` if not found.
   */
  delete(key: string): Promise<boolean> {
    return this.#request("delete", [encoder.encode(`delete ${checkKey(key)}${CRLF}`)]);
  }

  /**
   * Adds to a counter (a stored decimal number).
   *
   * @param key The key.
   * @param by The amount, a non-negative integer.
   * @returns The new value, or `null` if the key is not stored.
   */
  incr(key: string, by = 1): Promise<number | null> {
    return this.#request("arith", [encoder.encode(`incr ${checkKey(key)} ${by}${CRLF}`)]);
  }

  #request<T>(kind: Kind, parts: Uint8Array[]): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    if (this.closed) {
      reject(new Error("The memcached connection is closed"));
      return promise;
    }
    this.#pending.push({
      kind,
      items: new Map(),
      resolve: resolve as (v: unknown) => void,
      reject,
    });
    for (const part of parts) this.write(part);
    return promise;
  }

  /** A lost connection took the replies still due with it: reject those requests. */
  override onReconnecting(_attempt: number, _delay: number, error: Error | null): void {
    if (error !== null) return; // a failed attempt: queued requests wait for the next
    this.#fail(new Error("The memcached connection was lost before the reply"));
    this.#header = null;
    this.readDelimiter = CRLF;
  }

  override onRead(frame: Uint8Array): void {
    const request = this.#pending[0];
    if (request === undefined) return this.#protocolError(frame);
    const header = this.#header;
    if (header !== null) {
      // The data block after a VALUE header (its CRLF included): back to lines.
      request.items.set(header.key, {
        value: frame.slice(0, header.bytes),
        flags: header.flags,
      });
      this.#header = null;
      this.readDelimiter = CRLF;
      return;
    }
    const line = decoder.decode(frame);
    if (line === "ERROR" || line.startsWith("CLIENT_ERROR ") || line.startsWith("SERVER_ERROR ")) {
      this.#pending.shift();
      return request.reject(new MemcachedError(line));
    }
    switch (request.kind) {
      case "retrieve": {
        if (line === "END") break;
        const [word, key, flags, bytes] = line.split(" ");
        if (word !== "VALUE" || key === undefined || bytes === undefined) {
          return this.#protocolError(frame);
        }
        this.#header = { key, flags: Number(flags), bytes: Number(bytes) };
        this.readDelimiter = Number(bytes) + 2;
        return;
      }
      case "store":
        if (line !== "STORED" && line !== "NOT_STORED") return this.#protocolError(frame);
        break;
      case "delete":
        if (line !== "DELETED" && line !== "NOT_FOUND") return this.#protocolError(frame);
        break;
      case "arith":
        if (line !== "NOT_FOUND" && !/^\d+$/.test(line)) return this.#protocolError(frame);
        break;
    }
    this.#pending.shift();
    if (request.kind === "retrieve") request.resolve(request.items);
    else if (request.kind === "arith") request.resolve(line === "NOT_FOUND" ? null : Number(line));
    else request.resolve(line === "STORED" || line === "DELETED");
  }

  #protocolError(frame: Uint8Array): void {
    this.#fail(new MemcachedError(`Unexpected memcached reply "${decoder.decode(frame)}"`));
    this.close({ flush: false });
  }

  #fail(error: Error): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const { reject } of pending) reject(error);
  }

  override onConnectError(error: StreamConnectError): void {
    this.#fail(error);
    this.close({ flush: false });
  }

  override onClose(): void {
    this.#fail(new Error("The memcached connection closed before the reply"));
  }
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? 11211);
  const hostname = Deno.args[1] ?? "127.0.0.1";
  const cache = new MemcachedClient().connect([hostname, port]);
  const demo = async () => {
    console.log("set:", await cache.set("pants:greeting", "hello\r\nworld", { flags: 7 }));
    const item = await cache.get("pants:greeting");
    console.log("get:", JSON.stringify(decoder.decode(item!.value)), "flags", item!.flags);
    await cache.set("pants:counter", "41");
    console.log("incr:", await cache.incr("pants:counter"));
    console.log("missing:", await cache.get("pants:missing"));
    console.log("delete:", await cache.delete("pants:greeting"));
  };
  demo().catch((error) => console.error(`memcached: ${error.message}`)).finally(() =>
    cache.close()
  );
  await engine.start();
}
