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
 * deno task bench:compare --scenario=many-10k --server=poll --server=node-net --repeat=3
 * ```
 *
 * With `--repeat=N` each scenario runs in N interleaved rounds (every server
 * once a round, each round starting one server further on), and the report
 * gives each figure's median and range over the rounds, and each ratio
 * against Node, C epoll and Deno's `node:net` echo as the median of the
 * ratios within each round (see compare/repeat.ts).
 *
 * Scenarios: `echo-small` (50 connections × 64 B), `echo-large` (20 × 64 KiB),
 * `churn` (50 connections, each connect → one round trip → close),
 * `many` and `many-10k` (2,000 and 10,000 connections × 64 B at steady state)
 * and `storm` (10,000 connecting at once), with fairness and connect-storm
 * figures (see compare/many.ts and docs/scale.md), and `compute` (the `compute`
 * service under poll, workers and reuseport: throughput of 4 clients looping
 * `sha256 20000 x`, and the latency of a light `sha256 1 x` sent while another
 * client's heavy request is being computed).
 *
 * Each server is a fresh subprocess per scenario, so its CPU seconds (utime +
 * stime from /proc/PID/stat) and its peak RSS (VmHWM from /proc/PID/status)
 * belong to that scenario alone. The load comes from `bench/echoload.c`
 * (servidor's copy of `../shared/bench/echoload.c`), built with gcc into a
 * temporary folder, or from `bench/load.ts` when gcc is missing. Everything listens and
 * connects on 127.0.0.1 only, every step has a time limit, and every
 * subprocess is killed before the harness exits, also on error or Ctrl-C.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { describeError } from "../lib/errors.ts";
import { runComputeScenario } from "./compare/compute.ts";
import { runEchoScenario } from "./compare/echo.ts";
import type { ScenarioResult } from "./compare/measure.ts";
import { rotate, summarise } from "./compare/repeat.ts";
import { machine, type Report, writeResults } from "./compare/report.ts";
import { abandon, LOAD_GRACE_MS, log, stopAll } from "./compare/processes.ts";
import { SCENARIOS } from "./compare/scenarios.ts";
import { prepare, SERVER_IDS, serverSpecs } from "./compare/servers.ts";

const HELP = `Usage: deno run -A bench/compare.ts [options]

Runs servidor's strategies and the reference servers of ../shared/bench under
the same load, and writes bench/results/latest.{md,json,svg}; a partial run
(--quick, --scenario, --server or a shorter --duration) writes to
bench/results/partial/ instead, which git ignores.

Options:
  --scenario=NAME   run only this scenario (repeatable): ${SCENARIOS.map((s) => s.name).join(", ")}
  --server=NAME     run only this server (repeatable): ${SERVER_IDS.slice(0, 4).join(", ")},
                    ${SERVER_IDS.slice(4).join(", ")}
  --duration=SECS   seconds of load per server and scenario (default 5)
  --repeat=N        run each scenario in N interleaved rounds (default 1) and
                    report medians, ranges and per-round ratios
  --generator=NAME  echoload (the default, bench/echoload.c, when gcc is there)
                    or load.ts (bench/load.ts, in the harness's own process)
  --quick           1 s per run and a lighter compute probe: a smoke test
  --help            print this help
`;

function parseFlags(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      scenario: { type: "string", multiple: true },
      server: { type: "string", multiple: true },
      duration: { type: "string" },
      repeat: { type: "string" },
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
    console.error(`bench:compare: ${describeError(error)}`);
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
  const repeat = values.repeat === undefined ? 1 : Number(values.repeat);
  if (!(Number.isInteger(repeat) && repeat >= 1 && repeat <= 20)) {
    console.error(`bench:compare: --repeat must be a whole number of rounds from 1 to 20.`);
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
  const budgetMs = repeat * scenarios.length * 12 * (durationS * 1000 + 2 * LOAD_GRACE_MS) +
    120_000;
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
      ...(repeat > 1 ? { repeat } : {}),
      loadGenerator: tools.echoload === null ? "bench/load.ts" : "echoload",
      notes,
      scenarios: [],
    };
    for (const scenario of scenarios) {
      log(`\n== ${scenario.name}: ${scenario.title}`);
      const rounds: ScenarioResult[] = [];
      for (let round = 0; round < repeat; round++) {
        if (repeat > 1) log(`-- round ${round + 1} of ${repeat}`);
        // A single run keeps the usual order; rounds rotate it so no server is always first.
        const order = rotate(servers, round);
        rounds.push(
          scenario.kind === "echo"
            ? await runEchoScenario(scenario, order, tools, durationS)
            : await runComputeScenario(scenario, order, tools, durationS, quick),
        );
      }
      report.scenarios.push(repeat > 1 ? summarise(rounds) : rounds[0]!);
    }
    // Only a run of everything, for the full time, replaces the committed results.
    const full = !quick && wanted === undefined && serverFilter === undefined &&
      durationS >= 5;
    await writeResults(report, full);
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

if (import.meta.main) Deno.exit(await main(Deno.args));
