/**
 * The compute scenario: the CPU-bound service under poll, workers and
 * reuseport. Throughput of clients looping a moderate hash, then a latency
 * probe: a light request sent while another client's heavy one is computed.
 *
 * @module
 */

import { describeError } from "../../lib/errors.ts";
import { writeAll } from "../../lib/write_all.ts";
import { MAX_ROUNDS } from "../../services/compute.ts";
import { runLoad } from "../load.ts";
import {
  type Figures,
  figuresOf,
  measureServer,
  pickBaseline,
  type ProbeRow,
  type Row,
  type ScenarioResult,
  warmUpSeconds,
  withRatios,
} from "./measure.ts";
import { HOST, log, sleep, START_TIMEOUT_MS, withTimeout } from "./processes.ts";
import { fmt } from "./report.ts";
import { COMPUTE_CLIENTS, COMPUTE_ROUNDS, type ComputeScenario } from "./scenarios.ts";
import type { ServerSpec, Tools } from "./servers.ts";

/** The longest any one compute request of the probe may take before it counts as unanswered. */
const PROBE_TIMEOUT_MS = 120_000;
/** How long the heavy compute request should take, so the light one has something to wait behind. */
const HEAVY_TARGET_MS = 2_000;
const HEAVY_TARGET_QUICK_MS = 500;

/**
 * The servidor specs for the compute service: poll (hashes on the event
 * loop), workers (a thread per client), processes (a process per client)
 * and reuseport (a poll loop per core).
 */
function computeSpecs(servers: ServerSpec[]): ServerSpec[] {
  return servers
    .filter((spec) =>
      spec.group === "servidor" && ["poll", "workers", "processes", "reuseport"].includes(spec.id)
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

export async function runComputeScenario(
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
    row.note = describeError(error);
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
      await writeAll(this.#conn, new TextEncoder().encode(text + "\n"));
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
