/**
 * The floor tools' arithmetic: bench/gc_tail.ts reads V8's `--trace-gc`
 * lines and its lag probe's, ties the two clocks, and bounds what GC can add
 * to one request. (The tools themselves are benchmarks, run by hand under the
 * bench lock; see docs/scale.md, "Where Deno sets the floor".)
 */
import assert from "node:assert/strict";
import { parseTrace, worstWindow } from "../bench/gc_tail.ts";

Deno.test("parseTrace() puts each GC pause on the probe's clock, from the forced collection", () => {
  const stdout = [
    "[1:0x5]      100 ms: Scavenge 4.4 (5.2) -> 4.0 (6.0) MB, pooled: 0.0 MB, 5.00 / 0.00 ms (average mu = 1.000, current mu = 1.000) allocation failure; ",
    "[1:0x5]      110 ms: Mark-Compact 4.1 (6.0) -> 3.8 (5.8) MB, pooled: 0.0 MB, 8.41 / 0.00 ms (average mu = 0.916, current mu = 0.916) testing; GC in old space requested",
    "[1:0x5]     1110 ms: Scavenge 11.8 (16.5) -> 8.5 (16.5) MB, 1.88 / 0.00 ms  (average mu = 0.9, current mu = 0.9) allocation failure; ",
    "[1:0x5]     2110 ms: Mark-Compact (reduce) 9.1 (17.0) -> 8.0 (12.0) MB, 12.50 / 0.00 ms  (average mu = 0.9) finalize incremental marking via task; GC in old space requested",
  ].join("\n");
  // The probe marked 60 ms on its clock just after the forced collection V8 logged at 110 ms.
  const stderr = "listening\ngctail-mark 60 1000060\n" +
    'gctail-lags {"ticks":3,"gaps":[[1065,20],[2070,15]]}\n';
  const trace = parseTrace(stdout, stderr);
  assert.deepEqual(trace.pauses, [
    { kind: "Scavenge", endMs: 50, ms: 5 },
    { kind: "Scavenge", endMs: 1060, ms: 1.88 },
    { kind: "Mark-Compact", endMs: 2060, ms: 12.5 },
  ]);
  assert.equal(trace.perfToWall, 1_000_000);
  assert.equal(trace.ticks, 3);
  assert.deepEqual(trace.gaps, [[1065, 20], [2070, 15]]);
});

Deno.test("worstWindow() finds the most pause time any one stretch of the given length holds", () => {
  const pauses = [
    { kind: "Scavenge", endMs: 10, ms: 2 },
    { kind: "Scavenge", endMs: 30, ms: 3 },
    { kind: "Mark-Compact", endMs: 500, ms: 20 },
  ];
  assert.equal(worstWindow(pauses, 50), 20);
  // A stretch shorter than a pause holds only its own length of it.
  assert.equal(worstWindow(pauses, 5), 5);
  // 2 ms at 8–10 and 3 ms at 27–30: a 22 ms stretch from 8 holds both.
  assert.equal(worstWindow(pauses.slice(0, 2), 22), 5);
  assert.equal(worstWindow(pauses.slice(0, 2), 10), 3);
  assert.equal(worstWindow(pauses.slice(0, 2), 50), 5);
  assert.equal(worstWindow([], 50), 0);
});
