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
import { formatAddr } from "./lib/address.ts";
import { type Bus, openBus, parseBusFlag } from "./lib/bus.ts";
import { describeError } from "./lib/errors.ts";
import { runClient } from "./lib/client.ts";
import { oneOf, parseFlags, port, UsageError, wholeNumber } from "./lib/flags.ts";
import { DEFAULT_MAX_LINE } from "./lib/line_framer.ts";
import { configureLogging, LOG_FORMATS, LOG_LEVELS } from "./lib/log.ts";
import { serve } from "./lib/server.ts";
import { writeAllSync } from "./lib/write_all.ts";
import { loadService, SERVICES, UnknownServiceError } from "./services/mod.ts";
import { createStrategy, MODES } from "./strategies/mod.ts";
import { DEFAULT_IDLE_WORKERS, DEFAULT_MAX_WORKERS } from "./strategies/workers.ts";
import { DEFAULT_THREADS, reusePortProblem, serveReusePort } from "./strategies/reuseport.ts";
import { runBenchCommand } from "./bench/load.ts";

const SERVE_HELP = `Usage: servidor [serve] [flags]

Serves one service to many TCP clients with the chosen concurrency strategy.

  --mode=MODE          ${MODES.join(" | ")} (default poll)
  --service=NAME       ${Object.keys(SERVICES).join(" | ")} (default echo)
  --host=HOST          address to listen on (default 127.0.0.1)
  --port=PORT          port to listen on, 0 for any free one (default 7000)
  --max-line=BYTES     longest line a line service accepts (default ${DEFAULT_MAX_LINE})
  --max-workers=N      workers: clients served at once; the next ones wait (default ${DEFAULT_MAX_WORKERS})
  --idle-workers=N     workers: ready Workers kept between clients (default ${DEFAULT_IDLE_WORKERS})
  --threads=N          reuseport: Workers, each with its own listener (default ${DEFAULT_THREADS}, the cores)
  --proxy-protocol     require a PROXY header (v1 or v2) from a load balancer on every connection
  --bus=BUS            local | redis://HOST:PORT: share chat with other servers (default local)
  --log-level=LEVEL    ${LOG_LEVELS.join(" | ")} (default info)
  --log-format=FORMAT  ${LOG_FORMATS.join(" | ")} (default text)
  -h, --help           show this help

Services:
${
  Object.values(SERVICES).map((service) => `  ${service.name.padEnd(10)} ${service.description}`)
    .join("\n")
}

Other commands: client (a netcat-like client), bench (a load generator); each takes --help.
`;

const CLIENT_HELP = `Usage: servidor client [--host=HOST] [--port=PORT]

Sends standard input to the server and prints what comes back. End of input
half-closes the connection; the client exits when the server closes.

  --host=HOST   server address (default 127.0.0.1)
  --port=PORT   server port (default 7000)
  -h, --help    show this help
`;

const encoder = new TextEncoder();

function printError(message: string): void {
  writeAllSync(Deno.stderr, encoder.encode(`servidor: ${message}\n`));
}

/**
 * Deno loads a Worker's module like a dynamic import, which needs read
 * access even for files the main module could import freely.
 */
function requireWorkerReadAccess(mode: string, entryPath: string): void {
  const entry = new URL(entryPath, import.meta.url);
  if (entry.protocol !== "file:") return;
  const { state } = Deno.permissions.querySync({ name: "read", path: entry });
  if (state !== "granted") {
    throw new UsageError(
      `--mode=${mode} needs read access to load its Workers: run deno with --allow-read`,
    );
  }
}

async function serveCommand(args: string[]): Promise<number> {
  const flags = parseFlags(args, {
    mode: { type: "string", default: "poll" },
    service: { type: "string", default: "echo" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "7000" },
    "max-line": { type: "string", default: String(DEFAULT_MAX_LINE) },
    "max-workers": { type: "string", default: String(DEFAULT_MAX_WORKERS) },
    "idle-workers": { type: "string", default: String(DEFAULT_IDLE_WORKERS) },
    threads: { type: "string", default: String(DEFAULT_THREADS) },
    "proxy-protocol": { type: "boolean", default: false },
    bus: { type: "string", default: "local" },
    "log-level": { type: "string", default: "info" },
    "log-format": { type: "string", default: "text" },
    help: { type: "boolean", short: "h" },
  });
  if (flags.help) {
    writeAllSync(Deno.stdout, encoder.encode(SERVE_HELP));
    return 0;
  }
  const mode = oneOf("mode", String(flags.mode), MODES);
  const hostname = String(flags.host);
  const listenPort = port("port", String(flags.port));
  const maxLine = wholeNumber("max-line", String(flags["max-line"]), 1, 64 * 1024 * 1024);
  const maxWorkers = wholeNumber("max-workers", String(flags["max-workers"]), 1, 10_000);
  const idleWorkers = wholeNumber("idle-workers", String(flags["idle-workers"]), 0, 10_000);
  const threads = wholeNumber("threads", String(flags.threads), 1, 1024);
  const proxyProtocol = flags["proxy-protocol"] === true;
  const busSpec = parseBusFlag(String(flags.bus));
  const log = {
    level: oneOf("log-level", String(flags["log-level"]), LOG_LEVELS),
    format: oneOf("log-format", String(flags["log-format"]), LOG_FORMATS),
  };
  const serviceSpecifier = String(flags.service);
  let service;
  try {
    service = await loadService(serviceSpecifier);
  } catch (error) {
    if (error instanceof UnknownServiceError) throw new UsageError(error.message);
    throw error;
  }
  if (mode === "workers") requireWorkerReadAccess(mode, "./strategies/worker_main.ts");
  if (mode === "reuseport") {
    const problem = reusePortProblem();
    if (problem) throw new UsageError(problem);
    requireWorkerReadAccess(mode, "./strategies/reuseport_worker.ts");
  }
  configureLogging(log);

  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname, port: listenPort, reusePort: mode === "reuseport" });
  } catch (error) {
    const reason = error instanceof Deno.errors.AddrInUse
      ? "address already in use"
      : error instanceof Error
      ? error.message
      : String(error);
    printError(`cannot listen on ${hostname}:${listenPort}: ${reason}`);
    return 1;
  }

  const stop = new AbortController();
  const onSignal = () => {
    // A second signal means "now": the first one already asked nicely.
    if (stop.signal.aborted) Deno.exit(130);
    stop.abort();
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);

  const announce = () =>
    writeAllSync(
      Deno.stderr,
      encoder.encode(
        `listening on ${formatAddr(listener.addr)} mode=${mode} service=${service.name}\n`,
      ),
    );
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
  try {
    let summary;
    if (mode === "reuseport") {
      try {
        summary = await serveReusePort({
          listener,
          threads,
          serviceSpecifier,
          maxLine,
          log,
          proxyProtocol,
          bus: busSpec.kind === "local" ? undefined : busSpec,
          signal: stop.signal,
          onListening: announce,
        });
      } catch (error) {
        printError(describeError(error));
        return 1;
      }
    } else {
      announce();
      summary = await serve({
        listener,
        strategy: createStrategy(mode, { maxWorkers, idleWorkers, log }),
        service,
        serviceSpecifier,
        maxLine,
        signal: stop.signal,
        proxyProtocol,
        bus,
      });
    }
    writeAllSync(
      Deno.stderr,
      encoder.encode(
        `stopped: ${summary.clients} clients served, ${summary.bytesIn} bytes in, ${summary.bytesOut} bytes out\n`,
      ),
    );
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    await bus?.close();
  }
  return 0;
}

async function clientCommand(args: string[]): Promise<number> {
  const flags = parseFlags(args, {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "7000" },
    help: { type: "boolean", short: "h" },
  });
  if (flags.help) {
    writeAllSync(Deno.stdout, encoder.encode(CLIENT_HELP));
    return 0;
  }
  const hostname = String(flags.host);
  const serverPort = port("port", String(flags.port));
  try {
    await runClient({ hostname, port: serverPort });
  } catch (error) {
    printError(
      `cannot talk to ${hostname}:${serverPort}: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
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
