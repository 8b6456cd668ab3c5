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
import { capture, firstLine, HOST, LOAD_GRACE_MS } from "./processes.ts";
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

export async function runEchoScenario(
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
