/**
 * The server's live statistics, kept in one place and fed by every strategy:
 * the accept loop reports connections opening, closing and being refused
 * through {@link ServerObserver}, and the service driver reports how long
 * each request took. Readers take a {@link StatsSnapshot}, which the JSON
 * endpoint, the Prometheus endpoint, the live page and the periodic log line
 * all render.
 *
 * @module
 */
import { REFUSAL_REASONS, type RefusalReason } from "./admission.ts";
import type { Connection } from "./connection.ts";

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

/**
 * What the accept loop tells about connections. Every hook is optional, so
 * an observer that wants only some events implements only those.
 */
export interface ServerObserver {
  /** A connection was accepted and is about to be served. */
  opened?(connection: Connection): void;
  /** A served connection ended; its byte counts are final. */
  closed?(connection: Connection): void;
  /** A connection was turned away before any service saw it. */
  refused?(peer: string, reason: RefusalReason): void;
  /** The service handled one request (a line, or a chunk for byte services) in `seconds`. */
  request?(seconds: number): void;
}

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
 * import { histogramQuantile } from "./stats.ts";
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

/** Everything the statistics know at one moment, ready for JSON. */
export interface StatsSnapshot {
  /** The service's name. */
  service: string;
  /** The strategy's name. */
  mode: string;
  /** Seconds since the server started. */
  uptimeSeconds: number;
  /** Connections being served now. */
  connectionsOpen: number;
  /** Connections accepted and served since the start. */
  connectionsTotal: number;
  /** Connections turned away, by reason. */
  refused: Record<RefusalReason, number>;
  /** Bytes read from clients, open connections included. */
  bytesIn: number;
  /** Bytes written to clients, open connections included. */
  bytesOut: number;
  /** Requests the service handled: lines for line services, input chunks for byte services. */
  requests: number;
  /** How long requests took. */
  latency: HistogramSnapshot;
  /** Workers alive, busy or idle; `null` for strategies without Workers. */
  workersAlive: number | null;
}

/** Anything that can say what the figures are now: one server's or several combined. */
export interface StatsSource {
  /** Everything, now. */
  snapshot(): StatsSnapshot;
}

/** What the statistics are told up front. */
export interface ServerStatsOptions {
  /** The service's name, a label in every per-service figure. */
  service: string;
  /** The strategy's name. */
  mode: string;
  /** Counts Workers alive, for strategies that have them. */
  workersAlive?: () => number;
  /** The clock, in milliseconds; `performance.now` unless a test injects one. */
  now?: () => number;
}

/** The figures every snapshot carries whatever it counts: who, how, for how long. */
class SnapshotHeader {
  readonly service: string;
  readonly #mode: string;
  readonly #workersAlive: (() => number) | undefined;
  readonly #now: () => number;
  readonly #startedAt: number;

  constructor(options: ServerStatsOptions) {
    this.service = options.service;
    this.#mode = options.mode;
    this.#workersAlive = options.workersAlive;
    this.#now = options.now ?? (() => performance.now());
    this.#startedAt = this.#now();
  }

  now(): Pick<StatsSnapshot, "service" | "mode" | "uptimeSeconds" | "workersAlive"> {
    return {
      service: this.service,
      mode: this.#mode,
      uptimeSeconds: (this.#now() - this.#startedAt) / 1000,
      workersAlive: this.#workersAlive?.() ?? null,
    };
  }
}

/** The one set of counters a server keeps; it observes the accept loop. */
export class ServerStats implements ServerObserver, StatsSource {
  readonly #header: SnapshotHeader;
  readonly #open = new Set<Connection>();
  readonly #refused = Object.fromEntries(REFUSAL_REASONS.map((reason) => [reason, 0])) as Record<
    RefusalReason,
    number
  >;
  readonly #latency = new LatencyHistogram();
  #connectionsTotal = 0;
  #closedBytesIn = 0;
  #closedBytesOut = 0;

  /**
   * Starts counting from zero, now.
   *
   * @param options The service and mode to label figures with, and the gauges' sources.
   */
  constructor(options: ServerStatsOptions) {
    this.#header = new SnapshotHeader(options);
  }

  /** The service's name. */
  get service(): string {
    return this.#header.service;
  }

  /** Counts a connection as open; its bytes count live from now on. */
  opened(connection: Connection): void {
    this.#open.add(connection);
    this.#connectionsTotal++;
  }

  /** Moves a connection's final byte counts into the totals. */
  closed(connection: Connection): void {
    if (!this.#open.delete(connection)) return;
    this.#closedBytesIn += connection.bytesIn;
    this.#closedBytesOut += connection.bytesOut;
  }

  /** Counts a connection turned away. */
  refused(_peer: string, reason: RefusalReason): void {
    this.#refused[reason]++;
  }

  /** Counts one handled request and its duration. */
  request(seconds: number): void {
    this.#latency.observe(seconds);
  }

  /** Requests handled so far. */
  get requests(): number {
    return this.#latency.count;
  }

  /** Everything, now. */
  snapshot(): StatsSnapshot {
    let bytesIn = this.#closedBytesIn;
    let bytesOut = this.#closedBytesOut;
    for (const connection of this.#open) {
      bytesIn += connection.bytesIn;
      bytesOut += connection.bytesOut;
    }
    return {
      ...this.#header.now(),
      connectionsOpen: this.#open.size,
      connectionsTotal: this.#connectionsTotal,
      refused: { ...this.#refused },
      bytesIn,
      bytesOut,
      requests: this.#latency.count,
      latency: this.#latency.snapshot(),
    };
  }
}

/**
 * The figures of several servers in one process, added up: `reuseport`
 * runs one whole server per Worker, and each Worker reports its own
 * snapshot from time to time.
 */
export class CombinedStats implements StatsSource {
  readonly #header: SnapshotHeader;
  readonly #parts = new Map<number, StatsSnapshot>();

  /**
   * Starts with no part reported.
   *
   * @param options The service and mode to label figures with, and the gauges' sources.
   */
  constructor(options: ServerStatsOptions) {
    this.#header = new SnapshotHeader(options);
  }

  /**
   * Replaces one part's figures with newer ones.
   *
   * @param part Which server, e.g. a Worker's index.
   * @param snapshot Its figures now; each is cumulative, so the latest replaces the last.
   */
  update(part: number, snapshot: StatsSnapshot): void {
    this.#parts.set(part, snapshot);
  }

  /** Every part's figures added up. */
  snapshot(): StatsSnapshot {
    const parts = [...this.#parts.values()];
    const sum = (pick: (snapshot: StatsSnapshot) => number) =>
      parts.reduce((total, part) => total + pick(part), 0);
    const empty = new LatencyHistogram().snapshot();
    const latency = parts.reduce((total, { latency: part }) => ({
      bounds: total.bounds,
      cumulative: total.cumulative.map((count, i) => count + (part.cumulative[i] ?? 0)),
      sum: total.sum + part.sum,
      count: total.count + part.count,
    }), empty);
    return {
      ...this.#header.now(),
      connectionsOpen: sum((part) => part.connectionsOpen),
      connectionsTotal: sum((part) => part.connectionsTotal),
      refused: Object.fromEntries(
        REFUSAL_REASONS.map((reason) => [reason, sum((part) => part.refused[reason])]),
      ) as Record<RefusalReason, number>,
      bytesIn: sum((part) => part.bytesIn),
      bytesOut: sum((part) => part.bytesOut),
      requests: latency.count,
      latency,
    };
  }
}

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

/**
 * Renders a snapshot in the Prometheus text exposition format (version 0.0.4).
 *
 * @param snapshot What to render.
 * @returns The body of a `/metrics` response.
 *
 * @example
 * ```ts
 * import { prometheusText, ServerStats } from "./stats.ts";
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
  metric("servidor_info", "gauge", "The server's service and strategy.", [
    `servidor_info{${service},mode="${escapeLabel(snapshot.mode)}"} 1`,
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
  return lines.join("\n") + "\n";
}

/** Label values escape backslash, double quote and newline, as the format requires. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * One line that sums the figures up, for `--stats-interval`.
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
