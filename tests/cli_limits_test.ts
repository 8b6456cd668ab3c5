import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { assertOneLineError, CliServer, runCli } from "./_helpers/cli.ts";

const BAD_LIMITS: Array<[string[], RegExp]> = [
  [["--max-conns=-1"], /^servidor: invalid --max-conns "-1": expected a whole number from 0/],
  [["--max-per-ip=many"], /^servidor: invalid --max-per-ip "many"/],
  [["--idle-timeout=-5"], /^servidor: invalid --idle-timeout "-5": expected seconds from 0/],
  [["--grace=soon"], /^servidor: invalid --grace "soon"/],
  [["--handler-timeout=1e3"], /^servidor: invalid --handler-timeout "1e3"/],
  [["--allow=10.0.0.0/33"], /^servidor: invalid --allow: "10\.0\.0\.0\/33" has a prefix length/],
  [["--deny=example.com"], /^servidor: invalid --deny: "example\.com" is not an IPv4 or IPv6/],
  [
    ["--deny=::1/129"],
    /^servidor: invalid --deny: "::1\/129" has a prefix length outside 0 to 128/,
  ],
  [["--log-level=verbose"], /^servidor: invalid --log-level "verbose"/],
  [["--port=70000"], /^servidor: invalid --port "70000"/],
];

for (const [args, message] of BAD_LIMITS) {
  Deno.test(`the CLI rejects ${args.join(" ")} with one line and exit status 2`, async () => {
    assertOneLineError(await runCli(args), 2, message);
  });
}

const REFUSALS: Array<[string, string[], string | null, RegExp]> = [
  ["busy", ["--max-conns=1"], "ERR server busy", /INF.*refused 127\.0\.0\.1:\d+: busy/],
  [
    "per-ip",
    ["--max-per-ip=1"],
    "ERR too many connections from your address",
    /INF.*refused 127\.0\.0\.1:\d+: per-ip/,
  ],
  [
    "denied",
    ["--allow=127.0.0.0/8", "--deny=::1", "--deny=127.0.0.1/32"],
    null,
    /INF.*refused 127\.0\.0\.1:\d+: denied/,
  ],
];

for (const [reason, flags, notice, logged] of REFUSALS) {
  Deno.test(`the CLI refuses a client (${reason}) with ${flags.join(" ")} and logs it at info`, async () => {
    await using server = await CliServer.start(["--mode=poll", "--service=reverse", ...flags]);
    if (reason !== "denied") {
      using first = await TestClient.connect(server.port);
      await first.send("one\n");
      assert.equal(await first.readLine(), "eno");
      using refused = await TestClient.connect(server.port);
      assert.equal(await refused.readLine(), notice);
      assert.equal(await refused.readLine(), null);
    } else {
      using refused = await TestClient.connect(server.port);
      assert.equal(await refused.readLine(), null);
    }
    await server.waitForLog(logged);
    assert.equal((await server.stop()).code, 0);
  });
}
