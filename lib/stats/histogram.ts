/**
 * The request latency histogram: fixed buckets, counted as Prometheus counts
 * them, and a quantile estimate read from them.
 *
 * @module
 */

/**
 * Upper bounds, in seconds, of the request latency histogram's buckets. They
 * span a fast line service's tens of microseconds to a CPU-heavy `compute`
 * request's seconds; anything slower falls in the implicit `+Inf` bucket.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** A cumulative histogram in the Prometheus sense. */
export interface HistogramSnapshot {
  /** Upper bounds in seconds, ascending; the `+Inf` bucket is implied. */
  bounds: number[];
  /** Observations at or below each bound, then the total as the `+Inf` bucket. */
  cumulative: number[];
  /** The sum of every observation, in seconds. */
  sum: number;
  /** How many observations there were. */
  count: number;
}

/** Request latencies, in buckets. */
export class LatencyHistogram {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  /**
   * Makes an empty histogram.
   *
   * @param bounds Upper bounds in seconds, ascending.
   */
  constructor(bounds: readonly number[] = LATENCY_BUCKETS_SECONDS) {
    this.#bounds = bounds;
    this.#counts = new Array(bounds.length + 1).fill(0);
  }

  /**
   * Counts one observation.
   *
   * @param seconds How long the request took.
   */
  observe(seconds: number): void {
    let bucket = 0;
    while (bucket < this.#bounds.length && seconds > this.#bounds[bucket]!) bucket++;
    this.#counts[bucket]!++;
    this.#sum += seconds;
    this.#count++;
  }

  /** The number of observations so far. */
  get count(): number {
    return this.#count;
  }

  /** The buckets as Prometheus reports them: cumulative, `+Inf` last. */
  snapshot(): HistogramSnapshot {
    let running = 0;
    const cumulative = this.#counts.map((count) => running += count);
    return { bounds: [...this.#bounds], cumulative, sum: this.#sum, count: this.#count };
  }

  /**
   * An estimate of a quantile; see {@link histogramQuantile}.
   *
   * @param q From 0 to 1, e.g. 0.99.
   */
  quantile(q: number): number {
    return histogramQuantile(this.snapshot(), q);
  }
}

/**
 * An estimate of a quantile: the upper bound of the bucket it falls in.
 *
 * @param histogram A histogram as {@link LatencyHistogram.snapshot} gives it.
 * @param q From 0 to 1, e.g. 0.99.
 * @returns Seconds, `Infinity` if it lies past the last bound, or `NaN` with no observations.
 *
 * @example
 * ```ts
 * import { histogramQuantile } from "./histogram.ts";
 * import assert from "node:assert/strict";
 *
 * const histogram = { bounds: [0.001, 0.01], cumulative: [9, 10, 10], sum: 0.02, count: 10 };
 * assert.equal(histogramQuantile(histogram, 0.5), 0.001);
 * assert.equal(histogramQuantile(histogram, 0.99), 0.01);
 * ```
 */
export function histogramQuantile(histogram: HistogramSnapshot, q: number): number {
  if (histogram.count === 0) return NaN;
  const rank = q * histogram.count;
  const bucket = histogram.cumulative.findIndex((running) => running >= rank);
  return bucket === -1 ? Infinity : histogram.bounds[bucket] ?? Infinity;
}
