// The same echo through Node's net API, for `node` and for `deno run --allow-net`, where Deno
// serves it with its own native TCP handles instead of Deno.Conn. Usage: … node_net_echo.mjs PORT
import net from "node:net";
const port = Number(process.argv[2]);
net.createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => {});
  socket.pipe(socket);
}).listen({ host: "127.0.0.1", port, backlog: 65_535 });
