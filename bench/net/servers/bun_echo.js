// Bench server: echo with `Bun.listen`, listening on 127.0.0.1. Bytes the
// socket does not take at once are kept and sent on "drain".
//
//     bun bench/net/servers/bun_echo.js PORT
const port = Number(process.argv[2] ?? 4040);

function send(socket, data) {
  const written = socket.write(data);
  if (written < data.length) {
    socket.data.pending = data.subarray(written < 0 ? 0 : written);
  }
}

Bun.listen({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(socket) {
      socket.data = { pending: null };
      socket.setNoDelay?.(true);
    },
    data(socket, data) {
      const pending = socket.data.pending;
      if (pending === null) return send(socket, data);
      const joined = new Uint8Array(pending.length + data.length);
      joined.set(pending);
      joined.set(data, pending.length);
      socket.data.pending = joined;
    },
    drain(socket) {
      const pending = socket.data.pending;
      if (pending === null) return;
      socket.data.pending = null;
      send(socket, pending);
    },
    error() {},
  },
});
