/**
 * What one echo request costs servidor, from the socket's `data` event to
 * Node's `Writable.write`, beside what Node's own echo does with the same
 * event (`socket.write(chunk)`, as its `pipe()` does).
 *
 * Both run on a `node:stream` Duplex that stands in for a `net.Socket`: its
 * `_write` takes every chunk at once and makes no system call, and the bench
 * emits `data` itself with a fresh 64-byte `Buffer` each time, as Deno's
 * `node:net` does. So what is timed is JavaScript alone: Node's stream code
 * for both, and for servidor the whole stack a request climbs in `poll`:
 * `NodeTcpSocket`, `Connection`, the service driver, the session, `echo`,
 * `writeAllNow` and back down. The system call and Deno's read, the same for
 * both in a real run, are left out.
 *
 * ```sh
 * deno run -A bench/request_path.ts [requests] [requests-per-turn] [clients]
 * ```
 *
 * Used for docs/scale.md's "Per-request work".
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import type net from "node:net";
import { Connection } from "../lib/connection.ts";
import { Hub } from "../lib/chat/hub.ts";
import { handleConnectionThen } from "../lib/handle_connection.ts";
import { NodeTcpSocket } from "../lib/node_tcp.ts";
import type { ServerContext } from "../lib/strategy.ts";
import { echo } from "../services/echo.ts";

const SIZE = 64;
const ROUNDS = 7;
const requests = Number(Deno.args[0] ?? 200_000);
/**
 * How many clients the requests go round, one after another: at 10,000 each
 * request meets objects that are cold in the CPU's caches, as in a server.
 */
const clients = Number(Deno.args[2] ?? 1);
/**
 * How many sockets' data one turn of the event loop hands over before its
 * ticks and microtasks run: Deno's `node:net` calls every ready socket's `data` in a
 * row. 1 is the worst case for anything done once a turn.
 */
const perTurn = Number(Deno.args[1] ?? 1);

/** A socket whose kernel always has room: every write is taken at once. */
class RoomySocket extends Duplex {
  written = 0;
  remoteAddress = "127.0.0.1";
  remotePort = 1;
  localAddress = "127.0.0.1";
  localPort = 2;

  override _write(chunk: Uint8Array, _encoding: string, callback: () => void): void {
    this.written += chunk.byteLength;
    callback();
  }

  override _read(): void {}

  setNoDelay(): this {
    return this;
  }
}

const payload = new Uint8Array(SIZE).fill(0x61);
/** What Deno's `node:net` hands a `data` listener: a new Buffer of the bytes read. */
function received(): Buffer {
  const data = Buffer.allocUnsafe(SIZE);
  data.set(payload);
  return data;
}

/**
 * Ends a turn of the event loop, as Deno's does after the data events it
 * delivered together: Node's ticks run, then the microtasks.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Emits `requests` chunks round the sockets, {@link perTurn} at a time with
 * a turn of the event loop between ({@link nextTurn}), and says how long each took, in ns.
 */
async function time(sockets: readonly RoomySocket[]): Promise<number> {
  let before = 0;
  for (const socket of sockets) before += socket.written;
  let next = 0;
  const started = performance.now();
  for (let i = 0; i < requests; i += perTurn) {
    for (let j = 0; j < perTurn; j++) {
      sockets[next]!.emit("data", received());
      if (++next === sockets.length) next = 0;
    }
    await nextTurn();
  }
  const elapsed = performance.now() - started;
  let after = 0;
  for (const socket of sockets) after += socket.written;
  if (after - before !== requests * SIZE) {
    throw new Error(`${after - before} bytes written of ${requests * SIZE}`);
  }
  return (elapsed * 1e6) / requests;
}

// Node's echo: the write from the data event, as pipe() makes it.
const floor = Array.from({ length: clients }, () => {
  const socket = new RoomySocket();
  socket.on("data", (chunk: Buffer) => socket.write(chunk));
  return socket;
});

// servidor's poll: the same sockets wrapped and served as the server does.
const stop = new AbortController();
const context: ServerContext = {
  service: echo,
  serviceSpecifier: "echo",
  serviceArgs: [],
  maxLine: 8192,
  hub: new Hub(),
  hardStop: stop.signal,
};
let open = clients;
const finished = Promise.withResolvers<void>();
const connections: Connection[] = [];
const served = Array.from({ length: clients }, (_, i) => {
  const socket = new RoomySocket();
  const connection = new Connection(new NodeTcpSocket(socket as unknown as net.Socket), i + 1);
  connections.push(connection);
  handleConnectionThen(connection, context, () => {
    if (--open === 0) finished.resolve();
  });
  return socket;
});

// Only received(): the floor under both.
let allocation = Infinity;
for (let round = 0; round < ROUNDS; round++) {
  const started = performance.now();
  let sum = 0;
  for (let i = 0; i < requests; i++) sum += received().byteLength;
  if (sum !== requests * SIZE) throw new Error("unreachable");
  allocation = Math.min(allocation, ((performance.now() - started) * 1e6) / requests);
}

const results = { floor: Infinity, poll: Infinity };
for (let round = 0; round < ROUNDS; round++) {
  results.floor = Math.min(results.floor, await time(floor));
  results.poll = Math.min(results.poll, await time(served));
}
console.log(
  `${requests} requests of ${SIZE} B round ${clients} clients, ${perTurn} a turn, ` +
    `best of ${ROUNDS} rounds, ns a request`,
);
console.log(`${"making the chunk (both pay it)".padEnd(36)} ${allocation.toFixed(0).padStart(6)}`);
console.log(`${"Node's echo: write from data".padEnd(36)} ${results.floor.toFixed(0).padStart(6)}`);
console.log(`${"servidor poll: echo service".padEnd(36)} ${results.poll.toFixed(0).padStart(6)}`);
console.log(`servidor over Node's echo: ${(results.poll - results.floor).toFixed(0)} ns a request`);

for (const connection of connections) connection.close();
for (const socket of floor) socket.destroy();
await finished.promise;
