/**
 * Signals at awkward moments: a hangup during the shutdown grace, and
 * SIGTERM or SIGINT while `compute` keeps the thread busy.
 */
import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { CliServer } from "./_helpers/cli.ts";

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
