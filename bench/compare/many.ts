/**
 * The many-connection scenarios: thousands of clients at once, where what
 * matters is no longer the rate alone but memory, the slowest requests,
 * whether every client is served (fairness), and how fast a crowd that
 * connects at once gets in (the connect storm). See docs/scale.md.
 *
 * - `many` and `many-10k` open 2,000 and 10,000 connections at a steady pace
 *   (`echoload -R`) and measure the steady state after a warm-up (`-w`): the
 *   rate, p50/p99/p999, p99 ÷ p50, peak RSS, and the round trips each
 *   connection completed (fewest, median, most). The steady state starts
 *   once every connection has made its first round trip (`echoload -G`, at
 *   most {@link GATE_S} s): a server that is slow to accept while busy (Node,
 *   Deno's `node:net` without servidor's re-arm) would otherwise be measured
 *   serving a fifth of the clients that another serves, and its rate, tail
 *   and memory would not compare. How fast clients get in is the storm's
 *   figure, and the first round trip's here.
 * - `storm` opens 10,000 connections at once and reports the p99 of each
 *   connection's first round trip, connect included, and the handshakes the
 *   kernel dropped because a listen backlog was full (`ListenOverflows` of
 *   `/proc/net/netstat`, what `nstat -az TcpExtListenOverflows` prints).
 *
 * @module
 */

import type { ScenarioResult } from "./measure.ts";
import { fmt } from "./report.ts";
import type { EchoScenario } from "./scenarios.ts";

/**
 * The servers that can hold thousands of clients: not `single` (one client
 * at a time), not `workers` (a Worker per client), not Python's `select()`
 * server (1,024 descriptors at most).
 */
const MANY_SERVERS = [
  "poll",
  "poll-deno-conn",
  "reuseport",
  "c-epoll",
  "node-net",
  "deno-node-net",
  "deno-node-net-paced",
  "deno-readloop",
] as const;

/** The longest the steady state waits for every connection's first round trip. */
const GATE_S = 30;

/** Servers only the many-connection scenarios run: anchors of the connect storm. */
export const MANY_ONLY_SERVERS: readonly string[] = ["deno-node-net-paced"];

/** The scenarios this file adds to `bench:compare`. */
export const MANY_SCENARIOS: EchoScenario[] = [
  {
    kind: "echo",
    name: "many",
    title: "echo, 2,000 connections × 64 B, steady state",
    conns: 2000,
    size: 64,
    churn: false,
    many: { warmUpS: 3, rampPerS: 4000, gateS: GATE_S, servers: MANY_SERVERS },
  },
  {
    kind: "echo",
    name: "many-10k",
    title: "echo, 10,000 connections × 64 B, steady state",
    conns: 10_000,
    size: 64,
    churn: false,
    many: { warmUpS: 4, rampPerS: 4000, gateS: GATE_S, servers: MANY_SERVERS },
  },
  {
    kind: "echo",
    name: "storm",
    title: "connect storm: 10,000 connections opened at once, then echo × 64 B",
    conns: 10_000,
    size: 64,
    churn: false,
    many: { warmUpS: 2, servers: MANY_SERVERS },
  },
];

/**
 * Handshakes dropped so far because a listen backlog was full, machine-wide.
 *
 * @returns The counter, or null where `/proc/net/netstat` cannot be read.
 */
export async function listenOverflows(): Promise<number | null> {
  let text: string;
  try {
    text = await Deno.readTextFile("/proc/net/netstat");
  } catch {
    return null;
  }
  // Two lines per group: "TcpExt: Name Name …" then "TcpExt: 1 2 …".
  const lines = text.split("\n").filter((line) => line.startsWith("TcpExt:"));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const at = names.indexOf("ListenOverflows");
  return at < 0 || values[at] === undefined ? null : Number(values[at]);
}

/**
 * Says why this machine cannot run `conns` connections, or nothing: each of
 * the load generator and the server needs a descriptor per connection, and
 * a process inherits the harness's limit.
 *
 * @param conns Connections the scenario opens.
 * @returns A sentence with the remedy, or undefined when the limit is enough.
 */
export async function tooFewDescriptors(conns: number): Promise<string | undefined> {
  let limits: string;
  try {
    limits = await Deno.readTextFile("/proc/self/limits");
  } catch {
    return undefined;
  }
  const soft = Number(/^Max open files\s+(\S+)/m.exec(limits)?.[1]);
  const needed = conns + 256;
  if (!Number.isFinite(soft) || soft >= needed) return undefined;
  return `${conns.toLocaleString("en-US")} connections need more descriptors than ` +
    `\`ulimit -n\` allows (${soft}); run \`ulimit -n ${needed}\` (or more) first.`;
}

/**
 * The fairness and storm table of a many-connection scenario, in Markdown.
 *
 * @param scenario Its measured rows.
 * @returns Lines to add after the scenario's main table; none for other scenarios.
 */
export function manyTable(scenario: ScenarioResult): string[] {
  const rows = scenario.rows.filter((row) => row.rps !== null);
  if (!rows.some((row) => row.firstP99Us !== null || row.connMin !== null)) return [];
  const node = rows.find((row) => row.server === "node-net");
  const ratio = (value: number | null, base: number | null | undefined) =>
    value === null || !base ? "–" : fmt(value / base, 2);
  return [
    "",
    "Tail, fairness and the connect storm (p999 and peak RSS also as a multiple of Node's; " +
    "round trips per connection: fewest / median / most):",
    "",
    "| server | p999 µs | p999 × node | p99 ÷ p50 | round trips per connection | " +
    "first round trip p99 µs | connections with a first round trip | listen overflows | " +
    "peak RSS MiB | RSS × node |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.group === "servidor" ? `**${r.server}**` : r.server} | ${fmt(r.p999Us, 0)} | ${
        ratio(r.p999Us, node?.p999Us)
      } | ${ratio(r.p99Us, r.p50Us)} | ${fmt(r.connMin, 0)} / ${fmt(r.connP50, 0)} / ${
        fmt(r.connMax, 0)
      } | ${fmt(r.firstP99Us, 0)} | ${fmt(r.firstDone, 0)} | ${fmt(r.listenOverflows, 0)} | ${
        fmt(r.peakRssMiB, 1)
      } | ${ratio(r.peakRssMiB, node?.peakRssMiB)} |`
    ),
  ];
}
