/**
 * The scenarios `--scenario` chooses from. An `echo` scenario is a closed-loop
 * load on the echo service (connections × request size, with or without
 * churn); the `compute` scenario runs the CPU-bound service. A new echo
 * scenario is one more entry in {@link SCENARIOS}.
 *
 * @module
 */

import { MANY_SCENARIOS } from "./many.ts";

/** Rounds per request in the compute throughput run, heavy enough that hashing dominates I/O. */
export const COMPUTE_ROUNDS = 20_000;
/** Clients looping compute requests: more than the two-core runner has, fewer than would just queue. */
export const COMPUTE_CLIENTS = 4;

export interface EchoScenario {
  kind: "echo";
  name: string;
  title: string;
  conns: number;
  size: number;
  churn: boolean;
  /**
   * Many-connection scenarios (see `many.ts`): echoload's own warm-up in
   * seconds (`-w`), so that the figures are the steady state of connections
   * that are up; how fast it opens them (`-R`, connections a second, or all
   * at once when absent: a connect storm); how long at most the steady state
   * may wait for every connection's first round trip (`-G`, seconds; absent:
   * it does not wait); the only servers that can take that many clients; and
   * the fairness table in the report.
   */
  many?: { warmUpS: number; rampPerS?: number; gateS?: number; servers: readonly string[] };
}

export interface ComputeScenario {
  kind: "compute";
  name: "compute";
  title: string;
}

export type Scenario = EchoScenario | ComputeScenario;

export const SCENARIOS: Scenario[] = [
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
  ...MANY_SCENARIOS,
  {
    kind: "compute",
    name: "compute",
    title: `compute service, ${COMPUTE_CLIENTS} clients looping \`sha256 ${COMPUTE_ROUNDS} x\``,
  },
];
