/**
 * The floor of "a Worker per client" under churn, with no servidor code: a
 * bare `Deno.listen` accept loop on 127.0.0.1 that hands each connection to
 * one of N pre-started Workers and makes exactly the hops `--mode=workers`
 * must make for a client that connects, makes one round trip and closes:
 *
 * 1. `open`: the Worker is told a client came;
 * 2. the main thread reads the request and puts it in shared memory, waking the Worker;
 * 3. the Worker copies it back out (the echo) and rings one doorbell that the
 *    main thread waits on (`Atomics.waitAsync`), which writes it to the socket;
 * 4. the client closes; the main thread marks the end of input, waking the Worker;
 * 5. `finished`: the Worker says it is free, and the main thread closes the socket.
 *
 * Servers, one a process, as `--server` names them:
 *
 * - `main`: the same accept loop echoing on the main thread, no Worker (poll's floor);
 * - `post`: `open` and `finished` are `postMessage`s; the bytes cross through
 *   shared memory, the request woken with `Atomics.notify`, the reply by the doorbell;
 * - `shared`: `open` and `finished` cross through shared memory too: `open`
 *   is a counter the Worker waits on between clients, `finished` a counter
 *   that the doorbell's check looks at, as it looks for output;
 * - `lazy`: as `shared`, but the Worker is opened with the client's first
 *   bytes, one wake-up for both (what servidor does for a service that has no
 *   `open()` of its own), so three wake-ups a client instead of four.
 *
 * A Worker waits as servidor's `echo` Workers do (a service with nothing of
 * its own to run): blocking in `Atomics.wait` for up to 20 ms, then with
 * `Atomics.waitAsync`; `--wait=async` makes it always wait asynchronously, as
 * a Worker must for a service with timers or I/O of its own.
 *
 * The load is `bench/echoload.c` in churn mode (`-C`), built with gcc into a
 * temporary folder, 50 connections × 64 B, as `bench:compare`'s churn
 * scenario; the servers run one after another, in rounds, and each result is
 * also given as a ratio to `main` in the same round.
 *
 *     deno run -A bench/worker_churn_floor.ts [--rounds=2] [--duration=5] [--workers=64]
 *       [--server=main --server=post --server=shared] [--wait=blocking|async] [--steady]
 *
 * `--steady` runs the echo-small load instead (no churn: 50 connections, each
 * looping round trips), the floor of the echo target.
 *
 * @module
 */
import { parseArgs } from "node:util";

const HOST = "127.0.0.1";
const CONNS = 50;
const SIZE = 64;

/** Words of a Worker's shared control block (Int32), then its two byte areas. */
const OPEN = 0; // Bumped by the main thread for each client (`shared`).
const IN_EVENTS = 1; // Bumped by the main thread after input or its end.
const IN_WRITTEN = 2; // Input bytes written, by the main thread.
const IN_READ = 3; // Input bytes taken, by the Worker.
const IN_ENDED = 4; // 1 once the client has stopped sending.
const OUT_WRITTEN = 5; // Output bytes written, by the Worker.
const OUT_READ = 6; // Output bytes taken, by the main thread.
const DONE = 7; // Bumped by the Worker when it has finished a client (`shared`).
const WAITING = 8; // 1 while the Worker waits, so the main thread notifies only then.
const HEADER = 64;
const AREA = 4096; // Each way; a 64-byte request and its echo fit many times over.

/** The doorbell: a count of rings, and 1 while the main thread waits on it. */
const RUNG = 0;
const LISTENING = 1;

/**
 * The Worker, plain JavaScript: the same for `post` and `shared`, told by
 * its first message which way `open` and `finished` go.
 */
const WORKER_SOURCE = `
const [OPEN, IN_EVENTS, IN_WRITTEN, IN_READ, IN_ENDED, OUT_WRITTEN, OUT_READ, DONE, WAITING] =
  [0, 1, 2, 3, 4, 5, 6, 7, 8];
const HEADER = ${HEADER}, AREA = ${AREA}, BLOCK_MS = 20;
let words, input, output, bell, blocking;

async function waitOn(index, seen) {
  Atomics.store(words, WAITING, 1);
  try {
    if (blocking && Atomics.wait(words, index, seen, BLOCK_MS) !== "timed-out") return;
    const result = Atomics.waitAsync(words, index, seen);
    if (result.async) await result.value;
  } finally {
    Atomics.store(words, WAITING, 0);
  }
}

function ring() {
  Atomics.add(bell, ${RUNG}, 1);
  if (Atomics.load(bell, ${LISTENING}) === 1) Atomics.notify(bell, ${RUNG});
}

/** Echoes the client's input until it ends. */
async function serveClient() {
  for (;;) {
    const seen = Atomics.load(words, IN_EVENTS);
    const written = Atomics.load(words, IN_WRITTEN);
    let read = Atomics.load(words, IN_READ);
    if (written !== read) {
      let out = Atomics.load(words, OUT_WRITTEN);
      if (written - read > AREA - (out - Atomics.load(words, OUT_READ))) throw new Error("no room");
      for (; read !== written; read++, out++) output[out % AREA] = input[read % AREA];
      Atomics.store(words, IN_READ, read);
      Atomics.store(words, OUT_WRITTEN, out);
      ring();
      continue;
    }
    if (Atomics.load(words, IN_ENDED) === 1) return;
    await waitOn(IN_EVENTS, seen);
  }
}

self.onmessage = async ({ data }) => {
  if (data.type === "init") {
    words = new Int32Array(data.block, 0, HEADER / 4);
    input = new Uint8Array(data.block, HEADER, AREA);
    output = new Uint8Array(data.block, HEADER + AREA, AREA);
    bell = new Int32Array(data.bell);
    blocking = data.blocking;
    self.postMessage("ready");
    if (!data.sharedControl) return;
    // Between clients, wait for the next one on the open counter.
    for (let opened = 0;;) {
      while (Atomics.load(words, OPEN) === opened) await waitOn(OPEN, opened);
      opened++;
      await serveClient();
      Atomics.add(words, DONE, 1);
      ring();
    }
  }
  if (data.type === "open") {
    await serveClient();
    self.postMessage("finished");
  }
};
`;

type ServerKind = "main" | "post" | "shared" | "lazy";
const SERVERS: readonly ServerKind[] = ["main", "post", "shared", "lazy"];

/** A pre-started Worker and its shared block, as the main thread holds them. */
interface Slot {
  worker: Worker;
  words: Int32Array<SharedArrayBuffer>;
  input: Uint8Array<SharedArrayBuffer>;
  output: Uint8Array<SharedArrayBuffer>;
  /** Clients this Worker has finished, as the main thread counted them (`shared`). */
  done: number;
  /** The client it serves now. */
  client?: Client;
}

interface Client {
  conn: Deno.Conn;
  /** Writes in order; the socket is closed after the last. */
  writes: Promise<unknown>;
  finished: () => void;
}

/** Serves until the process is killed; prints the port on stdout. */
async function serve(kind: ServerKind, workers: number, blocking: boolean): Promise<void> {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  if (kind === "main") {
    console.log(`port=${listener.addr.port}`);
    for await (const conn of listener) void echoOnMain(conn);
    return;
  }
  const bellBuffer = new SharedArrayBuffer(8);
  const bell = new Int32Array(bellBuffer);
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const free: Slot[] = [];
  const waiters: Array<(slot: Slot) => void> = [];
  const busy = new Set<Slot>();
  const release = (slot: Slot) => {
    slot.client = undefined;
    busy.delete(slot);
    const next = waiters.shift();
    if (next) next(slot);
    else free.push(slot);
  };
  const started: Promise<void>[] = [];
  for (let i = 0; i < workers; i++) {
    const block = new SharedArrayBuffer(HEADER + 2 * AREA);
    const worker = new Worker(url, { type: "module" });
    const slot: Slot = {
      worker,
      words: new Int32Array(block, 0, HEADER / 4),
      input: new Uint8Array(block, HEADER, AREA),
      output: new Uint8Array(block, HEADER + AREA, AREA),
      done: 0,
    };
    const { promise: ready, resolve: onReady } = Promise.withResolvers<void>();
    started.push(ready);
    worker.onmessage = () => {
      // The first message says the Worker is up; every later one is `finished`.
      worker.onmessage = () => slot.client?.finished();
      onReady();
    };
    worker.postMessage({
      type: "init",
      block,
      bell: bellBuffer,
      blocking,
      sharedControl: kind !== "post",
    });
    free.push(slot);
  }
  // Every Worker is up before the first client comes: the floor, not the start, is measured.
  await Promise.all(started);
  console.log(`port=${listener.addr.port}`);

  /** Wakes the Worker if it waits; it counts itself waiting before it looks. */
  const wake = (slot: Slot, index: number) => {
    Atomics.add(slot.words, index, 1);
    if (Atomics.load(slot.words, WAITING) === 1) Atomics.notify(slot.words, index);
  };

  // The doorbell: every ring, look at every busy Worker for output (and, under `shared`, an end).
  void (async () => {
    for (;;) {
      const seen = Atomics.load(bell, RUNG);
      for (const slot of busy) {
        const client = slot.client;
        if (!client) continue;
        const written = Atomics.load(slot.words, OUT_WRITTEN);
        const read = Atomics.load(slot.words, OUT_READ);
        if (written !== read) {
          const bytes = new Uint8Array(written - read);
          for (let i = 0; i < bytes.length; i++) bytes[i] = slot.output[(read + i) % AREA]!;
          Atomics.store(slot.words, OUT_READ, written);
          client.writes = client.writes.then(() => writeAll(client.conn, bytes)).catch(() => {});
        }
        if (kind !== "post" && Atomics.load(slot.words, DONE) !== slot.done) {
          slot.done++;
          client.finished();
        }
      }
      Atomics.store(bell, LISTENING, 1);
      const result = Atomics.waitAsync(bell, RUNG, seen);
      if (result.async) await result.value;
      Atomics.store(bell, LISTENING, 0);
    }
  })();

  const handle = async (conn: Deno.Conn) => {
    const slot = free.pop() ?? await new Promise<Slot>((resolve) => waiters.push(resolve));
    busy.add(slot);
    for (const index of [IN_WRITTEN, IN_READ, IN_ENDED, OUT_WRITTEN, OUT_READ]) {
      Atomics.store(slot.words, index, 0);
    }
    const { promise: finished, resolve } = Promise.withResolvers<void>();
    slot.client = { conn, writes: Promise.resolve(), finished: resolve };
    let unopened = kind === "lazy";
    if (kind === "shared") wake(slot, OPEN);
    if (kind === "post") slot.worker.postMessage({ type: "open" });
    // Under `lazy`, the open wakes the Worker, which finds the bytes already there.
    const wakeForInput = () => {
      if (!unopened) return wake(slot, IN_EVENTS);
      unopened = false;
      Atomics.add(slot.words, IN_EVENTS, 1);
      wake(slot, OPEN);
    };
    const buffer = new Uint8Array(AREA);
    try {
      for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
        const written = Atomics.load(slot.words, IN_WRITTEN);
        if (n > AREA - (written - Atomics.load(slot.words, IN_READ))) throw new Error("no room");
        for (let i = 0; i < n; i++) slot.input[(written + i) % AREA] = buffer[i]!;
        Atomics.store(slot.words, IN_WRITTEN, written + n);
        wakeForInput();
      }
    } catch {
      // A reset ends the client as its end of input does.
    }
    Atomics.store(slot.words, IN_ENDED, 1);
    wakeForInput();
    await finished;
    await slot.client.writes;
    conn.close();
    release(slot);
  };
  for await (const conn of listener) void handle(conn);
}

async function echoOnMain(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(AREA);
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      await writeAll(conn, buffer.subarray(0, n));
    }
  } catch {
    // A reset ends the client.
  }
  conn.close();
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** One server in a process of its own under echoload; its requests (connections) a second. */
async function measure(
  echoload: string,
  kind: ServerKind,
  options: { workers: number; wait: string; durationS: number; steady: boolean },
): Promise<number> {
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      new URL(import.meta.url).pathname,
      "serve",
      `--server=${kind}`,
      `--workers=${options.workers}`,
      `--wait=${options.wait}`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let announced = "";
    while (!/port=\d+\n/.test(announced)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the ${kind} server exited before listening`);
      announced += value;
    }
    reader.releaseLock();
    void server.stdout.cancel().catch(() => {});
    const port = /port=(\d+)/.exec(announced)![1]!;
    const load = await new Deno.Command(echoload, {
      args: [
        HOST,
        port,
        "-c",
        String(CONNS),
        "-s",
        String(SIZE),
        "-d",
        String(options.durationS),
        "-w",
        "2",
        "-v",
        ...(options.steady ? [] : ["-C"]),
      ],
    }).output();
    const line = new TextDecoder().decode(load.stdout);
    const rps = /rps=(\d+)/.exec(line);
    const errors = /errors=(\d+) mismatches=(\d+)/.exec(line);
    if (!load.success || !rps) throw new Error(`echoload failed: ${line}`);
    if (errors && (errors[1] !== "0" || errors[2] !== "0")) {
      console.error(`  ${kind}: echoload counted ${errors[1]} errors, ${errors[2]} mismatches`);
    }
    return Number(rps[1]);
  } finally {
    server.kill("SIGKILL");
    await server.status;
  }
}

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      server: { type: "string", multiple: true },
      workers: { type: "string", default: "64" },
      wait: { type: "string", default: "blocking" },
      rounds: { type: "string", default: "2" },
      duration: { type: "string", default: "5" },
      steady: { type: "boolean", default: false },
    },
  });
  const kinds = (values.server ?? [...SERVERS]) as ServerKind[];
  const unknown = kinds.filter((kind) => !SERVERS.includes(kind));
  if (unknown.length > 0 || !["blocking", "async"].includes(values.wait)) {
    console.error(
      `worker_churn_floor: --server is one of ${SERVERS.join(", ")}; --wait is blocking or async`,
    );
    Deno.exit(2);
  }
  const workers = Number(values.workers);
  if (positionals[0] === "serve") {
    await serve(kinds[0]!, workers, values.wait === "blocking");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "churn-floor-" });
  try {
    const echoload = `${dir}/echoload`;
    const source = new URL("./echoload.c", import.meta.url).pathname;
    const built = await new Deno.Command("gcc", { args: ["-O2", "-o", echoload, source] }).output();
    if (!built.success) throw new Error("worker_churn_floor needs gcc to build bench/echoload.c");
    const options = {
      workers,
      wait: values.wait,
      durationS: Number(values.duration),
      steady: values.steady,
    };
    const what = values.steady ? "echo 50 × 64 B, requests/s" : "churn, connections/s";
    console.log(`# ${what}; workers=${workers} wait=${values.wait}; ${new Date().toISOString()}`);
    for (let round = 1; round <= Number(values.rounds); round++) {
      const rates = new Map<ServerKind, number>();
      for (const kind of kinds) rates.set(kind, await measure(echoload, kind, options));
      const base = rates.get("main");
      console.log(
        `round=${round} ` +
          kinds.map((kind) => {
            const rate = rates.get(kind)!;
            return `${kind}=${rate}` +
              (base && kind !== "main" ? ` (${(rate / base).toFixed(2)})` : "");
          }).join(" "),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
