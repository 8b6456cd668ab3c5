/**
 * The tests of `upper.ts`, written with servidor's testing kit: a complete
 * test file to copy next to your own service. Run it with
 *
 *     deno test --unstable-net --allow-net --allow-read services/examples/upper_test.ts
 *
 * @module
 */
import assert from "node:assert/strict";
import { checkUnderEveryMode, openTestSession, type ServiceClient } from "../../testing.ts";
import upper from "./upper.ts";

/** One conversation, the same in memory and on the wire. */
async function capitalsAndCount(client: ServiceClient): Promise<void> {
  await client.send("hola mundo\n/count\n");
  assert.equal(await client.readLine(), "HOLA MUNDO");
  assert.equal(await client.readLine(), "2 lines so far");
  await client.end();
  assert.equal(await client.readLine(), null);
}

Deno.test("upper answers in capitals and counts, in memory", async () => {
  await using client = openTestSession(upper);
  await capitalsAndCount(client);
});

Deno.test("upper counts each client's lines on its own", async () => {
  await using ana = openTestSession(upper);
  await using ben = openTestSession(upper, { hub: ana.hub });
  await ana.send("uno\ndos\n/count\n");
  await ben.send("/count\n");
  assert.deepEqual([await ana.readLine(), await ana.readLine()], ["UNO", "DOS"]);
  assert.equal(await ana.readLine(), "3 lines so far");
  assert.equal(await ben.readLine(), "1 lines so far");
});

Deno.test("upper answers alike under single, poll, workers and reuseport", async () => {
  // Workers load the service by its module, so the kit gets the module's URL.
  await checkUnderEveryMode(new URL("./upper.ts", import.meta.url), capitalsAndCount);
});
