// Bench server: a line counter with Node's `net` module: counts "\n" with
// `Buffer.indexOf`, or with the argument `crlf`, "\r" followed by "\n" (also
// across reads). At the end of input it writes the count and "\n", and closes.
//
//     node bench/net/servers/node_lines.js PORT [crlf]
import net from "node:net";

const CR = 13;
const LF = 10;
const port = Number(process.argv[2] ?? 4040);
const crlf = process.argv[3] === "crlf";

net
  .createServer({ allowHalfOpen: true }, (socket) => {
    let count = 0;
    let pendingCR = false;
    socket.on("data", (chunk) => {
      if (!crlf) {
        for (
          let i = chunk.indexOf(LF);
          i !== -1;
          i = chunk.indexOf(LF, i + 1)
        ) count++;
        return;
      }
      if (pendingCR && chunk[0] === LF) count++;
      pendingCR = false;
      for (let i = chunk.indexOf(CR); i !== -1; i = chunk.indexOf(CR, i + 1)) {
        if (i + 1 === chunk.length) pendingCR = true;
        else if (chunk[i + 1] === LF) count++;
      }
    });
    socket.on("end", () => socket.end(`${count}\n`));
    socket.on("error", () => socket.destroy());
  })
  .listen(port, "127.0.0.1");
