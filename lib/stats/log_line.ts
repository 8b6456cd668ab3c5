/**
 * One summary line in the log at a fixed interval, for
 * operators who watch logs rather than dashboards.
 *
 * @module
 */
import { logger } from "../log.ts";
import type { StatsSource } from "./counters.ts";
import { histogramQuantile } from "./histogram.ts";
import { StatsHistory } from "./history.ts";
import { summaryLine } from "./summary_line.ts";

const log = logger("stats");

/**
 * Logs a summary of `stats` every `seconds` until `signal` aborts.
 *
 * @param stats The figures to sum up.
 * @param seconds The interval.
 * @param signal Stops the logging.
 */
export function logStatsEvery(stats: StatsSource, seconds: number, signal: AbortSignal): void {
  if (signal.aborted) return;
  // A history of one sample is exactly "the rate since the last line".
  const rates = new StatsHistory(stats, 1);
  rates.sample();
  const timer = setInterval(() => {
    const { requestsPerSecond } = rates.sample();
    const snapshot = stats.snapshot();
    log.info("{summary}", {
      summary: summaryLine(snapshot, requestsPerSecond, histogramQuantile(snapshot.latency, 0.99)),
    });
  }, seconds * 1000);
  signal.addEventListener("abort", () => clearInterval(timer), { once: true });
}
