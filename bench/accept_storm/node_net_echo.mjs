// Node's net echo with a 4,096-slot listen backlog (the kernel's cap here, servidor's too), for `node`
// and for `deno run`, where Deno serves it with its own native TCP handles. With a first argument,
// re-arms the listener every that many milliseconds, as servidor does (lib/node_tcp.ts): a second
// native listen() on the listening handle puts it on Deno's ready queue. On SIGTERM it prints how many
// clients it accepted and the longest wait between two accepts.
// Usage: … node_net_echo.mjs [REARM_MS] PORT
import net from "node:net";

const args = process.argv.slice(2);
const port = Number(args.at(-1));
const rearmMs = args.length > 1 ? Number(args[0]) : 0;
const BACKLOG = 4096;
let accepted = 0;
let last = 0;
let longest = 0;
const server = net.createServer({ noDelay: true }, (socket) => {
  const now = performance.now();
  if (accepted > 0) longest = Math.max(longest, now - last);
  last = now;
  accepted++;
  socket.on("error", () => {});
  socket.pipe(socket);
});
if (rearmMs > 0) setInterval(() => server._handle?.listen(BACKLOG), rearmMs);
server.listen({ host: "127.0.0.1", port, backlog: BACKLOG });
process.on("SIGTERM", () => {
  console.error(`accepted=${accepted} longest_gap_ms=${Math.round(longest)}`);
  process.exit(0);
});
