/**
 * The report: `bench/results/latest.md` (one Markdown table per scenario,
 * also printed on stdout), `latest.json` (the raw numbers) and `latest.svg`
 * (requests/s per server, drawn with Vega-Lite).
 *
 * @module
 */

import { describeError } from "../../lib/errors.ts";
import { manyTable } from "./many.ts";
import type { ScenarioResult } from "./measure.ts";
import { log } from "./processes.ts";
import { repeatedTables } from "./repeat.ts";

const RESULTS = new URL("../results/", import.meta.url);

export interface Report {
  generatedAt: string;
  machine: { cpu: string; cpus: number; os: string; deno: string };
  durationS: number;
  /** With `--repeat=N` (N > 1): how many interleaved rounds each scenario ran. */
  repeat?: number;
  loadGenerator: "echoload" | "bench/load.ts";
  notes: string[];
  scenarios: ScenarioResult[];
}

export async function machine(): Promise<Report["machine"]> {
  let cpu = "unknown CPU";
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return {
    cpu,
    cpus: navigator.hardwareConcurrency,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
  };
}

export function fmt(value: number | null, digits: number): string {
  if (value === null || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Makes free text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function markdown(report: Report): string {
  const m = report.machine;
  const out = [
    `# servidor benchmark`,
    "",
    `${report.generatedAt} · ${m.cpu}, ${m.cpus} CPUs · ${m.os} · Deno ${m.deno}`,
    "",
    `${report.durationS} s of load per server and scenario, from ${
      report.loadGenerator === "echoload" ? "`echoload` (C, epoll, one thread)" : "`bench/load.ts`"
    }, on 127.0.0.1, after an untimed warm-up (with echoload, on the same connections: \`-w\`, ` +
    "the first round trips reported apart as first_p99); the load generator and the server " +
    "share the machine's CPUs. " +
    "Server CPU s is the server's utime + stime during the load; peak RSS is its VmHWM.",
  ];
  if (report.notes.length > 0) out.push("", ...report.notes.map((note) => `- ${note}`));
  for (const scenario of report.scenarios) {
    out.push("", `## ${scenario.name}: ${scenario.title}`, "");
    if (scenario.note) out.push(cell(scenario.note), "");
    if (scenario.rows.length === 0) {
      out.push("No server was run for this scenario.");
      continue;
    }
    if (scenario.repeated !== undefined) {
      // Medians, ranges and per-round ratios replace the one run's tables.
      out.push(...repeatedTables(scenario).slice(1));
      out.push(...probeTable(scenario));
      continue;
    }
    const vs = scenario.baseline === null
      ? "ratio"
      : `× ${scenario.baseline.replace(/^servidor /, "")}`;
    out.push(
      `| server | rps | MB/s | p50 µs | p99 µs | errors | mismatches | server CPU s | peak RSS MiB | ${vs} |`,
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const r of scenario.rows) {
      const name = r.group === "servidor" ? `**${r.server}**` : r.server;
      if (r.rps === null) {
        out.push(`| ${name} | ${cell(r.note)} | | | | | | | | |`);
        continue;
      }
      out.push(
        `| ${name}${r.note ? ` (${cell(r.note)})` : ""} | ${fmt(r.rps, 0)} | ${fmt(r.mbps, 2)} | ${
          fmt(r.p50Us, 0)
        } | ${fmt(r.p99Us, 0)} | ${fmt(r.errors, 0)} | ${fmt(r.mismatches, 0)} | ${
          fmt(r.cpuS, 2)
        } | ${fmt(r.peakRssMiB, 1)} | ${fmt(r.ratio, 2)} |`,
      );
    }
    out.push(...manyTable(scenario));
    out.push(...probeTable(scenario));
  }
  return out.join("\n") + "\n";
}

/** The compute scenario's latency probe, one line per strategy (and round). */
function probeTable(scenario: ScenarioResult): string[] {
  if (scenario.probe === undefined || scenario.probe.length === 0) return [];
  return [
    "",
    "A light request `sha256 1 x` on one connection, alone and while another connection's " +
    `heavy request \`sha256 ${scenario.probe[0]!.heavyRounds} x\` is being computed:`,
    "",
    "| server | light, idle ms | light, during heavy ms | heavy ms | note |",
    "| --- | ---: | ---: | ---: | --- |",
    ...scenario.probe.map((p) =>
      `| **${p.server}** | ${fmt(p.lightIdleMs, 2)} | ${fmt(p.lightDuringHeavyMs, 1)} | ${
        fmt(p.heavyMs, 0)
      } | ${cell(p.note)} |`
    ),
  ];
}

/** Requests per second of every server, one panel per scenario, drawn by Vega-Lite. */
async function chart(report: Report): Promise<string> {
  const vl = await import("vega-lite");
  const vega = await import("vega");
  const values = report.scenarios.flatMap((scenario) =>
    scenario.rows.filter((row) => row.rps !== null).map((row) => ({
      scenario: scenario.name,
      server: row.server,
      group: row.group,
      rps: Math.round(row.rps!),
    }))
  );
  const spec: import("vega-lite").TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `servidor vs references: requests/s (${report.durationS} s runs${
      report.repeat === undefined ? "" : `, medians of ${report.repeat} rounds`
    }, ${report.machine.cpus} CPUs)`,
    data: { values },
    facet: {
      row: {
        field: "scenario",
        type: "nominal",
        title: null,
        sort: report.scenarios.map((scenario) => scenario.name),
      },
    },
    spec: {
      width: 480,
      layer: [
        {
          mark: "bar",
          encoding: {
            y: { field: "server", type: "nominal", title: null, sort: null },
            x: { field: "rps", type: "quantitative", title: "requests/s" },
            color: {
              field: "group",
              type: "nominal",
              title: null,
              scale: { domain: ["servidor", "reference"], range: ["#d95f02", "#7570b3"] },
            },
          },
        },
        {
          mark: { type: "text", align: "left", dx: 3, fontSize: 10 },
          encoding: {
            y: { field: "server", type: "nominal", sort: null },
            x: { field: "rps", type: "quantitative" },
            text: { field: "rps", type: "quantitative", format: ",d" },
          },
        },
      ],
    },
    resolve: { scale: { x: "independent", y: "independent" } },
  };
  // Vega-Lite warns that the bar and label layers of each panel share a field; that is intended.
  const quietLogger = vega.logger(vega.Error);
  const view = new vega.View(vega.parse(vl.compile(spec, { logger: quietLogger }).spec), {
    renderer: "none",
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Where a partial run (`--quick`, or only some scenarios, servers or a
 * shorter duration) writes its report: a folder `.gitignore` keeps out of
 * git, so that a smoke test never replaces the committed results of a full
 * run, and `git status` stays clean after one.
 */
export const PARTIAL_RESULTS = new URL("partial/", RESULTS);

/**
 * Writes the report's `latest.md`, `latest.json` and `latest.svg`.
 *
 * @param report What was measured.
 * @param full Whether this was a full run, whose results replace the
 *   committed ones in `bench/results/`; any other run writes to
 *   {@link PARTIAL_RESULTS}.
 */
export async function writeResults(report: Report, full: boolean): Promise<void> {
  const folder = full ? RESULTS : PARTIAL_RESULTS;
  await Deno.mkdir(folder, { recursive: true });
  const md = markdown(report);
  await Deno.writeTextFile(new URL("latest.md", folder), md);
  await Deno.writeTextFile(
    new URL("latest.json", folder),
    JSON.stringify(report, null, 2) + "\n",
  );
  try {
    await Deno.writeTextFile(new URL("latest.svg", folder), await chart(report));
  } catch (error) {
    // The tables are the result; a chart that cannot be drawn (no npm access) is a note.
    log(`bench:compare: no chart: ${describeError(error)}`);
  }
  console.log("\n" + md);
  log(
    `Wrote ${new URL("latest.md", folder).pathname}, latest.json and latest.svg${
      full ? "." : " (a partial run: bench/results/latest.* are left as they were)."
    }`,
  );
}
