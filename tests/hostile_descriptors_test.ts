/**
 * Running out of descriptors under `workers`, where each client also needs a
 * Worker: new clients are refused or wait, and the server lives on.
 */
import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { connectUntil, haveProcLimit, startWithDescriptors } from "./_helpers/cli.ts";

Deno.test({
  name:
    "workers: running out of descriptors refuses or delays new clients, and the server serves again once they leave",
  ignore: !haveProcLimit,
  async fn() {
    await using server = await startWithDescriptors(128, [
      "--mode=workers",
      "--service=echo",
      "--max-conns=0",
    ]);
    // Bounded: 128 descriptors run out long before 300 clients.
    const clients = await connectUntil(
      server,
      /refusing clients: fewer than \d+ descriptors|accept on .* failed/,
      300,
    );
    for (const client of clients) client.close();
    using echo = await TestClient.connect(server.port);
    await echo.send("still here\n");
    assert.equal(await echo.readLine(), "still here");
    echo.close();
    const status = await server.stop();
    assert.equal(status.code, 0, status.logged.join("\n"));
  },
});
