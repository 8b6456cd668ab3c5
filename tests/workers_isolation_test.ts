/**
 * One client's handler cannot hurt the others under `workers`: `--max-workers`
 * bounds every thread, idle and stuck ones included, and running out of
 * descriptors refuses clients instead of ending the process.
 */
import assert from "node:assert/strict";
import { prometheusText } from "../lib/stats/prometheus.ts";
import { ServerStats } from "../lib/stats/counters.ts";
import { DEFAULT_IDLE_WORKERS, type WorkersStrategy } from "../strategies/workers.ts";
import { startTestServer, TestClient } from "../testing.ts";
import { CliServer } from "./_helpers/cli.ts";
import { eventually } from "./_helpers/tools.ts";

const STUCK = new URL("./fixtures/stuck_service.ts", import.meta.url);

/** Resolves once `strategy` has `count` clients waiting for a Worker. */
function waitingFor(strategy: WorkersStrategy, count: number): Promise<true> {
  return eventually(
    `${count} clients waiting for a Worker (now ${strategy.waiting})`,
    () => Promise.resolve(strategy.waiting === count ? true : undefined),
  );
}

/** Connects a client and shows it is served: a line comes back reversed. */
async function servedClient(port: number, text: string): Promise<TestClient> {
  const client = await TestClient.connect(port);
  await client.send(`${text}\n`);
  assert.equal(await client.readLine(), [...text].reverse().join(""));
  return client;
}

Deno.test("--max-workers=1 with the default ready Workers serves one client at a time", async () => {
  await using server = await startTestServer({
    mode: "workers",
    service: "reverse",
    maxWorkers: 1,
    idleWorkers: DEFAULT_IDLE_WORKERS,
  });
  const strategy = server.strategy as WorkersStrategy;
  using first = await servedClient(server.port, "one");
  using second = await TestClient.connect(server.port);
  await second.send("two\n");
  await waitingFor(strategy, 1);
  assert.equal(strategy.alive, 1);
  first.close();
  assert.equal(await second.readLine(), "owt");
});

Deno.test("--max-workers=2 --idle-workers=10 serves two clients at a time", async () => {
  await using server = await startTestServer({
    mode: "workers",
    service: "reverse",
    maxWorkers: 2,
    idleWorkers: 10,
  });
  const strategy = server.strategy as WorkersStrategy;
  using first = await servedClient(server.port, "one");
  using _second = await servedClient(server.port, "two");
  using third = await TestClient.connect(server.port);
  await third.send("three\n");
  await waitingFor(strategy, 1);
  assert.equal(strategy.alive, 2);
  first.close();
  assert.equal(await third.readLine(), "eerht");
});

Deno.test("a Worker stuck past the handler timeout is counted as stuck and against --max-workers", async () => {
  // The stuck handler spins while this file exists; removing it lets the thread end.
  const spinning = await Deno.makeTempFile({ prefix: "servidor-stuck-" });
  try {
    await using server = await startTestServer({
      mode: "workers",
      service: STUCK,
      maxWorkers: 2,
      handlerTimeoutMs: 300,
    });
    const strategy = server.strategy as WorkersStrategy;
    {
      using stuck = await TestClient.connect(server.port);
      await stuck.send(`spin ${spinning}\n`);
      assert.equal(await stuck.readLine(), "ERR internal error");
      assert.equal(await stuck.readLine(), null);
    }
    await eventually(
      "the stuck Worker to be counted",
      () => Promise.resolve(strategy.stuck === 1 ? true : undefined),
    );
    // One place is left: the next client is served, the one after waits.
    using next = await TestClient.connect(server.port);
    await next.send("next\n");
    assert.equal(await next.readLine(), "next");
    using last = await TestClient.connect(server.port);
    await last.send("last\n");
    await waitingFor(strategy, 1);
    assert.equal(strategy.alive, 2);
    next.close();
    assert.equal(await last.readLine(), "last");
  } finally {
    await Deno.remove(spinning);
  }
});

Deno.test("the statistics show stuck Workers as servidor_workers_stuck", () => {
  const stats = new ServerStats({
    service: "faulty",
    mode: "workers",
    workersAlive: () => 3,
    workersStuck: () => 1,
  });
  const snapshot = stats.snapshot();
  assert.equal(snapshot.workersStuck, 1);
  assert.match(prometheusText(snapshot), /^servidor_workers_stuck 1$/m);
  const poll = new ServerStats({ service: "echo", mode: "poll" });
  assert.doesNotMatch(prometheusText(poll.snapshot()), /servidor_workers_stuck/);
});

/** The descriptor limit the server runs under: enough to start, too few for every client. */
const DESCRIPTOR_LIMIT = 160;
/** Clients that connect at once: more than the limit holds. */
const CLIENTS = 300;

Deno.test({
  name: "workers out of descriptors refuses clients and goes on, instead of ending the process",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // The server runs under `ulimit -n`, with room for every client's Worker but not its descriptors.
    await using server = await CliServer.startProgram("sh", [
      "-c",
      `ulimit -n ${DESCRIPTOR_LIMIT} && exec "$0" "$@"`,
      Deno.execPath(),
      "run",
      "--no-check",
      "--allow-net",
      new URL("../main.ts", import.meta.url).pathname,
      "--mode=workers",
      "--service=echo",
      "--port=0",
      `--max-workers=${CLIENTS}`,
      "--idle-workers=0",
    ]);
    const clients: TestClient[] = [];
    try {
      for (let i = 0; i < CLIENTS; i++) clients.push(await TestClient.connect(server.port));
      // Each client either is echoed or is refused; none may find the server gone.
      const answers = await Promise.all(clients.map(async (client, i) => {
        await client.send(`client ${i}\n`).catch(() => {});
        return await client.readLine().catch(() => null);
      }));
      const gone = answers.filter((line) => line === null).length;
      assert.equal(gone, 0, `${gone} clients found the server gone:\n${server.log.join("\n")}`);
      const refused = answers.filter((line) => line === "ERR server busy").length;
      const echoed = answers.filter((line, i) => line === `client ${i}`).length;
      assert.ok(refused > 0, "the limit was never reached: raise CLIENTS");
      assert.ok(echoed > 0, "no client was served");
      await server.waitForLog(/refusing clients: fewer than \d+ descriptors are free/);
    } finally {
      for (const client of clients) client.close();
    }
    // The server lives on, and once the descriptors come back it serves again.
    const again = await eventually("a client served after the others left", async () => {
      using client = await TestClient.connect(server.port);
      await client.send("again\n");
      const line = await client.readLine();
      return line === "again" ? line : undefined;
    });
    assert.equal(again, "again");
    const { code } = await server.stop();
    assert.equal(code, 0);
  },
});
