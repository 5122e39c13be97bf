/**
 * A `WebSocketServer` with `proxyProtocol` behind a real HAProxy in TCP mode
 * with `send-proxy-v2` (Debian package `haproxy`; skipped when it is not
 * installed). The clients are Python's `websockets` and `http.client`
 * (/usr/bin/python3) bound to 127.0.0.2, so the address the channel reports
 * can only come from the PROXY header. HAProxy's readiness is awaited on a
 * frontend that rejects every connection, so no stray connection reaches
 * the server under test.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Engine, WebSocketChannel, WebSocketServer } from "../mod.ts";
import { until, withEngine } from "./_helpers.ts";
import { haproxy, HAPROXY_TCP_DEFAULTS, runHaproxy } from "./_haproxy.ts";
import { freePort, python, SYSTEM_PYTHON, systemPythonHasWebsockets } from "./_subprocess.ts";
import { listening } from "./_ws_frames.ts";

const noPython = !systemPythonHasWebsockets();
if (noPython) {
  console.log(
    "skipped: /usr/bin/python3 cannot import websockets (apt install python3-websockets)",
  );
}

/** What each channel saw of its peer: the reported address and the load balancer's. */
interface Seen {
  remote: string;
  proxy: string;
  where: "onConnect" | "onRequest";
}

/** Tells the client the address it reports in onConnect, then echoes. */
class Reporter extends WebSocketChannel {
  override onConnect(): void {
    this.write(`you are ${this.#seen("onConnect")}`);
  }
  override onRead(message: string | Uint8Array): void {
    this.write(message);
  }
  override onRequest(request: Request): Response {
    return new Response(`${new URL(request.url).pathname} for ${this.#seen("onRequest")}\n`);
  }
  #seen(where: Seen["where"]): string {
    const remote = this.remoteAddress as Deno.NetAddr;
    const proxy = this.proxyAddress as Deno.NetAddr | null;
    const seen = { remote: `${remote.hostname}:${remote.port}`, proxy: proxy?.hostname ?? "-" };
    (this.server as Backend).seen.push({ ...seen, where });
    return seen.remote;
  }
}

class Backend extends WebSocketServer<Reporter> {
  readonly seen: Seen[] = [];
  constructor(engine: Engine) {
    super({ ConnectionClass: Reporter, engine });
  }
}

function config(front: number, ready: number, backend: number): string {
  return `${HAPROXY_TCP_DEFAULTS}frontend ready
  bind 127.0.0.1:${ready}
  tcp-request connection reject
frontend ws
  bind 127.0.0.1:${front}
  default_backend pants
backend pants
  server pants 127.0.0.1:${backend} send-proxy-v2
`;
}

async function withHaproxy(
  body: (front: number, backend: Backend) => Promise<void>,
): Promise<void> {
  await withEngine(async (engine) => {
    const backend = new Backend(engine);
    backend.proxyProtocol = { trusted: ["127.0.0.1/32"], headerTimeout: 2000 };
    backend.listen(["127.0.0.1", 0]);
    const { port } = (await listening(backend)) as Deno.NetAddr;
    const front = freePort();
    const ready = freePort();
    const running = await runHaproxy(config(front, ready, port), [ready]);
    try {
      await body(front, backend);
    } finally {
      await running.stop();
    }
  });
}

/** Runs a Python client against `port`; returns its stdout lines. */
async function runPython(script: string, port: number): Promise<string[]> {
  return (await python(script, [String(port)], SYSTEM_PYTHON)).trimEnd().split("\n");
}

/** A websockets client bound to 127.0.0.2: its own address, then what it got. */
const WS_CLIENT = `
import asyncio, sys, websockets
async def main():
    uri = f"ws://127.0.0.1:{sys.argv[1]}/room"
    async with websockets.connect(uri, local_addr=("127.0.0.2", 0), open_timeout=10) as ws:
        host, port = ws.local_address[:2]
        print(f"ME {host}:{port}")
        print(await asyncio.wait_for(ws.recv(), 10))
        await ws.send("through haproxy")
        print(await asyncio.wait_for(ws.recv(), 10))
asyncio.run(main())
`;

/** A plain HTTP GET bound to 127.0.0.2: its own address, the status and the body. */
const HTTP_CLIENT = `
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10, source_address=("127.0.0.2", 0))
c.request("GET", "/health")
host, port = c.sock.getsockname()[:2]
r = c.getresponse()
print(f"ME {host}:{port}")
print(r.status)
print(r.read().decode().strip())
`;

Deno.test({
  name:
    "behind HAProxy send-proxy-v2 a WebSocket channel sees the client's real address in onConnect and echoes",
  ignore: haproxy === undefined || noPython,
  async fn() {
    await withHaproxy(async (front, backend) => {
      const [me, greeting, echo] = await runPython(WS_CLIENT, front);
      const client = me!.replace("ME ", "");
      assert.match(client, /^127\.0\.0\.2:\d+$/);
      assert.equal(greeting, `you are ${client}`);
      assert.equal(echo, "through haproxy");
      await until(() => backend.channels.size === 0, "the channel to close");
      assert.deepEqual(backend.seen, [{ remote: client, proxy: "127.0.0.1", where: "onConnect" }]);
    });
  },
});

Deno.test({
  name:
    "behind HAProxy send-proxy-v2 a plain HTTP request reaches onRequest with the client's real address",
  ignore: haproxy === undefined || noPython,
  async fn() {
    await withHaproxy(async (front, backend) => {
      const [me, status, body] = await runPython(HTTP_CLIENT, front);
      const client = me!.replace("ME ", "");
      assert.match(client, /^127\.0\.0\.2:\d+$/);
      assert.equal(status, "200");
      assert.equal(body, `/health for ${client}`);
      assert.deepEqual(backend.seen, [{ remote: client, proxy: "127.0.0.1", where: "onRequest" }]);
    });
  },
});
