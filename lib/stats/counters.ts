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
import { REFUSAL_REASONS, type RefusalReason } from "../admission.ts";
import type { Connection } from "../connection.ts";
import { type HistogramSnapshot, LatencyHistogram } from "./histogram.ts";

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

/** Everything the statistics know at one moment, ready for JSON. */
export interface StatsSnapshot {
  /** The service's name. */
  service: string;
  /** The strategy's name. */
  mode: string;
  /** The version new clients get: a short hash of the module's text, or `builtin`. */
  serviceVersion: string;
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
  /**
   * Workers terminated past the handler timeout that may still be running
   * (and count against the bound on Workers); `null` where no handler is timed.
   */
  workersStuck: number | null;
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
  /** The version new clients get, asked at each snapshot (a reload changes it); `builtin` unless given. */
  serviceVersion?: () => string;
  /** Counts Workers stuck past the handler timeout, for strategies that time handlers. */
  workersStuck?: () => number;
  /** The clock, in milliseconds; `performance.now` unless a test injects one. */
  now?: () => number;
}

/** The figures every snapshot carries whatever it counts: who, how, for how long. */
class SnapshotHeader {
  readonly service: string;
  readonly #mode: string;
  readonly #workersAlive: (() => number) | undefined;
  readonly #serviceVersion: () => string;
  readonly #workersStuck: (() => number) | undefined;
  readonly #now: () => number;
  readonly #startedAt: number;

  constructor(options: ServerStatsOptions) {
    this.service = options.service;
    this.#mode = options.mode;
    this.#workersAlive = options.workersAlive;
    this.#serviceVersion = options.serviceVersion ?? (() => "builtin");
    this.#workersStuck = options.workersStuck;
    this.#now = options.now ?? (() => performance.now());
    this.#startedAt = this.#now();
  }

  now(): Pick<
    StatsSnapshot,
    "service" | "mode" | "serviceVersion" | "uptimeSeconds" | "workersAlive" | "workersStuck"
  > {
    return {
      service: this.service,
      mode: this.#mode,
      serviceVersion: this.#serviceVersion(),
      uptimeSeconds: (this.#now() - this.#startedAt) / 1000,
      workersAlive: this.#workersAlive?.() ?? null,
      workersStuck: this.#workersStuck?.() ?? null,
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
