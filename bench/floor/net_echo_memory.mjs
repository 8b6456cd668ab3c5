// Node's `net` echo, the same under `node` and under `deno run` (where Deno serves it through its
// node:net polyfill and native TCP handles), reporting its own memory: bench/echo_memory.ts's server.
// As ../shared/bench/anchors/node_net_echo.mjs (pipe, no delay), with a 4,096-slot backlog so that a
// crowd is accepted, not dropped. It prints `listening PORT` on stdout; each line `measure` on stdin
// is answered with one JSON line: process.memoryUsage() after two full collections, the largest
// figures sampled every 100 ms since start, and how many clients it accepted.
// Usage: node --expose-gc net_echo_memory.mjs
//        deno run --allow-net --allow-env --v8-flags=--expose-gc net_echo_memory.mjs
import net from "node:net";
import process from "node:process";
import { setInterval } from "node:timers";

let accepted = 0;
const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
const sample = () => {
  const now = process.memoryUsage();
  for (const key of Object.keys(peak)) peak[key] = Math.max(peak[key], now[key]);
};
setInterval(sample, 100).unref();

const server = net.createServer({ noDelay: true }, (socket) => {
  accepted++;
  socket.on("error", () => {});
  socket.pipe(socket);
});
server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  console.log(`listening ${server.address().port}`);
});

let pending = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (text) => {
  pending += text;
  let end;
  while ((end = pending.indexOf("\n")) >= 0) {
    const line = pending.slice(0, end).trim();
    pending = pending.slice(end + 1);
    if (line !== "measure") continue;
    sample();
    globalThis.gc();
    globalThis.gc();
    console.log(JSON.stringify({ now: process.memoryUsage(), peak: { ...peak }, accepted }));
  }
});
process.stdin.on("end", () => process.exit(0));
