// Bench server: a line counter with Node's `readline` over a `net` socket
// (one "line" event per line; readline takes "\n" and "\r\n" alike). At the
// end of input it writes the count and "\n", and closes.
//
//     node bench/net/servers/node_readline.js PORT [crlf]
import net from "node:net";
import readline from "node:readline";

const port = Number(process.argv[2] ?? 4040);

net
  .createServer({ allowHalfOpen: true }, (socket) => {
    let count = 0;
    const lines = readline.createInterface({
      input: socket,
      crlfDelay: Infinity,
    });
    lines.on("line", () => count++);
    lines.on("close", () => socket.end(`${count}\n`));
    socket.on("error", () => socket.destroy());
  })
  .listen(port, "127.0.0.1");
