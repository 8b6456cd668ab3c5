import assert from "node:assert/strict";
import { MODES } from "../strategies/mod.ts";
import { TestClient } from "../testing.ts";
import { CliServer } from "./_helpers/cli.ts";

/**
 * After a shutdown began, a new client is refused, or (when the kernel had
 * queued it before the listener closed) closed without a byte, or reset: the
 * kernel resets a handshake still queued when its listener closes.
 */
async function assertNotServed(port: number): Promise<void> {
  const notServed = (error: unknown) =>
    assert.ok(
      error instanceof Deno.errors.ConnectionRefused ||
        error instanceof Deno.errors.ConnectionReset,
      String(error),
    );
  let client: TestClient;
  try {
    client = await TestClient.connect(port);
  } catch (error) {
    return notServed(error);
  }
  using late = client;
  await late.send("anyone?\n").catch(() => {});
  const bytes = await late.readAll().catch((error) => {
    notServed(error);
    return new Uint8Array();
  });
  assert.equal(bytes.byteLength, 0);
}

for (const mode of MODES) {
  Deno.test(`SIGTERM under ${mode}: no new clients, a notice, service until the client leaves, exit 0 with a summary`, async () => {
    await using server = await CliServer.start([
      `--mode=${mode}`,
      "--service=reverse",
      "--grace=60",
    ]);
    using client = await TestClient.connect(server.port);
    await client.send("hola\n");
    assert.equal(await client.readLine(), "aloh");

    server.child.kill("SIGTERM");
    assert.equal(await client.readLine(), "server shutting down");
    await assertNotServed(server.port);
    // Still served during the grace period.
    await client.send("adios\n");
    assert.equal(await client.readLine(), "soida");
    await client.closeWrite();
    assert.equal(await client.readLine(), null);

    const status = await server.exited();
    assert.equal(status.code, 0);
    assert.equal(server.log.at(-1), "stopped: 1 client served, 11 bytes in, 35 bytes out");
  });
}

for (const mode of MODES) {
  Deno.test(`a client still open when --grace runs out is closed, and the server exits 0, under ${mode}`, async () => {
    await using server = await CliServer.start([`--mode=${mode}`, "--service=chat", "--grace=0.2"]);
    using client = await TestClient.connect(server.port);
    assert.match((await client.readLine())!, /^\* welcome/);
    server.child.kill("SIGINT");
    assert.equal(await client.readLine(), "server shutting down");
    assert.equal(await client.readLine(), null);
    const status = await server.exited();
    assert.equal(status.code, 0);
    assert.match(server.log.at(-1)!, /^stopped: 1 client served, 0 bytes in, \d+ bytes out$/);
  });
}

Deno.test("a byte-stream client gets no shutdown notice in its stream, only the end of it", async () => {
  await using server = await CliServer.start(["--mode=poll", "--service=echo", "--grace=60"]);
  using client = await TestClient.connect(server.port);
  await server.waitForLog(/open 127\.0\.0\.1:\d+/);
  server.child.kill("SIGTERM");
  await server.waitForLog(/shutting down: 1 clients/);
  await client.send("last words");
  await client.closeWrite();
  assert.equal(new TextDecoder().decode(await client.readAll()), "last words");
  assert.equal((await server.exited()).code, 0);
});

Deno.test("a second signal during the grace period exits at once", async () => {
  await using server = await CliServer.start(["--mode=poll", "--service=reverse", "--grace=600"]);
  using client = await TestClient.connect(server.port);
  await client.send("uno\n");
  assert.equal(await client.readLine(), "onu");
  server.child.kill("SIGTERM");
  assert.equal(await client.readLine(), "server shutting down");
  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 130);
});
