/**
 * The statistics over HTTP: `/stats.json` for programs,
 * `/metrics` for Prometheus, `/history.json` for the chart, and `/` for
 * people: a page that polls the other two and redraws itself every second.
 * The page carries its own script and chart, so it works without internet.
 *
 * @module
 */
import { formatHostPort } from "../address.ts";
import { ListenError, listenReason } from "../listen.ts";
import type { StatsSource } from "./counters.ts";
import { StatsHistory } from "./history.ts";
import { STATS_PAGE_HTML } from "./page.ts";
import { prometheusText } from "./prometheus.ts";
import { serveSmallHttp, type SmallRequest } from "./small_http.ts";

/** Samples kept for the chart: five minutes at one a second. */
export const HISTORY_SAMPLES = 300;
/** How often the chart's history is sampled. */
const HISTORY_INTERVAL_MS = 1000;

/** What {@link serveStats} needs. */
export interface StatsServerOptions {
  /** The figures to serve. */
  stats: StatsSource;
  /** Where to listen; loopback unless the operator chose otherwise. */
  hostname: string;
  /** The port, 0 for any free one. */
  port: number;
  /** Abort it to stop serving. */
  signal: AbortSignal;
}

/** A running statistics endpoint. */
export interface StatsServer {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Resolves once it has stopped, after `signal` aborted. */
  readonly finished: Promise<void>;
}

/**
 * Serves the statistics over HTTP until `signal` aborts.
 *
 * @param options The figures, the address and the stop signal.
 * @throws {ListenError} When the address cannot be listened on.
 */
export function serveStats(options: StatsServerOptions): StatsServer {
  const { stats, signal } = options;
  const history = new StatsHistory(stats, HISTORY_SAMPLES);
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: options.hostname, port: options.port });
  } catch (error) {
    throw new ListenError(
      `cannot listen on ${formatHostPort(options.hostname, options.port)}: ${listenReason(error)}`,
      { cause: error },
    );
  }
  const finished = serveSmallHttp({
    listener,
    handler: (request) => route(request, stats, history),
    signal,
  });
  history.sample();
  const sampler = setInterval(() => history.sample(), HISTORY_INTERVAL_MS);
  const stopSampling = () => clearInterval(sampler);
  if (signal.aborted) stopSampling();
  else signal.addEventListener("abort", stopSampling, { once: true });
  return { addr: listener.addr, finished: finished.finally(stopSampling) };
}

/** Answers one request to the statistics endpoint. */
function route(request: SmallRequest, stats: StatsSource, history: StatsHistory): Response {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  const noStore = { "cache-control": "no-store" };
  switch (request.path) {
    case "/stats.json":
      return Response.json(stats.snapshot(), { headers: noStore });
    case "/history.json":
      return Response.json(history.samples(), { headers: noStore });
    case "/metrics":
      return new Response(prometheusText(stats.snapshot()), {
        headers: { ...noStore, "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    case "/":
      return new Response(STATS_PAGE_HTML, {
        headers: { ...noStore, "content-type": "text/html; charset=utf-8" },
      });
    default:
      return new Response("not found\n", { status: 404 });
  }
}
