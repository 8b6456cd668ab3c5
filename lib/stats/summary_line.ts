/**
 * The figures summed up in one line of text, as the periodic log line
 * writes them.
 *
 * @module
 */
import { REFUSAL_REASONS } from "../admission.ts";
import type { StatsSnapshot } from "./counters.ts";

/**
 * One line that sums the figures up, for the periodic log line.
 *
 * @param snapshot What to sum up.
 * @param requestsPerSecond The recent request rate.
 * @param p99Seconds The 99th percentile latency estimate.
 */
export function summaryLine(
  snapshot: StatsSnapshot,
  requestsPerSecond: number,
  p99Seconds: number,
): string {
  const refused = REFUSAL_REASONS.map((reason) => `${reason}:${snapshot.refused[reason]}`)
    .join(",");
  const p99 = Number.isFinite(p99Seconds) ? `${(p99Seconds * 1000).toFixed(2)}ms` : "n/a";
  const workers = snapshot.workersAlive === null ? "" : ` workers=${snapshot.workersAlive}`;
  return `stats: open=${snapshot.connectionsOpen} total=${snapshot.connectionsTotal} ` +
    `refused=${refused} in=${snapshot.bytesIn} out=${snapshot.bytesOut} ` +
    `requests=${snapshot.requests} rps=${requestsPerSecond.toFixed(1)} p99<=${p99}` +
    `${workers} uptime=${Math.round(snapshot.uptimeSeconds)}s`;
}
