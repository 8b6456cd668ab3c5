import assert from "node:assert/strict";
import type { WorkersStrategy } from "../strategies/workers.ts";
import { startTestServer, TestClient } from "../testing.ts";
import { chatConversation } from "./_helpers/chat.ts";
import { ALL_MODES, CONCURRENT_MODES } from "./_helpers/modes.ts";

const CLIENTS_AT_ONCE = 50;

for (const mode of CONCURRENT_MODES) {
  Deno.test(`${mode} serves ${CLIENTS_AT_ONCE} clients connected at once, each correctly`, async () => {
    await using server = await startTestServer({ mode, service: "reverse" });
    const clients = await Promise.all(
      Array.from({ length: CLIENTS_AT_ONCE }, () => TestClient.connect(server.port)),
    );
    try {
      // Every client sends before any reads, so all are open and waiting together.
      await Promise.all(clients.map((client, i) => client.send(`client ${i}\nsecond ${i}\n`)));
      const replies = await Promise.all(
        clients.map(async (client) => [await client.readLine(), await client.readLine()]),
      );
      replies.forEach((lines, i) => {
        assert.deepEqual(lines, [
          [...`client ${i}`].reverse().join(""),
          [...`second ${i}`].reverse().join(""),
        ]);
      });
    } finally {
      for (const client of clients) client.close();
    }
  });

  Deno.test(`${mode} echoes large messages to many clients without mixing them`, async () => {
    await using server = await startTestServer({ mode, service: "echo" });
    const clients = await Promise.all(
      Array.from({ length: 10 }, () => TestClient.connect(server.port)),
    );
    try {
      await Promise.all(clients.map(async (client, i) => {
        const message = new Uint8Array(300_000).fill(i + 1);
        const [, echoed] = await Promise.all([
          client.send(message),
          client.readBytes(message.byteLength),
        ]);
        assert.ok(echoed.every((byte) => byte === i + 1), `client ${i} got another client's bytes`);
      }));
    } finally {
      for (const client of clients) client.close();
    }
  });
}

/**
 * Shows that a second client is answered only after the first leaves,
 * without timing anything: while the second waits, a full round trip of the
 * first proves the server is still busy with it, and the order in which the
 * two events happen is what the test checks.
 *
 * @param whileFirstServed Runs once the second client is waiting, for checks of the server's state.
 */
async function assertSecondWaitsForFirst(
  port: number,
  whileFirstServed: () => void = () => {},
): Promise<void> {
  using first = await TestClient.connect(port);
  await first.send("one\n");
  assert.equal(await first.readLine(), "eno");

  using second = await TestClient.connect(port);
  await second.send("two\n");
  const events: string[] = [];
  const secondReply = second.readLine().then((line) => {
    events.push("second answered");
    return line;
  });

  await first.send("uno\n");
  assert.equal(await first.readLine(), "onu");
  whileFirstServed();
  events.push("first still served");
  first.close();

  assert.equal(await secondReply, "owt");
  assert.deepEqual(events, ["first still served", "second answered"]);
}

Deno.test("single serves a second client only after the first leaves", async () => {
  await using server = await startTestServer({ mode: "single", service: "reverse" });
  await assertSecondWaitsForFirst(server.port);
});

Deno.test("workers makes the next client wait for a free Worker when --max-workers are busy", async () => {
  await using server = await startTestServer({
    mode: "workers",
    service: "reverse",
    maxWorkers: 1,
  });
  const strategy = server.strategy as WorkersStrategy;
  await assertSecondWaitsForFirst(server.port, () => assert.equal(strategy.alive, 1));
  assert.equal(strategy.waiting, 0);
});

Deno.test("workers keeps a finished Worker ready and serves the next client with it", async () => {
  await using server = await startTestServer({ mode: "workers", service: "echo", idleWorkers: 1 });
  const strategy = server.strategy as WorkersStrategy;
  for (let round = 0; round < 3; round++) {
    using client = await TestClient.connect(server.port);
    await client.send(`round ${round}\n`);
    assert.equal(await client.readLine(), `round ${round}`);
    await client.closeWrite();
    assert.equal(await client.readLine(), null);
  }
  // The third client reused the first's Worker; none were left to start.
  assert.equal(strategy.alive, 1);
});

Deno.test("workers serves client after client on one Worker, also after clients that left without a word or without reading", async () => {
  // One Worker for everybody: after its first client, each is opened and
  // finished through shared memory, and a client that sends nothing is opened
  // only by its end (echo has no open() of its own).
  await using server = await startTestServer({
    mode: "workers",
    service: "echo",
    idleWorkers: 1,
    maxWorkers: 1,
  });
  const strategy = server.strategy as WorkersStrategy;
  const roundTrip = (text: string) => wholeConversation(server.port, text, text);
  await roundTrip("first");
  await roundTrip("second");
  for (let round = 0; round < 3; round++) {
    // Connects and leaves without a byte.
    (await TestClient.connect(server.port)).close();
    await roundTrip(`after a silent client ${round}`);
    // Sends, and leaves without reading the echo.
    const rude = await TestClient.connect(server.port);
    await rude.send("never read\n");
    rude.close();
    await roundTrip(`after a rude client ${round}`);
  }
  assert.equal(strategy.alive, 1);
  assert.equal(strategy.stuck, 0);
});

Deno.test("workers serves client after client on one Worker that waits for them without blocking", async () => {
  // reverse does not declare handlersOnly, so its Worker never blocks in
  // Atomics.wait: between clients it waits on its control block with
  // Atomics.waitAsync, its event loop free, and each client is opened there.
  await using server = await startTestServer({
    mode: "workers",
    service: "reverse",
    idleWorkers: 1,
    maxWorkers: 1,
  });
  const strategy = server.strategy as WorkersStrategy;
  for (let round = 0; round < 4; round++) {
    await wholeConversation(server.port, `abc ${round}`, `${round} cba`);
  }
  assert.equal(strategy.alive, 1);
});

/** One client's whole life: a line, its answer, a half-close, the server's end. */
async function wholeConversation(port: number, line: string, answer: string): Promise<void> {
  using client = await TestClient.connect(port);
  await client.send(`${line}\n`);
  assert.equal(await client.readLine(), answer);
  await client.closeWrite();
  assert.equal(await client.readLine(), null);
}

for (const mode of CONCURRENT_MODES) {
  Deno.test(`chat carries messages, names and notices between clients under ${mode}`, async () => {
    await using server = await startTestServer({ mode, service: "chat" });
    await chatConversation(server.port, server.port);
  });
}

Deno.test("chat under single has one client at a time, so a message reaches nobody", async () => {
  await using server = await startTestServer({ mode: "single", service: "chat" });
  using alone = await TestClient.connect(server.port);
  assert.match((await alone.readLine())!, /^\* welcome/);
  await alone.send("anyone?\n/who\n");
  assert.match((await alone.readLine())!, /^\* online \(1\): guest\d+ /);
});

for (const mode of ALL_MODES) {
  Deno.test(`a line over --max-line gets an error and closes only that client under ${mode}`, async () => {
    await using server = await startTestServer({ mode, service: "reverse", maxLine: 16 });
    using client = await TestClient.connect(server.port);
    await client.send("short\n");
    assert.equal(await client.readLine(), "trohs");
    await client.send("x".repeat(40));
    assert.equal(await client.readLine(), "ERR line too long (max 16 bytes)");
    assert.equal(await client.readLine(), null);
  });

  Deno.test(`a line without a newline is answered when the client half-closes under ${mode}`, async () => {
    await using server = await startTestServer({ mode, service: "reverse" });
    using client = await TestClient.connect(server.port);
    await client.send("abc\nxyz");
    await client.closeWrite();
    assert.equal(await client.readLine(), "cba");
    assert.equal(await client.readLine(), "zyx");
    assert.equal(await client.readLine(), null);
  });

  Deno.test(`stopping the server closes its clients and reports what it did under ${mode}`, async () => {
    const server = await startTestServer({ mode, service: "echo" });
    using client = await TestClient.connect(server.port);
    await client.send("ping\n");
    assert.equal(await client.readLine(), "ping");
    const summary = await server.stop();
    assert.equal(await client.readLine(), null);
    assert.deepEqual(summary, { clients: 1, bytesIn: 5, bytesOut: 5 });
  });
}
