/**
 * examples/web_chat.ts with real peers: a terminal user over TCP and a
 * browser user in Debian's headless chromium, in one room. The browser is
 * driven through the DevTools protocol (over Deno's WebSocket client).
 */
import assert from "node:assert/strict";
import { until } from "./_helpers.ts";
import { freePort, runDeno, Subprocess, waitForPort } from "./_subprocess.ts";

const CHROMIUM = "/usr/bin/chromium";
let ignore = false;
try {
  Deno.statSync(CHROMIUM);
} catch {
  ignore = true;
  console.log(`skipped: ${CHROMIUM} is not installed (apt install chromium)`);
}

/** Reads lines from a TCP connection. */
class Lines {
  #text = "";
  readonly #decoder = new TextDecoder();
  constructor(readonly conn: Deno.Conn) {
    (async () => {
      const chunk = new Uint8Array(4096);
      for (;;) {
        const n = await conn.read(chunk).catch(() => null);
        if (n === null) return;
        this.#text += this.#decoder.decode(chunk.subarray(0, n), { stream: true });
      }
    })();
  }
  /** Waits for a whole line matching `pattern`. */
  async waitFor(pattern: RegExp): Promise<string> {
    let found = "";
    await until(
      () => {
        found = this.#text.split("\r\n").slice(0, -1).find((line) => pattern.test(line)) ?? "";
        return found !== "";
      },
      `a line matching ${pattern}`,
      10_000,
    );
    return found;
  }
}

/** A page driven through the DevTools protocol. */
class DevTools {
  #id = 0;
  readonly #waiting = new Map<number, (result: unknown) => void>();
  private constructor(readonly socket: WebSocket) {
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      this.#waiting.get(message.id)?.(message.result?.result?.value);
      this.#waiting.delete(message.id);
    };
  }
  static async open(url: string): Promise<DevTools> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    return new DevTools(socket);
  }
  evaluate(expression: string): Promise<unknown> {
    const id = ++this.#id;
    const result = new Promise<unknown>((resolve) => this.#waiting.set(id, resolve));
    this.socket.send(JSON.stringify({
      id,
      method: "Runtime.evaluate",
      params: { expression, returnByValue: true },
    }));
    return result;
  }
  async close(): Promise<void> {
    const closed = new Promise((resolve) => (this.socket.onclose = resolve));
    this.socket.close();
    await closed;
  }
}

Deno.test({
  name: "examples/web_chat.ts: a line typed in chromium reaches a TCP user, and back",
  ignore,
  fn: async () => {
    const tcpPort = freePort();
    const webPort = freePort();
    const server = runDeno(
      [`--allow-net=127.0.0.1:${tcpPort},127.0.0.1:${webPort}`],
      new URL("../examples/web_chat.ts", import.meta.url).pathname,
      [String(tcpPort), String(webPort), "127.0.0.1"],
    );
    const profile = await Deno.makeTempDir({ prefix: "pants_chromium_" });
    let browser: Subprocess | null = null;
    let devtools: DevTools | null = null;
    let terminal: Deno.Conn | null = null;
    try {
      await waitForPort(tcpPort);
      await waitForPort(webPort);
      terminal = await Deno.connect({ hostname: "127.0.0.1", port: tcpPort });
      const lines = new Lines(terminal);
      // waitForPort's probe joined (and left) first: take this connection's name.
      const me = /tcp-\d+/.exec(await lines.waitFor(/^\* tcp-\d+ joined$/))![0];

      browser = new Subprocess(CHROMIUM, [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        `http://127.0.0.1:${webPort}/`,
      ]);
      let debugPort = 0;
      await until(
        () => {
          try {
            debugPort = Number(
              Deno.readTextFileSync(`${profile}/DevToolsActivePort`).split("\n")[0],
            );
          } catch {
            // Not written yet.
          }
          return debugPort > 0;
        },
        "chromium's DevTools port",
        20_000,
      );
      let pageUrl = "";
      for (let i = 0; i < 100 && pageUrl === ""; i++) {
        const targets = await (await fetch(`http://127.0.0.1:${debugPort}/json/list`)).json();
        const page = targets.find((t: { type: string; url: string }) =>
          t.type === "page" && t.url.startsWith(`http://127.0.0.1:${webPort}`)
        );
        if (page !== undefined) pageUrl = page.webSocketDebuggerUrl;
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.notEqual(pageUrl, "", "chromium opened the chat page");
      devtools = await DevTools.open(pageUrl);
      for (let i = 0; i < 200; i++) {
        if (await devtools.evaluate("document.body?.dataset.state") === "open") break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const joined = await lines.waitFor(/^\* web-\d+ joined$/);
      const name = /web-\d+/.exec(joined)![0];

      await devtools.evaluate(`
        document.getElementById("line").value = "hello from chromium";
        document.getElementById("form").requestSubmit();
      `);
      await lines.waitFor(new RegExp(`^${name}: hello from chromium$`));

      await terminal.write(new TextEncoder().encode("hi browser\n"));
      let shown = false;
      for (let i = 0; i < 200 && !shown; i++) {
        const log = await devtools.evaluate(`document.getElementById("log").textContent`);
        shown = String(log).includes(`${me}: hi browser`);
        if (!shown) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(shown, "the TCP user's line reached the browser");
    } finally {
      await devtools?.close();
      await browser?.stop();
      terminal?.close();
      await server.stop();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
