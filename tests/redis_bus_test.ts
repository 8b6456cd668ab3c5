import assert from "node:assert/strict";
import { newNodeName } from "../lib/chat/bus.ts";
import { connectRedisBus } from "../lib/chat/redis_bus.ts";
import { startTestServer, TestClient } from "../testing.ts";
import { startRedis } from "./_helpers/redis.ts";
import { eventually, hasCommand } from "./_helpers/tools.ts";

const haveRedis = hasCommand("redis-server");
const skipped = haveRedis ? "" : " (skipped: redis-server is not installed)";
if (!haveRedis) console.warn("redis_bus_test: redis-server is not installed; skipping");

Deno.test({
  name:
    `two servers on a Redis bus share one chat room, and find each other again after Redis restarts${skipped}`,
  ignore: !haveRedis,
  async fn() {
    await using redis = await startRedis();
    const url = `redis://127.0.0.1:${redis.port}`;
    const busOne = await connectRedisBus(url, newNodeName());
    const busTwo = await connectRedisBus(url, newNodeName());
    try {
      await using one = await startTestServer({ mode: "poll", service: "chat", bus: busOne });
      await using two = await startTestServer({ mode: "poll", service: "chat", bus: busTwo });
      using ana = await TestClient.connect(one.port);
      assert.match((await ana.readLine())!, /^\* welcome/);
      using ben = await TestClient.connect(two.port);
      assert.match((await ben.readLine())!, /^\* welcome/);
      assert.match((await ana.readLine())!, /joined$/);

      await ben.send("uno\ndos\n");
      assert.match((await ana.readLine())!, /> uno$/);
      assert.match((await ana.readLine())!, /> dos$/);
      await ana.send("/who\n");
      assert.match((await ana.readLine())!, /^\* online \(2\): /);

      await redis.kill();
      await redis.restart();
      // The clients reconnect with backoff and resubscribe; until they have,
      // what ana says is queued or lost, so she repeats herself until ben hears.
      // ana's own join notice may reach ben late, having crossed Redis after he joined.
      const heard = (async () => {
        let line = await ben.readLine();
        while (line !== null && / joined$/.test(line)) line = await ben.readLine();
        return line;
      })();
      let said = 0;
      const answer = await eventually("a message to cross the restarted Redis", async () => {
        await ana.send(`again ${++said}\n`);
        return await Promise.race([heard, Promise.resolve(undefined)]);
      });
      assert.match(answer!, /> again \d+$/);
    } finally {
      await busOne.close();
      await busTwo.close();
    }
  },
});
