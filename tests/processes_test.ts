/**
 * `--mode=processes`: a child process per client, which stops a stuck
 * handler for real (SIGKILL), where a Worker's thread spins on. The services
 * themselves run under processes in every table of modes
 * (tests/services_test.ts and the others); these are what only processes do.
 */
import assert from "node:assert/strict";
import type { ProcessesStrategy } from "../strategies/processes.ts";
import { startTestServer, TestClient } from "../testing.ts";
import { chatConversation, netcatChat } from "./_helpers/chat.ts";
import { assertOneLineError, CliServer, runCli } from "./_helpers/cli.ts";
import { HAVE_PROC, readProc } from "./_helpers/proc.ts";
import { eventually, hasCommand } from "./_helpers/tools.ts";

const SPINNING = new URL("./fixtures/spinning_service.ts", import.meta.url);

/** Asks a `spinning` service for the id of the process that runs it. */
async function childPid(client: TestClient): Promise<number> {
  await client.send("pid\n");
  const pid = Number(await client.readLine());
  assert.ok(Number.isInteger(pid) && pid > 0, `not a process id: ${pid}`);
  return pid;
}

Deno.test({
  name: "a `while (true) {}` handler past the handler timeout is killed: ERR internal error, " +
    "its process gone, the next client served",
  ignore: !HAVE_PROC,
  async fn() {
    await using server = await startTestServer({
      mode: "processes",
      service: SPINNING,
      handlerTimeoutMs: 300,
    });
    const strategy = server.strategy as ProcessesStrategy;
    for (let round = 0; round < 3; round++) {
      using stuck = await TestClient.connect(server.port);
      const pid = await childPid(stuck);
      assert.notEqual(pid, Deno.pid);
      assert.ok(readProc(`/proc/${pid}/status`) !== undefined, "the child runs");
      await stuck.send("spin\n");
      assert.equal(await stuck.readLine(), "ERR internal error");
      assert.equal(await stuck.readLine(), null);
      // The client is told only once its process has been killed and reaped:
      // no process, no spinning core, no memory.
      assert.equal(readProc(`/proc/${pid}/status`), undefined, `process ${pid} is still there`);
    }
    using next = await TestClient.connect(server.port);
    await next.send("still here\n");
    assert.equal(await next.readLine(), "still here");
    next.close();
    // Nothing stuck is left counting against the ceiling.
    await eventually(
      "no child left alive",
      () => Promise.resolve(strategy.alive === 0 || undefined),
    );
  },
});

Deno.test("chat carries messages, names, who and notices between clients in two processes", async () => {
  await using server = await startTestServer({ mode: "processes", service: "chat" });
  await chatConversation(server.port, server.port);
});

Deno.test("--max-processes=1 serves one client at a time; the next waits and is served", async () => {
  await using server = await startTestServer({
    mode: "processes",
    service: "reverse",
    maxProcesses: 1,
  });
  const strategy = server.strategy as ProcessesStrategy;
  using first = await TestClient.connect(server.port);
  await first.send("one\n");
  assert.equal(await first.readLine(), "eno");
  using second = await TestClient.connect(server.port);
  await second.send("two\n");
  await eventually("a client waiting", () => Promise.resolve(strategy.waiting === 1 || undefined));
  assert.equal(strategy.alive, 1);
  first.close();
  assert.equal(await second.readLine(), "owt");
});

Deno.test("a child gets only the permissions its service needs: no network, no environment", async () => {
  await using server = await startTestServer({
    mode: "processes",
    service: new URL("./fixtures/permissions_service.ts", import.meta.url),
  });
  using client = await TestClient.connect(server.port);
  for (const name of ["net", "env", "write", "run"]) {
    await client.send(`${name}\n`);
    assert.notEqual(await client.readLine(), "granted", `the child may use ${name}`);
  }
  // Its own module's folder it may read: that is how it loaded.
  await client.send(`read ${new URL("./fixtures/", import.meta.url).pathname}\n`);
  assert.equal(await client.readLine(), "granted");
});

Deno.test("--mode=processes without --allow-run fails before listening, in one line naming the command", async () => {
  const result = await runCli(["--mode=processes", "--port=0"], ["--allow-net"]);
  assertOneLineError(
    result,
    2,
    /needs --allow-run: run deno run --allow-net --allow-run main\.ts --mode=processes/,
  );
});

Deno.test({
  name:
    "deno run --allow-net --allow-run main.ts --mode=processes --service=chat serves two nc clients chatting",
  ignore: !hasCommand("nc"),
  async fn() {
    await using server = await CliServer.start(
      ["--mode=processes", "--service=chat"],
      ["--allow-net", "--allow-run"],
    );
    await netcatChat(server.port);
  },
});
