/**
 * The last few minutes of the figures, sampled once a tick, for the live
 * page's chart and the periodic log line's rates.
 *
 * @module
 */
import type { StatsSource } from "./counters.ts";

/** One point of the live page's chart. */
export interface HistorySample {
  /** When, in milliseconds since the epoch. */
  time: number;
  /** Connections open at that moment. */
  connectionsOpen: number;
  /** Connections accepted per second since the previous sample. */
  connectionsPerSecond: number;
  /** Requests handled per second since the previous sample. */
  requestsPerSecond: number;
}

/**
 * The last few minutes of the figures, one sample per tick, so that a page
 * opened late still draws a chart of what came before it.
 */
export class StatsHistory {
  readonly #stats: StatsSource;
  readonly #capacity: number;
  readonly #samples: HistorySample[] = [];
  #previous: { time: number; connections: number; requests: number } | undefined;

  /**
   * Keeps no samples yet.
   *
   * @param stats What to sample.
   * @param capacity How many samples to keep; older ones are dropped.
   */
  constructor(stats: StatsSource, capacity: number) {
    this.#stats = stats;
    this.#capacity = capacity;
  }

  /**
   * Takes one sample; rates are per second since the previous sample.
   *
   * @param time Milliseconds since the epoch.
   */
  sample(time: number = Date.now()): HistorySample {
    const snapshot = this.#stats.snapshot();
    const previous = this.#previous;
    const seconds = previous ? Math.max((time - previous.time) / 1000, 1e-3) : 1;
    const sample: HistorySample = {
      time,
      connectionsOpen: snapshot.connectionsOpen,
      connectionsPerSecond: previous
        ? (snapshot.connectionsTotal - previous.connections) / seconds
        : 0,
      requestsPerSecond: previous ? (snapshot.requests - previous.requests) / seconds : 0,
    };
    this.#previous = {
      time,
      connections: snapshot.connectionsTotal,
      requests: snapshot.requests,
    };
    this.#samples.push(sample);
    if (this.#samples.length > this.#capacity) this.#samples.shift();
    return sample;
  }

  /** The samples kept, oldest first. */
  samples(): HistorySample[] {
    return [...this.#samples];
  }
}
