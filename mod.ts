/**
 * servidor as a library: start a server with a strategy and a service, write
 * your own service against the same interface as the built-ins, and use the
 * `writeAll` that every write in servidor goes through.
 *
 * ```ts
 * import { createStrategy, echo, serve } from "./mod.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const stop = new AbortController();
 * const served = serve({ listener, strategy: createStrategy("poll"), service: echo, signal: stop.signal });
 * stop.abort();
 * const summary = await served;
 * console.log(summary.clients); // 0
 * ```
 *
 * @module
 */
export { serve, type ServeOptions, type ServeSummary } from "./lib/server.ts";
export {
  type HistogramSnapshot,
  prometheusText,
  type ServerObserver,
  ServerStats,
  type ServerStatsOptions,
  type StatsSnapshot,
} from "./lib/stats.ts";
export { serveStats, type StatsServer, type StatsServerOptions } from "./lib/stats_http.ts";
export { parseRate, type Rate, TokenBucket } from "./lib/token_bucket.ts";
export type { ServerContext, Strategy } from "./lib/strategy.ts";
export {
  type ByteService,
  type LineService,
  type PeerInfo,
  type Service,
  type ServiceHooks,
  type Session,
} from "./lib/service.ts";
export { writeAll, WriteError, type Writer } from "./lib/write_all.ts";
export { LineFramer, LineTooLongError } from "./lib/line_framer.ts";
export { createStrategy, type Mode, MODES, type StrategyOptions } from "./strategies/mod.ts";
export { loadService, SERVICES, UnknownServiceError } from "./services/mod.ts";
export { echo } from "./services/echo.ts";
export { runClient } from "./lib/client.ts";
