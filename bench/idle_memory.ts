/**
 * What an idle connection costs a server, per 1,000 connections: servidor's
 * `poll` (through `serve()`, in this process) over `node:net` (its default
 * for plain TCP) and over `Deno.Conn`, against the least a Deno server can
 * hold with each: a bare accept loop with one pending `read()` per
 * connection, and a bare `node:net` echo.
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/idle_memory.ts            # 10,000 connections
 * deno run -A --v8-flags=--expose-gc bench/idle_memory.ts 2000 bare  # one server, 2,000
 * deno run -A --v8-flags=--expose-gc bench/idle_memory.ts 10000 poll answered
 * deno run -A --v8-flags=--expose-gc bench/idle_memory.ts 10000 node       # Node's own echo, in Node
 * IDLE_SNAPSHOT=/tmp/poll.heapsnapshot deno run -A --v8-flags=--expose-gc bench/idle_memory.ts 2000 poll
 * ```
 *
 * The clients live in another process (a `deno eval` that connects and waits),
 * so what is measured here is the server's alone. Once every connection is
 * accepted and has sent nothing, the garbage collector runs twice and the
 * V8 heap in use and the resident set are read; the figure is the growth over
 * the same process with no client, divided by thousands of connections.
 * Memory is not CPU time: on a shared machine these figures hold run to run.
 * With `answered` (after a server's name) each client first sends one line
 * and reads its echo, then waits: what a client holds once it has been
 * answered, which is more than one that never spoke (the `bare` loops do not
 * answer; compare `poll` with `node-net`).
 * With `IDLE_SNAPSHOT` set to a file name, a heap snapshot of the server with
 * its clients connected is written there after the measurement (`node:v8`
 * `writeHeapSnapshot`), to see which objects each client holds.
 *
 * @module
 */
import { serve } from "../lib/server.ts";
import { LISTEN_BACKLOG, type Listener, openListener } from "../lib/listen.ts";
import type { ChunkSocket } from "../lib/connection.ts";
import { poll } from "../strategies/poll.ts";
import { echo } from "../services/echo.ts";

/** The servers this compares; each runs alone in a fresh measurement. */
export const IDLE_SERVERS = [
  "bare",
  "bare-1b",
  "node-net",
  "node",
  "poll",
  "poll-pull",
  "poll-deno-conn",
] as const;
type IdleServer = typeof IDLE_SERVERS[number];

/** One measurement: growth per 1,000 idle connections. */
export interface IdleCost {
  server: IdleServer;
  conns: number;
  /** Whether each client was answered once before the measurement. */
  answered: boolean;
  /** V8 heap in use after a full collection, MiB per 1,000 connections. */
  heapMiBPer1000: number;
  /** Resident set, MiB per 1,000 connections. */
  rssMiBPer1000: number;
}

const MIB = 1024 * 1024;

/**
 * The clients: connect `conns` times, each answered once if `answered` is 1
 * (one line sent, its echo read), say so on stdout, then wait for stdin to close.
 */
const HOLDER = `
const [port, conns, answered] = Deno.args.map(Number);
const held = [];
for (let i = 0; i < conns; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
if (answered) {
  const line = new TextEncoder().encode("hola\\n");
  const reply = new Uint8Array(64);
  for (const conn of held) {
    await conn.write(line);
    let got = 0;
    while (got < line.byteLength) got += (await conn.read(reply.subarray(got))) ?? line.byteLength;
  }
}
console.log("connected");
for await (const _ of Deno.stdin.readable) { /* until closed */ }
`;

/** A server being measured: its port, and how to count, measure and stop it. */
interface RunningServer {
  port: number;
  /** Connections it has accepted so far. */
  accepted(): Promise<number>;
  /** Its V8 heap in use after a full collection, and its resident set, in bytes. */
  measure(): Promise<{ heap: number; rss: number }>;
  stop(): Promise<void>;
}

/** A server in this process: it is measured here. */
function inProcess(
  port: number,
  accepted: () => number,
  stop: () => Promise<void>,
): RunningServer {
  return {
    port,
    accepted: () => Promise.resolve(accepted()),
    measure: () => Promise.resolve(collect()),
    stop,
  };
}

/**
 * Starts one server on a free port and returns how to stop it and how many it has accepted.
 *
 * `bare` is the floor: accept, then one pending `read()` into a 1 KiB buffer,
 * what any Deno server that reads with `Deno.Conn` must hold per client.
 * `bare-1b` reads into 1 byte, to show the buffer is not what costs.
 * `node-net` is Node's echo through Deno's `node:net`: the floor of that API.
 * `poll` is servidor as it serves plain TCP by default, through `node:net`,
 * its sockets pushing to the service from their `data` event; `poll-pull` is
 * the same with each socket read in a loop instead, a read pending on every
 * idle client (what `poll` did before the push path); `poll-deno-conn` is
 * `poll` over `Deno.Conn` (`--tcp-api=deno`). `node` is the same echo as
 * `node-net` run by Node itself, in a process of its own that measures
 * itself: what Node's `net` costs, against which Deno's `node:net` is the floor.
 */
async function startServer(server: IdleServer): Promise<RunningServer> {
  if (server === "node-net") return await startNodeNet();
  if (server === "node") return await startNode();
  if (server === "poll" || server === "poll-pull" || server === "poll-deno-conn") {
    const { listener } = await openListener({
      transport: "tcp",
      hostname: "127.0.0.1",
      port: 0,
      api: server === "poll-deno-conn" ? "deno" : "node",
    });
    const stop = new AbortController();
    let accepted = 0;
    const served = serve({
      listener: server === "poll-pull" ? pullOnly(listener) : listener,
      strategy: poll,
      service: echo,
      shutdown: stop.signal,
      graceMs: 0,
      observer: { opened: () => accepted++ },
    });
    return inProcess((listener.addr as Deno.NetAddr).port, () => accepted, async () => {
      stop.abort();
      await served;
    });
  }
  const bare = Deno.listen({ hostname: "127.0.0.1", port: 0, tcpBacklog: LISTEN_BACKLOG });
  const conns: Deno.Conn[] = [];
  const size = server === "bare" ? 1024 : 1;
  const reading: Promise<unknown>[] = [];
  const accepting = (async () => {
    for await (const conn of bare) {
      conns.push(conn);
      reading.push(conn.read(new Uint8Array(size)).catch(() => null));
    }
  })();
  return inProcess(bare.addr.port, () => conns.length, async () => {
    bare.close();
    await accepting;
    for (const conn of conns) conn.close();
    await Promise.all(reading);
  });
}

/**
 * The listener with its sockets' push entry hidden, so that servidor reads
 * each with `readChunk()` in a loop: the pull path, measured beside the push.
 */
function pullOnly(listener: Listener): Listener {
  return {
    addr: listener.addr,
    close: () => listener.close(),
    accept: async () => new PulledSocket(await listener.accept() as ChunkSocket),
  };
}

/** A socket that reads by chunks but offers no `pushChunks`; one field, its methods shared. */
class PulledSocket implements ChunkSocket {
  readonly #socket: ChunkSocket;
  constructor(socket: ChunkSocket) {
    this.#socket = socket;
  }
  get remoteAddr(): Deno.Addr {
    return this.#socket.remoteAddr;
  }
  get localAddr(): Deno.Addr {
    return this.#socket.localAddr;
  }
  readChunk(): Promise<Uint8Array | null> {
    return this.#socket.readChunk();
  }
  write(bytes: Uint8Array): number | Promise<number> {
    return this.#socket.write(bytes);
  }
  close(): void {
    this.#socket.close();
  }
}

/** Node's echo, as `../shared/bench/anchors/node_net_echo.mjs` has it, through Deno's `node:net`. */
async function startNodeNet(): Promise<RunningServer> {
  const { default: net } = await import("node:net");
  const sockets = new Set<import("node:net").Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("data", (data) => socket.write(data));
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) =>
    server.listen({ host: "127.0.0.1", port: 0, backlog: LISTEN_BACKLOG }, resolve)
  );
  return inProcess(
    (server.address() as import("node:net").AddressInfo).port,
    () => sockets.size,
    async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  );
}

/**
 * The same echo as {@link startNodeNet}, run by Node. It answers each line on
 * its standard input with one line of JSON: how many it accepted, its heap
 * in use and its resident set, after two full collections if the line is
 * `measure`. It stops when its standard input closes.
 */
const NODE_ECHO = `
import net from "node:net";
import readline from "node:readline";
const sockets = new Set();
const server = net.createServer((socket) => {
  sockets.add(socket);
  socket.on("data", (data) => socket.write(data));
  socket.on("error", () => {});
});
server.listen({ host: "127.0.0.1", port: 0, backlog: Number(process.argv[1]) }, () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line === "measure") { gc(); gc(); }
  const { heapUsed, rss } = process.memoryUsage();
  console.log(JSON.stringify({ accepted: sockets.size, heap: heapUsed, rss }));
});
lines.on("close", () => {
  for (const socket of sockets) socket.destroy();
  server.close();
});
`;

/** Node's echo in a Node process of its own; see {@link NODE_ECHO}. */
async function startNode(): Promise<RunningServer> {
  const child = new Deno.Command("node", {
    args: ["--expose-gc", "--input-type=module", "-e", NODE_ECHO, String(LISTEN_BACKLOG)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const input = child.stdin.getWriter();
  const output = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  const nextLine = async (): Promise<Record<string, number>> => {
    while (!pending.includes("\n")) {
      const { value, done } = await output.read();
      if (done) throw new Error("node stopped before it answered");
      pending += value;
    }
    const end = pending.indexOf("\n");
    const line = pending.slice(0, end);
    pending = pending.slice(end + 1);
    return JSON.parse(line);
  };
  const ask = async (line: string): Promise<Record<string, number>> => {
    await input.write(new TextEncoder().encode(`${line}\n`));
    return await nextLine();
  };
  const { port } = await nextLine();
  return {
    port: port!,
    accepted: async () => (await ask("count")).accepted!,
    measure: async () => {
      const { heap, rss } = await ask("measure");
      return { heap: heap!, rss: rss! };
    },
    stop: async () => {
      await input.close();
      await output.cancel();
      await child.status;
    },
  };
}

function collect(): { heap: number; rss: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --v8-flags=--expose-gc so the heap can be measured");
  gc();
  gc();
  const { heapUsed, rss } = Deno.memoryUsage();
  return { heap: heapUsed, rss };
}

/**
 * Measures one server with `conns` idle clients.
 *
 * @param server Which server.
 * @param conns How many clients connect and stay silent.
 * @param answered Whether each client first sends one line and reads its echo.
 * @param snapshot Where to write a heap snapshot once measured, if anywhere.
 * @returns Its growth per 1,000 connections.
 */
export async function measureIdle(
  server: IdleServer,
  conns: number,
  answered = false,
  snapshot?: string,
): Promise<IdleCost> {
  const running = await startServer(server);
  const before = await running.measure();
  const holder = new Deno.Command(Deno.execPath(), {
    args: ["eval", HOLDER, String(running.port), String(conns), answered ? "1" : "0"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = holder.stdin.getWriter();
  try {
    const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    if (!value?.includes("connected")) throw new Error("the clients could not connect");
    // Accepted is not yet connected: wait (bounded) for the server to take them all.
    let accepted = await running.accepted();
    for (let i = 0; i < 600 && accepted < conns; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      accepted = await running.accepted();
    }
    if (accepted < conns) {
      throw new Error(`only ${accepted} of ${conns} connections were accepted`);
    }
    const after = await running.measure();
    if (snapshot) (await import("node:v8")).writeHeapSnapshot(snapshot);
    const thousands = conns / 1000;
    return {
      server,
      conns,
      answered,
      heapMiBPer1000: (after.heap - before.heap) / MIB / thousands,
      rssMiBPer1000: (after.rss - before.rss) / MIB / thousands,
    };
  } finally {
    await writer.close().catch(() => {});
    await holder.stdout.cancel().catch(() => {});
    await holder.status;
    await running.stop();
  }
}

if (import.meta.main) {
  const conns = Number(Deno.args[0] ?? 10_000);
  const only = Deno.args[1] as IdleServer | undefined;
  const answered = Deno.args[2] === "answered";
  if (
    !Number.isInteger(conns) || conns <= 0 || (only && !IDLE_SERVERS.includes(only)) ||
    (Deno.args[2] !== undefined && !answered)
  ) {
    console.error(`usage: idle_memory.ts [CONNS] [${IDLE_SERVERS.join(" | ")} [answered]]`);
    Deno.exit(2);
  }
  if (only) {
    const cost = await measureIdle(only, conns, answered, Deno.env.get("IDLE_SNAPSHOT"));
    const clients = `${conns} ${answered ? "answered once" : "idle"}`;
    console.log(
      `${only.padEnd(8)} ${clients}: heap ${cost.heapMiBPer1000.toFixed(2)} MiB, ` +
        `rss ${cost.rssMiBPer1000.toFixed(2)} MiB per 1,000 connections`,
    );
  } else {
    // Each server in a fresh process: a heap that grew for one must not count for the next.
    for (const server of IDLE_SERVERS) {
      const args = ["run", "-A", "--v8-flags=--expose-gc", import.meta.filename!];
      const { code } = await new Deno.Command(Deno.execPath(), {
        args: [...args, String(conns), server],
      }).output().then((out) => {
        Deno.stdout.writeSync(out.stdout);
        Deno.stderr.writeSync(out.stderr);
        return out;
      });
      if (code !== 0) Deno.exit(code);
    }
  }
}
