/**
 * A real server for tests: any service under any mode, on a free loopback
 * port, stopped when the test is done with it.
 *
 * @module
 */
import { Admission, type AdmissionRules } from "../lib/admission.ts";
import type { Bus } from "../lib/chat/bus.ts";
import { DEFAULT_MAX_LINE } from "../lib/line_framer.ts";
import { type ListenOptions, openListener } from "../lib/listen.ts";
import { serve, type ServeSummary } from "../lib/server.ts";
import type { Service } from "../lib/service.ts";
import type { CombinedStats, ServerObserver } from "../lib/stats/counters.ts";
import type { Strategy } from "../lib/strategy.ts";
import { loadServiceVersion, SERVICES, serviceSpecifier } from "../services/mod.ts";
import { createStrategy, type Mode, type StrategyOptions } from "../strategies/mod.ts";
import { serveReusePort } from "../strategies/reuseport.ts";

/**
 * A server started by a test, stopped by `stop()` or `await using`.
 *
 * @example
 * ```ts
 * import { startTestServer, type TestServer } from "../testing.ts";
 *
 * const server: TestServer = await startTestServer({ mode: "single", service: "echo" });
 * await server.stop();
 * ```
 */
export interface TestServer {
  /** The TCP port, or 0 for a Unix socket. */
  port: number;
  /** The listener's address as the server logs it. */
  address: string;
  /** The strategy serving it (under `reuseport`, the one each Worker runs). */
  strategy: Strategy;
  /** The server's admission control, when the test gave rules. */
  admission: Admission | undefined;
  /** Stops the server, closing its clients, and says what it did. */
  stop(): Promise<ServeSummary>;
  /** Stops the server. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * What a test server runs, and how.
 *
 * @example
 * ```ts
 * import type { TestServerOptions } from "../testing.ts";
 *
 * const options: TestServerOptions = { mode: "workers", service: "chat", maxLine: 80 };
 * ```
 */
export interface TestServerOptions extends StrategyOptions {
  /** Which strategy serves the clients. */
  mode: Mode;
  /**
   * A built-in's name, the path or URL of a module whose default export is a
   * service, or a service itself. Workers (`workers`, `reuseport`) load their
   * service by name or module, so they take a service object only when it is
   * a built-in.
   */
  service: string | URL | Service;
  /** The words after `--` for a service made from them (exec). */
  serviceArgs?: string[];
  /** The longest line a line service accepts. */
  maxLine?: number;
  /** Told of connections and requests, e.g. a `ServerStats`. */
  observer?: ServerObserver;
  /** Admission rules, e.g. `{ maxConns: 1 }`; the server's defaults otherwise. */
  rules?: AdmissionRules;
  /** A number, or a function asked for each new client, as a reload would change it. */
  idleTimeoutMs?: number | (() => number);
  /** `workers`: terminate a handler stuck this long. */
  handlerTimeoutMs?: number;
  /** The shutdown grace; 0 unless given, so `stop()` closes clients at once. */
  graceMs?: number;
  /** The host to listen on; 127.0.0.1 unless given (e.g. `::1`). */
  hostname?: string;
  /** Where to listen; 127.0.0.1 port 0 over TCP unless given. */
  listen?: ListenOptions;
  /** Require a PROXY header on every connection. */
  proxyProtocol?: boolean;
  /** Share the chat room with other servers (not with `reuseport`, whose Workers share one). */
  bus?: Bus;
  /** `reuseport`: how many Workers (default 2, so that there is always more than one). */
  threads?: number;
  /** `reuseport`: where the Workers' statistics are added up. */
  stats?: CombinedStats;
}

/**
 * Resolves a service as a test names it to what a Worker can load (a name or
 * a module URL) and the service itself, loaded here.
 */
async function resolveService(
  service: string | URL | Service,
  mode: Mode,
  args: readonly string[] | undefined,
): Promise<{ specifier: string; loaded: Service }> {
  if (typeof service === "object" && !(service instanceof URL)) {
    const builtIn = Object.hasOwn(SERVICES, service.name) && SERVICES[service.name] === service;
    if (!builtIn && (mode === "workers" || mode === "reuseport")) {
      throw new TypeError(
        `--mode=${mode} loads the service in Workers, which cannot be handed the object ` +
          `"${service.name}": pass its module instead, e.g. ` +
          `new URL("./${service.name}.ts", import.meta.url)`,
      );
    }
    return { specifier: service.name, loaded: service };
  }
  const specifier = service instanceof URL ? service.href : serviceSpecifier(service);
  // Pinned, as the CLI pins it: every Worker loads the text read here.
  const version = await loadServiceVersion(specifier, args);
  return { specifier: version.specifier, loaded: version.service };
}

/**
 * Starts a server on 127.0.0.1, port 0 (or wherever `options.listen` says),
 * and resolves once it accepts clients.
 *
 * @param options The mode, the service, and any limits.
 *
 * @example
 * ```ts
 * import { startTestServer, TestClient } from "../testing.ts";
 * import assert from "node:assert/strict";
 *
 * await using server = await startTestServer({ mode: "workers", service: "reverse" });
 * using client = await TestClient.connect(server.port);
 * await client.send("servidor\n");
 * assert.equal(await client.readLine(), "rodivres");
 * ```
 */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const { specifier, loaded } = await resolveService(
    options.service,
    options.mode,
    options.serviceArgs,
  );
  const reusePort = options.mode === "reuseport";
  const { listener, address } = await openListener(
    options.listen ??
      { transport: "tcp", hostname: options.hostname ?? "127.0.0.1", port: 0, reusePort },
  );
  // Tests start many servers; ready Workers would only slow them unless a test asks.
  const strategy = createStrategy(options.mode, { idleWorkers: 0, ...options });
  const admission = options.rules ? new Admission(options.rules) : undefined;
  const stopper = new AbortController();
  let served: Promise<ServeSummary>;
  if (reusePort) {
    const { promise: listening, resolve: onListening } = Promise.withResolvers<void>();
    served = serveReusePort({
      listener: listener as Deno.TcpListener,
      threads: options.threads ?? 2,
      serviceSpecifier: specifier,
      serviceArgs: options.serviceArgs,
      maxLine: options.maxLine ?? DEFAULT_MAX_LINE,
      log: { level: "warn", format: "text" },
      proxyProtocol: options.proxyProtocol,
      admission,
      idleTimeoutMs: options.idleTimeoutMs,
      graceMs: options.graceMs ?? 0,
      signal: stopper.signal,
      stats: options.stats,
      onListening,
    });
    await Promise.race([listening, served]);
  } else {
    served = serve({
      listener,
      strategy,
      service: loaded,
      serviceSpecifier: specifier,
      serviceArgs: options.serviceArgs,
      maxLine: options.maxLine,
      admission,
      idleTimeoutMs: options.idleTimeoutMs,
      handlerTimeoutMs: options.handlerTimeoutMs,
      graceMs: options.graceMs ?? 0,
      signal: stopper.signal,
      proxyProtocol: options.proxyProtocol,
      bus: options.bus,
      observer: options.observer,
    });
  }
  let stopped: Promise<ServeSummary> | undefined;
  const stop = () => {
    stopper.abort();
    return stopped ??= served;
  };
  return {
    port: listener.addr.transport === "tcp" ? listener.addr.port : 0,
    address,
    strategy,
    admission,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}
