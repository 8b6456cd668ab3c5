/**
 * Plain TCP through Deno's `node:net` (lib/node_tcp.ts), the default, and the
 * flags that choose it and the listen backlog. What it must keep from
 * `Deno.Conn` — every mode, PROXY headers, backpressure, the idle timeout,
 * shutdown — is tested by the other files, which run on this default.
 */
import assert from "node:assert/strict";
import { openListener } from "../lib/listen.ts";
import { type ChunkSocket, Connection, type Socket } from "../lib/connection.ts";
import { listenNodeTcp } from "../lib/node_tcp.ts";
import { TestClient } from "../testing.ts";
import { assertOneLineError, CliServer, runCli } from "./_helpers/cli.ts";
import { exhaustDescriptors, HAVE_PRLIMIT, startWithDescriptors } from "./_helpers/descriptors.ts";
import { eventually, hasCommand, runTool } from "./_helpers/tools.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function readsByChunk(socket: Socket): socket is ChunkSocket {
  return "readChunk" in socket;
}

Deno.test("openListener() serves plain TCP through node:net unless asked for Deno.Conn", async () => {
  for (const api of [undefined, "node", "deno"] as const) {
    const { listener } = await openListener({
      transport: "tcp",
      hostname: "127.0.0.1",
      port: 0,
      api,
    });
    const port = (listener.addr as Deno.NetAddr).port;
    using client = await Deno.connect({ hostname: "127.0.0.1", port });
    const socket = await listener.accept();
    assert.equal(readsByChunk(socket), api !== "deno", `api ${api}`);
    // Either way a Connection serves it the same.
    const connection = new Connection(socket, 1);
    assert.equal(connection.host, "127.0.0.1");
    assert.equal(
      (connection.remoteAddr as Deno.NetAddr).port,
      (client.localAddr as Deno.NetAddr).port,
    );
    await client.write(encoder.encode("hola"));
    assert.equal(decoder.decode((await connection.read())!), "hola");
    await connection.write(encoder.encode("adios"));
    const reply = new Uint8Array(5);
    assert.equal(await client.read(reply), 5);
    assert.equal(decoder.decode(reply), "adios");
    connection.close();
    assert.equal(await client.read(reply), null);
    listener.close();
  }
});

Deno.test("a node:net socket hands over every chunk in order, then null once the client ends", async () => {
  const listener = await listenNodeTcp({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const socket = await listener.accept();
  // Sent before anyone reads: the socket was accepted paused, and gives all of it once asked.
  const sent = Uint8Array.from({ length: 256 * 1024 }, (_, i) => i % 251);
  await client.write(sent);
  await client.closeWrite();
  const received: number[] = [];
  for (let chunk = await socket.readChunk(); chunk; chunk = await socket.readChunk()) {
    assert.ok(!("readUInt8" in chunk), "a chunk is a plain Uint8Array, not a Buffer");
    received.push(...chunk);
  }
  assert.deepEqual(received, [...sent]);
  // Half-closed: the server can still answer a client that ended its input.
  assert.equal(await socket.write(encoder.encode("ok")), 2);
  const reply = new Uint8Array(2);
  assert.equal(await client.read(reply), 2);
  socket.close();
  client.close();
  listener.close();
});

Deno.test("closing a node:net socket gives its pending read null, and a closed listener refuses accept", async () => {
  const listener = await listenNodeTcp({ hostname: "127.0.0.1", port: 0 });
  using _client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const socket = await listener.accept();
  const pending = socket.readChunk();
  socket.close();
  socket.close();
  assert.equal(await pending, null);
  assert.equal(await socket.readChunk(), null);
  const accepting = listener.accept();
  listener.close();
  await assert.rejects(accepting, Deno.errors.BadResource);
  await assert.rejects(listener.accept(), Deno.errors.BadResource);
});

Deno.test("a node:net write resolves once the kernel has its bytes: a reply at once, a bulk write only as the client reads", async () => {
  const listener = await listenNodeTcp({ hostname: "127.0.0.1", port: 0 });
  using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const socket = await listener.accept();
  await client.write(encoder.encode("x"));
  assert.equal((await socket.readChunk())?.byteLength, 1);
  // Taken at once: the count itself, no promise.
  assert.equal(socket.write(encoder.encode("hola")), 4);
  const reply = new Uint8Array(4);
  assert.equal(await client.read(reply), 4);
  // More than loopback's socket buffers hold: the write must wait for the reader.
  const bulk = new Uint8Array(64 * 1024 * 1024).fill(0x61);
  let written = false;
  const waiting = socket.write(bulk);
  assert.ok(waiting instanceof Promise, "a write the kernel cannot hold must wait");
  const writing = waiting.then((n) => {
    written = true;
    return n;
  });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(written, false, "resolved before the client read what the kernel could not hold");
  const buffer = new Uint8Array(1024 * 1024);
  let received = 0;
  while (received < bulk.byteLength) {
    const n = await client.read(buffer);
    assert.ok(n !== null, "the server closed early");
    assert.equal(buffer[n - 1], 0x61);
    received += n;
  }
  assert.equal(await writing, bulk.byteLength);
  socket.close();
  listener.close();
});

Deno.test("a node:net listener re-arms itself on a timer while clients keep arriving, and runs none once they stop", async () => {
  const listener = await listenNodeTcp({ hostname: "127.0.0.1", port: 0, backlog: 4096 });
  assert.equal(listener.pacing, false, "a listener no client has reached runs no timer");
  // More than one poll of Deno's listener takes (128), all at once.
  const count = 300;
  const clients = await Promise.all(
    Array.from(
      { length: count },
      () => Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    ),
  );
  const sockets: ChunkSocket[] = [];
  for (let i = 0; i < count; i++) sockets.push(await listener.accept());
  assert.equal(listener.pacing, true, "clients arrived: the listener re-arms itself");
  // Every client is served, through the re-arms too.
  for (const client of clients) await client.write(encoder.encode("x"));
  for (const socket of sockets) {
    const chunk = await socket.readChunk();
    assert.equal(chunk?.byteLength, 1);
    await socket.write(chunk);
  }
  const reply = new Uint8Array(1);
  for (const client of clients) assert.equal(await client.read(reply), 1);
  // No one else comes: the timer stops by itself (after a second of finding nobody).
  await eventually(
    "the listener to stop re-arming itself",
    () => Promise.resolve(listener.pacing ? undefined : true),
  );
  // A new client starts it again, and closing the listener stops it.
  using late = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const lateSocket = await listener.accept();
  assert.equal(listener.pacing, true);
  listener.close();
  assert.equal(listener.pacing, false, "a closed listener runs no timer");
  lateSocket.close();
  for (const socket of sockets) socket.close();
  for (const client of clients) client.close();
  assert.equal(await late.read(reply), null);
});

Deno.test("a port already taken is a ListenError that says so, through node:net too", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await assert.rejects(
    openListener({ transport: "tcp", hostname: "127.0.0.1", port: taken.addr.port }),
    /cannot listen on 127\.0\.0\.1:\d+: address already in use/,
  );
});

for (const api of ["node", "deno"]) {
  Deno.test(`poll serves echo with --tcp-api=${api}`, async () => {
    await using server = await CliServer.start([`--tcp-api=${api}`, "--service=echo"]);
    using client = await TestClient.connect(server.port);
    await client.send("hola\n");
    assert.equal(await client.readLine(), "hola");
  });
}

/** The descriptors the server under test may hold, as `ulimit -n` would set. */
const DESCRIPTORS = 64;
for (const api of ["node", "deno"]) {
  Deno.test({
    name:
      `with --tcp-api=${api}, a server that ran out of descriptors serves a new client once others leave${
        HAVE_PRLIMIT ? "" : " (skipped: no prlimit)"
      }`,
    ignore: !HAVE_PRLIMIT,
    async fn() {
      await using server = await startWithDescriptors(DESCRIPTORS, [
        `--tcp-api=${api}`,
        "--service=echo",
        "--max-conns=0",
      ]);
      // At least one accept fails with EMFILE; then all those clients leave.
      const clients = await exhaustDescriptors(server, DESCRIPTORS);
      for (const client of clients) client.close();
      // Descriptors come free as those clients leave; a new client is served.
      using late = await TestClient.connect(server.port);
      await late.send("late\n");
      const reply = late.readLine();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("no reply in 30 s: the listener stalled")),
          30_000,
        );
      });
      try {
        assert.equal(await Promise.race([reply, stalled]), "late");
      } finally {
        clearTimeout(timer);
      }
      late.close();
      const status = await server.stop();
      assert.equal(status.code, 0, status.logged.join("\n"));
    },
  });
}

const ss = hasCommand("ss");
Deno.test({
  name: `--backlog sets the listen backlog the kernel reports${ss ? "" : " (skipped: no ss)"}`,
  ignore: !ss,
  async fn() {
    for (const api of ["node", "deno"]) {
      await using server = await CliServer.start([`--tcp-api=${api}`, "--backlog=37"]);
      // For a listening socket, ss prints the backlog in the Send-Q column.
      const listing = await runTool("ss", ["-tlnH", `sport = :${server.port}`]);
      const [, , sendQ] = listing.trim().split(/\s+/);
      assert.equal(sendQ, "37", `${api}: ${listing}`);
    }
  },
});

Deno.test("--backlog and --tcp-api refuse what they cannot do, in one line, exit status 2", async () => {
  assertOneLineError(
    await runCli(["--backlog=0"]),
    2,
    /^servidor: invalid --backlog "0": expected a whole number from 1 to 65535/,
  );
  assertOneLineError(
    await runCli(["--tcp-api=libuv"]),
    2,
    /^servidor: invalid --tcp-api "libuv": expected one of node, deno/,
  );
  assertOneLineError(
    await runCli(["--tcp-api=node", "--unix=/tmp/servidor-never.sock"]),
    2,
    /^servidor: --tcp-api=node serves plain TCP, not --unix/,
  );
  assertOneLineError(
    await runCli(["--tcp-api=node", "--mode=reuseport"]),
    2,
    /^servidor: --tcp-api=node cannot be combined with --mode=reuseport/,
  );
});
