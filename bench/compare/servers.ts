/**
 * The servers the harness measures: servidor's strategies, started from
 * `main.ts`, and the reference echo servers of `../shared/bench/anchors`;
 * the tools found on this machine; and one running server subprocess.
 *
 * @module
 */

import {
  capture,
  children,
  firstLine,
  HOST,
  log,
  REPO_ROOT,
  sleep,
  START_TIMEOUT_MS,
  STOP_TIMEOUT_MS,
  stopChild,
  withTimeout,
} from "./processes.ts";

const MAIN_TS = new URL("../../main.ts", import.meta.url);
const SHARED_BENCH = new URL("../../../shared/bench/", import.meta.url);
/** Node's echo with servidor's backlog and an optional re-arm (bench/accept_storm.ts runs it too). */
const PACED_ECHO = new URL("../accept_storm/node_net_echo.mjs", import.meta.url);
const ECHOLOAD_C = new URL("../echoload.c", import.meta.url);

export type Group = "servidor" | "reference";

/** What `--server` accepts: servidor's strategies, then the reference servers. */
export const SERVER_IDS = [
  "single",
  "poll",
  "poll-deno-conn",
  "workers",
  "workers-tuned",
  "processes",
  "reuseport",
  "c-epoll",
  "node-net",
  "py-asyncio",
  "py-selectors",
  "py-threading",
  "deno-pipeTo",
  "deno-readloop",
  "deno-node-net",
  "deno-node-net-paced",
];

export interface ServerSpec {
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

export interface Tools {
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

export async function prepare(
  workDir: string,
  notes: string[],
  useLoadTs: boolean,
): Promise<Tools> {
  const note = (line: string) => {
    notes.push(line);
    log(line);
  };
  const sharedBench = await exists(SHARED_BENCH);
  const gcc = (await capture("gcc", ["--version"], 10_000)).ok;
  let echoload: string | null = null;
  let cEpoll: string | null = null;
  if (!gcc) {
    note("gcc not found: echoload and the C epoll reference are not built.");
  } else if (!useLoadTs) {
    // servidor's own copy, which also paces connections and counts round trips per connection.
    echoload = await buildC(ECHOLOAD_C, `${workDir}/echoload`, note);
  }
  if (!sharedBench) {
    note(
      `Reference servers skipped: ../shared/bench is not there (looked in ${SHARED_BENCH.pathname}).`,
    );
  } else if (gcc) {
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

export function serverSpecs(tools: Tools, notes: string[]): ServerSpec[] {
  const specs: ServerSpec[] = [];
  const deno = Deno.execPath();
  const main = MAIN_TS.pathname;
  if (tools.servidor) {
    const modes = [
      "single",
      "poll",
      "workers",
      "processes",
      ...(tools.reuseport ? ["reuseport"] : []),
    ];
    // Each strategy runs as a user types it: `deno run --allow-net main.ts`
    // and default flags. `workers-tuned` is workers with a ready Worker for
    // every connection of the churn scenario, the figure beside the default.
    const variants: Array<{ id: string; mode: string; flags: string[] }> = modes.map((mode) => ({
      id: mode,
      mode,
      flags: mode === "reuseport" ? ["--threads=2"] : [],
    }));
    variants.splice(3, 0, { id: "workers-tuned", mode: "workers", flags: ["--idle-workers=64"] });
    // poll over Deno.listen and Deno.Conn instead of its default, Deno's node:net handles.
    variants.splice(2, 0, { id: "poll-deno-conn", mode: "poll", flags: ["--tcp-api=deno"] });
    for (const { id, mode, flags } of variants) {
      specs.push({
        id,
        name: `servidor ${id}`,
        group: "servidor",
        command: deno,
        args: [
          "run",
          "--allow-net",
          // A process per client: the one mode that needs to run one.
          ...(mode === "processes" ? ["--allow-run"] : []),
          main,
          "serve",
          `--mode=${mode}`,
          "--service=echo",
          `--host=${HOST}`,
          "--port=0",
          "--log-level=error",
          ...flags,
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
    // Node's own echo, run by Deno through its node:net: Deno's native TCP handles, not Deno.Conn.
    reference("deno-node-net", deno, [
      "run",
      "--allow-net",
      "--allow-env",
      anchor("node_net_echo.mjs"),
    ]);
  }
  // Node's echo run by Deno with servidor's 4,096-slot backlog and its listener re-armed every
  // 10 ms, as lib/node_tcp.ts does: the floor of the node:net path when thousands of clients
  // connect while others are busy, where the anchors above leave most of them unanswered
  // (docs/scale.md, "The connect storm"). Only the many-connection scenarios run it.
  specs.push({
    id: "deno-node-net-paced",
    name: "deno-node-net-paced",
    group: "reference",
    command: deno,
    args: ["run", "--allow-net", "--allow-env", PACED_ECHO.pathname, "10"],
    portFrom: "argv",
  });
  if (specs.length === 0) notes.push("No server to benchmark.");
  return specs;
}

/** A server subprocess, its port, and the tail of its stderr for error messages. */
export class RunningServer {
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
async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
