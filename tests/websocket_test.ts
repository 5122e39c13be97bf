/**
 * WebSocket channels over real sockets against foreign peers: Deno's
 * built-in `WebSocket` client and `fetch` against a Pants `WebSocketServer`,
 * `Deno.serve` + `Deno.upgradeWebSocket` as the server of a Pants client,
 * and raw peers for what those cannot send.
 */
import assert from "node:assert/strict";
import {
  type Engine,
  type StreamConnectError,
  WebSocketChannel,
  WebSocketHandshakeError,
  WebSocketServer,
} from "../mod.ts";
import { connectTo, until, withEngine } from "./_helpers.ts";
import { testCerts } from "./_certs.ts";
import {
  closeOf,
  decodeFrames,
  frame,
  listening,
  SAMPLE_ACCEPT,
  upgradeRequest,
} from "./_ws_frames.ts";

class Echo extends WebSocketChannel {
  override onRead(message: string | Uint8Array): void {
    this.write(message);
  }
}

/** Starts a server of `Channel` on 127.0.0.1 and gives `body` its ws:// base URL. */
async function withServer<S extends WebSocketChannel>(
  Channel: new (options?: { engine?: Engine }) => S,
  body: (base: string, server: WebSocketServer<S>, engine: Engine) => Promise<void>,
  setup: (server: WebSocketServer<S>) => void = () => {},
): Promise<void> {
  await withEngine(async (engine) => {
    const server = new WebSocketServer<S>({ ConnectionClass: Channel, engine });
    setup(server);
    server.listen(["127.0.0.1", 0]);
    const { port } = (await listening(server)) as Deno.NetAddr;
    await body(`ws://127.0.0.1:${port}`, server, engine);
  });
}

const inboxes = new WeakMap<WebSocket, { queue: (string | ArrayBuffer)[]; wake: () => void }>();

/** Opens Deno's WebSocket client and waits for it to open; messages queue from the start. */
async function denoClient(url: string, protocols: string[] = []): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  ws.binaryType = "arraybuffer";
  const inbox = { queue: [] as (string | ArrayBuffer)[], wake: () => {} };
  inboxes.set(ws, inbox);
  ws.onmessage = (event) => {
    inbox.queue.push(event.data);
    inbox.wake();
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (event) => reject(new Error(`WebSocket error: ${(event as ErrorEvent).message}`));
  });
  return ws;
}

async function nextMessage(ws: WebSocket): Promise<string | ArrayBuffer> {
  const inbox = inboxes.get(ws)!;
  while (inbox.queue.length === 0) await new Promise<void>((resolve) => (inbox.wake = resolve));
  return inbox.queue.shift()!;
}

function closed(ws: WebSocket): Promise<CloseEvent> {
  if (ws.readyState === WebSocket.CLOSED) throw new Error("already closed");
  return new Promise((resolve) => (ws.onclose = resolve));
}

/** Reads from a raw connection until the HTTP head is complete; returns it and what followed. */
async function rawHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array }> {
  let bytes = new Uint8Array(0);
  const chunk = new Uint8Array(16384);
  for (;;) {
    const text = new TextDecoder("latin1").decode(bytes);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) return { head: text.slice(0, end), rest: bytes.slice(end + 4) };
    const n = await conn.read(chunk);
    if (n === null) return { head: text, rest: new Uint8Array(0) };
    const joined = new Uint8Array(bytes.length + n);
    joined.set(bytes);
    joined.set(chunk.subarray(0, n), bytes.length);
    bytes = joined;
  }
}

// --- Pants server, Deno's WebSocket client -------------------------------------------

Deno.test("WebSocketServer echoes text (UTF-8) and binary messages to Deno's WebSocket client", async () => {
  await withServer(Echo, async (base) => {
    const ws = await denoClient(`${base}/echo`);
    ws.send("héllo wörld ✓");
    assert.equal(await nextMessage(ws), "héllo wörld ✓");
    const big = new Uint8Array(70_000).map((_, i) => i & 0xff);
    ws.send(big);
    assert.deepEqual(new Uint8Array((await nextMessage(ws)) as ArrayBuffer), big);
    const done = closed(ws);
    ws.close();
    await done;
  });
});

Deno.test("WebSocketServer receives a 1 MiB binary message from Deno's client (the default bufferSize)", async () => {
  await withServer(Echo, async (base) => {
    const ws = await denoClient(base);
    const big = new Uint8Array(1024 * 1024).map((_, i) => (i * 31) & 0xff);
    ws.send(big);
    assert.deepEqual(new Uint8Array((await nextMessage(ws)) as ArrayBuffer), big);
    const done = closed(ws);
    ws.close();
    await done;
  });
});

Deno.test("WebSocketChannel.request holds the upgrade's path, query and headers", async () => {
  let seen: Request | null = null;
  class Look extends WebSocketChannel {
    override onConnect(): void {
      seen = this.request;
      this.write("ok");
    }
  }
  await withServer(Look, async (base) => {
    const ws = await denoClient(`${base}/room/7?name=ada`);
    await nextMessage(ws);
    const request = seen! as Request;
    const url = new URL(request.url);
    assert.equal(url.pathname, "/room/7");
    assert.equal(url.searchParams.get("name"), "ada");
    assert.equal(request.headers.get("sec-websocket-version"), "13");
    const done = closed(ws);
    ws.close();
    await done;
  });
});

Deno.test("WebSocketServer picks its preferred subprotocol among those Deno's client offers", async () => {
  let chosen = "";
  class Proto extends WebSocketChannel {
    override onConnect(): void {
      chosen = this.protocol;
    }
  }
  await withServer(Proto, async (base) => {
    const ws = await denoClient(base, ["chat.v1", "chat.v2"]);
    assert.equal(ws.protocol, "chat.v2");
    await until(() => chosen !== "", "onConnect");
    assert.equal(chosen, "chat.v2");
    const done = closed(ws);
    ws.close();
    await done;
  }, (server) => (server.protocols = ["chat.v2", "chat.v1"]));
});

Deno.test("onHandshake refusing with a Response sends it and never calls onConnect", async () => {
  let connected = false;
  class Picky extends WebSocketChannel {
    override onHandshake(): Response {
      return new Response("no\n", { status: 401 });
    }
    override onConnect(): void {
      connected = true;
    }
  }
  await withServer(Picky, async (base) => {
    const conn = await connectTo(
      {
        transport: "tcp",
        hostname: "127.0.0.1",
        port: new URL(base).port as unknown as number,
      } as Deno.NetAddr,
    );
    await conn.write(new TextEncoder().encode(upgradeRequest()));
    const { head } = await rawHead(conn);
    assert.match(head, /^HTTP\/1\.1 401 /);
    conn.close();
    assert.equal(connected, false);
  });
});

Deno.test("WebSocketServer answers the RFC 6455 sample key with its sample accept", async () => {
  await withServer(Echo, async (base) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(base).port) });
    await conn.write(new TextEncoder().encode(upgradeRequest()));
    const { head } = await rawHead(conn);
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(
      head,
      new RegExp(`\r\nSec-WebSocket-Accept: ${SAMPLE_ACCEPT.replace(/\+/g, "\\+")}`),
    );
    conn.close();
  });
});

Deno.test("allowedOrigins refuses another site's Origin with 403 before the upgrade", async () => {
  await withServer(Echo, async (base) => {
    const port = Number(new URL(base).port);
    const evil = await Deno.connect({ hostname: "127.0.0.1", port });
    await evil.write(
      new TextEncoder().encode(upgradeRequest("/", { Origin: "https://evil.example" })),
    );
    assert.match((await rawHead(evil)).head, /^HTTP\/1\.1 403 /);
    evil.close();
    const good = await Deno.connect({ hostname: "127.0.0.1", port });
    await good.write(
      new TextEncoder().encode(upgradeRequest("/", { Origin: "https://good.example" })),
    );
    assert.match((await rawHead(good)).head, /^HTTP\/1\.1 101 /);
    good.close();
  }, (server) => (server.allowedOrigins = ["https://good.example"]));
});

Deno.test("a plain HTTP request gets 426 Upgrade Required by default", async () => {
  await withServer(Echo, async (base) => {
    const response = await fetch(base.replace("ws:", "http:") + "/");
    assert.equal(response.status, 426);
    assert.equal(response.headers.get("upgrade"), "websocket");
    await response.body?.cancel();
  });
});

Deno.test("onRequest answers a plain HTTP request on the same port (fetch)", async () => {
  class Page extends WebSocketChannel {
    override async onRequest(request: Request): Promise<Response> {
      await Promise.resolve();
      if (new URL(request.url).pathname !== "/") return new Response("nope", { status: 404 });
      return new Response("<h1>chat</h1>", { headers: { "content-type": "text/html" } });
    }
  }
  await withServer(Page, async (base) => {
    const http = base.replace("ws:", "http:");
    const page = await fetch(`${http}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html");
    assert.equal(await page.text(), "<h1>chat</h1>");
    const missing = await fetch(`${http}/x`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });
});

Deno.test("close(code, reason) reaches Deno's client, and onClose gets the code back", async () => {
  let got: [number, string] | null = null;
  class Closer extends WebSocketChannel {
    override onRead(): void {
      this.close(4000, "enough");
    }
    override onClose(code: number, reason: string): void {
      got = [code, reason];
    }
  }
  await withServer(Closer, async (base) => {
    const ws = await denoClient(base);
    const done = closed(ws);
    ws.send("x");
    const event = await done;
    assert.equal(event.code, 4000);
    assert.equal(event.reason, "enough");
    await until(() => got !== null, "onClose");
    assert.deepEqual(got, [4000, "enough"]);
  });
});

Deno.test("a client's close reaches onClose with its code and reason", async () => {
  let got: [number, string] | null = null;
  class Listener extends WebSocketChannel {
    override onClose(code: number, reason: string): void {
      got = [code, reason];
    }
  }
  await withServer(Listener, async (base) => {
    const ws = await denoClient(base);
    const done = closed(ws);
    ws.close(3001, "bye now");
    assert.equal((await done).code, 3001);
    await until(() => got !== null, "onClose");
    assert.deepEqual(got, [3001, "bye now"]);
  });
});

Deno.test("ping() gets the payload back in onPong from Deno's client", async () => {
  let pong = "";
  class Pinger extends WebSocketChannel {
    override onConnect(): void {
      this.ping("are you there");
    }
    override onPong(payload: Uint8Array): void {
      pong = new TextDecoder().decode(payload);
    }
  }
  await withServer(Pinger, async (base) => {
    const ws = await denoClient(base);
    await until(() => pong !== "", "onPong");
    assert.equal(pong, "are you there");
    const done = closed(ws);
    ws.close();
    await done;
  });
});

Deno.test("heartbeat closes a peer that answers no ping (onClose gets 1006)", async () => {
  let code = 0;
  class Beat extends WebSocketChannel {
    override onConnect(): void {
      this.heartbeat = 100;
    }
    override onClose(closeCode: number): void {
      code = closeCode;
    }
  }
  await withServer(Beat, async (base) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(base).port) });
    await conn.write(new TextEncoder().encode(upgradeRequest()));
    await rawHead(conn);
    const started = Date.now();
    // Reads pings and never answers: the connection ends after the second interval.
    const chunk = new Uint8Array(1024);
    let pings = 0;
    for (;;) {
      const n = await conn.read(chunk).catch(() => null);
      if (n === null) break;
      pings += decodeFrames(chunk.subarray(0, n)).frames.filter((f) => f.opcode === 0x9).length;
    }
    assert.ok(pings >= 1, "a ping came first");
    assert.ok(Date.now() - started >= 150, "not before two intervals");
    await until(() => code !== 0, "onClose");
    assert.equal(code, 1006);
    conn.close();
  });
});

Deno.test("the server answers a ping interleaved in a fragmented message and reassembles it", async () => {
  const got: (string | Uint8Array)[] = [];
  class Collect extends WebSocketChannel {
    override onRead(message: string | Uint8Array): void {
      got.push(typeof message === "string" ? message : message.slice());
    }
  }
  await withServer(Collect, async (base) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(base).port) });
    await conn.write(new TextEncoder().encode(upgradeRequest()));
    await rawHead(conn);
    // "€" (E2 82 AC) split across fragments, a ping between them.
    const euro = new Uint8Array([0x61, 0xe2, 0x82, 0xac, 0x62]);
    await conn.write(frame({ opcode: 0x1, payload: euro.subarray(0, 2), fin: false }));
    await conn.write(frame({ opcode: 0x9, payload: "mid" }));
    await conn.write(frame({ opcode: 0x0, payload: euro.subarray(2, 3), fin: false }));
    await conn.write(frame({ opcode: 0x0, payload: euro.subarray(3) }));
    await conn.write(frame({ opcode: 0x2, payload: new Uint8Array([1, 2]), fin: false }));
    await conn.write(frame({ opcode: 0x0, payload: new Uint8Array([3]) }));
    const chunk = new Uint8Array(1024);
    const n = await conn.read(chunk);
    const pong = decodeFrames(chunk.subarray(0, n!)).frames[0]!;
    assert.equal(pong.opcode, 0xa);
    assert.equal(new TextDecoder().decode(pong.payload), "mid");
    await until(() => got.length === 2, "two messages");
    assert.deepEqual(got, ["a€b", new Uint8Array([1, 2, 3])]);
    conn.close();
  });
});

Deno.test("a readDelimiter frames the concatenated payloads as on a Stream", async () => {
  const lines: string[] = [];
  class Lines extends WebSocketChannel {
    override onConnect(): void {
      this.readDelimiter = "\n";
      this.encoding = "utf-8";
    }
    override onRead(line: string): void {
      lines.push(line);
    }
  }
  await withServer(Lines, async (base) => {
    const ws = await denoClient(base);
    ws.send("one\ntw");
    ws.send(new TextEncoder().encode("o\nthree"));
    ws.send("\n");
    await until(() => lines.length === 3, "three lines");
    assert.deepEqual(lines, ["one", "two", "three"]);
    const done = closed(ws);
    ws.close();
    await done;
  });
});

// --- Pants client, Deno.serve + Deno.upgradeWebSocket as the server --------------------

/** Runs `body` with a Deno.serve WebSocket echo server (protocol "p2" when offered). */
async function withDenoServer(body: (base: string) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen() {} },
    (request) => {
      if (new URL(request.url).pathname === "/refuse") {
        return new Response("gone", { status: 404 });
      }
      const offered = request.headers.get("sec-websocket-protocol") ?? "";
      const { socket, response } = Deno.upgradeWebSocket(request, {
        protocol: offered.includes("p2") ? "p2" : undefined,
      });
      socket.onmessage = (event) => {
        if (event.data === "close please") socket.close(4321, "as asked");
        else socket.send(event.data);
      };
      return response;
    },
  );
  try {
    await body(`ws://127.0.0.1:${server.addr.port}`);
  } finally {
    abort.abort();
    await server.finished;
  }
}

Deno.test("WebSocketChannel.connect talks to Deno.serve: text, binary, subprotocol, masked frames", async () => {
  await withDenoServer(async (base) => {
    const got: (string | Uint8Array)[] = [];
    let protocol = "";
    await withEngine(async (engine) => {
      class Client extends WebSocketChannel {
        override onConnect(): void {
          protocol = this.protocol;
          this.write("héllo");
          this.write(new Uint8Array(100_000).fill(9));
        }
        override onRead(message: string | Uint8Array): void {
          got.push(typeof message === "string" ? message : message.slice());
        }
      }
      const client = new Client({ engine }).connect(`${base}/x`, { protocols: ["p1", "p2"] });
      await until(() => got.length === 2, "two echoes");
      client.close();
    });
    assert.equal(protocol, "p2");
    assert.equal(got[0], "héllo");
    assert.deepEqual(got[1], new Uint8Array(100_000).fill(9));
  });
});

Deno.test("a server's close frame reaches the Pants client's onClose with code and reason", async () => {
  await withDenoServer(async (base) => {
    let got: [number, string] | null = null;
    await withEngine(async (engine) => {
      class Client extends WebSocketChannel {
        override onConnect(): void {
          this.write("close please");
        }
        override onClose(code: number, reason: string): void {
          got = [code, reason];
        }
      }
      new Client({ engine }).connect(base);
      await until(() => got !== null, "onClose");
    });
    assert.deepEqual(got, [4321, "as asked"]);
  });
});

Deno.test("messages written before the upgrade completes leave in order once it has", async () => {
  await withDenoServer(async (base) => {
    const got: string[] = [];
    await withEngine(async (engine) => {
      class Client extends WebSocketChannel {
        override onRead(message: string): void {
          got.push(message);
        }
      }
      const client = new Client({ engine }).connect(base);
      client.write("first");
      client.write("second");
      await until(() => got.length === 2, "two echoes");
      client.close();
    });
    assert.deepEqual(got, ["first", "second"]);
  });
});

Deno.test("a refused upgrade reaches onConnectError as a WebSocketHandshakeError with the status", async () => {
  await withDenoServer(async (base) => {
    let error: StreamConnectError | null = null;
    let closedAfter = false;
    await withEngine(async (engine) => {
      class Client extends WebSocketChannel {
        override onConnectError(e: StreamConnectError): void {
          error = e;
        }
        override onClose(): void {
          closedAfter = error !== null;
        }
      }
      new Client({ engine }).connect(`${base}/refuse`);
      await until(() => closedAfter, "onConnectError, then onClose");
    });
    assert.ok(error! instanceof WebSocketHandshakeError);
    assert.equal((error as WebSocketHandshakeError).status, 404);
  });
});

// --- wss:// -------------------------------------------------------------------------

Deno.test("wss: a Pants client with caCerts talks to a Pants server with startSSL", async () => {
  const certs = await testCerts();
  let echoed = "";
  await withServer(Echo, async (base) => {
    await withEngine(async (engine) => {
      class Client extends WebSocketChannel {
        override onConnect(): void {
          this.write(`secure=${this.secure}`);
        }
        override onRead(message: string): void {
          echoed = message;
          this.close();
        }
      }
      const url = base.replace("ws://127.0.0.1", "wss://localhost");
      new Client({ engine }).connect(url, { caCerts: [certs.trusted.cert] });
      await until(() => echoed !== "", "the echo");
    });
  }, (server) => server.startSSL({ cert: certs.trusted.cert, key: certs.trusted.key }));
  assert.equal(echoed, "secure=true");
});

Deno.test("close frames carry the code: the decoder helper agrees with the server", () => {
  const close = frame({
    opcode: 0x8,
    payload: new Uint8Array([0x03, 0xe8, 0x6f, 0x6b]),
    mask: null,
  });
  const decoded = decodeFrames(close).frames[0]!;
  assert.deepEqual(closeOf(decoded.payload), { code: 1000, reason: "ok" });
});

Deno.test("broadcast() reaches every open member but the sender", async () => {
  class Member extends WebSocketChannel {
    override onRead(message: string): void {
      (this.server as WebSocketServer).broadcast(message, this);
    }
  }
  await withServer(Member, async (base, server) => {
    const [a, b, c] = await Promise.all([denoClient(base), denoClient(base), denoClient(base)]);
    await until(
      () => server.channels.size === 3 && [...server.channels.values()].every((m) => m.open),
      "three members",
    );
    a.send("from a");
    assert.equal(await nextMessage(b), "from a");
    assert.equal(await nextMessage(c), "from a");
    b.send("from b");
    assert.equal(await nextMessage(a), "from b");
    assert.equal(inboxes.get(b)!.queue.length, 0);
    for (const ws of [a, b, c]) {
      const done = closed(ws);
      ws.close();
      await done;
    }
  });
});

Deno.test("ready resolves once the upgrade succeeded, not at the TCP connect", async () => {
  await withDenoServer(async (base) => {
    await withEngine(async (engine) => {
      const client = new WebSocketChannel({ engine }).connect(base);
      await client.ready;
      assert.equal(client.open, true);
      assert.equal(client.protocol, "");
      client.close({ flush: false });
    });
  });
});

Deno.test("ready rejects with the WebSocketHandshakeError of a refused upgrade", async () => {
  await withDenoServer(async (base) => {
    await withEngine(async (engine) => {
      class Quiet extends WebSocketChannel {
        override onConnectError(): void {}
      }
      const client = new Quiet({ engine }).connect(`${base}/refuse`);
      await assert.rejects(client.ready, WebSocketHandshakeError);
    });
  });
});
