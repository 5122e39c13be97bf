/**
 * One chat room for terminals and browsers: lines from `nc` / `telnet`
 * users (TCP) and messages from browser users (WebSocket) all go to
 * everyone. The WebSocket server also serves the chat page itself, from
 * `onRequest`.
 *
 *     deno run --allow-net=0.0.0.0:4040,0.0.0.0:8080 examples/web_chat.ts [tcpPort] [webPort] [hostname]
 *
 * Open http://localhost:8080/ in a browser and run `nc localhost 4040` in a
 * terminal. The classes are exported for tests; the servers only start when
 * this file is the main module.
 *
 * @module
 */
import { engine, Server, Stream, WebSocketChannel, WebSocketServer } from "../mod.ts";

/** Everyone in the room, whichever way they came. */
export class Room {
  readonly #members = new Set<{ send(line: string): void }>();
  #next = 1;

  /** Adds a member; returns its name. */
  join(member: { send(line: string): void }, kind: string): string {
    this.#members.add(member);
    return `${kind}-${this.#next++}`;
  }

  /** Removes a member. */
  leave(member: { send(line: string): void }): void {
    this.#members.delete(member);
  }

  /** Sends a line to everyone. */
  say(line: string): void {
    for (const member of this.#members) member.send(line);
  }
}

/** The room every connection of this process joins. */
export const room = new Room();

/** A terminal user: lines in, lines out. */
export class TerminalUser extends Stream {
  #name = "";

  override onConnect(): void {
    this.readDelimiter = "\n";
    this.encoding = "utf-8";
    this.#name = room.join(this, "tcp");
    room.say(`* ${this.#name} joined`);
  }

  override onRead(line: string): void {
    const text = line.replace(/\r$/, "");
    if (text !== "") room.say(`${this.#name}: ${text}`);
  }

  override onClose(): void {
    room.leave(this);
    room.say(`* ${this.#name} left`);
  }

  /** Writes a line, unless this user is leaving. */
  send(line: string): void {
    if (this.connected) this.write(line + "\r\n");
  }
}

/** A browser user: one WebSocket text message per line. */
export class BrowserUser extends WebSocketChannel {
  #name = "";

  override onConnect(): void {
    this.bufferSize = 4096; // chat lines, not files
    this.#name = room.join(this, "web");
    this.write(`* you are ${this.#name}`);
    room.say(`* ${this.#name} joined`);
  }

  override onRead(message: string | Uint8Array): void {
    if (typeof message === "string" && message.trim() !== "") room.say(`${this.#name}: ${message}`);
  }

  override onClose(): void {
    if (this.#name === "") return;
    room.leave(this);
    room.say(`* ${this.#name} left`);
  }

  /** Sends a line as a text message, unless this user is leaving. */
  send(line: string): void {
    if (this.open) this.write(line);
  }

  /** Serves the chat page; anything else is not found. */
  override onRequest(request: Request): Response {
    if (new URL(request.url).pathname !== "/") return new Response("Not found\n", { status: 404 });
    return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
  }
}

/** The page: a log, a line to type, and a WebSocket to the same host. */
export const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Pants chat</title>
<style>body{font:14px monospace;margin:1em}#log{height:70vh;overflow:auto;white-space:pre-wrap}</style>
<div id="log"></div>
<form id="form"><input id="line" autocomplete="off" autofocus size="60"> <button>Send</button></form>
<script>
  const log = document.getElementById("log");
  const line = document.getElementById("line");
  const socket = new WebSocket("ws://" + location.host + "/chat");
  const show = (text) => {
    log.textContent += text + "\\n";
    log.scrollTop = log.scrollHeight;
  };
  socket.onopen = () => (document.body.dataset.state = "open");
  socket.onmessage = (event) => show(event.data);
  socket.onclose = (event) => show("* disconnected (" + event.code + ")");
  document.getElementById("form").onsubmit = (event) => {
    event.preventDefault();
    if (line.value !== "") socket.send(line.value);
    line.value = "";
  };
</script>
`;

if (import.meta.main) {
  const tcpPort = Number(Deno.args[0] ?? 4040);
  const webPort = Number(Deno.args[1] ?? 8080);
  const hostname = Deno.args[2];
  new Server(TerminalUser).listen(hostname === undefined ? tcpPort : [hostname, tcpPort]);
  const web = new WebSocketServer(BrowserUser);
  // Only pages served from this server may open its WebSocket.
  web.allowedOrigins = [`http://${hostname ?? "localhost"}:${webPort}`];
  if (hostname === undefined) web.allowedOrigins.push(`http://127.0.0.1:${webPort}`);
  web.listen(hostname === undefined ? webPort : [hostname, webPort]);
  engine.start();
}
