/**
 * The messages between the main thread and the Workers of `reuseport`. Unlike
 * `workers`, no bytes cross here: each Worker owns its listener and its
 * clients' sockets, and only start, stop and the final counts are exchanged.
 *
 * @module
 */
import type { Refusal } from "../lib/admission.ts";
import type { BusSpec } from "../lib/chat/open_bus.ts";
import type { ServeSummary } from "../lib/server.ts";
import type { ServeSettings } from "../lib/settings.ts";
import type { StatsSnapshot } from "../lib/stats/counters.ts";

/** How often a Worker that keeps statistics reports them while it serves. */
export const STATS_REPORT_MS = 500;

/** From the main thread to a `reuseport` Worker. */
export type ToListener =
  /** Listen on this address with SO_REUSEPORT and serve until `stop`. */
  | {
    type: "start";
    /** 1 for the first Worker; with `threads`, it interleaves connection ids. */
    index: number;
    threads: number;
    hostname: string;
    port: number;
    /** The listen backlog each Worker asks for. */
    backlog: number;
    /** The settings of the Worker's own server, the same type `serve()` takes. */
    settings: ServeSettings;
    /**
     * The service's version, when it may be replaced while the server runs;
     * the Worker then logs which version each client gets.
     */
    serviceVersion?: string;
    bus: BusSpec;
    /** Keep statistics and report them every {@link STATS_REPORT_MS}, and once more at the end. */
    reportStats: boolean;
  }
  /** Stop accepting, close every client, and report `stopped`. */
  | { type: "stop" }
  /** Load this version of the service and give it to every client accepted from now on. */
  | { type: "service"; specifier: string; version: string }
  /**
   * The answer to an `admit`: no refusal means the client was admitted and
   * counted. `idleTimeoutMs` is the idle timeout in force for it, which a
   * reload may have changed since `start`.
   */
  | { type: "admitted"; request: number; refusal: Refusal | undefined; idleTimeoutMs: number };

/** From a `reuseport` Worker to the main thread. */
export type FromListener =
  /** The Worker's listener is bound; the kernel may send it connections. */
  | { type: "listening" }
  /** The answer to a `service`: the version is in force here, or `error` says why not. */
  | { type: "serving"; version: string; error?: string }
  /** The Worker could not start; `reason` is one line. */
  | { type: "failed"; reason: string }
  /** The Worker has stopped; what it did. */
  | { type: "stopped"; summary: ServeSummary }
  /** The Worker's statistics now; each report replaces the last. */
  | { type: "stats"; snapshot: StatsSnapshot }
  /** May a client from `host` be served? The main thread's admission decides for all Workers. */
  | { type: "admit"; request: number; host: string }
  /** A client from `host` that was admitted has gone. */
  | { type: "release"; host: string };
