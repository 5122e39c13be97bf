// Bench server for bench/ws_bench.ts: a WebSocket echo with `Bun.serve`
// (uWebSockets inside), listening on 127.0.0.1; permessage-deflate off, as
// for the other servers. Prints READY once it listens.
//
//     bun bench/net/servers/bun_ws_echo.js PORT
const port = Number(process.argv[2] ?? 8080);

Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch(request, server) {
    if (server.upgrade(request)) return undefined;
    return new Response("WebSocket only\n", { status: 426 });
  },
  websocket: {
    maxPayloadLength: 2 * 1024 * 1024,
    perMessageDeflate: false,
    message(ws, message) {
      ws.send(message);
    },
  },
});
console.log("READY");
