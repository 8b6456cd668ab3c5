/**
 * The write path of a `Connection` over `node:net` (lib/connection.ts,
 * lib/write_all.ts, lib/node_tcp.ts): a write the kernel takes at once is
 * finished before `write()` returns; one that has to wait queues everything
 * behind it, in order, and resolves only as the client reads; a close while
 * it waits fails it instead of leaving it pending.
 */
import assert from "node:assert/strict";
import { Connection } from "../lib/connection.ts";
import { isDisconnect } from "../lib/errors.ts";
import { listenNodeTcp, type NodeTcpSocket } from "../lib/node_tcp.ts";
import { writeAll, writeAllNow, WriteError } from "../lib/write_all.ts";

const encoder = new TextEncoder();

/** More than loopback's socket buffers hold, so that a write of it must wait for the reader. */
const BULK = 16 * 1024 * 1024;

/** A client connected to a `node:net` listener, and the server's side of it. */
async function connectedPair(): Promise<{
  client: Deno.TcpConn;
  socket: NodeTcpSocket;
  [Symbol.asyncDispose](): Promise<void>;
}> {
  const listener = await listenNodeTcp({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const socket = await listener.accept();
  return {
    client,
    socket,
    [Symbol.asyncDispose]() {
      try {
        client.close();
      } catch (error) {
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
      socket.close();
      listener.close();
      return Promise.resolve();
    },
  };
}

/** Reads exactly `length` bytes from `conn`. */
async function readExactly(conn: Deno.Conn, length: number): Promise<Uint8Array> {
  const received = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const n = await conn.read(received.subarray(at));
    assert.ok(n !== null, `the server closed after ${at} of ${length} bytes`);
    at += n;
  }
  return received;
}

/** Whether `promise` has settled, learnt without waiting for it. */
async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol("pending");
  const first = await Promise.race([
    promise.then(() => true, () => true),
    Promise.resolve(pending),
  ]);
  return first !== pending;
}

Deno.test("writeAllNow() finishes a write taken whole at once without a promise", () => {
  const taken: number[] = [];
  const roomy = {
    write(bytes: Uint8Array): number {
      taken.push(...bytes);
      return bytes.byteLength;
    },
  };
  assert.equal(writeAllNow(roomy, new Uint8Array([1, 2, 3])), undefined);
  assert.equal(writeAllNow(roomy, new Uint8Array()), undefined);
  assert.deepEqual(taken, [1, 2, 3]);
});

Deno.test("writeAllNow() goes on from where a write that took part at once left off", async () => {
  const taken: number[] = [];
  let calls = 0;
  // Three bytes at once, then one byte a call, later: a socket whose buffer filled up.
  const filling = {
    write(bytes: Uint8Array): number | Promise<number> {
      const n = ++calls === 1 ? 3 : 1;
      taken.push(...bytes.subarray(0, n));
      return calls === 1 ? n : Promise.resolve(n);
    },
  };
  const waiting = writeAllNow(filling, new Uint8Array([1, 2, 3, 4, 5]));
  assert.ok(waiting instanceof Promise);
  await waiting;
  assert.deepEqual(taken, [1, 2, 3, 4, 5]);
  assert.equal(calls, 3);
});

Deno.test("writeAllNow() and writeAll() report a writer that throws as a rejected WriteError, never a throw", async () => {
  const throwing = {
    write(): number {
      throw new Deno.errors.BrokenPipe("gone");
    },
  };
  const waiting = writeAllNow(throwing, new Uint8Array(4), "10.0.0.9:4000");
  assert.ok(waiting instanceof Promise);
  await assert.rejects(waiting, (error) => {
    assert.ok(error instanceof WriteError);
    assert.match(error.message, /10\.0\.0\.9:4000 failed after 0 of 4 bytes/);
    assert.ok(error.cause instanceof Deno.errors.BrokenPipe);
    return true;
  });
  await assert.rejects(writeAll(throwing, new Uint8Array(4)), WriteError);
});

Deno.test("a node:net write that must wait keeps the writes after it behind it, in order, and each resolves only once written", async () => {
  await using pair = await connectedPair();
  const connection = new Connection(pair.socket, 1);
  // Deno's node:net sends a socket's very first write a turn later; the ones after it at once.
  await connection.write(encoder.encode("first|"));
  // Taken at once, and so already counted when write() returns.
  const second = connection.write(encoder.encode("second|"));
  assert.equal(connection.bytesOut, 13);
  assert.equal(connection.queuedBytes, 0);
  await second;
  // Part of it reaches the kernel at once, the rest waits for the client to read.
  const bulk = new Uint8Array(BULK).fill(0x62);
  const bulkWritten = connection.write(bulk);
  const after = connection.write(encoder.encode("|after"));
  const broadcasts = [
    connection.writeBatched(encoder.encode("|one")),
    connection.writeBatched(encoder.encode("|two")),
  ];
  assert.equal(await hasSettled(bulkWritten), false, "resolved before the client read");
  assert.equal(connection.queuedBytes, BULK + 6 + 8);
  const expected = [
    ...encoder.encode("first|second|"),
    ...bulk,
    ...encoder.encode("|after|one|two"),
  ];
  const received = await readExactly(pair.client, expected.length);
  assert.deepEqual(received, Uint8Array.from(expected));
  await bulkWritten;
  await after;
  await Promise.all(broadcasts);
  await connection.drain();
  assert.equal(connection.queuedBytes, 0);
  assert.equal(connection.bytesOut, expected.length);
  // The queue is empty again: the next write is finished at once.
  connection.write(encoder.encode("!"));
  assert.equal(connection.bytesOut, expected.length + 1);
  assert.deepEqual(await readExactly(pair.client, 1), encoder.encode("!"));
  connection.close();
});

Deno.test("a node:net socket settles each waiting write by its own callback, after writes taken at once", async () => {
  await using pair = await connectedPair();
  const { socket } = pair;
  await socket.write(encoder.encode("<"));
  assert.equal(socket.write(encoder.encode("a")), 1);
  const bulk = new Uint8Array(BULK).fill(0x63);
  const firstWait = socket.write(bulk);
  const secondWait = socket.write(encoder.encode("z"));
  assert.ok(firstWait instanceof Promise && secondWait instanceof Promise);
  const firstDone = firstWait.then((n) => n);
  assert.equal(await hasSettled(firstDone), false);
  const received = await readExactly(pair.client, 2 + BULK + 1);
  assert.deepEqual(received.subarray(0, 2), encoder.encode("<a"));
  assert.equal(received[BULK + 1], 0x63);
  assert.equal(received[BULK + 2], 0x7a);
  assert.equal(await firstDone, BULK);
  assert.equal(await secondWait, 1);
});

Deno.test("closing a connection while a node:net write waits fails that write and those queued behind it", async () => {
  await using pair = await connectedPair();
  const connection = new Connection(pair.socket, 1);
  const bulkWritten = connection.write(new Uint8Array(BULK).fill(0x64));
  const queued = connection.write(encoder.encode("never"));
  assert.equal(await hasSettled(bulkWritten), false);
  connection.close();
  await assert.rejects(bulkWritten, (error) => isDisconnect(error));
  await assert.rejects(queued, (error) => isDisconnect(error));
  await assert.rejects(connection.write(encoder.encode("later")), (error) => isDisconnect(error));
  await connection.drain();
  assert.equal(connection.queuedBytes, 0);
  assert.equal(connection.bytesOut, 0);
});

Deno.test("a client that resets while a node:net write waits fails the write as a disconnect and closes the connection", async () => {
  await using pair = await connectedPair();
  const connection = new Connection(pair.socket, 1);
  const bulkWritten = connection.write(new Uint8Array(BULK).fill(0x65));
  assert.equal(await hasSettled(bulkWritten), false);
  // Closing with unread bytes in its buffer makes the client's kernel send a reset.
  pair.client.close();
  await assert.rejects(bulkWritten, (error) => isDisconnect(error));
  assert.equal(connection.closed, true);
  assert.equal(connection.queuedBytes, 0);
});

Deno.test("lastActiveAt reads the clock once a turn: writes in one turn share it, a write in a later turn moves it", async () => {
  // A socket that takes every write at once, so each write is finished inside write().
  const sink = {
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 } as Deno.NetAddr,
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 2 } as Deno.NetAddr,
    write: (bytes: Uint8Array) => bytes.byteLength,
    readChunk: () => Promise.resolve(null),
    close() {},
  };
  const connection = new Connection(sink, 1);
  await new Promise((resolve) => setTimeout(resolve, 2));
  connection.write(encoder.encode("a"));
  const first = connection.lastActiveAt;
  assert.ok(first > connection.openedAt, "the write was not counted as activity");
  // Busy for a while within the same turn: the reading is the turn's, not a new one.
  const started = performance.now();
  while (performance.now() - started < 2) { /* the same turn */ }
  connection.write(encoder.encode("b"));
  assert.equal(connection.lastActiveAt, first);
  // A later turn reads the clock again.
  await new Promise((resolve) => setTimeout(resolve, 2));
  connection.write(encoder.encode("c"));
  assert.ok(connection.lastActiveAt > first, "a write in a later turn kept the old reading");
  assert.equal(connection.bytesOut, 3);
  connection.close();
});
