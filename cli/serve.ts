/**
 * The `serve` command: its flag table, which makes both `--help` and the
 * parser, and the wiring from flags to `serveMode()`. Every flag is one
 * entry; where a value goes is said in the entry itself.
 *
 * @module
 */
import type { AdmissionRules } from "../lib/admission.ts";
import { DEFAULT_MAX_CONNS } from "../lib/admission.ts";
import { formatHostPort } from "../lib/address.ts";
import { describeError, SettingError } from "../lib/errors.ts";
import { DEFAULT_MAX_LINE } from "../lib/line_framer.ts";
import {
  LISTEN_BACKLOG,
  ListenError,
  type ListenOptions,
  TCP_APIS,
  type TcpApi,
} from "../lib/listen.ts";
import {
  announcement,
  configureLogging,
  counted,
  LOG_FORMATS,
  LOG_LEVELS,
  logger,
  type LogSettings,
} from "../lib/log.ts";
import { PidFile, PidFileError } from "../lib/pid_file.ts";
import { ServiceReloader } from "../services/reload.ts";
import { DEFAULT_GRACE_MS } from "../lib/server.ts";
import { loadServiceVersion, SERVICE_NAMES, SERVICES, serviceSpecifier } from "../services/mod.ts";
import { MODES } from "../strategies/mod.ts";
import { DEFAULT_MAX_PROCESSES } from "../strategies/processes.ts";
import { DEFAULT_THREADS } from "../strategies/reuseport.ts";
import { type ModeSettings, serveMode } from "../strategies/serve_mode.ts";
import {
  DEFAULT_HANDLER_TIMEOUT_MS,
  DEFAULT_IDLE_WORKERS,
  DEFAULT_MAX_WORKERS,
} from "../strategies/workers.ts";
import { Admission } from "../lib/admission.ts";
import { busSpec } from "./bus.ts";
import {
  ConfigReloader,
  MAX_CONNECTION_LIMIT,
  MAX_IDLE_TIMEOUT_SECONDS,
  onHangup,
  readConfigAtStart,
  type ReloadableSettings,
} from "./config.ts";
import {
  type Flag,
  flagForSetting,
  flagHelp,
  helpFlag,
  listFlag,
  parseFlags,
  switchFlag,
  UsageError,
  valueFlag,
} from "./flag.ts";
import {
  cidr,
  host,
  oneOf,
  port,
  positiveSeconds,
  rate,
  seconds,
  text,
  wholeNumber,
} from "./parse.ts";
import { printError, printLine } from "./output.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// Made ahead: inside a table entry, TypeScript cannot infer a generic parser's type.
const mode = oneOf(MODES);
const logLevel = oneOf(LOG_LEVELS);
const logFormat = oneOf(LOG_FORMATS);
const tcpApi = oneOf(TCP_APIS);

/** What the serve flags fill in, before the flags given together are checked. */
export interface ServeCommandLine {
  /** `-h` or `--help`. */
  help: boolean;
  /** The settings every flag with a direct setting writes to. */
  settings: Partial<ModeSettings>;
  /** The listening flags, which together decide the transport. */
  listen: {
    hostname?: string;
    port?: number;
    certFile?: string;
    keyFile?: string;
    unix?: string;
    ipv6Only?: boolean;
    backlog?: number;
    api?: TcpApi;
  };
  /** The admission flags, which a config file may override. */
  rules: Mutable<AdmissionRules>;
  /** The logging flags. */
  log: Partial<LogSettings>;
  /** The statistics flags. */
  stats: { hostname?: string; port?: number; intervalSeconds?: number };
  /** `--config`. */
  config?: string;
  /** `--reload-service`. */
  reloadService: boolean;
  /** `--pid-file`. */
  pidFile?: string;
}

/** Every flag of `serve`, in the order `--help` lists them. */
export const SERVE_FLAGS: readonly Flag<ServeCommandLine>[] = [
  valueFlag({
    name: "mode",
    placeholder: "MODE",
    help: MODES.join(" | "),
    default: "poll",
    setting: "mode",
    parse: mode,
    set: (line, value) => void (line.settings.mode = value),
  }),
  valueFlag({
    name: "service",
    placeholder: "NAME",
    help: `${SERVICE_NAMES.join(" | ")} | ./your_service.ts`,
    default: "echo",
    setting: "service",
    parse: (value) => serviceSpecifier(value),
    set: (line, service) => void (line.settings.service = service),
  }),
  switchFlag({
    name: "reload-service",
    help: "load a new version of ./your_service.ts when it changes on disk or on\n" +
      "SIGHUP; new clients get it, connected ones keep theirs",
    set: (line, on) => void (line.reloadService = on),
  }),
  valueFlag({
    name: "host",
    placeholder: "HOST",
    help: "address to listen on, IPv4 or IPv6\n:: takes IPv4 clients too (dual stack)",
    default: "127.0.0.1",
    parse: host,
    set: (line, hostname) => void (line.listen.hostname = hostname),
  }),
  switchFlag({
    name: "ipv6-only",
    help: "with --host=:: (or another IPv6 address), turn IPv4 clients away",
    setting: "ipv6Only",
    set: (line, on) => void (line.listen.ipv6Only = on),
  }),
  valueFlag({
    name: "port",
    placeholder: "PORT",
    help: "port to listen on, 0 for any free one",
    default: "7000",
    parse: port,
    set: (line, value) => void (line.listen.port = value),
  }),
  valueFlag({
    name: "backlog",
    placeholder: "N",
    help: "handshakes the kernel completes ahead of accept; a deep one takes a connect\n" +
      "storm without drops but grows memory in the burst (capped by net.core.somaxconn)",
    default: String(LISTEN_BACKLOG),
    setting: "backlog",
    parse: wholeNumber(1, LISTEN_BACKLOG),
    set: (line, count) => void (line.listen.backlog = count),
  }),
  valueFlag({
    name: "tcp-api",
    placeholder: "API",
    help: `${TCP_APIS.join(" | ")}: which of Deno's APIs serves plain TCP (default node:\n` +
      "Deno's node:net, no read pending per idle client, fair to thousands of clients;\n" +
      "deno: Deno.listen and Deno.Conn, as TLS, --unix and reuseport always are)",
    setting: "api",
    parse: tcpApi,
    set: (line, api) => void (line.listen.api = api),
  }),
  valueFlag({
    name: "tls-cert",
    placeholder: "FILE",
    help: "serve TLS with this PEM certificate chain (needs --tls-key)",
    setting: "certFile",
    parse: text,
    set: (line, file) => void (line.listen.certFile = file),
  }),
  valueFlag({
    name: "tls-key",
    placeholder: "FILE",
    help: "the certificate's PEM private key",
    setting: "keyFile",
    parse: text,
    set: (line, file) => void (line.listen.keyFile = file),
  }),
  valueFlag({
    name: "unix",
    placeholder: "PATH",
    help: "listen on a Unix domain socket instead of --host/--port",
    setting: "path",
    parse: text,
    set: (line, path) => void (line.listen.unix = path),
  }),
  valueFlag({
    name: "max-line",
    placeholder: "BYTES",
    help: "longest line a line service accepts",
    default: String(DEFAULT_MAX_LINE),
    parse: wholeNumber(1, 64 * 1024 * 1024),
    set: (line, bytes) => void (line.settings.maxLine = bytes),
  }),
  valueFlag({
    name: "max-workers",
    placeholder: "N",
    help: "workers: clients served at once; the next ones wait",
    default: String(DEFAULT_MAX_WORKERS),
    parse: wholeNumber(1, 10_000),
    set: (line, count) => void (line.settings.maxWorkers = count),
  }),
  valueFlag({
    name: "idle-workers",
    placeholder: "N",
    help: "workers: Workers started ahead and kept ready between clients",
    default: String(DEFAULT_IDLE_WORKERS),
    parse: wholeNumber(0, 10_000),
    set: (line, count) => void (line.settings.idleWorkers = count),
  }),
  valueFlag({
    name: "max-processes",
    placeholder: "N",
    help: "processes: clients served at once, a process each; the next ones wait",
    default: String(DEFAULT_MAX_PROCESSES),
    parse: wholeNumber(1, 10_000),
    set: (line, count) => void (line.settings.maxProcesses = count),
  }),
  valueFlag({
    name: "max-conns",
    placeholder: "N",
    help: `clients served at once; the next gets "ERR server busy"`,
    default: String(DEFAULT_MAX_CONNS),
    defaultNote: "0 = no limit",
    parse: wholeNumber(0, MAX_CONNECTION_LIMIT),
    set: (line, count) => void (line.rules.maxConns = count),
  }),
  valueFlag({
    name: "max-per-ip",
    placeholder: "N",
    help: "clients at once from one address",
    default: "0",
    defaultNote: "no limit",
    parse: wholeNumber(0, MAX_CONNECTION_LIMIT),
    set: (line, count) => void (line.rules.maxPerIp = count),
  }),
  listFlag({
    name: "allow",
    placeholder: "CIDR",
    help: "only these addresses may connect; repeatable (default: anyone)",
    parse: cidr,
    set: (line, blocks) => void (line.rules.allow = blocks),
  }),
  listFlag({
    name: "deny",
    placeholder: "CIDR",
    help: "these addresses may not connect, even if allowed; repeatable",
    parse: cidr,
    set: (line, blocks) => void (line.rules.deny = blocks),
  }),
  valueFlag({
    name: "idle-timeout",
    placeholder: "SECS",
    help: "close a client when no byte moved for this long",
    default: "0",
    defaultNote: "never",
    parse: seconds(MAX_IDLE_TIMEOUT_SECONDS),
    set: (line, ms) => void (line.settings.idleTimeoutMs = ms),
  }),
  valueFlag({
    name: "rate",
    placeholder: "N/SECS",
    help: "new connections per address: N at once, refilled over SECS;\n" +
      `over it a client gets "ERR rate limited" (default: no limit)`,
    parse: rate,
    set: (line, value) => void (line.rules.rate = value),
  }),
  valueFlag({
    name: "config",
    placeholder: "FILE",
    help: "JSON with any of allow, deny, max-conns, max-per-ip, idle-timeout,\n" +
      "rate (named as the flags, over them); SIGHUP re-reads it",
    parse: text,
    set: (line, file) => void (line.config = file),
  }),
  valueFlag({
    name: "grace",
    placeholder: "SECS",
    help: "on SIGINT/SIGTERM, time open clients get to finish",
    default: String(DEFAULT_GRACE_MS / 1000),
    parse: seconds(3_600),
    set: (line, ms) => void (line.settings.graceMs = ms),
  }),
  valueFlag({
    name: "handler-timeout",
    placeholder: "SECS",
    help: "workers, processes: stop a handler stuck this long (a Worker is cut\n" +
      "off, its thread may spin on; a process is killed)",
    default: String(DEFAULT_HANDLER_TIMEOUT_MS / 1000),
    defaultNote: "0 = never",
    parse: seconds(86_400),
    set: (line, ms) => void (line.settings.handlerTimeoutMs = ms),
  }),
  valueFlag({
    name: "threads",
    placeholder: "N",
    help: "reuseport: Workers, each with its own listener",
    default: String(DEFAULT_THREADS),
    defaultNote: "the cores",
    parse: wholeNumber(1, 1024),
    set: (line, count) => void (line.settings.threads = count),
  }),
  switchFlag({
    name: "proxy-protocol",
    help: "require a PROXY header (v1 or v2) from a load balancer on every connection",
    setting: "proxyProtocol",
    set: (line, on) => void (line.settings.proxyProtocol = on),
  }),
  valueFlag({
    name: "bus",
    placeholder: "BUS",
    help: "local | redis://HOST:PORT: share chat with other servers",
    default: "local",
    parse: busSpec,
    set: (line, bus) => void (line.settings.bus = bus.kind === "local" ? undefined : bus),
  }),
  valueFlag({
    name: "log-level",
    placeholder: "LEVEL",
    help: LOG_LEVELS.join(" | "),
    default: "info",
    parse: logLevel,
    set: (line, level) => void (line.log.level = level),
  }),
  valueFlag({
    name: "log-format",
    placeholder: "FORMAT",
    help: LOG_FORMATS.join(" | "),
    default: "text",
    parse: logFormat,
    set: (line, format) => void (line.log.format = format),
  }),
  valueFlag({
    name: "stats-port",
    placeholder: "PORT",
    help: "serve statistics over HTTP: / (live page), /stats.json, /metrics",
    parse: port,
    set: (line, value) => void (line.stats.port = value),
  }),
  valueFlag({
    name: "stats-host",
    placeholder: "HOST",
    help: "address for --stats-port",
    default: "127.0.0.1",
    parse: host,
    set: (line, hostname) => void (line.stats.hostname = hostname),
  }),
  valueFlag({
    name: "stats-interval",
    placeholder: "S",
    help: "log a one-line summary every S seconds",
    parse: positiveSeconds(86_400),
    set: (line, ms) => void (line.stats.intervalSeconds = ms / 1000),
  }),
  valueFlag({
    name: "pid-file",
    placeholder: "PATH",
    help: "write the process id here once listening; removed on exit",
    parse: text,
    set: (line, path) => void (line.pidFile = path),
  }),
  helpFlag(),
];

/** `servidor --version`, which is a command of its own rather than a serve flag. */
export const VERSION_HELP = "  --version          print servidor's version";

/** `--help` for `serve`, made from {@link SERVE_FLAGS}. */
export function serveHelp(): string {
  const services = Object.values(SERVICES)
    .map((service) => `  ${service.name.padEnd(10)} ${service.description}`);
  return `Usage: servidor [serve] [flags] [-- CMD ARGS...]

Serves one service to many TCP clients with the chosen concurrency strategy.

${flagHelp(SERVE_FLAGS)}
${VERSION_HELP}

Services:
${services.join("\n")}
  exec       -- CMD ARGS: runs CMD for each client, stdin and stdout joined to it (inetd)
  ./FILE.ts  your own service: a module whose default export is a service

Other commands: client (a netcat-like client), bench (a load generator); each takes --help.
`;
}

/**
 * Reads the serve command line: the flags, then the words after `--`, which
 * belong to the service (exec's command), not to servidor.
 *
 * @param commandLine The arguments after `serve`.
 * @throws {UsageError} For a flag that is unknown, malformed or out of range.
 */
export function parseServeCommandLine(commandLine: string[]): ServeCommandLine {
  const separator = commandLine.indexOf("--");
  const args = separator === -1 ? commandLine : commandLine.slice(0, separator);
  const line = parseFlags(args, SERVE_FLAGS, {
    help: false,
    settings: {},
    listen: {},
    rules: {},
    log: {},
    stats: {},
    reloadService: false,
  });
  line.settings.serviceArgs = separator === -1 ? [] : commandLine.slice(separator + 1);
  return line;
}

/** The transport the listening flags ask for together. */
function listenOptions(line: ServeCommandLine): ListenOptions {
  const { hostname = "127.0.0.1", port = 0, certFile, keyFile, unix, ipv6Only, backlog, api } =
    line.listen;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together: give both or neither");
  }
  if (unix !== undefined) {
    if (certFile !== undefined) throw new UsageError("--unix cannot be combined with TLS");
    if (ipv6Only) throw new UsageError("--unix cannot be combined with --ipv6-only");
    if (api === "node") throw new UsageError("--tcp-api=node serves plain TCP, not --unix");
    // A Unix socket's clients have no address, so address rules would lump them together.
    const byAddress = [
      ...(line.rules.allow ? ["allow"] : []),
      ...(line.rules.deny ? ["deny"] : []),
      ...(line.rules.maxPerIp ? ["max-per-ip"] : []),
    ];
    if (byAddress.length > 0) {
      throw new UsageError(
        `--unix cannot be combined with --${
          byAddress.join(", --")
        }: a Unix socket's clients have no address`,
      );
    }
    return { transport: "unix", path: unix };
  }
  if (ipv6Only && !hostname.includes(":")) {
    throw new UsageError(`--ipv6-only needs an IPv6 --host such as ::, not ${hostname}`);
  }
  if (certFile !== undefined && keyFile !== undefined) {
    if (api === "node") throw new UsageError("--tcp-api=node serves plain TCP, not TLS");
    return { transport: "tls", hostname, port, certFile, keyFile, ipv6Only, backlog };
  }
  if (api === "node" && line.settings.mode === "reuseport") {
    // The Workers share the port through Deno.listen's SO_REUSEPORT, and load no node: module.
    throw new UsageError("--tcp-api=node cannot be combined with --mode=reuseport");
  }
  return { transport: "tcp", hostname, port, ipv6Only, backlog, api };
}

/** The settings for `serveMode()`, once the flags given together make sense. */
function modeSettings(line: ServeCommandLine, idleTimeoutMs: number): ModeSettings {
  const { mode, service } = line.settings;
  // Both flags have defaults, so only a table without them could get here.
  if (mode === undefined || service === undefined) throw new Error("no --mode or --service");
  const log: LogSettings = { level: line.log.level ?? "info", format: line.log.format ?? "text" };
  const wantStats = line.stats.port !== undefined || line.stats.intervalSeconds !== undefined;
  return {
    ...line.settings,
    mode,
    service,
    listen: listenOptions(line),
    idleTimeoutMs,
    log,
    stats: wantStats ? line.stats : undefined,
  };
}

/**
 * `--reload-service`: the module is loaded and pinned here, watched, and
 * reloaded on a change or SIGHUP; `serveMode()` serves its current version.
 */
async function reloadableService(settings: ModeSettings): Promise<ServiceReloader> {
  if (!settings.service.startsWith("file:")) {
    throw new UsageError(
      `--reload-service reloads a module of your own: give --service the path of one, not ${settings.service}`,
    );
  }
  try {
    return new ServiceReloader(
      settings.service,
      await loadServiceVersion(settings.service, settings.serviceArgs),
    );
  } catch (error) {
    if (error instanceof SettingError) throw new UsageError(`--service: ${error.message}`);
    throw error;
  }
}

/**
 * Runs `servidor serve`: flags to settings, settings to `serveMode()`, and
 * the signals: SIGINT or SIGTERM begins a graceful shutdown (a second one
 * ends the process), and SIGHUP re-reads `--config`.
 *
 * @param commandLine The arguments after `serve`.
 * @returns The exit status: 0 after a clean stop, 1 when the server could not start.
 * @throws {UsageError} For a mistake in the command line.
 */
export async function serveCommand(commandLine: string[]): Promise<number> {
  const line = parseServeCommandLine(commandLine);
  if (line.help) {
    printLine(Deno.stdout, serveHelp().trimEnd());
    return 0;
  }
  // The settings a reload may change: the command line's, then the config file's over them.
  const base: ReloadableSettings = {
    rules: line.rules,
    idleTimeoutMs: line.settings.idleTimeoutMs ?? 0,
  };
  const initial = line.config === undefined ? base : await readConfigAtStart(line.config, base);
  const settings = modeSettings(line, initial.idleTimeoutMs);
  const admission = new Admission(initial.rules);
  const reloader = line.config === undefined
    ? undefined
    : new ConfigReloader({ path: line.config, base, current: initial, admission });
  const log = settings.log ?? { level: "info", format: "text" };
  configureLogging(log);
  const serviceReloader = line.reloadService ? await reloadableService(settings) : undefined;

  const shutdown = new AbortController();
  let pidFile: PidFile | undefined;
  const onSignal = () => {
    // A second signal means "now": the first one already asked nicely.
    if (shutdown.signal.aborted) {
      pidFile?.remove();
      Deno.exit(130);
    }
    shutdown.abort();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  // A server that dies because its terminal hung up, or because an operator
  // expected a reload, is worse than one that says there is nothing to reload.
  const hangups: Array<() => void> = [];
  if (reloader) hangups.push(reloader.reloadOnHangup(shutdown.signal));
  if (serviceReloader) {
    hangups.push(onHangup(shutdown.signal, () => void serviceReloader.reload("SIGHUP")));
    serviceReloader.watch(shutdown.signal);
  }
  if (hangups.length === 0) {
    hangups.push(onHangup(shutdown.signal, () => {
      logger("config").warn(
        "SIGHUP: nothing to reload without --config or --reload-service; carrying on",
      );
    }));
  }
  const say = (message: string, properties: Record<string, string | number>) => {
    printLine(Deno.stderr, announcement(log.format, message, properties));
  };
  try {
    if (line.pidFile !== undefined) {
      // Written as the server starts listening; a server that cannot start removes it.
      try {
        pidFile = PidFile.write(line.pidFile);
      } catch (error) {
        if (!(error instanceof PidFileError)) throw error;
        printError(error.message);
        return 1;
      }
    }
    let server;
    try {
      server = await serveMode(settings, {
        shutdown: shutdown.signal,
        admission,
        idleTimeoutFor: reloader?.idleTimeoutMs,
        current: serviceReloader?.current,
      });
    } catch (error) {
      if (error instanceof SettingError) {
        const flag = flagForSetting(SERVE_FLAGS, error.setting);
        throw new UsageError(flag === undefined ? error.message : `--${flag}: ${error.message}`);
      }
      // A listen error's cause only repeats its message in the system's words.
      printError(error instanceof ListenError ? error.message : describeError(error));
      return 1;
    }
    const { address, service } = server;
    say(`listening on ${address} mode=${settings.mode} service=${service.name} pid=${Deno.pid}`, {
      address,
      mode: settings.mode,
      service: service.name,
      pid: Deno.pid,
    });
    if (server.statsAddr) {
      const url = `http://${formatHostPort(server.statsAddr.hostname, server.statsAddr.port)}/`;
      say(`statistics on ${url}`, { url });
    }
    const { clients, bytesIn, bytesOut } = await server.finished;
    say(
      `stopped: ${counted(clients, "client")} served, ${bytesIn} bytes in, ${bytesOut} bytes out`,
      { clients, bytesIn, bytesOut },
    );
    return 0;
  } finally {
    pidFile?.remove();
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    for (const stopHangup of hangups) stopHangup();
  }
}
