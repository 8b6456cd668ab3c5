/**
 * The pieces behind docs/scale.md: a connection's close callbacks, which
 * replaced a per-connection AbortController for servidor's own bookkeeping,
 * and the figures bench:compare reads and prints for many connections.
 */
import assert from "node:assert/strict";
import { parseEchoload } from "../bench/compare/echo.ts";
import { manyTable } from "../bench/compare/many.ts";
import { emptyRow, type Row } from "../bench/compare/measure.ts";
import { Connection } from "../lib/connection.ts";

Deno.test("Connection.whenClosed() calls back once when the connection closes, and at once after", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const connection = new Connection(await listener.accept(), 1);
  const calls: string[] = [];
  connection.whenClosed(() => calls.push("first"));
  connection.whenClosed(() => calls.push("second"));
  assert.deepEqual([...calls], []);
  connection.close();
  connection.close();
  assert.deepEqual([...calls], ["first", "second"]);
  connection.whenClosed(() => calls.push("late"));
  assert.deepEqual([...calls], ["first", "second", "late"]);
  // The signal, made only when asked for, still tells of the close that came before it.
  assert.equal(connection.signal.aborted, true);
  assert.equal(await client.read(new Uint8Array(1)), null);
});

Deno.test("parseEchoload() reads servidor's echoload line and leaves the shared copy's missing figures null", () => {
  const ours = parseEchoload(
    "rps=80130 MBps=10.26 p50_us=12000 p99_us=46900 errors=0 mismatches=0 conns=10000 size=64 " +
      "p999_us=2142000 first_p99_us=1121000 conn_min=3 conn_p50=40 conn_max=90 first_done=9876\n",
  );
  assert.equal(ours?.rps, 80130);
  assert.equal(ours?.p999Us, 2142000);
  assert.equal(ours?.firstP99Us, 1121000);
  assert.equal(ours?.firstDone, 9876);
  assert.deepEqual([ours?.connMin, ours?.connP50, ours?.connMax], [3, 40, 90]);
  const shared = parseEchoload(
    "rps=1000 MBps=0.13 p50_us=50 p99_us=90 errors=0 mismatches=0 conns=50 size=64\n",
  );
  assert.equal(shared?.p99Us, 90);
  assert.equal(shared?.p999Us, null);
  assert.equal(shared?.connMin, null);
  assert.equal(shared?.firstDone, null);
  assert.equal(parseEchoload("echoload: cannot connect\n"), null);
});

Deno.test("manyTable() gives p99 ÷ p50, the round trips per connection and the multiples of Node's row", () => {
  const row = (server: string, p50Us: number, p99Us: number, p999Us: number, rss: number): Row => ({
    ...emptyRow({
      id: server,
      name: server,
      group: "reference",
      command: "x",
      args: [],
      portFrom: "argv",
    }, ""),
    rps: 1000,
    p50Us,
    p99Us,
    p999Us,
    peakRssMiB: rss,
    firstP99Us: 5000,
    firstDone: 9,
    connMin: 1,
    connP50: 2,
    connMax: 3,
    listenOverflows: 7,
  });
  const lines = manyTable({
    name: "many",
    title: "t",
    baseline: "node-net",
    rows: [row("node-net", 100, 400, 500, 60), row("deno-readloop", 100, 10_000, 1_000, 120)],
  });
  const loop = lines.find((line) => line.startsWith("| deno-readloop"));
  assert.equal(
    loop,
    "| deno-readloop | 1,000 | 2.00 | 100.00 | 1 / 2 / 3 | 5,000 | 9 | 7 | 120.0 | 2.00 |",
  );
  assert.deepEqual(manyTable({ name: "echo-small", title: "t", baseline: null, rows: [] }), []);
});
