/**
 * The scenarios `--scenario` chooses from. An `echo` scenario is a closed-loop
 * load on the echo service (connections × request size, with or without
 * churn); the `compute` scenario runs the CPU-bound service. A new echo
 * scenario is one more entry in {@link SCENARIOS}.
 *
 * @module
 */

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
