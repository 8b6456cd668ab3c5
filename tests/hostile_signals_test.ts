/**
 * Signals at awkward moments: a hangup during the shutdown grace, and
 * SIGTERM or SIGINT while `compute` keeps the thread busy.
 */
import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { MAX_ROUNDS } from "../services/compute.ts";
import { DEFAULT_HANDLER_TIMEOUT_MS } from "../strategies/workers.ts";
import { CliServer } from "./_helpers/cli.ts";
import { SHUTDOWN_NOTICE } from "../lib/server.ts";

for (const config of [false, true]) {
  Deno.test(`SIGHUP during the shutdown grace is ignored ${config ? "with" : "without"} --config`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/servidor.json`;
      await Deno.writeTextFile(file, "{}");
      await using server = await CliServer.start([
        "--service=echo",
        "--grace=600",
        ...(config ? [`--config=${file}`] : []),
      ]);
      using client = await TestClient.connect(server.port);
      await client.send("hola\n");
      assert.equal(await client.readLine(), "hola");
      server.child.kill("SIGTERM");
      await server.waitForLog(/shutting down: 1 clients/);
      server.child.kill("SIGHUP");
      await server.waitForLog(/SIGHUP while shutting down: ignored/);
      // The client still has its grace: it is served, and its leaving ends the server.
      await client.send("still\n");
      assert.equal(await client.readLine(), "still");
      client.close();
      const status = await server.exited();
      assert.equal(status.code, 0);
      assert.ok(server.log.some((line) => /^stopped: 1 client served/.test(line)));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/**
 * Pipelined requests, one write, so that the server reads them all in one
 * chunk: more work than the server can get through before a signal reaches
 * it, however late that is. A signal may be seen only several requests
 * after it was sent (a busy thread's event loop polls for it between
 * requests, not at each one), so a short pipeline could run out first.
 */
const PIPELINED = 100;
const REQUESTS = Array.from({ length: PIPELINED }, (_, i) => `sha256 100000 ${i}\n`).join("");
const ANSWER = /^[0-9a-f]{64}$/;

/** Reads lines until the server closes. */
async function linesUntilClosed(client: TestClient): Promise<string[]> {
  const lines: string[] = [];
  for (let line = await client.readLine(); line !== null; line = await client.readLine()) {
    lines.push(line);
  }
  return lines;
}

for (const mode of ["poll", "reuseport"]) {
  Deno.test(`${mode}: SIGTERM while compute runs starts the shutdown right after the running request`, async () => {
    await using server = await CliServer.start([
      `--mode=${mode}`,
      "--service=compute",
      "--grace=0",
      "--threads=1",
    ], ["--unstable-net", "--allow-net", "--allow-read"]);
    using client = await TestClient.connect(server.port);
    await client.send(REQUESTS);
    assert.match((await client.readLine())!, ANSWER);
    server.child.kill("SIGTERM");
    const lines = await linesUntilClosed(client);
    // The notice is written the moment the server sees the signal, between two
    // requests, and the client is closed right behind it: the request running
    // when the signal was seen has answered before it, and no later one starts.
    const notice = lines.indexOf(SHUTDOWN_NOTICE);
    assert.ok(notice >= 0, `no shutdown notice in ${lines.length} lines`);
    assert.deepEqual(lines.slice(notice + 1), [], "nothing may follow the notice");
    assert.ok(lines.slice(0, notice).every((line) => ANSWER.test(line)), lines.join("\n"));
    assert.ok(notice + 1 < PIPELINED, `${notice + 1} of ${PIPELINED} answered`);
    const status = await server.exited();
    assert.equal(status.code, 0);
    assert.ok(server.log.some((line) => /shutting down/.test(line)), server.log.join("\n"));
  });
}

Deno.test("poll: a second signal while compute runs exits right after the running request", async () => {
  await using server = await CliServer.start(["--mode=poll", "--service=compute", "--grace=600"]);
  using client = await TestClient.connect(server.port);
  await client.send(REQUESTS);
  assert.match((await client.readLine())!, ANSWER);
  server.child.kill("SIGTERM");
  server.child.kill("SIGINT");
  const answers = (await linesUntilClosed(client)).filter((line) => ANSWER.test(line));
  assert.ok(answers.length + 1 < PIPELINED, `${answers.length + 1} of ${PIPELINED} answered`);
  assert.equal((await server.exited()).code, 130);
});

Deno.test("compute refuses more than MAX_ROUNDS rounds, the bound that keeps its largest request inside the default handler timeout", async () => {
  await using server = await CliServer.start(["--service=compute"]);
  using client = await TestClient.connect(server.port);
  // 10,000,000 rounds took ~25 s here, near the 30 s default; the bound is a tenth of that.
  assert.equal(MAX_ROUNDS, 1_000_000);
  assert.ok(DEFAULT_HANDLER_TIMEOUT_MS >= 30_000);
  await client.send(`sha256 ${MAX_ROUNDS + 1} x\nsha256 10000000 x\n`);
  for (let i = 0; i < 2; i++) {
    assert.equal(
      await client.readLine(),
      `ERR usage: sha256 ROUNDS TEXT (ROUNDS from 1 to ${MAX_ROUNDS})`,
    );
  }
});
