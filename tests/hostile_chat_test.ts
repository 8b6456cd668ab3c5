/**
 * Chat under hostile load: a burst through every `reuseport` Worker, `/who`
 * while clients come and go, a flooder, and names chosen to deceive.
 */
import assert from "node:assert/strict";
import { startTestServer, TestClient } from "../testing.ts";

/** Reads lines until one matches `last`, and returns the ones that match `keep`. */
async function readUntil(client: TestClient, last: RegExp, keep: RegExp): Promise<string[]> {
  const kept: string[] = [];
  for (;;) {
    const line = await client.readLine();
    assert.notEqual(line, null, `the stream ended before a line matching ${last}`);
    if (keep.test(line!)) kept.push(line!);
    if (last.test(line!)) return kept;
  }
}

Deno.test("reuseport: every chat line reaches every member of every Worker once, in order, and /who is exact", async () => {
  const MEMBERS = 24;
  const LINES = 2000;
  await using server = await startTestServer({ mode: "reuseport", service: "chat", threads: 4 });
  const clients: TestClient[] = [];
  try {
    for (let i = 0; i < MEMBERS; i++) {
      const client = await TestClient.connect(server.port);
      clients.push(client);
      assert.match((await client.readLine())!, /^\* welcome, guest\d+;/);
    }
    const [first, ...others] = clients as [TestClient, ...TestClient[]];
    // Each join is known to the hub before its notice is sent, so the notices say when /who is complete.
    for (let joined = 0; joined < MEMBERS - 1; joined++) {
      await readUntil(first, /^\* guest\d+ joined$/, /joined/);
    }
    await first.send("/who\n");
    const who = await readUntil(first, /^\* online /, /^\* online /);
    assert.match(who[0]!, new RegExp(`^\\* online \\(${MEMBERS}\\): `));

    const burst = Array.from({ length: LINES }, (_, i) => `line ${i}\n`).join("") + "end\n";
    await first.send(burst);
    const expected = Array.from({ length: LINES }, (_, i) => `line ${i}`);
    await Promise.all(others.map(async (client) => {
      const got = await readUntil(client, /> end$/, /> line \d+$/);
      assert.deepEqual(got.map((line) => line.replace(/^<guest\d+> /, "")), expected);
    }));

    for (const client of others) client.close();
    for (let left = 0; left < MEMBERS - 1; left++) {
      await readUntil(first, /^\* guest\d+ left$/, /left/);
    }
    await first.send("/who\n");
    const alone = await readUntil(first, /^\* online /, /^\* online /);
    assert.match(alone[0]!, /^\* online \(1\): /);
  } finally {
    for (const client of clients) client.close();
  }
});
