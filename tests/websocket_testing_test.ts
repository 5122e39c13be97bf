/** WebSocket channels in memory through the public harness (`attachWebSocket`, `TestEngine`). */
import assert from "node:assert/strict";
import { WebSocketChannel } from "../mod.ts";
import { attachWebSocket, TestEngine } from "../testing.ts";

class Echo extends WebSocketChannel {
  closed_: [number, string] | null = null;
  override onRead(message: string | Uint8Array): void {
    this.write(message);
  }
  override onClose(code: number, reason: string): void {
    this.closed_ = [code, reason];
  }
}

Deno.test("attachWebSocket upgrades in memory, and messages echo as text and binary", async () => {
  const ws = await attachWebSocket(new Echo({ engine: new TestEngine() }));
  assert.match(ws.response, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  await ws.send("héllo");
  await ws.send(new Uint8Array([1, 2, 3]));
  assert.deepEqual(await ws.messages(), ["héllo", new Uint8Array([1, 2, 3])]);
});

Deno.test("a message sent in fragments reaches onRead once, whole", async () => {
  const ws = await attachWebSocket(new Echo({ engine: new TestEngine() }));
  await ws.send("fragmented message ✓", 5);
  assert.deepEqual(await ws.messages(), ["fragmented message ✓"]);
});

Deno.test("a ping gets a pong with the same payload", async () => {
  const ws = await attachWebSocket(new Echo({ engine: new TestEngine() }));
  await ws.ping("beat");
  await ws.messages();
  assert.deepEqual(ws.pongs.map((p) => new TextDecoder().decode(p)), ["beat"]);
});

Deno.test("close(code, reason) sends a close frame; the peer's reply ends it with that code", async () => {
  const engine = new TestEngine();
  const ws = await attachWebSocket(new Echo({ engine }));
  ws.channel.close(4000, "done");
  await ws.messages();
  assert.deepEqual(ws.closeFrame, { code: 4000, reason: "done" });
  assert.equal(ws.channel.closed, false, "waiting for the peer's close frame");
  await ws.close(4000);
  assert.equal(ws.channel.closed, true);
  assert.deepEqual(ws.channel.closed_, [4000, ""]);
});

Deno.test("close() gives up on a silent peer after closeTimeout (virtual time)", async () => {
  const engine = new TestEngine();
  const ws = await attachWebSocket(new Echo({ engine }));
  ws.channel.close();
  await engine.advance(4999);
  assert.equal(ws.channel.closed, false);
  await engine.advance(1);
  assert.equal(ws.channel.closed, true);
  assert.deepEqual(ws.channel.closed_, [1000, ""]);
});

Deno.test("a peer's close frame is echoed and onClose gets its code and reason", async () => {
  const ws = await attachWebSocket(new Echo({ engine: new TestEngine() }));
  await ws.close(1001, "tab closed");
  await ws.messages();
  assert.deepEqual(ws.closeFrame, { code: 1001, reason: "" });
  assert.deepEqual(ws.channel.closed_, [1001, "tab closed"]);
});

Deno.test("heartbeat pings every interval and closes a peer that never answers (virtual time)", async () => {
  const engine = new TestEngine();
  const ws = await attachWebSocket(new Echo({ engine }));
  ws.channel.heartbeat = 1000;
  await engine.advance(1000);
  const ping = await ws.peer.receivedBytes();
  assert.equal(ping[0], 0x89, "a ping frame");
  assert.equal(ws.channel.closed, false);
  await engine.advance(1000);
  assert.equal(ws.channel.closed, true);
  assert.deepEqual(ws.channel.closed_, [1006, ""]);
});

Deno.test("heartbeat keeps a peer that answers with pongs", async () => {
  const engine = new TestEngine();
  const ws = await attachWebSocket(new Echo({ engine }));
  ws.channel.heartbeat = 1000;
  for (let i = 0; i < 3; i++) {
    await engine.advance(1000);
    await ws.peer.receivedBytes();
    // A pong: masked, empty.
    await ws.peer.send(new Uint8Array([0x8a, 0x80, 1, 2, 3, 4]));
  }
  assert.equal(ws.channel.closed, false);
});

Deno.test("onHandshake's Response refuses the upgrade in memory", async () => {
  class Members extends WebSocketChannel {
    override onHandshake(request: Request): string | null | Response {
      if (request.headers.get("cookie") !== "member=1") {
        return new Response("members only", { status: 403 });
      }
      return null;
    }
  }
  const engine = new TestEngine();
  const refused = await attachWebSocket(new Members({ engine }));
  assert.match(refused.response, /^HTTP\/1\.1 403 /);
  assert.equal(refused.channel.closed, true);
  const member = await attachWebSocket(new Members({ engine }), {
    headers: { Cookie: "member=1" },
  });
  assert.match(member.response, /^HTTP\/1\.1 101 /);
});

Deno.test("write() before the upgrade on an accepted channel throws ChannelClosedError", () => {
  const channel = new Echo({ engine: new TestEngine() });
  assert.throws(() => channel.write("early"), { name: "ChannelClosedError" });
});

Deno.test("close() rejects a code that cannot be sent, and a reason over 123 bytes", async () => {
  const ws = await attachWebSocket(new Echo({ engine: new TestEngine() }));
  assert.throws(() => ws.channel.close(1006), RangeError);
  assert.throws(() => ws.channel.close(1000, "x".repeat(124)), RangeError);
  assert.equal(ws.channel.open, true);
});

Deno.test("heartbeat rejects a negative interval at assignment", () => {
  const channel = new Echo({ engine: new TestEngine() });
  assert.throws(() => (channel.heartbeat = -1), RangeError);
});

Deno.test("a character split so that the first fragments decode to nothing still arrives whole", async () => {
  const ws = await attachWebSocket(new Echo({ engine: new TestEngine() }));
  // "€" is E2 82 AC: three fragments of one byte each.
  await ws.send("€", 3);
  assert.deepEqual(await ws.messages(), ["€"]);
  assert.equal(ws.channel.open, true);
});
