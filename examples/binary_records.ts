/**
 * A tiny key/value server speaking binary records.
 *
 *     deno run --allow-net=0.0.0.0:4040 examples/binary_records.ts [port] [hostname]
 *
 * Request, `NetStruct("!BH$H$")`: an op byte, a 16-bit-length-prefixed key
 * and a 16-bit-length-prefixed value (empty for GET and DELETE).
 * Reply, `NetStruct("!BH$")`: a status byte and a length-prefixed value.
 *
 * | Op | Meaning | Reply |
 * | -- | ------- | ----- |
 * | 1 | GET key | 0 and the value, or 1 (not found) |
 * | 2 | SET key value | 0 |
 * | 3 | DELETE key | 0, or 1 (not found) |
 * | other | | 2 (unknown op) |
 *
 * At most 10 000 keys are kept; a SET of a new key beyond that replies 3.
 *
 * @module
 */
import { engine, NetStruct, Server, Stream } from "../mod.ts";
import { address } from "./_address.ts";

const request = new NetStruct("!BH$H$");
const reply = new NetStruct("!BH$");
const OK = 0, NOT_FOUND = 1, UNKNOWN_OP = 2, FULL = 3;
const MAX_KEYS = 10_000;
const EMPTY = new Uint8Array(0);
const latin1 = new TextDecoder("latin1");
const store = new Map<string, Uint8Array>();

class KeyValue extends Stream {
  override onConnect(): void {
    this.readDelimiter = request;
    this.bufferSize = request.minimumSize + 2 * 0xffff;
  }

  override onRead(op: number, keyBytes: Uint8Array, value: Uint8Array): void {
    const key = latin1.decode(keyBytes);
    if (op === 1) {
      const found = store.get(key);
      this.write(reply.pack(found === undefined ? NOT_FOUND : OK, found ?? EMPTY));
    } else if (op === 2) {
      if (!store.has(key) && store.size >= MAX_KEYS) {
        this.write(reply.pack(FULL, EMPTY));
        return;
      }
      store.set(key, value.slice()); // the fields are views: copy to keep
      this.write(reply.pack(OK, EMPTY));
    } else if (op === 3) {
      this.write(reply.pack(store.delete(key) ? OK : NOT_FOUND, EMPTY));
    } else {
      this.write(reply.pack(UNKNOWN_OP, EMPTY));
    }
  }
}

new Server(KeyValue).listen(address());
engine.stopOnSignals();
engine.start();
