/**
 * The echo scenarios: every server under the same closed-loop load, from the
 * C `echoload` when it was built, else from `bench/load.ts`.
 *
 * @module
 */

import { runLoad } from "../load.ts";
import {
  type Figures,
  figuresOf,
  measureServer,
  pickBaseline,
  type Row,
  type ScenarioResult,
  warmUpSeconds,
  withRatios,
} from "./measure.ts";
import { listenOverflows, MANY_ONLY_SERVERS, tooFewDescriptors } from "./many.ts";
import { capture, firstLine, HOST, LOAD_GRACE_MS, log } from "./processes.ts";
import type { EchoScenario } from "./scenarios.ts";
import type { ServerSpec, Tools } from "./servers.ts";

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
  const many = scenario.many;
  const warmUpS = many?.warmUpS ?? steadyWarmUpSeconds(durationS);
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
    "-w",
    String(warmUpS),
    ...(many?.rampPerS ? ["-R", String(many.rampPerS)] : []),
    ...(many?.gateS ? ["-G", String(many.gateS)] : []),
  ];
  const overflowsBefore = await listenOverflows();
  const out = await capture(
    tools.echoload,
    args,
    (durationS + warmUpS + (many?.gateS ?? 0)) * 1000 + LOAD_GRACE_MS,
  );
  const overflowsAfter = await listenOverflows();
  const figures = parseEchoload(out.stdout);
  if (!out.ok || figures === null) {
    throw new Error(`echoload failed: ${firstLine(out.stderr || out.stdout || "no output")}`);
  }
  return {
    ...figures,
    listenOverflows: overflowsBefore === null || overflowsAfter === null
      ? null
      : overflowsAfter - overflowsBefore,
  };
}

/**
 * Reads echoload's summary line, `key=value` pairs; the fields the shared
 * copy lacks (p999, first p99, round trips per connection) come back null.
 *
 * @param stdout What echoload printed.
 * @returns The figures, or null when the line is not there.
 */
export function parseEchoload(stdout: string): Figures | null {
  const line = stdout.split("\n").find((l) => l.startsWith("rps="));
  if (line === undefined) return null;
  const fields = new Map(
    line.trim().split(/\s+/).map((pair) => {
      const [key = "", value = ""] = pair.split("=");
      return [key, Number(value)] as const;
    }),
  );
  const get = (key: string) => {
    const value = fields.get(key);
    return value === undefined || !Number.isFinite(value) ? null : value;
  };
  const rps = get("rps");
  if (rps === null) return null;
  return {
    rps,
    mbps: get("MBps"),
    p50Us: get("p50_us"),
    p99Us: get("p99_us"),
    p999Us: get("p999_us"),
    errors: get("errors"),
    mismatches: get("mismatches"),
    firstP99Us: get("first_p99_us"),
    firstDone: get("first_done"),
    connMin: get("conn_min"),
    connP50: get("conn_p50"),
    connMax: get("conn_max"),
  };
}

/**
 * echoload's warm-up for the echo and churn scenarios: twice the measured
 * run (10 s before a 5 s run, 2 s before --quick's 1 s). Long enough for a
 * server's start-up work to end before anything is recorded (JIT, and under
 * `workers` with default flags a Worker started for each of the 50 clients:
 * 30 ms of CPU each on an idle machine, but while the first clients' traffic
 * keeps both cores busy, the 46 starts took 7 to 8 s); that first-contact
 * cost is reported apart, as first_p99.
 *
 * @param durationS The measured run's seconds.
 */
export function steadyWarmUpSeconds(durationS: number): number {
  return 2 * durationS;
}

export async function runEchoScenario(
  scenario: EchoScenario,
  servers: ServerSpec[],
  tools: Tools,
  durationS: number,
): Promise<ScenarioResult> {
  const rows: Row[] = [];
  const many = scenario.many;
  if (many) {
    const problem = tools.echoload === null
      ? "Needs echoload, which paces thousands of connections and counts their round trips; " +
        "it is built with gcc."
      : await tooFewDescriptors(scenario.conns);
    if (problem) {
      log(`  skipped: ${problem}`);
      return { name: scenario.name, title: scenario.title, baseline: null, rows, note: problem };
    }
  }
  const chosen = servers.filter((spec) =>
    many ? many.servers.includes(spec.id) : !MANY_ONLY_SERVERS.includes(spec.id)
  );
  for (const spec of chosen) {
    rows.push(
      await measureServer(
        spec,
        tools,
        (port) => echoLoad(tools, port, scenario, durationS),
        undefined,
        // echoload warms up inside the measured run (-w), on the same connections, so
        // every server is measured in its steady state; bench/load.ts warms up with a run of
        // its own first.
        tools.echoload !== null
          ? undefined
          : (port) => echoLoad(tools, port, scenario, warmUpSeconds(durationS)),
      ),
    );
  }
  const baseline = many
    ? pickBaseline(rows, "node-net", "servidor poll")
    : pickBaseline(rows, "c-epoll", "servidor poll");
  return { name: scenario.name, title: scenario.title, baseline, rows: withRatios(rows, baseline) };
}
