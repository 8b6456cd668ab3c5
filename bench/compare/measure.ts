/**
 * Measuring one server: start it, warm it up, apply a load, read its CPU
 * seconds and peak memory from /proc, and stop it, always. Also the shape of
 * a result row and the ratios against a scenario's baseline.
 *
 * @module
 */

import { describeError } from "../../lib/errors.ts";
import type { LoadResult } from "../load.ts";
import { log } from "./processes.ts";
import type { Repeated } from "./repeat.ts";
import { fmt } from "./report.ts";
import { type Group, RunningServer, type ServerSpec, type Tools } from "./servers.ts";

/** One measured server in one scenario; null where a figure could not be taken. */
export interface Row {
  server: string;
  group: Group;
  rps: number | null;
  mbps: number | null;
  p50Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  /** The p99 of each connection's first round trip, connect included: the connect storm. */
  firstP99Us: number | null;
  /**
   * How many connections completed their first round trip at all: `firstP99Us`
   * describes those alone, so a server that leaves most of a storm unanswered
   * shows here, not in the p99.
   */
  firstDone: number | null;
  /** Round trips per connection while figures were recorded: fewest, median, most. */
  connMin: number | null;
  connP50: number | null;
  connMax: number | null;
  /** Handshakes the kernel dropped during the run because a listen backlog was full. */
  listenOverflows: number | null;
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
export interface ProbeRow {
  server: string;
  heavyRounds: number;
  /** The light request on an otherwise idle server. */
  lightIdleMs: number | null;
  /** The light request sent while the heavy one was being computed. */
  lightDuringHeavyMs: number | null;
  heavyMs: number | null;
  note: string;
}

export interface ScenarioResult {
  name: string;
  title: string;
  baseline: string | null;
  rows: Row[];
  probe?: ProbeRow[];
  /** Why the scenario was not run, or anything the reader must know about it. */
  note?: string;
  /**
   * With `--repeat`: every round's rows and each figure's spread; `rows` then
   * holds the medians. Absent from a scenario run once.
   */
  repeated?: Repeated;
}

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

export type Figures =
  & Pick<Row, "rps" | "mbps" | "p50Us" | "p99Us" | "p999Us" | "errors" | "mismatches">
  & Partial<
    Pick<Row, "firstP99Us" | "firstDone" | "connMin" | "connP50" | "connMax" | "listenOverflows">
  >;

export function figuresOf(result: LoadResult): Figures {
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

export function emptyRow(spec: ServerSpec, note: string): Row {
  return {
    server: spec.name,
    group: spec.group,
    rps: null,
    mbps: null,
    p50Us: null,
    p99Us: null,
    p999Us: null,
    firstP99Us: null,
    firstDone: null,
    connMin: null,
    connP50: null,
    connMax: null,
    listenOverflows: null,
    errors: null,
    mismatches: null,
    cpuS: null,
    peakRssMiB: null,
    ratio: null,
    note,
  };
}

/** Starts `spec`, applies `load` to it, measures, and always stops it. */
export async function measureServer(
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
    const row = emptyRow(spec, `did not start: ${describeError(error)}`);
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
      row.note = `${row.note ? row.note + "; " : ""}${describeError(error)}`;
    }
    return row;
  } catch (error) {
    const row = emptyRow(spec, `failed: ${describeError(error)}`);
    log(`  ${spec.name.padEnd(18)} ${row.note}`);
    return row;
  } finally {
    await server.stop();
  }
}

/** A fifth of the measured run, at least half a second. */
export function warmUpSeconds(durationS: number): number {
  return Math.max(0.5, durationS / 5);
}

export function withRatios(rows: Row[], baselineName: string | null): Row[] {
  const base = rows.find((row) => row.server === baselineName)?.rps ?? null;
  return rows.map((row) => ({
    ...row,
    ratio: base !== null && base > 0 && row.rps !== null ? row.rps / base : null,
  }));
}

export function pickBaseline(rows: Row[], ...candidates: string[]): string | null {
  return candidates.find((name) =>
    rows.some((row) => row.server === name && row.rps !== null && row.rps > 0)
  ) ?? null;
}
