/**
 * `--repeat=N`: a scenario run N times in interleaved rounds (round 1 runs
 * every server once, round 2 again, each round starting one server further
 * on), summarised per server as the median and the range over the rounds,
 * and per reference as the median of the per-round ratios with their range.
 *
 * One run of a ratio on this shared machine swings from 0.5 to 1.4; a slow
 * minute hits every server of a round alike, so a ratio taken inside each
 * round and then summarised is steadier than a ratio of two medians, and its
 * range says how far one run may be trusted.
 *
 * @module
 */

import type { Row, ScenarioResult } from "./measure.ts";
import { fmt } from "./report.ts";

/** The median of some numbers, and the smallest and largest of them. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many rounds gave a figure. */
  n: number;
}

/** The figures of a row that are summarised over rounds. */
export const MEASURES = [
  "rps",
  "p50Us",
  "p99Us",
  "p999Us",
  "peakRssMiB",
  "cpuS",
  "firstP99Us",
  "firstDone",
  "connMin",
  "connP50",
  "connMax",
  "listenOverflows",
  "errors",
  "mismatches",
] as const;
export type Measure = typeof MEASURES[number];

/** The figures a ratio against a reference is taken of. */
export const RATIO_MEASURES = ["rps", "p99Us", "p999Us", "peakRssMiB", "cpuS"] as const;
type RatioMeasure = typeof RATIO_MEASURES[number];

/**
 * The references ratios are taken against, where the scenario ran them: Node
 * `net`, C epoll, and the floor of servidor's default path, Node's echo run
 * by Deno through `node:net`.
 */
export const REFERENCES = [
  { server: "node-net", label: "× Node" },
  { server: "c-epoll", label: "× C epoll" },
  { server: "deno-node-net", label: "× the floor (Deno's node:net echo)" },
] as const;

/** One server over every round. */
export interface ServerSpread {
  server: string;
  group: Row["group"];
  /** Each figure over the rounds that measured it; null where none did. */
  measures: Record<Measure, Spread | null>;
  /** For each reference the scenario ran: the per-round ratios of each figure. */
  ratios: Record<string, Record<RatioMeasure, Spread | null>>;
}

/** What `--repeat` adds to a scenario's result. */
export interface Repeated {
  rounds: Row[][];
  servers: ServerSpread[];
}

/**
 * The median (the mean of the middle two for an even count), the smallest and the largest.
 *
 * @param values The numbers; nulls and non-finite values are left out.
 * @returns The spread, or null when no value is left.
 */
export function spread(values: ReadonlyArray<number | null | undefined>): Spread | null {
  const sorted = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v))
    .sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, n: sorted.length };
}

/**
 * The order of the servers in a round: round `r` (from 0) starts `r` servers
 * further on, so that no server is always the first measured after a pause
 * or the last one before the next scenario.
 *
 * @param items The servers in their usual order.
 * @param round The round, from 0.
 * @returns The same servers, rotated.
 */
export function rotate<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * Summarises a scenario run in rounds. Its `rows` become one row per server
 * of the medians (the `ratio` column the median of the per-round ratios), so
 * the Markdown table and the chart of a single run read the same way, and
 * `repeated` keeps every round and each figure's range.
 *
 * @param rounds The scenario's result in each round, in round order.
 * @returns One result with the medians, the rounds and the spreads.
 */
export function summarise(rounds: ScenarioResult[]): ScenarioResult {
  const first = rounds[0];
  if (first === undefined) throw new Error("summarise() needs at least one round.");
  // Servers in the order of the first round's table, not of its rotation.
  const names: string[] = [];
  for (const round of rounds) {
    for (const row of round.rows) if (!names.includes(row.server)) names.push(row.server);
  }
  const order = (rows: Row[]) =>
    [...rows].sort((a, b) => names.indexOf(a.server) - names.indexOf(b.server));
  const byRound = rounds.map((round) => order(round.rows));
  const find = (round: Row[], server: string) => round.find((row) => row.server === server);
  const present = REFERENCES.filter((ref) => names.includes(ref.server));
  const servers: ServerSpread[] = names.map((server) => {
    const own = byRound.map((round) => find(round, server));
    const measures = Object.fromEntries(
      MEASURES.map((m) => [m, spread(own.map((row) => row?.[m]))]),
    ) as Record<Measure, Spread | null>;
    const ratios: ServerSpread["ratios"] = {};
    for (const ref of present) {
      ratios[ref.server] = Object.fromEntries(RATIO_MEASURES.map((m) => [
        m,
        spread(byRound.map((round) => {
          const value = find(round, server)?.[m];
          const base = find(round, ref.server)?.[m];
          return value === null || value === undefined || !base ? null : value / base;
        })),
      ])) as Record<RatioMeasure, Spread | null>;
    }
    const group = own.find((row) => row !== undefined)!.group;
    return { server, group, measures, ratios };
  });
  const baseline = first.baseline;
  const rows: Row[] = servers.map((s) => {
    const own = byRound.map((round) => find(round, s.server)).filter((row) => row !== undefined);
    const median = (m: Measure) => s.measures[m]?.median ?? null;
    const ratio = spread(own.map((row) => row.ratio));
    return {
      server: s.server,
      group: s.group,
      rps: median("rps"),
      mbps: spread(own.map((row) => row.mbps))?.median ?? null,
      p50Us: median("p50Us"),
      p99Us: median("p99Us"),
      p999Us: median("p999Us"),
      firstP99Us: median("firstP99Us"),
      firstDone: median("firstDone"),
      connMin: median("connMin"),
      connP50: median("connP50"),
      connMax: median("connMax"),
      listenOverflows: median("listenOverflows"),
      errors: median("errors"),
      mismatches: median("mismatches"),
      cpuS: median("cpuS"),
      peakRssMiB: median("peakRssMiB"),
      ratio: ratio?.median ?? null,
      note: [...new Set(own.map((row) => row.note).filter((note) => note !== ""))].join("; "),
    };
  });
  return {
    ...first,
    baseline,
    rows,
    probe: rounds.flatMap((round) => round.probe ?? []),
    repeated: { rounds: byRound, servers },
  };
}

/** A spread as `median (min–max)`, or the one value when all rounds agree or only one gave it. */
function cellOf(s: Spread | null, digits: number): string {
  if (s === null) return "–";
  if (s.n === 1 || fmt(s.min, digits) === fmt(s.max, digits)) return fmt(s.median, digits);
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

/**
 * The Markdown of a scenario run in rounds: each figure's median and range
 * per server, the ratios against each reference the scenario ran, and every
 * round's figures.
 *
 * @param scenario A result of {@link summarise}.
 * @returns Lines of Markdown; none for a scenario run once.
 */
export function repeatedTables(scenario: ScenarioResult): string[] {
  const repeated = scenario.repeated;
  if (repeated === undefined) return [];
  const many = repeated.servers.some((s) =>
    s.measures.firstDone !== null || s.measures.connMin !== null
  );
  const name = (s: { server: string; group: Row["group"] }) =>
    s.group === "servidor" ? `**${s.server}**` : s.server;
  const out = [
    "",
    `${repeated.rounds.length} interleaved rounds (each runs every server once, starting one ` +
    "server further on); each figure is the median over the rounds with its range (min–max):",
    "",
    "| server | rps | p50 µs | p99 µs | p999 µs | server CPU s | peak RSS MiB |" +
    (many
      ? " first round trip p99 µs | connections with a first round trip | round trips per connection, median of fewest / median / most |"
      : ""),
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |" + (many ? " ---: | ---: | ---: |" : ""),
    ...repeated.servers.map((s) => {
      const m = s.measures;
      return `| ${name(s)} | ${cellOf(m.rps, 0)} | ${cellOf(m.p50Us, 0)} | ${
        cellOf(m.p99Us, 0)
      } | ${cellOf(m.p999Us, 0)} | ${cellOf(m.cpuS, 2)} | ${cellOf(m.peakRssMiB, 1)} |` +
        (many
          ? ` ${cellOf(m.firstP99Us, 0)} | ${cellOf(m.firstDone, 0)} | ${
            fmt(m.connMin?.median ?? null, 0)
          } / ${fmt(m.connP50?.median ?? null, 0)} / ${fmt(m.connMax?.median ?? null, 0)} |`
          : "");
    }),
  ];
  for (const ref of REFERENCES) {
    if (!repeated.servers.some((s) => s.ratios[ref.server] !== undefined)) continue;
    out.push(
      "",
      `${ref.label}: the median of the ratios within each round (range):`,
      "",
      "| server | rps | p99 | p999 | peak RSS | server CPU s |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      ...repeated.servers.filter((s) => s.server !== ref.server).map((s) => {
        const r = s.ratios[ref.server]!;
        return `| ${name(s)} | ${cellOf(r.rps, 2)} | ${cellOf(r.p99Us, 2)} | ${
          cellOf(r.p999Us, 2)
        } | ${cellOf(r.peakRssMiB, 2)} | ${cellOf(r.cpuS, 2)} |`;
      }),
    );
  }
  out.push(
    "",
    "Every round:",
    "",
    "| round | server | rps | p99 µs | p999 µs | peak RSS MiB | errors | mismatches | note |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...repeated.rounds.flatMap((rows, i) =>
      rows.map((r) =>
        `| ${i + 1} | ${name(r)} | ${fmt(r.rps, 0)} | ${fmt(r.p99Us, 0)} | ${fmt(r.p999Us, 0)} | ${
          fmt(r.peakRssMiB, 1)
        } | ${fmt(r.errors, 0)} | ${fmt(r.mismatches, 0)} | ${
          r.note.replaceAll("|", "\\|").replaceAll("\n", " ")
        } |`
      )
    ),
  );
  return out;
}
