/**
 * The push read path (lib/handle_connection.ts, `NodeTcpSocket.pushChunks`):
 * a `node:net` connection, plain TCP's default, is served from its socket's
 * `data` event, with no read pending. Its own edges: a flood held back while
 * the service is busy, the end of input or a reset while a handler is
 * pending, and the bytes that come with a PROXY header. The rest of what it
 * must keep is tested by every other file, which runs on this default.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { listenNodeTcp, MAX_UNREAD, type NodeTcpSocket } from "../lib/node_tcp.ts";
import { serve } from "../lib/server.ts";
import type { ByteService, LineService, Service } from "../lib/service.ts";
import { INTERNAL_ERROR_NOTICE } from "../lib/errors.ts";
import { poll } from "../strategies/poll.ts";
import { startTestServer, TestClient } from "../testing.ts";
import { eventually } from "./_helpers/tools.ts";

const encoder = new TextEncoder();
const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * A line service whose `slow` lines wait until the test lets them go, and
 * which records, in order, what it was asked to do.
 */
function slowLines() {
  const events: string[] = [];
  const gate = Promise.withResolvers<void>();
  const started = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  const service: LineService = {
    name: "slow-lines",
    description: "answers each line, after the test lets a `slow` one go",
    framing: "lines",
    async line(session, line) {
      if (line === "ping") return session.sendLine("pong");
      events.push(`line ${line}`);
      if (line === "slow" || line.startsWith("x")) {
        started.resolve();
        await gate.promise;
      }
      if (!line.startsWith("x")) await session.sendLine(`done ${line}`);
    },
    end() {
      events.push("end");
    },
    close() {
      events.push("close");
      closed.resolve();
    },
  };
  return { service, events, gate, started, closed };
}

/** `poll` over `node:net`, in this process, with the sockets it accepted at hand. */
async function servePushed(service: Service) {
  const listener = await listenNodeTcp({ hostname: "127.0.0.1", port: 0 });
  const sockets: NodeTcpSocket[] = [];
  const accept = listener.accept.bind(listener);
  listener.accept = async () => {
    const socket = await accept();
    sockets.push(socket);
    return socket;
  };
  const stop = new AbortController();
  const served = serve({ listener, strategy: poll, service, shutdown: stop.signal, graceMs: 0 });
  return {
    port: listener.addr.port,
    sockets,
    async [Symbol.asyncDispose]() {
      stop.abort();
      await served;
    },
  };
}

Deno.test("a pushed connection whose service is busy stops reading a pipelined flood once MAX_UNREAD waits", async () => {
  const { service, gate, started } = slowLines();
  await using server = await servePushed(service);
  const flood = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  // 64 KiB of 64-byte lines a write; the first line waits for the gate.
  const lines = encoder.encode(("x".repeat(63) + "\n").repeat(1024));
  const total = 64 * MiB;
  const progress = { written: 0, done: false };
  const pushing = (async () => {
    try {
      while (progress.written < total) progress.written += await flood.write(lines);
      progress.done = true;
    } catch {
      // Closed below while a write is pending.
    }
  })();
  await started.promise;
  const socket = server.sockets[0]!;
  // The probe's round trips are the clock: the flood has stalled once three
  // of them go by without it writing a byte more, with MAX_UNREAD waiting.
  using probe = await TestClient.connect(server.port);
  let unchanged = 0;
  for (let rounds = 0; unchanged < 3 || socket.unreadBytes < MAX_UNREAD; rounds++) {
    assert.ok(rounds < 5000, "the flood's writes never stalled");
    const before = progress.written;
    await probe.send("ping\n");
    assert.equal(await probe.readLine(), "pong");
    unchanged = progress.written === before ? unchanged + 1 : 0;
    if (progress.done) break;
  }
  assert.equal(progress.done, false, "the server read every byte while its service was busy");
  // What waits in the server is bounded: past MAX_UNREAD the socket stopped
  // reading, and the kernel's buffers, then the client, hold the rest.
  assert.ok(
    socket.unreadBytes <= MAX_UNREAD + 64 * KiB,
    `${socket.unreadBytes} bytes wait unread in the server`,
  );
  flood.close();
  gate.resolve();
  await pushing;
});

Deno.test("a pushed connection that ends its input while a line is handled still gets every reply, then end()", async () => {
  const { service, events, gate, started, closed } = slowLines();
  await using server = await servePushed(service);
  using client = await TestClient.connect(server.port);
  // The last line has no newline: it is answered at the end of input.
  await client.send("slow\npartial");
  await client.closeWrite();
  await started.promise;
  await eventually("the server's socket sees the end of input", () => {
    return Promise.resolve(server.sockets[0]?.inputDone || undefined);
  });
  assert.deepEqual(events, ["line slow"], "nothing more before the slow line is done");
  gate.resolve();
  assert.equal(await client.readLine(), "done slow");
  assert.equal(await client.readLine(), "done partial");
  assert.equal(await client.readLine(), null);
  await closed.promise;
  assert.deepEqual(events, ["line slow", "line partial", "end", "close"]);
});

Deno.test("a pushed connection reset while a line is handled closes without end(), once the line is done", async () => {
  const { service, events, gate, started, closed } = slowLines();
  await using server = await servePushed(service);
  const client = net.connect(server.port, "127.0.0.1");
  await new Promise((resolve) => client.once("connect", resolve));
  client.on("error", () => {});
  client.write("slow\n");
  await started.promise;
  client.resetAndDestroy();
  await eventually("the server's socket sees the reset", () => {
    return Promise.resolve(server.sockets[0]?.inputDone || undefined);
  });
  assert.deepEqual(events, ["line slow"]);
  gate.resolve();
  await closed.promise;
  // The line under way finished (its reply had nowhere to go), and a reset is no end of input.
  assert.deepEqual(events, ["line slow", "close"]);
});

for (const endsAtOnce of [false, true]) {
  const then = endsAtOnce ? "and its end in one burst" : "then more and the end";
  Deno.test(`a PROXY header and the client's bytes in one chunk, ${then}, reach echo once each, in order`, async () => {
    await using server = await startTestServer({
      mode: "poll",
      service: "echo",
      proxyProtocol: true,
    });
    using client = await TestClient.connect(server.port);
    const header = "PROXY TCP4 192.0.2.7 127.0.0.1 51234 7000\r\n";
    await client.send(`${header}hola\n`);
    // At once: the socket may have seen the end before the header was parsed.
    if (endsAtOnce) await client.closeWrite();
    else {
      assert.equal(await client.readLine(), "hola");
      await client.send("adios\n");
      await client.closeWrite();
    }
    const rest = endsAtOnce ? "hola\n" : "adios\n";
    assert.deepEqual(await client.readAll(), encoder.encode(rest));
    const { bytesIn } = await server.stop();
    // The header counts as read, and the bytes given back after it are not counted twice.
    assert.equal(bytesIn, `${header}hola\n${endsAtOnce ? "" : "adios\n"}`.length);
  });
}

Deno.test("a byte service that throws at once, inside the socket's data event, closes only its client", async () => {
  const throwing: ByteService = {
    name: "throws-at-once",
    description: "throws on `boom`, synchronously, and echoes the rest",
    framing: "bytes",
    data(session, chunk) {
      if (new TextDecoder().decode(chunk) === "boom") throw new TypeError("a bug, as asked");
      return session.send(chunk.slice());
    },
  };
  await using server = await servePushed(throwing);
  using victim = await TestClient.connect(server.port);
  using other = await TestClient.connect(server.port);
  await victim.send("boom");
  assert.equal(await victim.readLine(), INTERNAL_ERROR_NOTICE);
  assert.equal(await victim.readLine(), null);
  await other.send("hola");
  assert.deepEqual(await other.readBytes(4), encoder.encode("hola"));
});

Deno.test("a pushed chunk is a plain Uint8Array whose slice() copies, and replying with it sends its bytes", async () => {
  const seen: string[] = [];
  const checking: ByteService = {
    name: "checks-its-chunk",
    description: "replies with the chunk it was handed, then with a changed copy of it",
    framing: "bytes",
    async data(session, chunk) {
      // Node's Buffer would answer to readUInt8, and its slice() would share memory.
      seen.push(`buffer ${"readUInt8" in chunk}`);
      const copy = chunk.slice();
      copy[0] = 0x2a;
      seen.push(`shared ${chunk[0] === 0x2a}`);
      // The very chunk, as an echo sends it; then the copy, which must not be the chunk's memory.
      await session.send(chunk);
      await session.send(copy);
    },
  };
  await using server = await servePushed(checking);
  using client = await TestClient.connect(server.port);
  await client.send("hola");
  assert.deepEqual(await client.readBytes(8), encoder.encode("hola*ola"));
  assert.deepEqual(seen, ["buffer false", "shared false"]);
  // A second chunk of the same client is sent as its own bytes, not the first one's.
  await client.send("adios");
  assert.deepEqual(await client.readBytes(10), encoder.encode("adios*dios"));
});
