// Bench server: a line counter with `Bun.listen`: counts "\n" with
// `Uint8Array.indexOf`, or with the argument `crlf`, "\r" followed by "\n"
// (also across reads). At the end of input (half-open allowed) it writes the
// count and "\n", and closes.
//
//     bun bench/net/servers/bun_lines.js PORT [crlf]
const CR = 13;
const LF = 10;
const port = Number(process.argv[2] ?? 4040);
const crlf = process.argv[3] === "crlf";

Bun.listen({
  hostname: "127.0.0.1",
  port,
  allowHalfOpen: true,
  socket: {
    open(socket) {
      socket.data = { count: 0, pendingCR: false };
    },
    data(socket, chunk) {
      const state = socket.data;
      if (!crlf) {
        let count = 0;
        for (
          let i = chunk.indexOf(LF);
          i !== -1;
          i = chunk.indexOf(LF, i + 1)
        ) count++;
        state.count += count;
        return;
      }
      if (state.pendingCR && chunk[0] === LF) state.count++;
      state.pendingCR = false;
      for (let i = chunk.indexOf(CR); i !== -1; i = chunk.indexOf(CR, i + 1)) {
        if (i + 1 === chunk.length) state.pendingCR = true;
        else if (chunk[i + 1] === LF) state.count++;
      }
    },
    end(socket) {
      socket.end(`${socket.data.count}\n`);
    },
    error() {},
  },
});
