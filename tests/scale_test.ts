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

/** Where `gcc` is, or null: the echoload test builds servidor's copy with it. */
async function gccPath(): Promise<string | null> {
  try {
    const out = await new Deno.Command("gcc", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success ? "gcc" : null;
  } catch {
    return null;
  }
}

const gcc = await gccPath();

Deno.test({
  name:
    "echoload -G: every connection makes its first round trip before the steady state, then each takes part in it",
  ignore: gcc === null
    ? (console.warn("ignored: gcc not found, echoload cannot be built"), true)
    : false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "servidor-echoload-" });
    const echoload = `${dir}/echoload`;
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const served: Promise<void>[] = [];
    const accepting = (async () => {
      for await (const conn of listener) {
        served.push((async () => {
          try {
            await conn.readable.pipeTo(conn.writable);
          } catch { /* the client's reset at its end */ }
        })());
      }
    })();
    try {
      const built = await new Deno.Command(gcc!, {
        args: ["-O2", "-o", echoload, new URL("../bench/echoload.c", import.meta.url).pathname],
      }).output();
      assert.equal(built.success, true, new TextDecoder().decode(built.stderr));
      const run = await new Deno.Command(echoload, {
        args: [
          "127.0.0.1",
          String(listener.addr.port),
          ..."-c 50 -s 64 -d 1 -w 0.2 -v -R 500 -G 20".split(" "),
        ],
      }).output();
      const line = new TextDecoder().decode(run.stdout);
      const figures = parseEchoload(line);
      assert.equal(figures?.errors, 0, line);
      assert.equal(figures?.mismatches, 0, line);
      assert.equal(figures?.firstDone, 50, line);
      // Every connection was let into the steady state, and each made round trips in it.
      assert.ok((figures?.connMin ?? 0) >= 1, line);
      // The gate cannot open before the last of 50 connections opened at 500 a second is up.
      const gateS = Number(/gate_s=(\d+\.\d\d)/.exec(line)?.[1]);
      assert.ok(gateS >= 0.09, line);
    } finally {
      listener.close();
      await accepting.catch(() => {});
      await Promise.all(served);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
