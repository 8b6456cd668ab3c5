/** The small promises of the command line that a hostile run found broken. */
import assert from "node:assert/strict";
import { host, positiveSeconds, seconds } from "../cli/parse.ts";
import { TestClient } from "../testing.ts";
import { assertOneLineError, CliServer, runCli } from "./_helpers/cli.ts";

Deno.test("seconds() rounds a positive duration below a millisecond up to one, never down to 0 (off)", () => {
  assert.equal(seconds(86_400)("0.0001"), 1);
  assert.equal(seconds(86_400)("0.0004"), 1);
  assert.equal(seconds(86_400)("0"), 0);
  assert.equal(seconds(3_600)("0.25"), 250);
});

Deno.test("positiveSeconds() takes decimals and refuses 0", () => {
  assert.equal(positiveSeconds(86_400)("0.5"), 500);
  assert.throws(() => positiveSeconds(86_400)("0"), /expected seconds above 0/);
});

Deno.test("host() takes names and addresses, and refuses what looks like an address but is not one", () => {
  for (const good of ["localhost", "127.0.0.1", "::1", "0.0.0.0", "example.org"]) {
    assert.equal(host(good), good);
  }
  for (const bad of ["256.1.1.1", "1.2.3", "::::::::", "1:2:3:4:5:6:7:8:9", ""]) {
    assert.throws(() => host(bad), /expected a host name or an IPv4 or IPv6 address/);
  }
});

Deno.test("the CLI refuses --host=256.1.1.1 in one line with status 2", async () => {
  assertOneLineError(
    await runCli(["--host=256.1.1.1", "--port=0"]),
    2,
    /invalid --host "256\.1\.1\.1"/,
  );
  assertOneLineError(
    await runCli(["--stats-host=1.2.3.999", "--stats-port=0", "--port=0"]),
    2,
    /invalid --stats-host/,
  );
});

Deno.test("the CLI logs a summary every --stats-interval=0.5 seconds", async () => {
  await using server = await CliServer.start(["--service=echo", "--stats-interval=0.5"]);
  await server.waitForLogCount(/stats: open=0 /, 2);
  assert.equal((await server.stop()).code, 0);
});

Deno.test("a URL --service that cannot be loaded is one line from servidor", async () => {
  using probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${probe.addr.port}/missing.ts`;
  probe.close();
  const result = await runCli([`--service=${url}`, "--port=0"], ["--allow-net", "--allow-import"]);
  // Deno itself announces the download on a line of its own; that one is not servidor's.
  const ours = result.stderr.split("\n").filter((line) => line !== "" && !/Download/.test(line));
  assert.equal(result.code, 2, result.stderr);
  assert.equal(ours.length, 1, result.stderr);
  assert.match(
    ours[0]!,
    /^servidor: --service: cannot load service module .*missing\.ts: .*refused/,
  );
});

Deno.test("the CLI with --idle-timeout=0.0001 closes a silent client, not never", async () => {
  await using server = await CliServer.start(["--service=echo", "--idle-timeout=0.0001"]);
  using client = await TestClient.connect(server.port);
  // Rounded to 0, the timeout was off and this read waited for ever; the cap only bounds the test.
  let cap: ReturnType<typeof setTimeout> | undefined;
  const capped = new Promise<string>((resolve) =>
    cap = setTimeout(() => resolve("(no line in 60 s)"), 60_000)
  );
  try {
    // echo is a byte service: it is closed without a notice line.
    assert.equal(await Promise.race([client.readLine(), capped]), null);
  } finally {
    clearTimeout(cap);
  }
});

Deno.test("the CLI with --handler-timeout=0.0004 cuts off a long compute request under workers, not never", async () => {
  await using server = await CliServer.start([
    "--mode=workers",
    "--service=compute",
    "--handler-timeout=0.0004",
  ]);
  using client = await TestClient.connect(server.port);
  await client.send("sha256 1000000 x\n");
  // Rounded to 0, the timeout was off and the hash came back.
  assert.equal(await client.readLine(), "ERR internal error");
});
