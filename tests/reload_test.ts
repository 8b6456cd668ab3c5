import assert from "node:assert/strict";
import { IDLE_NOTICE } from "../lib/server.ts";
import { startTestServer, TestClient } from "../testing.ts";
import { CliServer, runCli } from "./_helpers/cli.ts";
import { Netcat } from "./_helpers/tools.ts";

Deno.test("SIGHUP with a new deny list refuses the next client from that range while an open one keeps working", async () => {
  const config = await Deno.makeTempFile({ prefix: "servidor_reload_", suffix: ".json" });
  try {
    await Deno.writeTextFile(config, JSON.stringify({ deny: ["10.0.0.0/8"] }));
    await using server = await CliServer.start([
      "--service=reverse",
      `--config=${config}`,
      "--stats-port=0",
      "--grace=0",
    ]);
    const [, statsPort] = await server.waitForMatch(/^statistics on http:\/\/[^:]+:(\d+)\//);

    // A client from 127.0.0.2 connects under the old rules and stays connected.
    const early = new Netcat(server.port, "127.0.0.2");
    await early.send("uno\n");
    assert.equal(await early.readLine(), "onu");

    await Deno.writeTextFile(config, JSON.stringify({ deny: ["127.0.0.2/31"] }));
    server.child.kill("SIGHUP");
    await server.waitForMatch(/reloaded .*: deny: 10\.0\.0\.0\/8 -> 127\.0\.0\.2\/31$/);

    // The next client from that range is refused: closed without a word.
    const late = new Netcat(server.port, "127.0.0.3");
    await server.waitForLog(/refused 127\.0\.0\.3:\d+: denied/);
    await late.exited();
    assert.deepEqual(late.unread, []);

    // The open one is still served, and so is everyone outside the range.
    await early.send("dos\n");
    assert.equal(await early.readLine(), "sod");
    {
      using other = await TestClient.connect(server.port);
      await other.send("tres\n");
      assert.equal(await other.readLine(), "sert");
    }

    const stats = await (await fetch(`http://127.0.0.1:${statsPort}/stats.json`)).json();
    assert.equal(stats.refused.denied, 1);
    assert.equal((await server.stop()).code, 0);
    // The server said goodbye to the client it still had.
    assert.equal(await early.readLine(), "server shutting down");
    await early.exited();
  } finally {
    await Deno.remove(config);
  }
});

Deno.test("SIGHUP with a bad config file keeps the settings in force and says why", async () => {
  const config = await Deno.makeTempFile({ prefix: "servidor_reload_", suffix: ".json" });
  try {
    await Deno.writeTextFile(config, JSON.stringify({ "max-per-ip": 1 }));
    await using server = await CliServer.start(["--service=reverse", `--config=${config}`]);
    await Deno.writeTextFile(config, '{"max-per-ip": "lots"}');
    server.child.kill("SIGHUP");
    await server.waitForMatch(
      /reload of .* rejected, the settings in force stay: invalid --max-per-ip: expected a number/,
    );
    // max-per-ip 1 still holds: a second client from the same address is turned away.
    using first = await TestClient.connect(server.port);
    await first.send("uno\n");
    assert.equal(await first.readLine(), "onu");
    using second = await TestClient.connect(server.port);
    assert.equal(await second.readLine(), "ERR too many connections from your address");
    assert.equal(await second.readLine(), null);
  } finally {
    await Deno.remove(config);
  }
});

Deno.test("the CLI refuses a bad --config file at start with one line and status 2", async () => {
  const config = await Deno.makeTempFile({ prefix: "servidor_reload_", suffix: ".json" });
  try {
    await Deno.writeTextFile(config, '{"deny": ["nowhere"]}');
    const { code, stderr } = await runCli(
      ["--port=0", `--config=${config}`],
      ["--allow-net", "--allow-read"],
    );
    assert.equal(code, 2);
    assert.equal(
      stderr,
      `servidor: --config ${config}: invalid --deny: "nowhere" is not an IPv4 or IPv6 address or CIDR block (see --help)\n`,
    );
  } finally {
    await Deno.remove(config);
  }
});

Deno.test("--rate trips at the configured rate: the client over it gets ERR rate limited, counted in the statistics", async () => {
  // Two an hour: the third connection within the test is over the rate whatever the machine's speed.
  await using server = await CliServer.start([
    "--service=reverse",
    "--rate=2/3600",
    "--stats-port=0",
  ]);
  const [, statsPort] = await server.waitForMatch(/^statistics on http:\/\/[^:]+:(\d+)\//);
  for (const word of ["uno", "dos"]) {
    using client = await TestClient.connect(server.port);
    await client.send(`${word}\n`);
    assert.equal(await client.readLine(), [...word].reverse().join(""));
  }
  using limited = await TestClient.connect(server.port);
  assert.equal(await limited.readLine(), "ERR rate limited");
  assert.equal(await limited.readLine(), null);
  await server.waitForMatch(/refused 127\.0\.0\.1:\d+: rate/);
  const stats = await (await fetch(`http://127.0.0.1:${statsPort}/stats.json`)).json();
  assert.equal(stats.refused.rate, 1);
  assert.equal(stats.connectionsTotal, 2);
});

for (const mode of ["poll", "reuseport"] as const) {
  Deno.test(`a reloaded idle timeout applies to the next client only, under ${mode}`, async () => {
    // What ConfigReloader.idleTimeoutMs answers, changed here as a reload would change it.
    let idleTimeoutMs = 0;
    await using server = await startTestServer({
      mode,
      service: "reverse",
      idleTimeoutFor: () => idleTimeoutMs,
    });
    using before = await TestClient.connect(server.port);
    await before.send("uno\n");
    assert.equal(await before.readLine(), "onu");

    idleTimeoutMs = 50;
    using after = await TestClient.connect(server.port);
    await after.send("dos\n");
    assert.equal(await after.readLine(), "sod");
    // Now silent, it is closed with a notice once the new timeout passes.
    assert.equal(await after.readLine(), IDLE_NOTICE);
    assert.equal(await after.readLine(), null);

    // The client from before the change is under the old setting: never idle-closed.
    await before.send("tres\n");
    assert.equal(await before.readLine(), "sert");
  });
}

Deno.test("SIGHUP without --config is logged and the server goes on serving", async () => {
  await using server = await CliServer.start(["--service=reverse"]);
  server.child.kill("SIGHUP");
  await server.waitForLog(/WRN.*SIGHUP: nothing to reload without --config/);
  using client = await TestClient.connect(server.port);
  await client.send("still here\n");
  assert.equal(await client.readLine(), "ereh llits");
  client.close();
  assert.equal((await server.stop()).code, 0);
});
