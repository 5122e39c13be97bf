// Bench server: echo with Node's `net` module, listening on 127.0.0.1.
//
//     node bench/net/servers/node_echo.js PORT
import net from "node:net";

const port = Number(process.argv[2] ?? 4040);
net
  .createServer({ noDelay: true }, (socket) => {
    socket.on("data", (data) => socket.write(data));
    socket.on("error", () => socket.destroy());
  })
  .listen(port, "127.0.0.1");
