/**
 * The figures in the Prometheus text exposition format, for `/metrics`.
 *
 * @module
 */
import { REFUSAL_REASONS } from "../admission.ts";
import type { StatsSnapshot } from "./counters.ts";

/**
 * Renders a snapshot in the Prometheus text exposition format (version 0.0.4).
 *
 * @param snapshot What to render.
 * @returns The body of a `/metrics` response.
 *
 * @example
 * ```ts
 * import { ServerStats } from "./counters.ts";
 * import { prometheusText } from "./prometheus.ts";
 * import assert from "node:assert/strict";
 *
 * const stats = new ServerStats({ service: "echo", mode: "poll" });
 * assert.match(prometheusText(stats.snapshot()), /^servidor_connections_open 0$/m);
 * ```
 */
export function prometheusText(snapshot: StatsSnapshot): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, samples: string[]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
  };
  const service = `service="${escapeLabel(snapshot.service)}"`;
  metric("servidor_info", "gauge", "The server's service, its version in force, and strategy.", [
    `servidor_info{${service},mode="${escapeLabel(snapshot.mode)}",service_version="${
      escapeLabel(snapshot.serviceVersion)
    }"} 1`,
  ]);
  metric("servidor_uptime_seconds", "gauge", "Seconds since the server started.", [
    `servidor_uptime_seconds ${snapshot.uptimeSeconds}`,
  ]);
  metric("servidor_connections_open", "gauge", "Connections being served now.", [
    `servidor_connections_open ${snapshot.connectionsOpen}`,
  ]);
  metric("servidor_connections_total", "counter", "Connections accepted and served.", [
    `servidor_connections_total ${snapshot.connectionsTotal}`,
  ]);
  metric(
    "servidor_connections_refused_total",
    "counter",
    "Connections turned away before any service saw them, by reason.",
    REFUSAL_REASONS.map((reason) =>
      `servidor_connections_refused_total{reason="${reason}"} ${snapshot.refused[reason]}`
    ),
  );
  metric("servidor_received_bytes_total", "counter", "Bytes read from clients.", [
    `servidor_received_bytes_total ${snapshot.bytesIn}`,
  ]);
  metric("servidor_sent_bytes_total", "counter", "Bytes written to clients.", [
    `servidor_sent_bytes_total ${snapshot.bytesOut}`,
  ]);
  const { latency } = snapshot;
  const bounds = [...latency.bounds.map(String), "+Inf"];
  metric(
    "servidor_request_duration_seconds",
    "histogram",
    "How long the service took per request: a line, or an input chunk for byte services.",
    [
      ...bounds.map((bound, i) =>
        `servidor_request_duration_seconds_bucket{${service},le="${bound}"} ${
          latency.cumulative[i]
        }`
      ),
      `servidor_request_duration_seconds_sum{${service}} ${latency.sum}`,
      `servidor_request_duration_seconds_count{${service}} ${latency.count}`,
    ],
  );
  if (snapshot.workersAlive !== null) {
    metric("servidor_workers_alive", "gauge", "Workers alive, busy or idle.", [
      `servidor_workers_alive ${snapshot.workersAlive}`,
    ]);
  }
  if (snapshot.workersStuck !== null) {
    metric(
      "servidor_workers_stuck",
      "gauge",
      "Workers terminated past the handler timeout that may still be running.",
      [`servidor_workers_stuck ${snapshot.workersStuck}`],
    );
  }
  return lines.join("\n") + "\n";
}

/** Label values escape backslash, double quote and newline, as the format requires. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
