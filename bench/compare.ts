/**
 * `deno task bench:compare`: runs every servidor strategy, and the reference
 * echo servers of `../shared/bench/anchors` where that folder exists, under the
 * same closed-loop load, and writes what it measured to `bench/results/`:
 * `latest.md` (one Markdown table per scenario, also printed on stdout),
 * `latest.json` (the raw numbers) and `latest.svg` (requests/s per server,
 * drawn with Vega-Lite).
 *
 * ```sh
 * deno task bench:compare                        # every scenario, 5 s a run
 * deno task bench:compare --quick                # every scenario, 1 s a run (smoke test)
 * deno task bench:compare --scenario=echo-small --scenario=many --duration=10
 * deno task bench:compare --server=poll --server=c-epoll   # only these servers
 * deno task bench:compare --generator=load.ts   # drive with bench/load.ts, not echoload
 * ```
 *
 * Scenarios: `echo-small` (50 connections × 64 B), `echo-large` (20 × 64 KiB),
 * `churn` (50 connections, each connect → one round trip → close),
 * `many` (2,000 concurrent connections × 64 B), and `compute` (the `compute`
 * service under poll, workers and reuseport: throughput of 4 clients looping
 * `sha256 20000 x`, and the latency of a light `sha256 1 x` sent while another
 * client's heavy request is being computed).
 *
 * Each server is a fresh subprocess per scenario, so its CPU seconds (utime +
 * stime from /proc/PID/stat) and its peak RSS (VmHWM from /proc/PID/status)
 * belong to that scenario alone. The load comes from `echoload.c` of
 * `../shared/bench`, built with gcc into a temporary folder, or from
 * `bench/load.ts` when gcc or that source is missing. Everything listens and
 * connects on 127.0.0.1 only, every step has a time limit, and every
 * subprocess is killed before the harness exits, also on error or Ctrl-C.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { MAX_ROUNDS } from "../services/compute.ts";
import { type LoadResult, runLoad } from "./load.ts";

const HOST = "127.0.0.1";
const MAIN_TS = new URL("../main.ts", import.meta.url);
const REPO_ROOT = new URL("../", import.meta.url);
const SHARED_BENCH = new URL("../../shared/bench/", import.meta.url);
const RESULTS = new URL("./results/", import.meta.url);

/** A cold `deno run` may have to fetch and compile its modules before it listens. */
const START_TIMEOUT_MS = 30_000;
/** echoload opens its connections first; 2,000 of them take well under this. */
const LOAD_GRACE_MS = 30_000;
/** A server that ignores SIGTERM this long gets SIGKILL. */
const STOP_TIMEOUT_MS = 3_000;
/** The longest any one compute request of the probe may take before it counts as unanswered. */
const PROBE_TIMEOUT_MS = 120_000;

/** Rounds per request in the compute throughput run, heavy enough that hashing dominates I/O. */
const COMPUTE_ROUNDS = 20_000;
/** Clients looping compute requests: more than the two-core runner has, fewer than would just queue. */
const COMPUTE_CLIENTS = 4;
/** How long the heavy compute request should take, so the light one has something to wait behind. */
const HEAVY_TARGET_MS = 2_000;
const HEAVY_TARGET_QUICK_MS = 500;

type Group = "servidor" | "reference";

/** What `--server` accepts: servidor's strategies, then the reference servers. */
const SERVER_IDS = [
  "single",
  "poll",
  "workers",
  "reuseport",
  "c-epoll",
  "node-net",
  "py-asyncio",
  "py-selectors",
  "py-threading",
  "deno-pipeTo",
  "deno-readloop",
];

interface ServerSpec {
  /** The short name `--server` matches, e.g. `poll` or `c-epoll`. */
  id: string;
  /** The name in tables, e.g. `servidor poll`. */
  name: string;
  group: Group;
  command: string;
  /** Arguments; a reference server gets its port appended as the last one. */
  args: string[];
  /** servidor prints its port on stderr after binding port 0; references are given one. */
  portFrom: "stderr" | "argv";
}

interface EchoScenario {
  kind: "echo";
  name: string;
  title: string;
  conns: number;
  size: number;
  churn: boolean;
}

interface ComputeScenario {
  kind: "compute";
  name: "compute";
  title: string;
}

type Scenario = EchoScenario | ComputeScenario;

const SCENARIOS: Scenario[] = [
  {
    kind: "echo",
    name: "echo-small",
    title: "echo, 50 connections × 64 B",
    conns: 50,
    size: 64,
    churn: false,
  },
  {
    kind: "echo",
    name: "echo-large",
    title: "echo, 20 connections × 64 KiB",
    conns: 20,
    size: 65536,
    churn: false,
  },
  {
    kind: "echo",
    name: "churn",
    title: "echo with churn: 50 clients, each connect → 64 B round trip → close",
    conns: 50,
    size: 64,
    churn: true,
  },
  {
    kind: "echo",
    name: "many",
    title: "echo, 2,000 concurrent connections × 64 B",
    conns: 2000,
    size: 64,
    churn: false,
  },
  {
    kind: "compute",
    name: "compute",
    title: `compute service, ${COMPUTE_CLIENTS} clients looping \`sha256 ${COMPUTE_ROUNDS} x\``,
  },
];

/** One measured server in one scenario; null where a figure could not be taken. */
interface Row {
  server: string;
  group: Group;
  rps: number | null;
  mbps: number | null;
  p50Us: number | null;
  p99Us: number | null;
  /** echoload does not report p999; bench/load.ts does. */
  p999Us: number | null;
  errors: number | null;
  mismatches: number | null;
  cpuS: number | null;
  peakRssMiB: number | null;
  /** rps divided by the baseline's rps. */
  ratio: number | null;
  /** Why figures are missing, or anything odd seen. */
  note: string;
}

/** The compute latency probe of one servidor strategy. */
interface ProbeRow {
  server: string;
  heavyRounds: number;
  /** The light request on an otherwise idle server. */
  lightIdleMs: number | null;
  /** The light request sent while the heavy one was being computed. */
  lightDuringHeavyMs: number | null;
  heavyMs: number | null;
  note: string;
}

interface ScenarioResult {
  name: string;
  title: string;
  baseline: string | null;
  rows: Row[];
  probe?: ProbeRow[];
}

interface Report {
  generatedAt: string;
  machine: { cpu: string; cpus: number; os: string; deno: string };
  durationS: number;
  loadGenerator: "echoload" | "bench/load.ts";
  notes: string[];
  scenarios: ScenarioResult[];
}

const HELP = `Usage: deno run -A bench/compare.ts [options]

Runs servidor's strategies and the reference servers of ../shared/bench under
the same load, and writes bench/results/latest.{md,json,svg}.

Options:
  --scenario=NAME   run only this scenario (repeatable): ${SCENARIOS.map((s) => s.name).join(", ")}
  --server=NAME     run only this server (repeatable): ${SERVER_IDS.slice(0, 4).join(", ")},
                    ${SERVER_IDS.slice(4).join(", ")}
  --duration=SECS   seconds of load per server and scenario (default 5)
  --generator=NAME  echoload (the default, when gcc and ../shared/bench are there)
                    or load.ts (bench/load.ts, in the harness's own process)
  --quick           1 s per run and a lighter compute probe: a smoke test
  --help            print this help
`;

/** Everything started, so that any way out of the harness can stop it. */
const children = new Set<Deno.ChildProcess>();
const log = (line: string) => console.error(line);

function parseFlags(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      scenario: { type: "string", multiple: true },
      server: { type: "string", multiple: true },
      duration: { type: "string" },
      generator: { type: "string" },
      quick: { type: "boolean" },
      help: { type: "boolean" },
    },
  }).values;
}

async function main(args: string[]): Promise<number> {
  let values: ReturnType<typeof parseFlags>;
  try {
    values = parseFlags(args);
  } catch (error) {
    console.error(`bench:compare: ${messageOf(error)}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP.trimEnd());
    return 0;
  }
  if (values.generator !== undefined && !["echoload", "load.ts"].includes(values.generator)) {
    console.error(`bench:compare: --generator must be echoload or load.ts.`);
    return 2;
  }
  const quick = values.quick === true;
  const durationS = values.duration === undefined ? (quick ? 1 : 5) : Number(values.duration);
  if (!(durationS > 0 && durationS <= 600)) {
    console.error(`bench:compare: --duration must be a number of seconds from 0 to 600.`);
    return 2;
  }
  const wanted = values.scenario?.flatMap((s) => s.split(","));
  const unknown = wanted?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    console.error(
      `bench:compare: unknown scenario ${unknown.join(", ")}; known: ${
        SCENARIOS.map((s) => s.name).join(", ")
      }.`,
    );
    return 2;
  }
  const scenarios = SCENARIOS.filter((s) => wanted === undefined || wanted.includes(s.name));
  const serverFilter = values.server?.flatMap((s) => s.split(","));
  const unknownServers = serverFilter?.filter((id) => !SERVER_IDS.includes(id)) ?? [];
  if (unknownServers.length > 0) {
    console.error(
      `bench:compare: unknown server ${unknownServers.join(", ")}; known: ${
        SERVER_IDS.join(", ")
      }.`,
    );
    return 2;
  }

  const notes: string[] = [];
  const workDir = await Deno.makeTempDir({ prefix: "servidor-bench-" });
  const onSignal = () => {
    log("bench:compare: interrupted; stopping every server it started.");
    abandon(workDir, 130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  // A last resort against a step that hangs in a way no per-step limit caught.
  const budgetMs = scenarios.length * 12 * (durationS * 1000 + 2 * LOAD_GRACE_MS) + 120_000;
  const watchdog = setTimeout(() => {
    log(`bench:compare: gave up after ${Math.round(budgetMs / 1000)} s; stopping every server.`);
    abandon(workDir, 1);
  }, budgetMs);
  Deno.unrefTimer(watchdog);
  try {
    const tools = await prepare(workDir, notes, values.generator === "load.ts");
    const servers = serverSpecs(tools, notes).filter((spec) =>
      serverFilter === undefined || serverFilter.includes(spec.id)
    );
    const report: Report = {
      generatedAt: new Date().toISOString(),
      machine: await machine(),
      durationS,
      loadGenerator: tools.echoload === null ? "bench/load.ts" : "echoload",
      notes,
      scenarios: [],
    };
    for (const scenario of scenarios) {
      log(`\n== ${scenario.name}: ${scenario.title}`);
      report.scenarios.push(
        scenario.kind === "echo"
          ? await runEchoScenario(scenario, servers, tools, durationS)
          : await runComputeScenario(scenario, servers, tools, durationS, quick),
      );
    }
    await writeResults(report);
    const measured = report.scenarios.some((scenario) =>
      scenario.rows.some((row) => row.rps !== null)
    );
    return measured ? 0 : 1;
  } finally {
    clearTimeout(watchdog);
    await stopAll();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

// ---------------------------------------------------------------------------
// Tools and servers

interface Tools {
  /** The built echoload, or null to use bench/load.ts. */
  echoload: string | null;
  clockTicks: number;
  /** Whether main.ts exists, i.e. whether servidor can be benchmarked. */
  servidor: boolean;
  /** Whether `main.ts --help` mentions the reuseport strategy. */
  reuseport: boolean;
  sharedBench: boolean;
  cEpoll: string | null;
  node: string | null;
  python: string | null;
}

async function prepare(workDir: string, notes: string[], useLoadTs: boolean): Promise<Tools> {
  const note = (line: string) => {
    notes.push(line);
    log(line);
  };
  const sharedBench = await exists(SHARED_BENCH);
  const gcc = (await capture("gcc", ["--version"], 10_000)).ok;
  let echoload: string | null = null;
  let cEpoll: string | null = null;
  if (!sharedBench) {
    note(
      `Reference servers skipped: ../shared/bench is not there (looked in ${SHARED_BENCH.pathname}).`,
    );
  } else if (!gcc) {
    note("gcc not found: echoload and the C epoll reference are not built.");
  } else {
    echoload = useLoadTs
      ? null
      : await buildC(new URL("echoload.c", SHARED_BENCH), `${workDir}/echoload`, note);
    cEpoll = await buildC(
      new URL("anchors/c_epoll_echo.c", SHARED_BENCH),
      `${workDir}/c_epoll_echo`,
      note,
    );
  }
  if (echoload === null) note("Load generator: bench/load.ts (in the harness's own process).");
  else log("Load generator: echoload (C, epoll, one thread).");

  const ticks = await capture("getconf", ["CLK_TCK"], 10_000);
  const clockTicks = ticks.ok && Number(ticks.stdout.trim()) > 0
    ? Number(ticks.stdout.trim())
    : 100;

  const servidor = await exists(MAIN_TS);
  let reuseport = false;
  if (!servidor) {
    note("servidor skipped: main.ts is not there yet.");
  } else {
    const help = await capture(
      Deno.execPath(),
      ["run", "--allow-net", MAIN_TS.pathname, "--help"],
      START_TIMEOUT_MS,
    );
    reuseport = /reuseport/.test(help.stdout + help.stderr);
    if (!reuseport) note("servidor reuseport skipped: `main.ts --help` does not mention it.");
  }

  let node: string | null = null;
  let python: string | null = null;
  if (sharedBench) {
    node = (await capture("node", ["--version"], 10_000)).ok ? "node" : null;
    if (node === null) note("node-net skipped: node not found.");
    // Resolve the real interpreter so that /proc/PID is Python's, not a version manager's shim.
    const py = await capture("python3", ["-c", "import sys; print(sys.executable)"], 10_000);
    python = py.ok && py.stdout.trim() !== "" ? py.stdout.trim() : null;
    if (python === null) note("Python references skipped: python3 not found.");
  }
  return { echoload, clockTicks, servidor, reuseport, sharedBench, cEpoll, node, python };
}

async function buildC(
  source: URL,
  output: string,
  note: (line: string) => void,
): Promise<string | null> {
  const built = await capture("gcc", ["-O2", "-o", output, source.pathname], 60_000);
  if (built.ok) return output;
  note(`Could not build ${source.pathname}: ${firstLine(built.stderr)}`);
  return null;
}

function serverSpecs(tools: Tools, notes: string[]): ServerSpec[] {
  const specs: ServerSpec[] = [];
  const deno = Deno.execPath();
  const main = MAIN_TS.pathname;
  if (tools.servidor) {
    const modes = ["single", "poll", "workers", ...(tools.reuseport ? ["reuseport"] : [])];
    for (const mode of modes) {
      specs.push({
        id: mode,
        name: `servidor ${mode}`,
        group: "servidor",
        command: deno,
        args: [
          "run",
          "--allow-net",
          // Deno reads a Worker's module like a dynamic import, so workers need read access.
          ...(mode === "workers" || mode === "reuseport" ? ["--allow-read"] : []),
          ...(mode === "reuseport" ? ["--unstable-net"] : []),
          main,
          "serve",
          `--mode=${mode}`,
          "--service=echo",
          `--host=${HOST}`,
          "--port=0",
          "--log-level=error",
          ...(mode === "reuseport" ? ["--threads=2"] : []),
          // Enough ready Workers for every connection of the churn scenario to reuse one.
          ...(mode === "workers" ? ["--idle-workers=64"] : []),
        ],
        portFrom: "stderr",
      });
    }
  }
  if (tools.sharedBench) {
    const anchor = (file: string) => new URL(`anchors/${file}`, SHARED_BENCH).pathname;
    const reference = (id: string, command: string | null, args: string[]) => {
      if (command !== null) {
        specs.push({ id, name: id, group: "reference", command, args, portFrom: "argv" });
      }
    };
    reference("c-epoll", tools.cEpoll, []);
    reference("node-net", tools.node, [anchor("node_net_echo.mjs")]);
    reference("py-asyncio", tools.python, [anchor("py_asyncio_echo.py")]);
    reference("py-selectors", tools.python, [anchor("py_selectors_echo.py")]);
    reference("py-threading", tools.python, [anchor("py_threading_echo.py")]);
    reference("deno-pipeTo", deno, ["run", "--allow-net", anchor("deno_pipe_echo.ts")]);
    reference("deno-readloop", deno, ["run", "--allow-net", anchor("deno_loop_echo.ts")]);
  }
  if (specs.length === 0) notes.push("No server to benchmark.");
  return specs;
}

/** A server subprocess, its port, and the tail of its stderr for error messages. */
class RunningServer {
  readonly #child: Deno.ChildProcess;
  readonly #stderrTail: string[] = [];
  readonly #drained: Promise<void>;
  #exited = false;
  port = 0;

  private constructor(child: Deno.ChildProcess, onLine: (line: string) => void) {
    this.#child = child;
    children.add(child);
    child.status.then(() => {
      this.#exited = true;
      children.delete(child);
    });
    this.#drained = this.#pump(onLine);
  }

  get pid(): number {
    return this.#child.pid;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** The last lines the server wrote on stderr, for error messages. */
  get stderrTail(): string {
    return this.#stderrTail.join(" | ");
  }

  /**
   * Starts a server and resolves once it accepts connections.
   *
   * @throws {Error} When it exits or does not listen within START_TIMEOUT_MS; it is stopped then.
   */
  static async start(spec: ServerSpec): Promise<RunningServer> {
    const port = spec.portFrom === "argv" ? await freePort() : 0;
    let announce: (port: number) => void = () => {};
    const announced = new Promise<number>((resolve) => announce = resolve);
    const child = new Deno.Command(spec.command, {
      args: spec.portFrom === "argv" ? [...spec.args, String(port)] : spec.args,
      cwd: REPO_ROOT.pathname,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const server = new RunningServer(child, (line) => {
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(line);
      if (match !== null) announce(Number(match[1]));
    });
    try {
      const died = child.status.then(async (status) => {
        await server.#stderrDrained();
        throw new Error(
          `${spec.name} exited with code ${status.code} before listening: ${server.stderrTail}`,
        );
      });
      died.catch(() => {});
      const deadline = performance.now() + START_TIMEOUT_MS;
      if (spec.portFrom === "stderr") {
        server.port = await withTimeout(
          Promise.race([announced, died]),
          START_TIMEOUT_MS,
          `${spec.name} printing "listening on"`,
        );
      } else {
        server.port = port;
      }
      await waitUntilAccepting(server.port, deadline, () => server.exited);
      // An exit ends the wait early; `died` then rejects with the exit code and stderr.
      if (server.exited) await died;
      return server;
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  async #pump(onLine: (line: string) => void): Promise<void> {
    let pending = "";
    const keep = (line: string) => {
      if (line.trim() === "") return;
      this.#stderrTail.push(line.trim());
      if (this.#stderrTail.length > 5) this.#stderrTail.shift();
      onLine(line);
    };
    try {
      for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
        const lines = (pending + chunk).split("\n");
        pending = lines.pop() ?? "";
        lines.forEach(keep);
      }
      keep(pending);
    } catch {
      // The pipe may break when the process is killed; its tail is only for messages.
    }
  }

  /** Stops the server: SIGTERM, then SIGKILL after STOP_TIMEOUT_MS. */
  async stop(): Promise<void> {
    await stopChild(this.#child);
    await this.#stderrDrained();
  }

  /** Waits, a bounded time, until the last of stderr has been read, so the tail is complete. */
  async #stderrDrained(): Promise<void> {
    await withTimeout(this.#drained, STOP_TIMEOUT_MS, "reading the server's stderr").catch(
      () => {},
    );
  }
}

async function stopChild(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // It has already exited.
  }
  try {
    await withTimeout(child.status, STOP_TIMEOUT_MS, "stopping");
  } catch {
    try {
      child.kill("SIGKILL");
    } catch {
      // It exited in between.
    }
    await child.status;
  }
  children.delete(child);
}

async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopChild));
}

/**
 * For the signal handlers and the watchdog, which cannot wait for the steps in
 * flight to unwind: kill every child at once, reap them (for at most a second),
 * remove the temporary folder, and exit.
 */
async function abandon(workDir: string, code: number): Promise<never> {
  const pending = [...children];
  for (const child of pending) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
  await withTimeout(Promise.all(pending.map((child) => child.status)), 1_000, "reaping")
    .catch(() => {});
  try {
    Deno.removeSync(workDir, { recursive: true });
  } catch {
    // Best effort: it is a temporary folder.
  }
  Deno.exit(code);
}

/** A port that was free a moment ago; the reference servers need one on their command line. */
async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = listener.addr.port;
  listener.close();
  // Closing is immediate for a listener that never accepted, but let the event loop settle.
  await sleep(10);
  return port;
}

/**
 * Polls until `port` accepts a connection. Returns early once the server has
 * exited, for the caller to report why; throws at `deadline`.
 */
async function waitUntilAccepting(
  port: number,
  deadline: number,
  exited: () => boolean,
): Promise<void> {
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname: HOST, port });
      conn.close();
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
    }
    if (exited()) return;
    if (performance.now() > deadline) {
      throw new Error(`Nothing accepted on port ${port} within ${START_TIMEOUT_MS} ms.`);
    }
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------
// Measuring

interface Usage {
  cpuS: number;
  peakRssMiB: number;
}

/** utime + stime of a process in seconds, and its peak resident set (VmHWM) in MiB. */
async function usage(pid: number, clockTicks: number): Promise<Usage | null> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // The command name in field 2 may hold spaces, so count fields after its closing ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[14 - 3]) + Number(fields[15 - 3]);
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return { cpuS: ticks / clockTicks, peakRssMiB: hwm === null ? NaN : Number(hwm[1]) / 1024 };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

type Figures = Pick<Row, "rps" | "mbps" | "p50Us" | "p99Us" | "p999Us" | "errors" | "mismatches">;

function figuresOf(result: LoadResult): Figures {
  return {
    rps: result.rps,
    mbps: result.mbps,
    p50Us: result.p50Us,
    p99Us: result.p99Us,
    p999Us: result.p999Us,
    errors: result.errors,
    mismatches: result.mismatches,
  };
}

async function echoLoad(
  tools: Tools,
  port: number,
  scenario: EchoScenario,
  durationS: number,
): Promise<Figures> {
  if (tools.echoload === null) {
    return figuresOf(
      await runLoad({
        host: HOST,
        port,
        conns: scenario.conns,
        size: scenario.size,
        durationS,
        verify: true,
        churn: scenario.churn,
      }),
    );
  }
  const args = [
    HOST,
    String(port),
    "-c",
    String(scenario.conns),
    "-s",
    String(scenario.size),
    "-d",
    String(durationS),
    "-v",
    ...(scenario.churn ? ["-C"] : []),
  ];
  const out = await capture(tools.echoload, args, durationS * 1000 + LOAD_GRACE_MS);
  const match = /rps=(\S+) MBps=(\S+) p50_us=(\S+) p99_us=(\S+) errors=(\d+) mismatches=(\d+)/.exec(
    out.stdout,
  );
  if (!out.ok || match === null) {
    throw new Error(`echoload failed: ${firstLine(out.stderr || out.stdout || "no output")}`);
  }
  const [, rps, mbps, p50, p99, errors, mismatches] = match.map(Number);
  return {
    rps: rps!,
    mbps: mbps!,
    p50Us: p50!,
    p99Us: p99!,
    p999Us: null,
    errors: errors!,
    mismatches: mismatches!,
  };
}

function emptyRow(spec: ServerSpec, note: string): Row {
  return {
    server: spec.name,
    group: spec.group,
    rps: null,
    mbps: null,
    p50Us: null,
    p99Us: null,
    p999Us: null,
    errors: null,
    mismatches: null,
    cpuS: null,
    peakRssMiB: null,
    ratio: null,
    note,
  };
}

/** Starts `spec`, applies `load` to it, measures, and always stops it. */
async function measureServer(
  spec: ServerSpec,
  tools: Tools,
  load: (port: number) => Promise<Figures>,
  afterLoad?: (server: RunningServer) => Promise<void>,
  warmUp?: (port: number) => Promise<unknown>,
): Promise<Row> {
  let server: RunningServer;
  try {
    server = await RunningServer.start(spec);
  } catch (error) {
    const row = emptyRow(spec, `did not start: ${messageOf(error)}`);
    log(`  ${spec.name.padEnd(18)} ${row.note}`);
    return row;
  }
  try {
    // A short untimed run first, so that start-up work (JIT, a pool of Workers) is not
    // measured as if it were the steady state; the figures are the second run's alone.
    await warmUp?.(server.port);
    const before = await usage(server.pid, tools.clockTicks);
    const figures = await load(server.port);
    const after = await usage(server.pid, tools.clockTicks);
    const row: Row = {
      ...emptyRow(spec, ""),
      ...figures,
      cpuS: before !== null && after !== null ? after.cpuS - before.cpuS : null,
      peakRssMiB: after?.peakRssMiB ?? null,
    };
    if (server.exited) row.note = `exited during the run: ${server.stderrTail}`;
    log(
      `  ${spec.name.padEnd(18)} ${fmt(row.rps, 0).padStart(9)} req/s  p99 ${
        fmt(row.p99Us, 0)
      } µs  errors ${row.errors}  cpu ${fmt(row.cpuS, 2)} s${row.note ? "  " + row.note : ""}`,
    );
    try {
      await afterLoad?.(server);
    } catch (error) {
      // The load's figures stand even when the extra step after it fails.
      row.note = `${row.note ? row.note + "; " : ""}${messageOf(error)}`;
    }
    return row;
  } catch (error) {
    const row = emptyRow(spec, `failed: ${messageOf(error)}`);
    log(`  ${spec.name.padEnd(18)} ${row.note}`);
    return row;
  } finally {
    await server.stop();
  }
}

/** A fifth of the measured run, at least half a second. */
function warmUpSeconds(durationS: number): number {
  return Math.max(0.5, durationS / 5);
}

function withRatios(rows: Row[], baselineName: string | null): Row[] {
  const base = rows.find((row) => row.server === baselineName)?.rps ?? null;
  return rows.map((row) => ({
    ...row,
    ratio: base !== null && base > 0 && row.rps !== null ? row.rps / base : null,
  }));
}

function pickBaseline(rows: Row[], ...candidates: string[]): string | null {
  return candidates.find((name) =>
    rows.some((row) => row.server === name && row.rps !== null && row.rps > 0)
  ) ?? null;
}

async function runEchoScenario(
  scenario: EchoScenario,
  servers: ServerSpec[],
  tools: Tools,
  durationS: number,
): Promise<ScenarioResult> {
  const rows: Row[] = [];
  for (const spec of servers) {
    rows.push(
      await measureServer(
        spec,
        tools,
        (port) => echoLoad(tools, port, scenario, durationS),
        undefined,
        (port) => echoLoad(tools, port, scenario, warmUpSeconds(durationS)),
      ),
    );
  }
  const baseline = pickBaseline(rows, "c-epoll", "servidor poll");
  return { name: scenario.name, title: scenario.title, baseline, rows: withRatios(rows, baseline) };
}

// ---------------------------------------------------------------------------
// The compute scenario

/**
 * The servidor specs for the compute service: poll (hashes on the event
 * loop), workers (a thread per client) and reuseport (a poll loop per core).
 */
function computeSpecs(servers: ServerSpec[]): ServerSpec[] {
  return servers
    .filter((spec) =>
      spec.group === "servidor" && ["poll", "workers", "reuseport"].includes(spec.id)
    )
    .map((spec) => ({
      ...spec,
      args: spec.args.map((arg) => arg === "--service=echo" ? "--service=compute" : arg),
    }));
}

/** COMPUTE_CLIENTS clients, each asking for the same moderate hash over and over. */
async function computeLoad(port: number, durationS: number): Promise<Figures> {
  const result = await runLoad({
    host: HOST,
    port,
    conns: COMPUTE_CLIENTS,
    request: `sha256 ${COMPUTE_ROUNDS} x`,
    durationS,
  });
  // Replies are digests, not echoes, so nothing was compared.
  return { ...figuresOf(result), mismatches: null };
}

async function runComputeScenario(
  scenario: ComputeScenario,
  servers: ServerSpec[],
  tools: Tools,
  durationS: number,
  quick: boolean,
): Promise<ScenarioResult> {
  const specs = computeSpecs(servers);
  const rows: Row[] = [];
  const probe: ProbeRow[] = [];
  let heavyRounds: number | null = null;
  for (const spec of specs) {
    rows.push(
      await measureServer(
        spec,
        tools,
        (port) => computeLoad(port, durationS),
        async (server) => {
          // Both strategies get the same heavy request, sized on the first one measured.
          heavyRounds ??= await calibrateHeavyRounds(
            server.port,
            quick ? HEAVY_TARGET_QUICK_MS : HEAVY_TARGET_MS,
          );
          probe.push(await latencyProbe(spec.name, server.port, heavyRounds));
        },
        (port) => computeLoad(port, warmUpSeconds(durationS)),
      ),
    );
  }
  if (specs.length === 0) {
    log("  skipped: needs servidor (main.ts) with the poll and workers strategies.");
  }
  const baseline = pickBaseline(rows, "servidor poll");
  return {
    name: scenario.name,
    title: scenario.title,
    baseline,
    rows: withRatios(rows, baseline),
    probe,
  };
}

/** Rounds that take about `targetMs` on this server, measured from a few medium requests. */
async function calibrateHeavyRounds(port: number, targetMs: number): Promise<number> {
  const client = await LineClient.open(port);
  try {
    const sample = 100_000;
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      times.push((await client.ask(`sha256 ${sample} x`, PROBE_TIMEOUT_MS)).ms);
    }
    const perRoundMs = times.sort((a, b) => a - b)[1]! / sample;
    // Round to two significant digits so the tables read well.
    const rounds = Math.min(MAX_ROUNDS, Math.max(sample, targetMs / Math.max(perRoundMs, 1e-6)));
    const scale = 10 ** (Math.floor(Math.log10(rounds)) - 1);
    return Math.min(MAX_ROUNDS, Math.round(rounds / scale) * scale);
  } finally {
    client.close();
  }
}

/**
 * Sends a heavy request on one connection and, while it is being computed, a
 * light one on another, and times both. Under a strategy that hashes on its
 * event loop the light request waits for the heavy one; with workers it should not.
 */
async function latencyProbe(server: string, port: number, heavyRounds: number): Promise<ProbeRow> {
  const row: ProbeRow = {
    server,
    heavyRounds,
    lightIdleMs: null,
    lightDuringHeavyMs: null,
    heavyMs: null,
    note: "",
  };
  const heavyClient = await LineClient.open(port);
  const lightClient = await LineClient.open(port);
  try {
    // The first answer warms up the connection; the median of the next three is the idle latency.
    await lightClient.ask("sha256 1 x", PROBE_TIMEOUT_MS);
    const idle: number[] = [];
    for (let i = 0; i < 3; i++) {
      idle.push((await lightClient.ask("sha256 1 x", PROBE_TIMEOUT_MS)).ms);
    }
    row.lightIdleMs = idle.sort((a, b) => a - b)[1]!;
    const heavy = heavyClient.ask(`sha256 ${heavyRounds} x`, PROBE_TIMEOUT_MS);
    heavy.catch(() => {});
    // Give the heavy request time to arrive and start before the light one is sent.
    await sleep(50);
    const light = await lightClient.ask("sha256 1 x", PROBE_TIMEOUT_MS);
    row.lightDuringHeavyMs = light.ms;
    const heavyReply = await heavy;
    row.heavyMs = heavyReply.ms;
    if (!/^[0-9a-f]{64}$/.test(heavyReply.line) || !/^[0-9a-f]{64}$/.test(light.line)) {
      row.note = `unexpected reply: ${JSON.stringify(heavyReply.line.slice(0, 80))}`;
    }
  } catch (error) {
    row.note = messageOf(error);
  } finally {
    heavyClient.close();
    lightClient.close();
  }
  log(
    `  ${server.padEnd(18)} light request: ${fmt(row.lightIdleMs, 2)} ms idle, ${
      fmt(row.lightDuringHeavyMs, 1)
    } ms during a ${fmt(row.heavyMs, 0)} ms heavy one (${heavyRounds} rounds)${
      row.note ? "  " + row.note : ""
    }`,
  );
  return row;
}

/** One connection that asks a line and waits for a line, with a time limit on each answer. */
class LineClient {
  readonly #conn: Deno.TcpConn;
  #buffered = "";
  #closed = false;
  readonly #decoder = new TextDecoder();

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(port: number): Promise<LineClient> {
    return new LineClient(
      await withTimeout(Deno.connect({ hostname: HOST, port }), START_TIMEOUT_MS, "connecting"),
    );
  }

  /** Sends `text` and a newline; resolves with the reply line and the round trip in ms. */
  async ask(text: string, timeoutMs: number): Promise<{ line: string; ms: number }> {
    const started = performance.now();
    // Closing the socket is what unblocks a read that the server never answers.
    const timer = setTimeout(() => this.close(), timeoutMs);
    try {
      const bytes = new TextEncoder().encode(text + "\n");
      for (let written = 0; written < bytes.length;) {
        written += await this.#conn.write(bytes.subarray(written));
      }
      const buffer = new Uint8Array(4096);
      for (;;) {
        const end = this.#buffered.indexOf("\n");
        if (end >= 0) {
          const line = this.#buffered.slice(0, end).replace(/\r$/, "");
          this.#buffered = this.#buffered.slice(end + 1);
          return { line, ms: performance.now() - started };
        }
        const n = await this.#conn.read(buffer);
        if (n === null) throw new Error("The server closed the connection before answering.");
        this.#buffered += this.#decoder.decode(buffer.subarray(0, n), { stream: true });
      }
    } catch (error) {
      if (this.#closed) throw new Error(`No answer to "${text}" within ${timeoutMs} ms.`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }
}

// ---------------------------------------------------------------------------
// Output

async function machine(): Promise<Report["machine"]> {
  let cpu = "unknown CPU";
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return {
    cpu,
    cpus: navigator.hardwareConcurrency,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
  };
}

function fmt(value: number | null, digits: number): string {
  if (value === null || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Makes free text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function markdown(report: Report): string {
  const m = report.machine;
  const out = [
    `# servidor benchmark`,
    "",
    `${report.generatedAt} · ${m.cpu}, ${m.cpus} CPUs · ${m.os} · Deno ${m.deno}`,
    "",
    `${report.durationS} s of load per server and scenario, from ${
      report.loadGenerator === "echoload" ? "`echoload` (C, epoll, one thread)" : "`bench/load.ts`"
    }, on 127.0.0.1: the load generator and the server share the machine's CPUs. ` +
    "Server CPU s is the server's utime + stime during the load; peak RSS is its VmHWM.",
  ];
  if (report.notes.length > 0) out.push("", ...report.notes.map((note) => `- ${note}`));
  for (const scenario of report.scenarios) {
    out.push("", `## ${scenario.name}: ${scenario.title}`, "");
    if (scenario.rows.length === 0) {
      out.push("No server was run for this scenario.");
      continue;
    }
    const vs = scenario.baseline === null
      ? "ratio"
      : `× ${scenario.baseline.replace(/^servidor /, "")}`;
    out.push(
      `| server | rps | MB/s | p50 µs | p99 µs | errors | mismatches | server CPU s | peak RSS MiB | ${vs} |`,
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const r of scenario.rows) {
      const name = r.group === "servidor" ? `**${r.server}**` : r.server;
      if (r.rps === null) {
        out.push(`| ${name} | ${cell(r.note)} | | | | | | | | |`);
        continue;
      }
      out.push(
        `| ${name}${r.note ? ` (${cell(r.note)})` : ""} | ${fmt(r.rps, 0)} | ${fmt(r.mbps, 2)} | ${
          fmt(r.p50Us, 0)
        } | ${fmt(r.p99Us, 0)} | ${fmt(r.errors, 0)} | ${fmt(r.mismatches, 0)} | ${
          fmt(r.cpuS, 2)
        } | ${fmt(r.peakRssMiB, 1)} | ${fmt(r.ratio, 2)} |`,
      );
    }
    if (scenario.probe !== undefined && scenario.probe.length > 0) {
      out.push(
        "",
        "A light request `sha256 1 x` on one connection, alone and while another connection's " +
          `heavy request \`sha256 ${scenario.probe[0]!.heavyRounds} x\` is being computed:`,
        "",
        "| server | light, idle ms | light, during heavy ms | heavy ms | note |",
        "| --- | ---: | ---: | ---: | --- |",
        ...scenario.probe.map((p) =>
          `| **${p.server}** | ${fmt(p.lightIdleMs, 2)} | ${fmt(p.lightDuringHeavyMs, 1)} | ${
            fmt(p.heavyMs, 0)
          } | ${cell(p.note)} |`
        ),
      );
    }
  }
  return out.join("\n") + "\n";
}

/** Requests per second of every server, one panel per scenario, drawn by Vega-Lite. */
async function chart(report: Report): Promise<string> {
  const vl = await import("vega-lite");
  const vega = await import("vega");
  const values = report.scenarios.flatMap((scenario) =>
    scenario.rows.filter((row) => row.rps !== null).map((row) => ({
      scenario: scenario.name,
      server: row.server,
      group: row.group,
      rps: Math.round(row.rps!),
    }))
  );
  const spec: import("vega-lite").TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title:
      `servidor vs references: requests/s (${report.durationS} s runs, ${report.machine.cpus} CPUs)`,
    data: { values },
    facet: {
      row: {
        field: "scenario",
        type: "nominal",
        title: null,
        sort: report.scenarios.map((scenario) => scenario.name),
      },
    },
    spec: {
      width: 480,
      layer: [
        {
          mark: "bar",
          encoding: {
            y: { field: "server", type: "nominal", title: null, sort: null },
            x: { field: "rps", type: "quantitative", title: "requests/s" },
            color: {
              field: "group",
              type: "nominal",
              title: null,
              scale: { domain: ["servidor", "reference"], range: ["#d95f02", "#7570b3"] },
            },
          },
        },
        {
          mark: { type: "text", align: "left", dx: 3, fontSize: 10 },
          encoding: {
            y: { field: "server", type: "nominal", sort: null },
            x: { field: "rps", type: "quantitative" },
            text: { field: "rps", type: "quantitative", format: ",d" },
          },
        },
      ],
    },
    resolve: { scale: { x: "independent", y: "independent" } },
  };
  // Vega-Lite warns that the bar and label layers of each panel share a field; that is intended.
  const quietLogger = vega.logger(vega.Error);
  const view = new vega.View(vega.parse(vl.compile(spec, { logger: quietLogger }).spec), {
    renderer: "none",
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

async function writeResults(report: Report): Promise<void> {
  await Deno.mkdir(RESULTS, { recursive: true });
  const md = markdown(report);
  await Deno.writeTextFile(new URL("latest.md", RESULTS), md);
  await Deno.writeTextFile(
    new URL("latest.json", RESULTS),
    JSON.stringify(report, null, 2) + "\n",
  );
  try {
    await Deno.writeTextFile(new URL("latest.svg", RESULTS), await chart(report));
  } catch (error) {
    // The tables are the result; a chart that cannot be drawn (no npm access) is a note.
    log(`bench:compare: no chart: ${messageOf(error)}`);
  }
  console.log("\n" + md);
  log(`Wrote ${new URL("latest.md", RESULTS).pathname}, latest.json and latest.svg.`);
}

// ---------------------------------------------------------------------------
// Small helpers

interface Captured {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs a command to the end, killing it after `timeoutMs`; a missing command is `ok: false`. */
async function capture(command: string, args: string[], timeoutMs: number): Promise<Captured> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      cwd: REPO_ROOT.pathname,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { ok: false, stdout: "", stderr: "" };
    throw error;
  }
  children.add(child);
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // It finished just now.
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { ok: out.success, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  } finally {
    clearTimeout(timer);
    children.delete(child);
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

if (import.meta.main) Deno.exit(await main(Deno.args));
