/**
 * Where Deno's floor of memory lies at 10,000 clients: the same `net` echo
 * (`bench/floor/net_echo_memory.mjs`, no servidor code) under `node` and
 * under `deno run`, which serves it through its `node:net` polyfill, measured
 * the same way, so that Deno's figures are divided by Node's.
 *
 * ```sh
 * ulimit -n 20000
 * deno run -A bench/echo_memory.ts                 # 10,000 clients: idle, answered, then loaded
 * deno run -A bench/echo_memory.ts 2000 idle       # 2,000 idle clients only
 * flock /tmp/servidor-bench.lock deno run -A bench/echo_memory.ts 10000 loaded
 * ```
 *
 * - `idle`: clients connect one after another from this process and send
 *   nothing; the server collects its garbage twice and reports
 *   `process.memoryUsage()`; the growth over the same server with no client,
 *   per 1,000 clients: V8's heap in use and reserved, the memory outside the
 *   heap that V8 is told of (`external`), and the resident set (RSS). Then
 *   each client sends one line and reads its echo (`answered`), and the
 *   growth is read again.
 * - `loaded`: a fresh server under bench:compare's `many-10k` load (echoload
 *   `-c 10000 -s 64 -R 4000 -G 30 -w 4 -d 3`: every client served, steady
 *   state), its peak RSS (`VmHWM`), the largest heap, external memory and RSS
 *   it sampled every 100 ms, and the same after two collections at the end.
 *
 * Memory is not CPU time: the idle figures hold run to run on a busy machine;
 * the loaded run drives the CPU and belongs under the bench lock.
 *
 * @module
 */

import { parseEchoload } from "./compare/echo.ts";

const SERVER = new URL("./floor/net_echo_memory.mjs", import.meta.url).pathname;
const ECHOLOAD_C = new URL("./echoload.c", import.meta.url).pathname;
const MIB = 1024 * 1024;
const STEP_TIMEOUT_MS = 120_000;

/** The two runtimes of the same echo. */
const RUNTIMES = {
  node: { command: "node", args: ["--expose-gc", SERVER] },
  deno: {
    command: Deno.execPath(),
    args: ["run", "--allow-net", "--allow-env", "--v8-flags=--expose-gc", SERVER],
  },
} as const;
type Runtime = keyof typeof RUNTIMES;

interface Memory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}
interface ProcMemory {
  hwm: number;
  rss: number;
  anon: number;
  file: number;
}
interface Measured {
  now: Memory;
  peak: Memory;
  accepted: number;
}

/** One echo server process, asked for its memory over stdin and stdout. */
class EchoServer {
  readonly #child: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #buffered = "";
  port = 0;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#stdin = child.stdin.getWriter();
  }

  static async start(runtime: Runtime): Promise<EchoServer> {
    const { command, args } = RUNTIMES[runtime];
    const child = new Deno.Command(command, {
      args: [...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const server = new EchoServer(child);
    try {
      const line = await server.#line();
      const port = /^listening (\d+)$/.exec(line)?.[1];
      if (port === undefined) throw new Error(`${runtime}: unexpected first line ${line}`);
      server.port = Number(port);
      return server;
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  get pid(): number {
    return this.#child.pid;
  }

  async #line(): Promise<string> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    for (;;) {
      const end = this.#buffered.indexOf("\n");
      if (end >= 0) {
        const line = this.#buffered.slice(0, end);
        this.#buffered = this.#buffered.slice(end + 1);
        return line.trim();
      }
      if (Date.now() > deadline) throw new Error("the server did not answer in time");
      const { value, done } = await this.#lines.read();
      if (done) throw new Error("the server exited");
      this.#buffered += value;
    }
  }

  /** The server's memory after two full collections, its sampled peaks, and its clients. */
  async measure(): Promise<Measured> {
    await this.#stdin.write(new TextEncoder().encode("measure\n"));
    return JSON.parse(await this.#line()) as Measured;
  }

  /**
   * Peak and current resident set from /proc, in bytes, and the current one
   * split into anonymous memory (heaps, buffers) and pages of files (the
   * runtime's own binary and libraries).
   */
  async procStatus(): Promise<ProcMemory> {
    const status = await Deno.readTextFile(`/proc/${this.pid}/status`);
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    return {
      hwm: kb("VmHWM") * 1024,
      rss: kb("VmRSS") * 1024,
      anon: kb("RssAnon") * 1024,
      file: kb("RssFile") * 1024,
    };
  }

  async stop(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5_000);
    await this.#lines.cancel().catch(() => {});
    await this.#child.status;
    clearTimeout(timer);
  }
}

/** The growth of each figure from `before` to `after`, MiB per 1,000 clients. */
function perThousand(before: Memory, after: Memory, conns: number): Memory {
  const per = (key: keyof Memory) => (after[key] - before[key]) / MIB / (conns / 1000);
  return {
    rss: per("rss"),
    heapTotal: per("heapTotal"),
    heapUsed: per("heapUsed"),
    external: per("external"),
    arrayBuffers: per("arrayBuffers"),
  };
}

export interface IdleFloor {
  runtime: Runtime;
  conns: number;
  idle: Memory;
  answered: Memory;
}

/**
 * Connects `conns` silent clients to a fresh echo under `runtime`, then has
 * each send one line, and measures the growth after each step.
 */
export async function measureIdle(runtime: Runtime, conns: number): Promise<IdleFloor> {
  const server = await EchoServer.start(runtime);
  const clients: Deno.TcpConn[] = [];
  try {
    const base = await server.measure();
    for (let i = 0; i < conns; i++) {
      clients.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    }
    let measured = await server.measure();
    for (let i = 0; i < 300 && measured.accepted < conns; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      measured = await server.measure();
    }
    if (measured.accepted < conns) {
      throw new Error(`${runtime}: only ${measured.accepted} of ${conns} clients were accepted`);
    }
    const idle = perThousand(base.now, measured.now, conns);
    const line = new TextEncoder().encode("hola\n");
    // In batches, so that the answered figure is not a burst of 10,000 at once.
    for (let at = 0; at < clients.length; at += 500) {
      await Promise.all(
        clients.slice(at, at + 500).map(async (conn) => {
          await conn.write(line);
          const reply = new Uint8Array(16);
          let got = 0;
          while (got < line.byteLength) {
            const n = await conn.read(reply.subarray(got));
            if (n === null) throw new Error(`${runtime}: a client was closed before its echo`);
            got += n;
          }
        }),
      );
    }
    const answered = perThousand(base.now, (await server.measure()).now, conns);
    return { runtime, conns, idle, answered };
  } finally {
    for (const conn of clients) conn.close();
    await server.stop();
  }
}

export interface LoadedFloor {
  runtime: Runtime;
  rps: number | null;
  p99Us: number | null;
  p999Us: number | null;
  firstDone: number | null;
  /** VmHWM, MiB. */
  hwmMiB: number;
  /** The largest figures sampled every 100 ms, MiB. */
  peak: Memory;
  /** After the load, after two collections, MiB. */
  after: Memory;
  /** The fresh server before the load, after two collections, MiB. */
  fresh: Memory;
  /** /proc's figures of the fresh server and after the load, MiB (VmHWM is the peak). */
  procFresh: ProcMemory;
  procAfter: ProcMemory;
}

/** A fresh echo under `runtime` driven by echoload as bench:compare's `many-10k` drives it. */
export async function measureLoaded(
  runtime: Runtime,
  echoload: string,
  conns: number,
): Promise<LoadedFloor> {
  const server = await EchoServer.start(runtime);
  try {
    const fresh = await server.measure();
    const procFresh = await server.procStatus();
    const out = await new Deno.Command(echoload, {
      args: [
        "127.0.0.1",
        String(server.port),
        ...["-c", String(conns), "-s", "64", "-d", "3", "-v", "-w", "4", "-R", "4000", "-G", "30"],
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    }).output();
    const procAfter = await server.procStatus();
    const measured = await server.measure();
    const figures = parseEchoload(new TextDecoder().decode(out.stdout));
    const mib = (m: Memory): Memory => ({
      rss: m.rss / MIB,
      heapTotal: m.heapTotal / MIB,
      heapUsed: m.heapUsed / MIB,
      external: m.external / MIB,
      arrayBuffers: m.arrayBuffers / MIB,
    });
    return {
      runtime,
      rps: figures?.rps ?? null,
      p99Us: figures?.p99Us ?? null,
      p999Us: figures?.p999Us ?? null,
      firstDone: figures?.firstDone ?? null,
      hwmMiB: procAfter.hwm / MIB,
      peak: mib(measured.peak),
      after: mib(measured.now),
      fresh: mib(fresh.now),
      procFresh: procMib(procFresh),
      procAfter: procMib(procAfter),
    };
  } finally {
    await server.stop();
  }
}

function procMib(p: ProcMemory): ProcMemory {
  return { hwm: p.hwm / MIB, rss: p.rss / MIB, anon: p.anon / MIB, file: p.file / MIB };
}

async function buildEchoload(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "echo-memory-" });
  const out = `${dir}/echoload`;
  const built = await new Deno.Command("gcc", { args: ["-O2", "-o", out, ECHOLOAD_C] }).output();
  if (!built.success) throw new Error(new TextDecoder().decode(built.stderr));
  return out;
}

const f = (n: number | null, d = 2) => n === null ? "–" : n.toFixed(d);

if (import.meta.main) {
  const conns = Number(Deno.args[0] ?? 10_000);
  const what = Deno.args[1] ?? "both";
  if (!Number.isInteger(conns) || conns <= 0 || !["idle", "loaded", "both"].includes(what)) {
    console.error("usage: echo_memory.ts [CONNS] [idle | loaded | both]");
    Deno.exit(2);
  }
  if (what !== "loaded") {
    console.log(
      `${conns} clients, growth per 1,000 after two full collections, MiB:\n` +
        "runtime  clients   heap used  heap total  external  rss     rss − heap total",
    );
    for (const runtime of ["node", "deno"] as const) {
      const r = await measureIdle(runtime, conns);
      for (const [label, m] of [["idle", r.idle], ["answered", r.answered]] as const) {
        console.log(
          `${runtime.padEnd(8)} ${label.padEnd(9)} ${f(m.heapUsed).padStart(9)}  ${
            f(m.heapTotal).padStart(10)
          }  ${f(m.external).padStart(8)}  ${f(m.rss).padStart(6)}  ${
            f(m.rss - m.heapTotal).padStart(6)
          }`,
        );
      }
    }
  }
  if (what !== "idle") {
    const echoload = await buildEchoload();
    try {
      console.log(
        `\n${conns} clients under load (echoload -c ${conns} -s 64 -R 4000 -G 30 -w 4 -d 3), MiB:\n` +
          "runtime  rps     p99 ms  p999 ms  served  VmHWM  peak rss  peak heap total  " +
          "peak heap used  peak external  after GC: heap used / rss  " +
          "fresh: rss (anon + file) / heap total  after: anon + file",
      );
      for (const runtime of ["node", "deno"] as const) {
        const r = await measureLoaded(runtime, echoload, conns);
        console.log(
          `${runtime.padEnd(8)} ${f(r.rps, 0).padStart(6)}  ${
            f(r.p99Us === null ? null : r.p99Us / 1000, 1).padStart(6)
          }  ${f(r.p999Us === null ? null : r.p999Us / 1000, 1).padStart(7)}  ${
            f(r.firstDone, 0).padStart(6)
          }  ${f(r.hwmMiB, 1).padStart(5)}  ${f(r.peak.rss, 1).padStart(8)}  ${
            f(r.peak.heapTotal, 1).padStart(15)
          }  ${f(r.peak.heapUsed, 1).padStart(14)}  ${f(r.peak.external, 1).padStart(13)}  ${
            f(r.after.heapUsed, 1)
          } / ${f(r.after.rss, 1)}  ${f(r.procFresh.rss, 1)} (${f(r.procFresh.anon, 1)} + ${
            f(r.procFresh.file, 1)
          }) / ${f(r.fresh.heapTotal, 1)}  ${f(r.procAfter.anon, 1)} + ${f(r.procAfter.file, 1)}`,
        );
      }
    } finally {
      await Deno.remove(echoload.slice(0, echoload.lastIndexOf("/")), { recursive: true });
    }
  }
}
