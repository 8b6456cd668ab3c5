/**
 * What a `workers` Worker costs in memory, and where that memory goes. Four
 * figures, each per Worker and each from a process of its own (memory that
 * terminated Workers gave back is reused by the next ones):
 *
 * - **bare**: N Workers of one line of JavaScript, the floor Deno sets;
 * - **loaded**: N of servidor's service Workers from the committed bundle, as
 *   `deno run --allow-net main.ts --mode=workers` starts them, before any client;
 * - **serving**: servidor itself (`main.ts --mode=workers --service=echo`, default
 *   flags) with N clients connected, each after one round trip;
 * - **under traffic**: the same server after every client has looped 64-byte
 *   round trips for a while (10 s unless `--traffic=SECONDS`).
 *
 * A figure is the RSS that the Workers added, divided by how many there are
 * (threads Deno names `worker-N`, the spawner among them). For the server,
 * what its main thread grows by under traffic is in that figure too; the
 * server's totals are printed beside it. Each figure is split by what
 * /proc/PID/smaps says the memory is:
 *
 * - **V8 heap**: anonymous 256 KiB mappings, the pages of the isolates' heaps;
 * - **Deno's code**: pages of the `deno` executable. Each isolate maps 2 MiB of
 *   V8's built-in code again near its own code (V8's short builtin calls,
 *   enabled where the heap may grow past 2 GiB); those pages are the same
 *   file pages every time, shared, yet RSS counts them once per mapping
 *   (PSS would not);
 * - **malloc**: glibc's heap and its per-thread arenas (64 MiB-aligned
 *   anonymous mappings): Deno's own per-Worker state;
 * - **other**: the rest: thread stacks, each isolate's own structures, the
 *   rings in shared memory.
 *
 * ```sh
 * deno run -A bench/worker_rss.ts                  # 50 Workers of each kind
 * deno run -A bench/worker_rss.ts 20 --traffic=5
 * deno run -A bench/worker_rss.ts --v8-flags=--max-semi-space-size=1
 * ```
 *
 * `--v8-flags=…` is passed to every process measured, so all four figures
 * are under the same V8 flags. Reading another process's /proc needs `-A`.
 * The figures are RSS, so a busy machine's page reclaim moves them a little.
 *
 * @module
 */
import { parseArgs } from "node:util";
import serviceBundle from "../strategies/_bundled/worker_main.js" with { type: "text" };
import { writeAll } from "../lib/write_all.ts";

const KIB_PER_MIB = 1024;
const MAIN_TS = new URL("../main.ts", import.meta.url).pathname;
/** How long a measured process may take to start, or a server to answer. */
const STEP_TIMEOUT_MS = 60_000;

/** What one process holds, in KiB, by kind of memory; see the module's documentation. */
interface Memory {
  rss: number;
  /** Proportional set size: a page shared by several mappings or processes counts once in all. */
  pss: number;
  heap: number;
  code: number;
  malloc: number;
  other: number;
  /** Worker threads alive (Deno names them `worker-N`). */
  workers: number;
  /** VmHWM: the most RSS the process has held. */
  peak: number;
}

/** 64 MiB: glibc places each arena's heap at a multiple of it on 64-bit Linux. */
const ARENA_ALIGN = 64 * 1024 * 1024;
/** A V8 heap page. */
const V8_PAGE_KIB = 256;

/** Reads what `pid` holds from /proc (Linux only). */
function memoryOf(pid: number, executable: string): Memory {
  const memory: Memory = {
    rss: 0,
    pss: 0,
    heap: 0,
    code: 0,
    malloc: 0,
    other: 0,
    workers: 0,
    peak: 0,
  };
  let kind: "heap" | "code" | "malloc" | "other" = "other";
  for (const line of Deno.readTextFileSync(`/proc/${pid}/smaps`).split("\n")) {
    const mapping = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) {
      const start = BigInt(`0x${mapping[1]}`);
      const sizeKiB = Number((BigInt(`0x${mapping[2]}`) - start) / 1024n);
      const name = mapping[4]!;
      if (name === executable) kind = "code";
      else if (name === "[heap]") kind = "malloc";
      else if (name !== "") kind = "other";
      else if (sizeKiB === V8_PAGE_KIB) kind = "heap";
      else if (mapping[3] === "rw-p" && start % BigInt(ARENA_ALIGN) === 0n) kind = "malloc";
      else kind = "other";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) {
      memory[kind] += Number(rss[1]);
      memory.rss += Number(rss[1]);
    }
    const pss = /^Pss:\s+(\d+) kB/.exec(line);
    if (pss) memory.pss += Number(pss[1]);
  }
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  memory.peak = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      if (Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/comm`).startsWith("worker-")) {
        memory.workers++;
      }
    } catch {
      // The thread ended while we looked.
    }
  }
  return memory;
}

/** What each Worker added between two readings, in MiB, by kind of memory. */
function perWorker(before: Memory, after: Memory) {
  const workers = after.workers - before.workers;
  const each = (key: "rss" | "pss" | "heap" | "code" | "malloc" | "other") =>
    (after[key] - before[key]) / workers / KIB_PER_MIB;
  return {
    workers,
    rss: each("rss"),
    pss: each("pss"),
    heap: each("heap"),
    code: each("code"),
    malloc: each("malloc"),
    other: each("other"),
  };
}

type Row = ReturnType<typeof perWorker> & { label: string };

/** Fails when `promise` takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads lines from a child's stdout or stderr until one matches. */
async function waitForLine(
  reader: ReadableStreamDefaultReader<string>,
  pattern: RegExp,
  what: string,
): Promise<RegExpExecArray> {
  let text = "";
  return await within(
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`${what} ended first: ${text.trim()}`);
        text += value;
        const found = pattern.exec(text);
        if (found) return found;
      }
    })(),
    STEP_TIMEOUT_MS,
    what,
  );
}

// --- bare and loaded Workers: a child process that starts them -------------

/** Starts `count` Workers from `url` one after another, each once it has said it is ready. */
async function startWorkers(url: string, count: number): Promise<Worker[]> {
  const workers: Worker[] = [];
  for (let i = 0; i < count; i++) {
    const worker = new Worker(url, { type: "module" });
    workers.push(worker);
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
    });
  }
  return workers;
}

function blobUrl(source: string): string {
  return URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
}

const WORKER_SOURCES: Record<string, () => string> = {
  bare: () => blobUrl('postMessage({ type: "ready" });'),
  loaded: () => blobUrl(serviceBundle),
};

/**
 * The child's side: says `base`, waits for a line, starts the Workers, says
 * `ready`, and waits for its input to end.
 */
async function holdWorkers(kind: string, count: number): Promise<void> {
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
  console.log("base");
  await lines.read();
  const workers = await startWorkers(WORKER_SOURCES[kind]!(), count);
  console.log("ready");
  while (!(await lines.read()).done) { /* until the parent closes our input */ }
  for (const worker of workers) worker.terminate();
}

/** Measures one kind of Worker in a child process of its own. */
async function measureWorkers(
  kind: string,
  count: number,
  v8Flags: string[],
  executable: string,
): Promise<Row> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...v8Flags,
      "--allow-read",
      new URL(import.meta.url).pathname,
      `--kind=${kind}`,
      `${count}`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const input = child.stdin.getWriter();
  try {
    await waitForLine(lines, /base\n/, `the ${kind} process`);
    const before = memoryOf(child.pid, executable);
    await input.write(new TextEncoder().encode("go\n"));
    await waitForLine(lines, /ready\n/, `${count} ${kind} Workers`);
    const after = memoryOf(child.pid, executable);
    return { label: kind, ...perWorker(before, after) };
  } finally {
    await input.close().catch(() => {});
    lines.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.status;
  }
}

// --- servidor's Workers: the server as a user types it ----------------------

const REQUEST = new TextEncoder().encode(`${"x".repeat(63)}\n`);

/** One 64-byte round trip: the request out, the echo back in full. */
async function roundTrip(conn: Deno.Conn, reply: Uint8Array): Promise<void> {
  await writeAll(conn, REQUEST);
  for (let got = 0; got < reply.byteLength;) {
    const n = await conn.read(reply.subarray(got));
    if (n === null) throw new Error("the server closed a client");
    got += n;
  }
}

interface ServerFigures {
  idle: Row;
  traffic: Row;
  roundTrips: number;
  before: Memory;
  served: Memory;
  loaded: Memory;
}

/**
 * Starts `main.ts --mode=workers --service=echo` with default flags, reads
 * its memory before any client, with `count` clients after one round trip
 * each, and after they looped round trips for `trafficS` seconds.
 */
async function measureServer(
  count: number,
  trafficS: number,
  v8Flags: string[],
  executable: string,
): Promise<ServerFigures> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...v8Flags,
      "--allow-net",
      MAIN_TS,
      "serve",
      "--mode=workers",
      "--service=echo",
      "--host=127.0.0.1",
      "--port=0",
      "--log-level=error",
      ...(count > 64 ? [`--max-workers=${count}`] : []),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const conns: Deno.Conn[] = [];
  let said = "";
  try {
    const port = Number(
      (await waitForLine(stderr, /listening on 127\.0\.0\.1:(\d+)\s/, "the server"))[1],
    );
    // Keep reading what it says, so that it never blocks on a full pipe; shown if it fails.
    void (async () => {
      for (let chunk = await stderr.read(); !chunk.done; chunk = await stderr.read()) {
        said += chunk.value;
      }
    })().catch(() => {});
    // The pool starts its idle Workers before the first client; wait until they are up.
    let before = memoryOf(child.pid, executable);
    for (let i = 0; i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const now = memoryOf(child.pid, executable);
      const settled = now.workers === before.workers && Math.abs(now.rss - before.rss) < 512;
      before = now;
      if (settled) break;
    }
    // All at once, as the load generators of bench:compare connect: the pool
    // starts their Workers a few at a time, as it would for real clients.
    await within(
      Promise.all(Array.from({ length: count }, async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conns.push(conn);
        await roundTrip(conn, new Uint8Array(REQUEST.byteLength));
      })),
      STEP_TIMEOUT_MS,
      `connecting ${count} clients`,
    );
    const served = memoryOf(child.pid, executable);
    const until = performance.now() + trafficS * 1000;
    let roundTrips = 0;
    await within(
      Promise.all(conns.map(async (conn) => {
        const buffer = new Uint8Array(REQUEST.byteLength);
        while (performance.now() < until) {
          await roundTrip(conn, buffer);
          roundTrips++;
        }
      })),
      trafficS * 1000 + STEP_TIMEOUT_MS,
      "the traffic",
    );
    const loaded = memoryOf(child.pid, executable);
    return {
      idle: { label: "serving", ...perWorker(before, served) },
      traffic: { label: "under traffic", ...perWorker(before, loaded) },
      roundTrips,
      before,
      served,
      loaded,
    };
  } catch (error) {
    throw new Error(`measuring the server failed; it said: ${said.trim() || "nothing"}`, {
      cause: error,
    });
  } finally {
    for (const conn of conns) conn.close();
    child.kill("SIGTERM");
    await child.status;
    stderr.releaseLock();
    await child.stderr.cancel().catch(() => {});
  }
}

// --- the report -------------------------------------------------------------

const LABELS: Record<string, string> = {
  bare: "bare Worker (one line of JavaScript)",
  loaded: "servidor's Worker, loaded, no client",
  serving: "servidor's Worker serving, after 1 round trip",
  "under traffic": "servidor's Worker after the echo traffic",
};

function mib(kib: number): string {
  return (kib / KIB_PER_MIB).toFixed(0);
}

function printTable(rows: Row[]): void {
  const header = ["Worker", "Workers", "RSS per Worker", "V8 heap", "Deno's code", "malloc"];
  header.push("other", "PSS per Worker");
  const widths = [47, ...header.slice(1).map((cell) => cell.length)];
  const line = (cells: string[]) =>
    `| ${
      cells.map((cell, i) => i === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[i]!)).join(
        " | ",
      )
    } |`;
  console.log(line(header));
  console.log(
    line(widths.map((width, i) => i === 0 ? "-".repeat(width) : `${"-".repeat(width - 1)}:`)),
  );
  for (const row of rows) {
    const figures = [row.rss, row.heap, row.code, row.malloc, row.other, row.pss];
    const cells = figures.map((value) => value.toFixed(1));
    cells[0] = `${cells[0]} MiB`;
    cells[5] = `${cells[5]} MiB`;
    console.log(line([LABELS[row.label] ?? row.label, String(row.workers), ...cells]));
  }
}

const USAGE =
  "usage: deno run -A bench/worker_rss.ts [WORKERS] [--traffic=SECONDS] [--v8-flags=FLAGS]";

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      kind: { type: "string" },
      traffic: { type: "string", default: "10" },
      "v8-flags": { type: "string" },
    },
  });
  const count = Number(positionals[0] ?? 50);
  const trafficS = Number(values.traffic);
  if (
    !Number.isInteger(count) || count < 1 || !(trafficS > 0 && trafficS <= 600) ||
    (values.kind !== undefined && !(values.kind in WORKER_SOURCES))
  ) {
    console.error(USAGE);
    Deno.exit(2);
  }
  if (values.kind !== undefined) {
    await holdWorkers(values.kind, count);
  } else {
    const v8Flags = values["v8-flags"] ? [`--v8-flags=${values["v8-flags"]}`] : [];
    const executable = Deno.realPathSync(Deno.execPath());
    const rows = [
      await measureWorkers("bare", count, v8Flags, executable),
      await measureWorkers("loaded", count, v8Flags, executable),
    ];
    const server = await measureServer(count, trafficS, v8Flags, executable);
    rows.push(server.idle, server.traffic);
    console.log(
      `${count} Workers of each kind, Deno ${Deno.version.deno}, V8 flags: ${
        values["v8-flags"] ?? "none"
      }; MiB per Worker:\n`,
    );
    printTable(rows);
    const { before, served, loaded } = server;
    console.log(
      `\nThe server (main.ts --mode=workers --service=echo), RSS (PSS): ${mib(before.rss)} ` +
        `(${mib(before.pss)}) MiB before any client (${before.workers} Workers: the spawner ` +
        `and the idle ones), ${mib(served.rss)} (${mib(served.pss)}) MiB with ${count} clients ` +
        `after one round trip, ${mib(loaded.rss)} (${mib(loaded.pss)}) MiB after ${
          server.roundTrips.toLocaleString("en-US")
        } round trips in ${trafficS} s (${loaded.workers} Workers; peak RSS ${
          mib(loaded.peak)
        } MiB).`,
    );
  }
}
