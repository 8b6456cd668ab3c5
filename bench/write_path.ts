/**
 * What servidor's write path costs per reply, in two parts:
 *
 * 1. `Connection.write` alone, awaited as a service's `send()` is, to a
 *    socket that takes every write at once and makes no system call: the
 *    write queue, `writeAllNow` and the bookkeeping, nothing of Node's or the
 *    kernel's.
 * 2. The same 64-byte writes to one loopback client through `net.Socket.write`
 *    (the floor: Node's echo does just that), through `NodeTcpSocket.write`,
 *    and through `Connection.write`. The client drains every batch before the
 *    next, so the kernel always has room and each write is what an echo's
 *    reply is. The system call is most of each figure.
 *
 * One process, no load generator: part 1 repeats to a few nanoseconds on a
 * busy machine, where a `bench:compare` rate swings by a third.
 *
 * ```sh
 * deno run -A bench/write_path.ts [batches]
 * ```
 *
 * Used for docs/scale.md's "Per-request work".
 *
 * @module
 */
import net from "node:net";
import { Connection } from "../lib/connection.ts";
import { listenNodeTcp, type NodeTcpSocket } from "../lib/node_tcp.ts";

/** Writes between two drains: 12.8 KB, far below what loopback's socket buffers hold. */
const BATCH = 200;
const SIZE = 64;
const ROUNDS = 5;

const batches = Number(Deno.args[0] ?? 500);
const reply = new Uint8Array(SIZE).fill(0x61);

/** A loopback client and a way to read everything owed to it. */
async function drainingClient(port: number): Promise<{ owe(bytes: number): Promise<void> }> {
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  clients.push(client);
  const buffer = new Uint8Array(256 * 1024);
  return {
    async owe(bytes) {
      for (let owed = bytes; owed > 0;) {
        const n = await client.read(buffer);
        if (n === null) throw new Error("the server closed");
        owed -= n;
      }
    },
  };
}
const clients: Deno.Conn[] = [];

// The floor: a socket of Node's own server, as Node's echo writes to it.
const server = net.createServer({ noDelay: true });
const accepted = Promise.withResolvers<net.Socket>();
server.once("connection", accepted.resolve);
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const floorClient = await drainingClient((server.address() as net.AddressInfo).port);
const nodeSocket = await accepted.promise;

// servidor's: the same kind of socket, wrapped as the server wraps it.
const listener = await listenNodeTcp({ hostname: "127.0.0.1", port: 0 });
const servidorClient = await drainingClient(listener.addr.port);
const socket: NodeTcpSocket = await listener.accept();
const connection = new Connection(socket, 1);
// Deno sends a socket's very first write a turn later; the ones after it at once.
await Promise.all([
  connection.write(reply),
  servidorClient.owe(SIZE),
  new Promise((resolve) => nodeSocket.write(reply, resolve)),
  floorClient.owe(SIZE),
]);

type Variant = {
  name: string;
  client: { owe(bytes: number): Promise<void> };
  batch: () => void | Promise<void>;
};
const variants: Variant[] = [
  {
    name: "net.Socket.write (node:net, the floor)",
    client: floorClient,
    batch: () => {
      for (let i = 0; i < BATCH; i++) nodeSocket.write(reply);
    },
  },
  {
    name: "NodeTcpSocket.write",
    client: servidorClient,
    batch: async () => {
      for (let i = 0; i < BATCH; i++) await socket.write(reply);
    },
  },
  {
    name: "Connection.write, awaited",
    client: servidorClient,
    batch: async () => {
      for (let i = 0; i < BATCH; i++) await connection.write(reply);
    },
  },
];

/**
 * servidor's own work alone: a socket whose kernel always has room and that
 * makes no system call, so that what is timed is `Connection.write` and
 * `writeAllNow`, nothing of Node's or the kernel's.
 */
const sink = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 } as Deno.NetAddr,
  localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 2 } as Deno.NetAddr,
  taken: 0,
  write(bytes: Uint8Array): number {
    this.taken += bytes.byteLength;
    return bytes.byteLength;
  },
  readChunk: () => Promise.resolve(null),
  close() {},
};
const sinkConnection = new Connection(sink, 2);
let best = Infinity;
for (let round = 0; round < ROUNDS; round++) {
  const started = performance.now();
  for (let i = 0; i < batches * BATCH; i++) await sinkConnection.write(reply);
  best = Math.min(best, ((performance.now() - started) * 1e6) / (batches * BATCH));
}
console.log(
  `${"Connection.write to a socket with no syscall".padEnd(42)} ${
    best.toFixed(0).padStart(6)
  } ns a write`,
);

console.log(`${batches} batches of ${BATCH} writes of ${SIZE} B, best of ${ROUNDS} rounds`);
for (const variant of variants) {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    let writing = 0;
    for (let b = 0; b < batches; b++) {
      const started = performance.now();
      await variant.batch();
      writing += performance.now() - started;
      await variant.client.owe(BATCH * SIZE);
    }
    best = Math.min(best, (writing * 1e6) / (batches * BATCH));
  }
  console.log(`${variant.name.padEnd(42)} ${best.toFixed(0).padStart(6)} ns a write`);
}
connection.close();
nodeSocket.destroy();
for (const client of clients) client.close();
listener.close();
server.close();
