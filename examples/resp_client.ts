/**
 * A Redis client speaking RESP2, the Redis protocol: line framing for the
 * reply headers (`+OK`, `-ERR …`, `:42`, `$5`, `*2`), then a byte count
 * for each bulk string (`readDelimiter = length + 2`), then lines again.
 *
 *     deno run --allow-net=127.0.0.1:6379 examples/resp_client.ts [port] [hostname]
 *
 * Run against a local server (`redis-server --port 6379 --bind 127.0.0.1
 * --save "" --appendonly no`), it sets, reads and lists a few keys and
 * prints the replies. The classes are exported for `tests/resp_client_test.ts`.
 *
 * Commands may be sent at once: Pants queues writes made before the
 * connection is up. Connected with `{ reconnect }`, the client survives a
 * server restart: commands whose replies the lost connection took with it
 * are rejected, and later ones go to the next connection.
 *
 * @module
 */
import { type ChannelOptions, engine, Stream, type StreamConnectError } from "../mod.ts";

/** A reply: simple and bulk strings, integers, nil, and arrays of replies. */
export type RespValue = string | Uint8Array | number | bigint | null | RespError | RespValue[];

/** An argument of a command. */
export type RespArg = string | number | Uint8Array;

/** An error reply (`-ERR unknown command`): the promise of its command rejects with it. */
export class RespError extends Error {
  override name = "RespError";
}

const CRLF = "\r\n";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Pending {
  resolve(value: RespValue): void;
  reject(error: Error): void;
}

/** An array reply being read: its items so far and how many are missing. */
interface OpenArray {
  items: RespValue[];
  remaining: number;
}

/**
 * A Redis connection. `command()` may be called at once, before the
 * connection is up; replies come back in order (commands are pipelined).
 */
export class RespClient extends Stream {
  /** Bulk strings as `Uint8Array` copies instead of UTF-8 decoded strings. */
  binary = false;
  #pending: Pending[] = [];
  #open: OpenArray[] = [];
  #bulkLength = -1;
  /** The channels `subscribe()` joined: joined again on every connection. */
  readonly #channels = new Set<string>();
  /** How many of them Redis confirmed on this connection. */
  #joined = 0;
  #lost = false;

  constructor(options?: ChannelOptions) {
    super(options);
    this.readDelimiter = CRLF;
  }

  /**
   * Sends a command.
   *
   * @param args The command and its arguments, e.g. `"SET", "key", "value"`.
   * @returns The reply; rejects with a `RespError` for an error reply.
   */
  command(...args: RespArg[]): Promise<RespValue> {
    const { promise, resolve, reject } = Promise.withResolvers<RespValue>();
    if (this.closed) {
      reject(new Error("The Redis connection is closed"));
      return promise;
    }
    this.#pending.push({ resolve, reject });
    const parts: Uint8Array[] = [encoder.encode(`*${args.length}${CRLF}`)];
    for (const arg of args) {
      const bytes = arg instanceof Uint8Array ? arg : encoder.encode(String(arg));
      parts.push(encoder.encode(`$${bytes.length}${CRLF}`), bytes, encoder.encode(CRLF));
    }
    for (const part of parts) this.write(part);
    return promise;
  }

  /**
   * Joins pub/sub channels: each message published to one reaches
   * `onMessage()`. The connection then serves only (un)subscriptions and
   * `PING` (Redis' rule): use another client for other commands. After a
   * reconnect the channels are joined again; messages published meanwhile
   * are lost (Redis keeps none).
   *
   * @param channels The channels.
   * @returns The subscription count once Redis confirmed the last one.
   */
  async subscribe(...channels: string[]): Promise<number> {
    for (const channel of channels) this.#channels.add(channel);
    let count = 0;
    for (const channel of channels) count = await this.#join(channel);
    return count;
  }

  /** Whether every channel `subscribe()` named is joined on the current connection. */
  get subscribed(): boolean {
    return this.#channels.size > 0 && this.#joined === this.#channels.size;
  }

  async #join(channel: string): Promise<number> {
    const count = (await this.command("SUBSCRIBE", channel) as RespValue[])[2] as number;
    this.#joined = count;
    return count;
  }

  /**
   * Called with each message of a channel joined with `subscribe()`.
   *
   * @param _channel The channel.
   * @param _message The message.
   */
  onMessage(_channel: string, _message: string | Uint8Array): void {}

  override onConnect(): void {
    if (!this.#lost) return;
    this.#lost = false;
    for (const channel of this.#channels) this.#join(channel).catch(() => {});
  }

  /** A lost connection took the replies still due with it: reject those commands. */
  override onReconnecting(_attempt: number, _delay: number, error: Error | null): void {
    if (error !== null) return; // a failed attempt: queued commands wait for the next
    this.#lost = true;
    this.#joined = 0;
    this.#fail(new Error("The Redis connection was lost before the reply"));
    this.#open = [];
    this.#bulkLength = -1;
    this.readDelimiter = CRLF;
  }

  override onRead(frame: Uint8Array): void {
    if (this.#bulkLength >= 0) {
      // A bulk string's bytes, then its CRLF: back to reading lines.
      const data = frame.subarray(0, this.#bulkLength);
      this.#bulkLength = -1;
      this.readDelimiter = CRLF;
      this.#value(this.binary ? data.slice() : decoder.decode(data));
      return;
    }
    const rest = decoder.decode(frame.subarray(1));
    switch (frame[0]) {
      case 0x2b: // '+' simple string
        return this.#value(rest);
      case 0x2d: // '-' error
        return this.#value(new RespError(rest));
      case 0x3a: { // ':' integer
        const n = Number(rest);
        return this.#value(Number.isSafeInteger(n) ? n : BigInt(rest));
      }
      case 0x24: { // '$' bulk string: its length, or -1 for nil
        const length = Number(rest);
        if (length < 0) return this.#value(null);
        this.#bulkLength = length;
        this.readDelimiter = length + 2;
        return;
      }
      case 0x2a: { // '*' array: its length, or -1 for nil
        const count = Number(rest);
        if (count < 0) return this.#value(null);
        if (count === 0) return this.#value([]);
        this.#open.push({ items: [], remaining: count });
        return;
      }
      default:
        this.#fail(new Error(`Unexpected RESP reply "${decoder.decode(frame)}"`));
        this.close({ flush: false });
    }
  }

  /** A complete value: it fills the innermost open array, or answers a command. */
  #value(value: RespValue): void {
    for (;;) {
      const array = this.#open.at(-1);
      if (array === undefined) break;
      array.items.push(value);
      if (--array.remaining > 0) return;
      this.#open.pop();
      value = array.items;
    }
    if (this.#channels.size > 0 && Array.isArray(value) && value[0] === "message") {
      return this.onMessage(value[1] as string, value[2] as string | Uint8Array);
    }
    const pending = this.#pending.shift();
    if (pending === undefined) return;
    if (value instanceof RespError) pending.reject(value);
    else pending.resolve(value);
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
    this.#fail(new Error("The Redis connection closed before the reply"));
  }
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? 6379);
  const hostname = Deno.args[1] ?? "127.0.0.1";
  const redis = new RespClient().connect([hostname, port]);
  const show = (value: RespValue) => console.log(JSON.stringify(value));
  const demo = async () => {
    show(await redis.command("SET", "pants:greeting", "hello\r\nworld"));
    show(await redis.command("GET", "pants:greeting"));
    show(await redis.command("INCR", "pants:counter"));
    await redis.command("DEL", "pants:list");
    show(await redis.command("RPUSH", "pants:list", "a", "b", "c"));
    show(await redis.command("LRANGE", "pants:list", 0, -1));
    show(await redis.command("GET", "pants:missing"));
    await redis.command("NO-SUCH-COMMAND").catch((error: RespError) => console.log(error.message));
  };
  demo().catch((error) => console.error(`Redis: ${error.message}`)).finally(() => redis.close());
  await engine.start();
}
