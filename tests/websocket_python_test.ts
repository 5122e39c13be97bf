/**
 * WebSocket channels against Python's `websockets` library (Debian's
 * python3-websockets, importable by /usr/bin/python3 only), as the client of
 * a Pants server and as the server of a Pants client.
 */
import assert from "node:assert/strict";
import { WebSocketChannel, WebSocketServer } from "../mod.ts";
import { until, withEngine } from "./_helpers.ts";
import { python, Subprocess, SYSTEM_PYTHON, systemPythonHasWebsockets } from "./_subprocess.ts";
import { listening } from "./_ws_frames.ts";

const ignore = !systemPythonHasWebsockets();
if (ignore) {
  console.log(
    "skipped: /usr/bin/python3 cannot import websockets (apt install python3-websockets)",
  );
}

class Echo extends WebSocketChannel {
  override onRead(message: string | Uint8Array): void {
    this.write(message);
  }
}

const CLIENT = `
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1], subprotocols=["v1", "v2"], max_size=None) as ws:
        print("PROTOCOL", ws.subprotocol)
        await ws.send("héllo")
        print("TEXT", await ws.recv())
        await ws.send(bytes(range(256)) * 1000)
        data = await ws.recv()
        print("BINARY", len(data), data == bytes(range(256)) * 1000)
        await ws.send(["frag", "mented", " ✓"])
        print("FRAGMENTED", await ws.recv())
        pong = await ws.ping(b"hb")
        await asyncio.wait_for(pong, 5)
        print("PONG ok")
        await ws.close(code=4002, reason="python done")
        print("CLOSED", ws.close_code)
asyncio.run(main())
`;

Deno.test({
  name:
    "WebSocketServer talks to Python websockets: subprotocol, text, binary, fragments, ping, close",
  ignore,
  fn: async () => {
    let closedWith: [number, string] | null = null;
    class Recorder extends Echo {
      override onClose(code: number, reason: string): void {
        closedWith = [code, reason];
      }
    }
    await withEngine(async (engine) => {
      const server = new WebSocketServer({ ConnectionClass: Recorder, engine, protocols: ["v2"] });
      server.listen(["127.0.0.1", 0]);
      const { port } = (await listening(server)) as Deno.NetAddr;
      const out = await python(CLIENT, [`ws://127.0.0.1:${port}/py`], SYSTEM_PYTHON);
      assert.match(out, /^PROTOCOL v2$/m);
      assert.match(out, /^TEXT héllo$/m);
      assert.match(out, /^BINARY 256000 True$/m);
      assert.match(out, /^FRAGMENTED fragmented ✓$/m);
      assert.match(out, /^PONG ok$/m);
      assert.match(out, /^CLOSED 4002$/m);
      await until(() => closedWith !== null, "onClose");
      assert.deepEqual(closedWith, [4002, "python done"]);
    });
  },
});

const SERVER = `
import asyncio, websockets
async def handler(ws, path):
    print("PATH", path, ws.request_headers.get("X-Token"))
    async for message in ws:
        if message == "close":
            await ws.close(code=4003, reason="server says bye")
        else:
            await ws.send(message)
async def main():
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["chat"], max_size=None) as server:
        print("PORT", server.sockets[0].getsockname()[1])
        await asyncio.sleep(30)
asyncio.run(main())
`;

Deno.test({
  name: "WebSocketChannel.connect talks to a Python websockets server: headers, masking, close",
  ignore,
  fn: async () => {
    const python = new Subprocess(SYSTEM_PYTHON, ["-c", SERVER], {
      env: { PYTHONUNBUFFERED: "1" },
    });
    try {
      const port = Number((await python.waitForMatch(/PORT (\d+)\n/))[1]);
      const got: (string | number)[] = [];
      let closedWith: [number, string] | null = null;
      let protocol = "";
      await withEngine(async (engine) => {
        class Client extends WebSocketChannel {
          override onConnect(): void {
            protocol = this.protocol;
            this.write("ping me");
            this.write(new Uint8Array(300_000).fill(3));
          }
          override onRead(message: string | Uint8Array): void {
            got.push(typeof message === "string" ? message : message.length);
            if (got.length === 2) this.write("close");
          }
          override onClose(code: number, reason: string): void {
            closedWith = [code, reason];
          }
        }
        new Client({ engine }).connect(`ws://127.0.0.1:${port}/room?x=1`, {
          protocols: ["chat"],
          headers: { "X-Token": "t0k" },
        });
        await until(() => closedWith !== null, "onClose", 10_000);
      });
      assert.equal(protocol, "chat");
      assert.deepEqual(got, ["ping me", 300_000]);
      assert.deepEqual(closedWith, [4003, "server says bye"]);
      await python.waitFor("PATH /room?x=1 t0k");
    } finally {
      await python.stop();
    }
  },
});
