/**
 * servidor as a library: open a listener on any transport (TCP over IPv4 or
 * IPv6, TLS, a Unix socket), serve it with a concurrency strategy and a
 * service, write your own service against the same interface as the
 * built-ins, test it in memory or under every mode with the testing kit
 * (`testing.ts`), run a program per client inetd-style, and use the
 * `writeAll` that every write in servidor goes through.
 *
 * ```ts
 * import { createStrategy, type LineService, openListener, serve } from "./mod.ts";
 *
 * const shout: LineService = {
 *   name: "shout",
 *   description: "answers each line in capitals",
 *   framing: "lines",
 *   line: (session, line) => session.sendLine(line.toUpperCase()),
 * };
 *
 * const { listener, address } = await openListener({
 *   transport: "tcp",
 *   hostname: "127.0.0.1",
 *   port: 0,
 * });
 * const stop = new AbortController();
 * const served = serve({ listener, strategy: createStrategy("poll"), service: shout, shutdown: stop.signal });
 * console.log(`listening on ${address}`);
 * stop.abort();
 * const summary = await served;
 * console.log(summary.clients); // 0
 * ```
 *
 * @module
 */
export {
  DEFAULT_GRACE_MS,
  serve,
  type ServeOptions,
  type ServeSummary,
  SHUTDOWN_NOTICE,
} from "./lib/server.ts";
export { CurrentService, type ServiceVersion } from "./lib/current_service.ts";
export {
  Admission,
  type AdmissionClient,
  type AdmissionGate,
  type AdmissionRules,
  type Census,
  DEFAULT_MAX_CONNS,
  type Refusal,
  REFUSAL_REASONS,
  type RefusalReason,
} from "./lib/admission.ts";
export { parseRate, type Rate, TokenBucket } from "./lib/token_bucket.ts";
export {
  CombinedStats,
  type ServerObserver,
  ServerStats,
  type ServerStatsOptions,
  type StatsSnapshot,
  type StatsSource,
} from "./lib/stats/counters.ts";
export { type HistogramSnapshot } from "./lib/stats/histogram.ts";
export { prometheusText } from "./lib/stats/prometheus.ts";
export { serveStats, type StatsServer, type StatsServerOptions } from "./lib/stats/http.ts";
export type { RequestTimer } from "./lib/service_driver.ts";
export { Cidr, CidrError, formatIp, type IpAddress, parseIp } from "./lib/cidr.ts";
export type { ServerContext, Strategy } from "./lib/strategy.ts";
export type {
  BufferSocket,
  ChunkReader,
  ChunkSocket,
  CloseCallback,
  Connection,
  ConnectionReader,
  Socket,
  SocketBase,
} from "./lib/connection.ts";
export type { Hub } from "./lib/chat/hub.ts";
export {
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevelName,
  type LogSettings,
} from "./lib/log.ts";
export {
  type ByteService,
  type LineService,
  type PeerInfo,
  type Service,
  type ServiceHooks,
  serviceProblems,
  type Session,
} from "./lib/service.ts";
export { writeAll, WriteError, type Writer } from "./lib/write_all.ts";
export { LineFramer, LineTooLongError } from "./lib/line_framer.ts";
export {
  createStrategy,
  type Mode,
  MODES,
  type StrategyName,
  type StrategyOptions,
} from "./strategies/mod.ts";
export {
  type LoadedService,
  loadService,
  loadServiceVersion,
  SERVICE_FACTORIES,
  SERVICE_NAMES,
  type ServiceFactory,
  SERVICES,
  serviceSpecifier,
  UnknownServiceError,
} from "./services/mod.ts";
export { echo } from "./services/echo.ts";
export { createExecService, ucspiEnvironment } from "./services/exec.ts";
export {
  type Listener,
  ListenError,
  type Listening,
  type ListenOptions,
  openListener,
  TCP_APIS,
  type TcpApi,
} from "./lib/listen.ts";
export { type ClientOptions, connectTo, type Reader, runClient } from "./lib/client.ts";
export { type Bus, type BusEvent, localBus, MessagePortBus } from "./lib/chat/bus.ts";
export { type BusSpec, openBus, type RedisBusModule } from "./lib/chat/open_bus.ts";
export { parseProxyHeader, type ProxyHeader, ProxyProtocolError } from "./lib/proxy_protocol.ts";
export {
  type ModeControls,
  type ModeSettings,
  type RunningServer,
  serveMode,
  type StatsSettings,
} from "./strategies/serve_mode.ts";
export type { ReusePortSettings } from "./strategies/reuseport.ts";
export type { WorkersOptions } from "./strategies/workers.ts";
export type { ProcessesOptions } from "./strategies/processes.ts";
export type { ServeControls, ServeSettings } from "./lib/settings.ts";
export { SettingError } from "./lib/errors.ts";
export { ServiceReloader } from "./services/reload.ts";
export {
  checkUnderEveryMode,
  type EveryModeOptions,
  type ModeContext,
  ModeFailures,
  openTestSession,
  type ServiceClient,
  TestClient,
  type TestSession,
  type TestSessionOptions,
} from "./testing.ts";
