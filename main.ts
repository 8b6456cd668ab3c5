/**
 * servidor's command line: it parses flags and wires one strategy to one
 * service. Everything else lives in `lib/`, `strategies/` and `services/`.
 *
 *     deno run --allow-net main.ts [serve] --mode=poll --service=echo --port=7000
 *     deno run --allow-net main.ts client --host=127.0.0.1 --port=7000
 *     deno run --allow-net main.ts bench --port=7000
 *
 * @module
 */
import { type ClientOptions, runClient } from "./lib/client.ts";
import { Admission, DEFAULT_MAX_CONNS } from "./lib/admission.ts";
import { formatHostPort } from "./lib/address.ts";
import {
  ConfigReloader,
  MAX_CONNECTION_LIMIT,
  MAX_IDLE_TIMEOUT_SECONDS,
  onHangup,
  readConfigAtStart,
  type ReloadableSettings,
} from "./lib/config.ts";
import { describeError } from "./lib/errors.ts";
import type { Bus } from "./lib/chat/bus.ts";
import { openBus, parseBusFlag } from "./lib/chat/open_bus.ts";
import {
  cidrList,
  type FlagValues,
  host,
  oneOf,
  parseFlags,
  port,
  positiveSeconds,
  rate,
  seconds,
  UsageError,
  wholeNumber,
} from "./lib/flags.ts";
import { DEFAULT_MAX_LINE } from "./lib/line_framer.ts";
import { ListenError, type ListenOptions, openListener } from "./lib/listen.ts";
import {
  announcement,
  configureLogging,
  counted,
  LOG_FORMATS,
  LOG_LEVELS,
  logger,
} from "./lib/log.ts";
import { PidFile, PidFileError } from "./lib/pid_file.ts";
import { DEFAULT_GRACE_MS, serve } from "./lib/server.ts";
import { CombinedStats, ServerStats } from "./lib/stats/counters.ts";
import { serveStats, type StatsServer } from "./lib/stats/http.ts";
import { logStatsEvery } from "./lib/stats/log_line.ts";
import { DEFAULT_HANDLER_TIMEOUT_MS } from "./lib/strategy.ts";
import { VERSION } from "./lib/version.ts";
import { writeAllSync } from "./lib/write_all.ts";
import {
  loadServiceVersion,
  SERVICE_NAMES,
  SERVICES,
  serviceSpecifier,
  UnknownServiceError,
} from "./services/mod.ts";
import { ServiceReloader } from "./services/reload.ts";
import { CurrentService } from "./lib/current_service.ts";
import { createStrategy, MODES } from "./strategies/mod.ts";
import {
  DEFAULT_IDLE_WORKERS,
  DEFAULT_MAX_WORKERS,
  type WorkersStrategy,
} from "./strategies/workers.ts";
import { DEFAULT_THREADS, reusePortProblem, serveReusePort } from "./strategies/reuseport.ts";
import { runBenchCommand } from "./bench/load.ts";

const SERVE_HELP = `Usage: servidor [serve] [flags] [-- CMD ARGS...]

Serves one service to many TCP clients with the chosen concurrency strategy.

  --mode=MODE          ${MODES.join(" | ")} (default poll)
  --service=NAME       ${SERVICE_NAMES.join(" | ")} | ./your_service.ts (default echo)
  --reload-service     load a new version of ./your_service.ts when it changes on disk or on
                       SIGHUP; new clients get it, connected ones keep theirs
  --host=HOST          address to listen on, IPv4 or IPv6 (default 127.0.0.1); :: takes
                       IPv4 clients too (dual stack)
  --ipv6-only          with --host=:: (or another IPv6 address), turn IPv4 clients away
  --port=PORT          port to listen on, 0 for any free one (default 7000)
  --tls-cert=FILE      serve TLS with this PEM certificate chain (needs --tls-key)
  --tls-key=FILE       the certificate's PEM private key
  --unix=PATH          listen on a Unix domain socket instead of --host/--port
  --max-line=BYTES     longest line a line service accepts (default ${DEFAULT_MAX_LINE})
  --max-workers=N      workers: clients served at once; the next ones wait (default ${DEFAULT_MAX_WORKERS})
  --idle-workers=N     workers: Workers started ahead and kept ready between clients (default ${DEFAULT_IDLE_WORKERS})
  --max-conns=N        clients served at once; the next gets "ERR server busy" (default ${DEFAULT_MAX_CONNS}, 0 = no limit)
  --max-per-ip=N       clients at once from one address (default 0 = no limit)
  --allow=CIDR         only these addresses may connect; repeatable (default: anyone)
  --deny=CIDR          these addresses may not connect, even if allowed; repeatable
  --idle-timeout=SECS  close a client when no byte moved for this long (default 0 = never)
  --rate=N/SECS        new connections per address: N at once, refilled over SECS;
                       over it a client gets "ERR rate limited" (default: no limit)
  --config=FILE        JSON with any of allow, deny, max-conns, max-per-ip, idle-timeout,
                       rate (named as the flags, over them); SIGHUP re-reads it
  --grace=SECS         on SIGINT/SIGTERM, time open clients get to finish (default ${
  DEFAULT_GRACE_MS / 1000
})
  --handler-timeout=SECS  workers: terminate a handler stuck this long (default ${
  DEFAULT_HANDLER_TIMEOUT_MS / 1000
}, 0 = never)
  --threads=N          reuseport: Workers, each with its own listener (default ${DEFAULT_THREADS}, the cores)
  --proxy-protocol     require a PROXY header (v1 or v2) from a load balancer on every connection
  --bus=BUS            local | redis://HOST:PORT: share chat with other servers (default local)
  --log-level=LEVEL    ${LOG_LEVELS.join(" | ")} (default info)
  --log-format=FORMAT  ${LOG_FORMATS.join(" | ")} (default text)
  --stats-port=PORT    serve statistics over HTTP: / (live page), /stats.json, /metrics
  --stats-host=HOST    address for --stats-port (default 127.0.0.1)
  --stats-interval=S   log a one-line summary every S seconds
  --pid-file=PATH      write the process id here once listening; removed on exit
  -h, --help           show this help
  --version            print servidor's version

Services:
${
  Object.values(SERVICES).map((service) => `  ${service.name.padEnd(10)} ${service.description}`)
    .join("\n")
}
  exec       -- CMD ARGS: runs CMD for each client, stdin and stdout joined to it (inetd)
  ./FILE.ts  your own service: a module whose default export is a service

Other commands: client (a netcat-like client), bench (a load generator); each takes --help.
`;

const CLIENT_HELP =
  `Usage: servidor client [--host=HOST] [--port=PORT] [--tls [--ca=FILE]] [--unix=PATH]

Sends standard input to the server and prints what comes back. End of input
half-closes the connection; the client exits when the server closes.

  --host=HOST   server address (default 127.0.0.1)
  --port=PORT   server port (default 7000)
  --tls         connect with TLS, checking the server's certificate
  --ca=FILE     also trust this PEM certificate (e.g. the server's own, self-signed)
  --unix=PATH   connect to a Unix domain socket instead of --host/--port
  -h, --help    show this help
`;

const encoder = new TextEncoder();

function printError(message: string): void {
  writeAllSync(Deno.stderr, encoder.encode(`servidor: ${message}\n`));
}

/** Which transport the serve flags ask for; see lib/listen.ts. */
function listenOptions(flags: FlagValues): ListenOptions {
  const hostname = host("host", String(flags.host));
  const listenPort = port("port", String(flags.port));
  const certFile = flags["tls-cert"] === undefined ? undefined : String(flags["tls-cert"]);
  const keyFile = flags["tls-key"] === undefined ? undefined : String(flags["tls-key"]);
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together: give both or neither");
  }
  if (flags.unix !== undefined) {
    if (certFile !== undefined) throw new UsageError("--unix cannot be combined with TLS");
    if (flags["ipv6-only"] === true) {
      throw new UsageError("--unix cannot be combined with --ipv6-only");
    }
    // A Unix socket's clients have no address, so address rules would lump them together.
    const byAddress = ["allow", "deny"].filter((flag) => flags[flag] !== undefined);
    if (String(flags["max-per-ip"]) !== "0") byAddress.push("max-per-ip");
    if (byAddress.length > 0) {
      throw new UsageError(
        `--unix cannot be combined with --${
          byAddress.join(", --")
        }: a Unix socket's clients have no address`,
      );
    }
    return { transport: "unix", path: String(flags.unix) };
  }
  const ipv6Only = flags["ipv6-only"] === true;
  if (ipv6Only && !hostname.includes(":")) {
    throw new UsageError(`--ipv6-only needs an IPv6 --host such as ::, not ${hostname}`);
  }
  if (certFile !== undefined && keyFile !== undefined) {
    return { transport: "tls", hostname, port: listenPort, certFile, keyFile, ipv6Only };
  }
  return { transport: "tcp", hostname, port: listenPort, ipv6Only };
}

async function serveCommand(commandLine: string[]): Promise<number> {
  // Words after `--` belong to the service (exec's command), not to servidor.
  const separator = commandLine.indexOf("--");
  const args = separator === -1 ? commandLine : commandLine.slice(0, separator);
  const serviceArgs = separator === -1 ? [] : commandLine.slice(separator + 1);
  const flags = parseFlags(args, {
    mode: { type: "string", default: "poll" },
    service: { type: "string", default: "echo" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "7000" },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    unix: { type: "string" },
    "ipv6-only": { type: "boolean", default: false },
    "max-line": { type: "string", default: String(DEFAULT_MAX_LINE) },
    "max-workers": { type: "string", default: String(DEFAULT_MAX_WORKERS) },
    "idle-workers": { type: "string", default: String(DEFAULT_IDLE_WORKERS) },
    "max-conns": { type: "string", default: String(DEFAULT_MAX_CONNS) },
    "max-per-ip": { type: "string", default: "0" },
    allow: { type: "string", multiple: true },
    deny: { type: "string", multiple: true },
    "idle-timeout": { type: "string", default: "0" },
    rate: { type: "string" },
    config: { type: "string" },
    grace: { type: "string", default: String(DEFAULT_GRACE_MS / 1000) },
    "handler-timeout": { type: "string", default: String(DEFAULT_HANDLER_TIMEOUT_MS / 1000) },
    threads: { type: "string", default: String(DEFAULT_THREADS) },
    "proxy-protocol": { type: "boolean", default: false },
    "reload-service": { type: "boolean", default: false },
    bus: { type: "string", default: "local" },
    "log-level": { type: "string", default: "info" },
    "log-format": { type: "string", default: "text" },
    "stats-port": { type: "string" },
    "stats-host": { type: "string", default: "127.0.0.1" },
    "stats-interval": { type: "string" },
    "pid-file": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (flags.help) {
    writeAllSync(Deno.stdout, encoder.encode(SERVE_HELP));
    return 0;
  }
  const mode = oneOf("mode", String(flags.mode), MODES);
  const listenAt = listenOptions(flags);
  const maxLine = wholeNumber("max-line", String(flags["max-line"]), 1, 64 * 1024 * 1024);
  const maxWorkers = wholeNumber("max-workers", String(flags["max-workers"]), 1, 10_000);
  const idleWorkers = wholeNumber("idle-workers", String(flags["idle-workers"]), 0, 10_000);
  // The settings a reload may change: the command line's, then the config file's over them.
  const base: ReloadableSettings = {
    rules: {
      maxConns: wholeNumber("max-conns", String(flags["max-conns"]), 0, MAX_CONNECTION_LIMIT),
      maxPerIp: wholeNumber("max-per-ip", String(flags["max-per-ip"]), 0, MAX_CONNECTION_LIMIT),
      allow: cidrList("allow", flags.allow as string[] | undefined),
      deny: cidrList("deny", flags.deny as string[] | undefined),
      rate: flags.rate === undefined ? undefined : rate("rate", String(flags.rate)),
    },
    idleTimeoutMs: seconds(
      "idle-timeout",
      String(flags["idle-timeout"]),
      MAX_IDLE_TIMEOUT_SECONDS,
    ),
  };
  const configPath = flags.config === undefined ? undefined : String(flags.config);
  const initial = configPath === undefined ? base : await readConfigAtStart(configPath, base);
  const admission = new Admission(initial.rules);
  const reloader = configPath === undefined
    ? undefined
    : new ConfigReloader({ path: configPath, base, current: initial, admission });
  const graceMs = seconds("grace", String(flags.grace), 3_600);
  const handlerTimeoutMs = seconds("handler-timeout", String(flags["handler-timeout"]), 86_400);
  const threads = wholeNumber("threads", String(flags.threads), 1, 1024);
  const proxyProtocol = flags["proxy-protocol"] === true;
  const busSpec = parseBusFlag(String(flags.bus));
  const log = {
    level: oneOf("log-level", String(flags["log-level"]), LOG_LEVELS),
    format: oneOf("log-format", String(flags["log-format"]), LOG_FORMATS),
  };
  const statsPort = flags["stats-port"] === undefined
    ? undefined
    : port("stats-port", String(flags["stats-port"]));
  const statsHost = host("stats-host", String(flags["stats-host"]));
  const pidFilePath = flags["pid-file"] === undefined ? undefined : String(flags["pid-file"]);
  const statsInterval = flags["stats-interval"] === undefined
    ? undefined
    : positiveSeconds("stats-interval", String(flags["stats-interval"]), 86_400) / 1000;
  const moduleSpecifier = serviceSpecifier(String(flags.service));
  const reloadService = flags["reload-service"] === true;
  if (reloadService && !moduleSpecifier.startsWith("file:")) {
    throw new UsageError(
      `--reload-service reloads a module of your own: give --service the path of one, not ${flags.service}`,
    );
  }
  let loaded;
  try {
    // A module is read once and pinned: Workers load this exact text, not the file again.
    loaded = await loadServiceVersion(moduleSpecifier, serviceArgs);
  } catch (error) {
    if (error instanceof UnknownServiceError) throw new UsageError(error.message);
    throw error;
  }
  const { service, specifier } = loaded;
  const serviceReloader = reloadService ? new ServiceReloader(moduleSpecifier, loaded) : undefined;
  // A module's version is logged for each client; a built-in has only one.
  const current = serviceReloader?.current ??
    (loaded.files.length > 0 ? new CurrentService(loaded) : undefined);
  const serviceVersion = () => current?.version.version ?? loaded.version;
  if (mode === "reuseport") {
    const problem = reusePortProblem();
    if (problem) throw new UsageError(problem);
  }
  configureLogging(log);

  if (mode === "reuseport" && listenAt.transport !== "tcp") {
    throw new UsageError("--mode=reuseport listens on plain TCP only: drop --unix and --tls-*");
  }
  if (mode === "reuseport" && listenAt.transport === "tcp" && listenAt.ipv6Only) {
    // Each Worker accepts on a listener of its own, which the main thread cannot filter.
    throw new UsageError("--ipv6-only is not available with --mode=reuseport");
  }
  if (proxyProtocol && listenAt.transport === "tls") {
    // The PROXY header comes before the TLS handshake, which Deno performs before we see a byte.
    throw new UsageError("--proxy-protocol cannot be combined with --tls-cert and --tls-key");
  }
  let listening;
  try {
    listening = await openListener(
      listenAt.transport === "tcp" ? { ...listenAt, reusePort: mode === "reuseport" } : listenAt,
    );
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    printError(error.message);
    return 1;
  }
  const { listener, address } = listening;

  const stop = new AbortController();
  const strategy = createStrategy(mode, { maxWorkers, idleWorkers, log });
  const wantStats = statsPort !== undefined || statsInterval !== undefined;
  // Under reuseport every Worker counts its own clients; the main thread adds them up.
  const workerStats = wantStats && mode === "reuseport"
    ? new CombinedStats({
      service: service.name,
      mode,
      serviceVersion,
      workersAlive: () => threads,
    })
    : undefined;
  const serverStats = wantStats && mode !== "reuseport"
    ? new ServerStats({
      service: service.name,
      mode,
      serviceVersion,
      workersAlive: "alive" in strategy ? () => (strategy as WorkersStrategy).alive : undefined,
      workersStuck: "stuck" in strategy ? () => (strategy as WorkersStrategy).stuck : undefined,
    })
    : undefined;
  const stats = workerStats ?? serverStats;
  let statsServer: StatsServer | undefined;
  if (stats && statsPort !== undefined) {
    try {
      statsServer = serveStats({
        stats,
        hostname: statsHost,
        port: statsPort,
        signal: stop.signal,
      });
    } catch (error) {
      if (!(error instanceof ListenError)) throw error;
      listener.close();
      printError(error.message);
      return 1;
    }
  }
  if (stats && statsInterval !== undefined) logStatsEvery(stats, statsInterval, stop.signal);
  let pidFile: PidFile | undefined;
  const onSignal = () => {
    // A second signal means "now": the first one already asked nicely.
    if (stop.signal.aborted) {
      pidFile?.remove();
      Deno.exit(130);
    }
    stop.abort();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  // A server that dies because its terminal hung up, or because an operator
  // expected a reload, is worse than one that says there is nothing to reload.
  const hangups: Array<() => void> = [];
  if (reloader) hangups.push(reloader.reloadOnHangup(stop.signal));
  if (serviceReloader) {
    hangups.push(onHangup(stop.signal, () => void serviceReloader.reload("SIGHUP")));
    serviceReloader.watch(stop.signal);
  }
  if (hangups.length === 0) {
    hangups.push(onHangup(stop.signal, () => {
      logger("config").warn(
        "SIGHUP: nothing to reload without --config or --reload-service; carrying on",
      );
    }));
  }
  const stopHangups = () => {
    for (const stopHangup of hangups) stopHangup();
  };

  const say = (message: string, properties: Record<string, string | number>) => {
    writeAllSync(Deno.stderr, encoder.encode(`${announcement(log.format, message, properties)}\n`));
  };
  const announce = () => {
    say(`listening on ${address} mode=${mode} service=${service.name} pid=${Deno.pid}`, {
      address,
      mode,
      service: service.name,
      pid: Deno.pid,
    });
    if (statsServer) {
      const { hostname, port } = statsServer.addr;
      const url = `http://${formatHostPort(hostname, port)}/`;
      say(`statistics on ${url}`, { url });
    }
  };
  // Under reuseport each Worker opens its own bus; the others share this one.
  let bus: Bus | undefined;
  if (mode !== "reuseport") {
    try {
      bus = await openBus(busSpec);
    } catch (error) {
      listener.close();
      printError(describeError(error));
      return 1;
    }
  }
  if (pidFilePath !== undefined) {
    try {
      pidFile = PidFile.write(pidFilePath);
    } catch (error) {
      if (!(error instanceof PidFileError)) throw error;
      listener.close();
      await bus?.close();
      printError(error.message);
      return 1;
    }
  }
  const idleTimeoutMs = reloader?.idleTimeoutMs ?? initial.idleTimeoutMs;
  try {
    let summary;
    if (mode === "reuseport") {
      try {
        summary = await serveReusePort({
          listener: listener as Deno.TcpListener,
          threads,
          serviceSpecifier: specifier,
          current,
          serviceArgs,
          maxLine,
          log,
          proxyProtocol,
          admission,
          idleTimeoutMs,
          graceMs,
          bus: busSpec.kind === "local" ? undefined : busSpec,
          signal: stop.signal,
          stats: workerStats,
          onListening: announce,
        });
      } catch (error) {
        printError(describeError(error));
        return 1;
      }
    } else {
      summary = await serve({
        listener,
        strategy,
        service,
        serviceSpecifier: specifier,
        current,
        serviceArgs,
        maxLine,
        admission,
        idleTimeoutMs,
        graceMs,
        handlerTimeoutMs,
        signal: stop.signal,
        observer: serverStats,
        proxyProtocol,
        bus,
        onReady: announce,
      });
    }
    await statsServer?.finished;
    const { clients, bytesIn, bytesOut } = summary;
    say(
      `stopped: ${counted(clients, "client")} served, ${bytesIn} bytes in, ${bytesOut} bytes out`,
      { clients, bytesIn, bytesOut },
    );
  } finally {
    pidFile?.remove();
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    await bus?.close();
    stopHangups();
  }
  return 0;
}

function readCaFile(file: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch (error) {
    throw new UsageError(`cannot read --ca ${file}: ${describeError(error)}`);
  }
}

async function clientCommand(args: string[]): Promise<number> {
  const flags = parseFlags(args, {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "7000" },
    tls: { type: "boolean" },
    ca: { type: "string" },
    unix: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (flags.help) {
    writeAllSync(Deno.stdout, encoder.encode(CLIENT_HELP));
    return 0;
  }
  const hostname = host("host", String(flags.host));
  const serverPort = port("port", String(flags.port));
  if (flags.ca !== undefined && !flags.tls) throw new UsageError("--ca needs --tls");
  let options: ClientOptions = { transport: "tcp", hostname, port: serverPort };
  if (flags.unix !== undefined) {
    if (flags.tls) throw new UsageError("--unix cannot be combined with --tls");
    options = { transport: "unix", path: String(flags.unix) };
  } else if (flags.tls) {
    const caCerts = flags.ca === undefined ? undefined : [readCaFile(String(flags.ca))];
    options = { transport: "tls", hostname, port: serverPort, caCerts };
  }
  try {
    await runClient(options);
  } catch (error) {
    const where = options.transport === "unix"
      ? options.path
      : formatHostPort(hostname, serverPort);
    printError(`cannot talk to ${where}: ${describeError(error)}`);
    return 1;
  }
  return 0;
}

/**
 * Runs one command line and returns the exit status.
 *
 * @param args The arguments after `main.ts`.
 */
export async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  try {
    switch (first) {
      case "client":
        return await clientCommand(rest);
      case "bench":
        return await runBenchCommand(rest);
      case "serve":
        return await serveCommand(rest);
      case "--version":
        writeAllSync(Deno.stdout, encoder.encode(`servidor ${VERSION}\n`));
        return 0;
      default:
        return await serveCommand(args);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    printError(`${error.message} (see --help)`);
    return 2;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
