/**
 * What the rate and the tail at 10,000 clients are made of, with no servidor
 * code in the floor: servidor's `poll`, Node's `net` echo run by Deno
 * (`deno-node-net`, the floor of servidor's default path), the same echo
 * under Node, and the C epoll echo, under bench:compare's gated `many-10k`
 * load (echoload `-c 10000 -s 64 -R 4000 -G 30 -w 4 -d 3`: every client
 * served, steady state measured). The V8 servers run with V8's `--trace-gc`
 * and an event-loop lag probe (`bench/floor/loop_lag.mjs`, loaded before
 * the server's own code).
 *
 * ```sh
 * ulimit -n 20000
 * flock /tmp/servidor-bench.lock deno run -A bench/gc_tail.ts          # 2 interleaved rounds
 * flock /tmp/servidor-bench.lock deno run -A bench/gc_tail.ts 3 50     # 3 rounds, 50 clients
 * ```
 *
 * For the measured seconds of each run it reports the rate and the server's
 * CPU time per request (user + system, from /proc/PID/stat sampled every
 * 100 ms: on a machine where the load generator and other work take CPU
 * too, what a request costs the server moves far less than the rate); the
 * p99 and p999; the collector's pauses (count, total, longest, the share of
 * the time the thread stood in them) and the most pause time any one
 * stretch as long as the p999 (or the p99) held: an upper bound on what GC
 * can add to one request of that latency. It also reports the event loop's
 * longest turns (the 1 ms probe's late ticks) and how much of that late
 * time was GC. In a closed loop of 10,000 clients a request waits for the
 * server to go round all the others (Little's law: the mean wait is clients
 * ÷ rate), so the tail is made of turns, and GC's bound says how much of it
 * could be the collector's.
 *
 * The load, the server and this harness share the machine's two cores:
 * compare servers within a round only, and run it under the bench lock.
 *
 * @module
 */

import { parseEchoload } from "./compare/echo.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const LAG = new URL("./floor/loop_lag.mjs", import.meta.url).pathname;
const ANCHOR = new URL("../../shared/bench/anchors/node_net_echo.mjs", import.meta.url).pathname;
const ECHOLOAD_C = new URL("./echoload.c", import.meta.url).pathname;
const C_EPOLL_C = new URL("../../shared/bench/anchors/c_epoll_echo.c", import.meta.url).pathname;
const MEASURE_S = 3;
const V8_FLAGS = "--trace-gc,--expose-gc";

interface Server {
  name: string;
  /** The command; `c-epoll` is the C reference, built from ../shared/bench/anchors. */
  command: string;
  args: (port: number) => string[];
  /** Whether it prints its port on stderr (servidor) rather than taking one. */
  announces: boolean;
  /** Whether it runs V8 with the trace and the lag probe (all but C). */
  traced: boolean;
}

const deno = Deno.execPath();
const SERVERS: Server[] = [
  {
    name: "servidor poll",
    command: deno,
    args: () => [
      "run",
      "--allow-net",
      `--v8-flags=${V8_FLAGS}`,
      `--preload=${LAG}`,
      `${ROOT}main.ts`,
      "serve",
      "--mode=poll",
      "--service=echo",
      "--host=127.0.0.1",
      "--port=0",
      "--log-level=error",
    ],
    announces: true,
    traced: true,
  },
  {
    name: "deno-node-net",
    command: deno,
    args: (port) => [
      "run",
      "--allow-net",
      "--allow-env",
      `--v8-flags=${V8_FLAGS}`,
      `--preload=${LAG}`,
      ANCHOR,
      String(port),
    ],
    announces: false,
    traced: true,
  },
  {
    name: "node-net",
    command: "node",
    args: (port) => ["--trace-gc", "--expose-gc", `--import=${LAG}`, ANCHOR, String(port)],
    announces: false,
    traced: true,
  },
  {
    name: "c-epoll",
    command: "c-epoll",
    args: (port) => [String(port)],
    announces: false,
    traced: false,
  },
];

/** One GC pause from V8's trace, on the server's performance.now() clock. */
interface Pause {
  kind: string;
  endMs: number;
  ms: number;
}

/**
 * Reads V8's `--trace-gc` lines (stdout) and the lag probe's (stderr), and ties the two clocks.
 *
 * @param stdout The server's standard output: V8's trace.
 * @param stderr Its standard error, where the probe writes.
 */
export function parseTrace(stdout: string, stderr: string): {
  pauses: Pause[];
  gaps: Array<[number, number]>;
  ticks: number;
  perfToWall: number;
} {
  const lines = stdout.split("\n");
  const probeLines = stderr.split("\n");
  const mark = probeLines.find((l) => l.startsWith("gctail-mark "))?.split(" ");
  if (mark === undefined) throw new Error("the lag probe printed no mark");
  const markPerf = Number(mark[1]);
  const markWall = Number(mark[2]);
  const gc =
    /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: ([A-Za-z-]+(?: \([a-z ]+\))?) .*?, ([\d.]+) \/ [\d.]+ ms/;
  const traced = lines.map((l) => gc.exec(l)).filter((m) => m !== null).map((m) => ({
    kind: m[2]!,
    at: Number(m[1]),
    ms: Number(m[3]),
    testing: m.input.includes(" testing"),
  }));
  // The probe's forced collection is the first one V8 calls "testing"; it ended just before the mark.
  const forced = traced.find((t) => t.testing);
  if (forced === undefined) throw new Error("no forced collection in the trace");
  const offset = forced.at - markPerf;
  const pauses = traced.filter((t) => t !== forced).map((t) => ({
    kind: t.kind.replace(/ \(.*\)$/, ""),
    endMs: t.at - offset,
    ms: t.ms,
  }));
  const lags = probeLines.find((l) => l.startsWith("gctail-lags "));
  const probe = lags === undefined
    ? { ticks: 0, gaps: [] }
    : JSON.parse(lags.slice("gctail-lags ".length));
  return { pauses, gaps: probe.gaps, ticks: probe.ticks, perfToWall: markWall - markPerf };
}

/**
 * The most pause time any one stretch of `spanMs` holds (a pause the stretch
 * cuts counts for its part inside). The best stretch starts where a pause
 * starts or ends where one ends, so those are the stretches tried.
 *
 * @param pauses GC pauses, each ending at `endMs` after `ms`.
 * @param spanMs The stretch's length, e.g. a p999 latency.
 * @returns Milliseconds of pause.
 */
export function worstWindow(pauses: Pause[], spanMs: number): number {
  const inside = (from: number) =>
    pauses.reduce((sum, p) => {
      const start = p.endMs - p.ms;
      return sum + Math.max(0, Math.min(p.endMs, from + spanMs) - Math.max(start, from));
    }, 0);
  let worst = 0;
  for (const p of pauses) {
    worst = Math.max(worst, inside(p.endMs - p.ms), inside(p.endMs - spanMs));
  }
  return worst;
}

export interface TailFigures {
  server: string;
  rps: number | null;
  /** The server's CPU time (user + system) in the measured seconds, per request, µs. */
  cpuUsPerRequest: number | null;
  /** The user-space part of it (the rest is the kernel's, the system calls). */
  userUsPerRequest: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  firstDone: number | null;
  /** What the trace and the probe say, for a V8 server; null for C. */
  gc: {
    count: number;
    ms: number;
    longestMs: number;
    markCompacts: number;
    /** Share of the measured time the thread stood in GC. */
    share: number;
    /** The most GC time in any stretch as long as p999 / p99, as a share of it. */
    inP999: number | null;
    inP99: number | null;
    /** The probe's longest gap between two ticks, and the total of gaps over 10 ms. */
    lagLongestMs: number;
    lagOver10Ms: number;
    /** How much of those long gaps' time the collector's pauses account for. */
    lagOver10GcShare: number | null;
  } | null;
  note: string;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** A process's CPU time so far, user and system, in clock ticks, or null once it is gone. */
function cpuTicks(pid: number): Ticks | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: Number(fields[11]), system: Number(fields[12]) };
  } catch {
    return null;
  }
}
interface Ticks {
  user: number;
  system: number;
}

/** The sample nearest to `at` of [wall ms, ticks] samples. */
function ticksAt(samples: Array<[number, Ticks]>, at: number): Ticks | null {
  let best: [number, Ticks] | undefined;
  for (const sample of samples) {
    if (best === undefined || Math.abs(sample[0] - at) < Math.abs(best[0] - at)) best = sample;
  }
  return best === undefined || Math.abs(best[0] - at) > 500 ? null : best[1];
}

/** Runs one server under the load and reads its CPU time and its trace. */
async function measure(
  server: Server,
  tools: { echoload: string; cEpoll: string; clockTicks: number },
  conns: number,
): Promise<TailFigures> {
  const port = server.announces ? 0 : freePort();
  const child = new Deno.Command(server.command === "c-epoll" ? tools.cEpoll : server.command, {
    args: server.args(port),
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdoutText = new Response(child.stdout).text();
  let stderrText = "";
  let announce: (port: number) => void = () => {};
  const portKnown = new Promise<number>((resolve) => announce = resolve);
  const announced = (async () => {
    const decoder = new TextDecoderStream();
    const reader = child.stderr.pipeThrough(decoder).getReader();
    let found: number | null = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return found;
      stderrText += value;
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(stderrText);
      if (match && found === null) {
        found = Number(match[1]);
        announce(found);
      }
    }
  })();
  try {
    const listenPort = server.announces
      ? await Promise.race([portKnown, sleep(30_000).then(() => NaN)])
      : port;
    await waitUntilAccepting(listenPort);
    // CPU time every 100 ms, to take the measured seconds' share once echoload says when they ended.
    const samples: Array<[number, Ticks]> = [];
    const sampler = setInterval(() => {
      const ticks = cpuTicks(child.pid);
      if (ticks !== null) samples.push([Date.now(), ticks]);
    }, 100);
    const started = Date.now();
    const out = await new Deno.Command(tools.echoload, {
      args: [
        "127.0.0.1",
        String(listenPort),
        ...["-c", String(conns), "-s", "64", "-d", String(MEASURE_S), "-v"],
        ...["-w", "4", "-R", "4000", "-G", "30"],
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const ended = Date.now();
    clearInterval(sampler);
    const endTicks = cpuTicks(child.pid);
    if (endTicks !== null) samples.push([ended, endTicks]);
    const figures = parseEchoload(new TextDecoder().decode(out.stdout));
    const startTicks = ticksAt(samples, ended - MEASURE_S * 1000);
    const perRequest = (kind: keyof Ticks) =>
      startTicks === null || endTicks === null || !figures?.rps
        ? null
        : (endTicks[kind] - startTicks[kind]) / tools.clockTicks * 1e6 /
          (figures.rps * MEASURE_S);
    const userUs = perRequest("user");
    const systemUs = perRequest("system");
    const cpuUsPerRequest = userUs === null || systemUs === null ? null : userUs + systemUs;
    child.kill("SIGTERM");
    await child.status;
    await announced;
    const p99Ms = figures?.p99Us == null ? null : figures.p99Us / 1000;
    const p999Ms = figures?.p999Us == null ? null : figures.p999Us / 1000;
    const note = out.success ? "" : `echoload: ${new TextDecoder().decode(out.stderr).trim()}`;
    const base = {
      server: server.name,
      rps: figures?.rps ?? null,
      cpuUsPerRequest,
      userUsPerRequest: userUs,
      p99Ms,
      p999Ms,
      firstDone: figures?.firstDone ?? null,
      note,
    };
    if (!server.traced) return { ...base, gc: null };
    const trace = parseTrace(await stdoutText, stderrText);
    // The measured seconds are echoload's last MEASURE_S, on the server's clock.
    const to = Math.min(ended, started + 120_000) - trace.perfToWall;
    const from = to - MEASURE_S * 1000;
    const inside = trace.pauses.filter((p) => p.endMs >= from && p.endMs <= to);
    const gcMs = inside.reduce((t, p) => t + p.ms, 0);
    const gaps = trace.gaps.filter(([at]) => at >= from && at <= to);
    const long = gaps.filter(([, gap]) => gap > 10);
    const lagOver10 = long.reduce((t, [, gap]) => t + gap, 0);
    // GC time that fell inside a long gap: the turns the collector lengthened.
    const gcInLong = inside.reduce((t, p) => {
      const start = p.endMs - p.ms;
      const gap = long.find(([at, g]) => start >= at - g - 1 && p.endMs <= at + 1);
      return t + (gap === undefined ? 0 : p.ms);
    }, 0);
    return {
      ...base,
      gc: {
        count: inside.length,
        ms: gcMs,
        longestMs: Math.max(0, ...inside.map((p) => p.ms)),
        markCompacts: inside.filter((p) => p.kind.startsWith("Mark")).length,
        share: gcMs / (MEASURE_S * 1000),
        inP999: p999Ms === null ? null : worstWindow(inside, p999Ms) / p999Ms,
        inP99: p99Ms === null ? null : worstWindow(inside, p99Ms) / p99Ms,
        lagLongestMs: Math.max(0, ...gaps.map(([, gap]) => gap)),
        lagOver10Ms: lagOver10,
        lagOver10GcShare: lagOver10 > 0 ? gcInLong / lagOver10 : null,
      },
    };
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntilAccepting(port: number): Promise<void> {
  if (!Number.isFinite(port)) throw new Error("the server did not say where it listens");
  for (let i = 0; i < 300; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`nothing accepted on port ${port} within 30 s`);
}

const f = (n: number | null, d: number) => n === null ? "–" : n.toFixed(d);
const pct = (n: number | null) => n === null ? "–" : `${(n * 100).toFixed(1)} %`;

if (import.meta.main) {
  const rounds = Number(Deno.args[0] ?? 2);
  const conns = Number(Deno.args[1] ?? 10_000);
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(conns) || conns < 1) {
    console.error("usage: gc_tail.ts [ROUNDS] [CONNS]");
    Deno.exit(2);
  }
  const dir = await Deno.makeTempDir({ prefix: "gc-tail-" });
  try {
    const build = async (source: string, name: string) => {
      const out = `${dir}/${name}`;
      const built = await new Deno.Command("gcc", { args: ["-O2", "-o", out, source] }).output();
      if (!built.success) throw new Error(new TextDecoder().decode(built.stderr));
      return out;
    };
    const getconf = await new Deno.Command("getconf", { args: ["CLK_TCK"] }).output();
    const tools = {
      echoload: await build(ECHOLOAD_C, "echoload"),
      cEpoll: await build(C_EPOLL_C, "c_epoll_echo"),
      clockTicks: Number(new TextDecoder().decode(getconf.stdout).trim()) || 100,
    };
    console.log(
      `${conns} clients × 64 B, echoload -R 4000 -G 30 -w 4 -d ${MEASURE_S}; figures of the ` +
        `measured ${MEASURE_S} s\n` +
        "round server         rps     CPU µs/req (user)  p99 ms  p999 ms  GC n (M-C)  GC ms  GC share  " +
        "longest  GC in a p999 span  in a p99 span  loop: longest gap  gaps>10ms ms  of which GC",
    );
    for (let round = 0; round < rounds; round++) {
      // Each round starts one server further on, as bench:compare --repeat does.
      const order = [
        ...SERVERS.slice(round % SERVERS.length),
        ...SERVERS.slice(0, round % SERVERS.length),
      ];
      for (const server of order) {
        const r = await measure(server, tools, conns);
        const gc = r.gc;
        console.log(
          `${String(round + 1).padStart(5)} ${r.server.padEnd(14)} ${f(r.rps, 0).padStart(6)}  ${
            `${f(r.cpuUsPerRequest, 1)} (${f(r.userUsPerRequest, 1)})`.padStart(17)
          }  ${f(r.p99Ms, 0).padStart(6)}  ${f(r.p999Ms, 0).padStart(7)}  ${
            (gc ? `${gc.count} (${gc.markCompacts})` : "–").padStart(10)
          }  ${f(gc?.ms ?? null, 0).padStart(5)}  ${pct(gc?.share ?? null).padStart(8)}  ${
            f(gc?.longestMs ?? null, 1).padStart(7)
          }  ${pct(gc?.inP999 ?? null).padStart(17)}  ${pct(gc?.inP99 ?? null).padStart(13)}  ${
            f(gc?.lagLongestMs ?? null, 0).padStart(17)
          }  ${f(gc?.lagOver10Ms ?? null, 0).padStart(12)}  ${
            pct(gc?.lagOver10GcShare ?? null).padStart(11)
          }${r.note ? "  " + r.note : ""}`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
