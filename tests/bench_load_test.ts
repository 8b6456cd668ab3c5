import assert from "node:assert/strict";
import { runLoad } from "../bench/load.ts";
import { BENCH_FLAGS } from "../cli/bench.ts";
import { assertOneLineError, runCli } from "./_helpers/cli.ts";

/**
 * A plain echo server for the load generator to talk to, independent of
 * servidor's own strategies so that these tests check only `bench/load.ts`.
 * `close()` stops accepting, closes every open connection, and waits for the
 * handlers, so nothing outlives a test.
 */
function startEcho(): { port: number; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const handlers: Promise<void>[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        conns.add(conn);
        handlers.push(echo(conn).finally(() => conns.delete(conn)));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  })();
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      await accepting;
      for (const conn of conns) closeQuietly(conn);
      await Promise.all(handlers);
    },
  };
}

async function echo(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      for (let written = 0; written < n;) {
        written += await conn.write(buffer.subarray(written, n));
      }
    }
  } catch (error) {
    // The test's close() or the client may close the socket under a pending read or write.
    if (
      !(error instanceof Deno.errors.BadResource || error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.Interrupted)
    ) throw error;
  } finally {
    closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

// The duration is only a safety bound here: each run ends when every
// connection has made its round trips, so no figure depends on timing.
const SAFETY_DURATION_S = 30;

Deno.test("runLoad() makes exactly the requested round trips on every connection and checks each reply", async () => {
  const server = startEcho();
  try {
    const result = await runLoad({
      port: server.port,
      conns: 2,
      size: 64,
      requests: 200,
      durationS: SAFETY_DURATION_S,
      verify: true,
    });
    assert.equal(result.requests, 400);
    assert.equal(result.errors, 0);
    assert.equal(result.mismatches, 0);
    assert.equal(result.mbps > 0, true);
    assert.equal(result.p50Us <= result.p99Us && result.p99Us <= result.maxUs, true);
  } finally {
    await server.close();
  }
});

Deno.test("runLoad() with churn opens a new connection for every round trip", async () => {
  const server = startEcho();
  try {
    const result = await runLoad({
      port: server.port,
      conns: 3,
      size: 100,
      requests: 20,
      durationS: SAFETY_DURATION_S,
      verify: true,
      churn: true,
    });
    assert.equal(result.requests, 60);
    assert.equal(result.errors, 0);
    assert.equal(result.mismatches, 0);
  } finally {
    await server.close();
  }
});

Deno.test("runLoad() in line mode reads one reply line per request", async () => {
  const server = startEcho();
  try {
    const result = await runLoad({
      port: server.port,
      conns: 2,
      requests: 50,
      durationS: SAFETY_DURATION_S,
      line: true,
      verify: true,
    });
    assert.equal(result.requests, 100);
    assert.equal(result.errors, 0);
    assert.equal(result.mismatches, 0);
  } finally {
    await server.close();
  }
});

Deno.test("runLoad() splits connections over worker threads and adds up their counts", async () => {
  const server = startEcho();
  try {
    const result = await runLoad({
      port: server.port,
      conns: 3,
      threads: 2,
      requests: 30,
      durationS: SAFETY_DURATION_S,
      verify: true,
    });
    assert.equal(result.requests, 90);
    assert.equal(result.errors, 0);
    assert.equal(result.mismatches, 0);
  } finally {
    await server.close();
  }
});

Deno.test("runLoad() counts a refused connection as an error instead of throwing", async () => {
  // A port that was free a moment ago, so nothing is listening on it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await runLoad({ port, conns: 1, requests: 2, durationS: SAFETY_DURATION_S });
  assert.equal(result.requests, 0);
  assert.equal(result.errors, 2);
});

Deno.test("`servidor bench` against a closed port says why in one line and exits 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await runCli(["bench", `--port=${port}`, "--duration=1"]);
  assertOneLineError(
    result,
    1,
    new RegExp(
      `^servidor: bench: cannot connect to 127\\.0\\.0\\.1:${port}: connection refused \\(is a server listening there\\?\\)`,
    ),
  );
});

Deno.test("`servidor bench` refuses a bad flag in one line naming it, exit status 2", async () => {
  assertOneLineError(await runCli(["bench", "--port=x"]), 2, /^servidor: invalid --port "x"/);
  assertOneLineError(await runCli(["bench", "--port=7000", "--no-such-flag"]), 2, /no-such-flag/);
  assertOneLineError(await runCli(["bench"]), 2, /^servidor: bench needs --port/);
  assertOneLineError(
    await runCli(["bench", "--port=7000", "--conns=2", "--threads=3"]),
    2,
    /--threads cannot exceed --conns/,
  );
});

Deno.test("`servidor bench --help` is generated from its flag table", async () => {
  const result = await runCli(["bench", "--help"]);
  assert.equal(result.code, 0, result.stderr);
  for (const flag of BENCH_FLAGS) assert.match(result.stdout, new RegExp(`--${flag.name}\\b`));
});

Deno.test("`servidor bench --json` prints one JSON object for a run against a real echo server", async () => {
  const server = startEcho();
  try {
    const result = await runCli([
      "bench",
      `--port=${server.port}`,
      "--conns=2",
      "--requests=5",
      "--verify",
      "--json",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout);
    assert.equal(parsed.requests, 10);
    assert.equal(parsed.mismatches, 0);
  } finally {
    await server.close();
  }
});
