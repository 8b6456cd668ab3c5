// Loaded before a server's own code (`deno run --preload` / `node --import`) by bench/gc_tail.ts,
// with V8's --trace-gc and --expose-gc: it records how late a 1 ms interval fires (a late tick is
// an event-loop turn that held the thread, a GC pause included), and prints on stderr (V8's trace
// goes to stdout, buffered, and would cut the lines in two) for the bench to read beside the trace:
//   gctail-mark PERF_MS WALL_MS   right after one forced collection at start, whose trace line
//                                 ("testing") ties V8's clock to performance.now() and Date.now()
//   gctail-lags JSON              on SIGTERM or exit: [tick time, ms since the previous tick] for every
//                                 gap over 5 ms, and the count of ticks
// then exits with status 0, which also flushes V8's buffered trace.
import process from "node:process";
import { setInterval } from "node:timers";

globalThis.gc();
console.error(`gctail-mark ${performance.now()} ${Date.now()}`);
const gaps = [];
let ticks = 0;
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  ticks++;
  if (now - last > 5) gaps.push([Math.round(now * 10) / 10, Math.round((now - last) * 10) / 10]);
  last = now;
}, 1).unref();
let printed = false;
const print = () => {
  if (printed) return;
  printed = true;
  console.error(`gctail-lags ${JSON.stringify({ ticks, gaps })}`);
};
// A server with a SIGTERM handler of its own (servidor) may exit first: print on the way out too.
process.on("exit", print);
globalThis.addEventListener?.("unload", print);
process.on("SIGTERM", () => {
  print();
  process.exit(0);
});
