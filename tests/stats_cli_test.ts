import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { assertOneLineError, CliServer, runCli } from "./_helpers/cli.ts";

Deno.test("the CLI serves statistics on --stats-port and logs a summary every --stats-interval", async () => {
  await using server = await CliServer.start([
    "--mode=workers",
    "--service=reverse",
    "--stats-port=0",
    "--stats-interval=1",
  ]);
  const [, statsPort] = await server.waitForMatch(/^statistics on http:\/\/127\.0\.0\.1:(\d+)\/$/);
  {
    using client = await TestClient.connect(server.port);
    await client.send("uno\ndos\n");
    await client.closeWrite();
    assert.equal(await client.readLine(), "onu");
    assert.equal(await client.readLine(), "sod");
    assert.equal(await client.readLine(), null);
  }
  // The client is counted once its close is logged; then both figures must agree.
  await server.waitForMatch(/close 127\.0\.0\.1:\d+ id=1 /);
  const summary = await server.waitForLog(/stats: open=0 total=1 .* requests=2 /);
  assert.match(summary, / in=8 out=10 /);
  assert.match(summary, / workers=\d+ /);

  const stats = await (await fetch(`http://127.0.0.1:${statsPort}/stats.json`)).json();
  assert.equal(stats.mode, "workers");
  assert.equal(stats.service, "reverse");
  assert.equal(stats.connectionsTotal, 1);
  assert.equal(stats.requests, 2);
  const metrics = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text();
  assert.match(metrics, /^servidor_connections_total 1$/m);

  const status = await server.stop();
  assert.equal(status.code, 0);
});

Deno.test("the CLI rejects a bad --stats-interval or --stats-port with one line and status 2", async () => {
  for (const flag of ["--stats-interval=0", "--stats-port=x"]) {
    assertOneLineError(
      await runCli([flag]),
      2,
      new RegExp(`^servidor: invalid ${flag.split("=")[0]} `),
    );
  }
});

Deno.test("the CLI says the statistics port is in use and exits with status 1", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { code, stderr } = await runCli(["--port=0", `--stats-port=${taken.addr.port}`]);
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `servidor: cannot listen on 127.0.0.1:${taken.addr.port}: address already in use\n`,
  );
});

Deno.test("the CLI adds up the statistics of every reuseport Worker", async () => {
  await using server = await CliServer.start([
    "--mode=reuseport",
    "--threads=2",
    "--service=reverse",
    "--stats-port=0",
    "--stats-interval=1",
  ]);
  const [, statsPort] = await server.waitForMatch(/^statistics on http:\/\/127\.0\.0\.1:(\d+)\/$/);
  for (let i = 0; i < 4; i++) {
    using client = await TestClient.connect(server.port);
    await client.send(`hola ${i}\n`);
    assert.equal(await client.readLine(), `${i} aloh`);
  }
  // The Workers report twice a second and the summary comes once a second: wait for the sums.
  const summary = await server.waitForLog(/stats: open=0 total=4 .* requests=4 .* workers=2 /);
  assert.match(summary, / in=28 out=32 /);
  const stats = await (await fetch(`http://127.0.0.1:${statsPort}/stats.json`)).json();
  assert.equal(stats.mode, "reuseport");
  assert.equal(stats.connectionsTotal, 4);
  assert.equal((await server.stop()).code, 0);
});
