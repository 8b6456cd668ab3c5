/**
 * A real server for tests: any service under any mode, on a free loopback
 * port, stopped when the test is done with it.
 *
 * @module
 */
import { Admission, type AdmissionRules } from "../lib/admission.ts";
import type { ListenOptions } from "../lib/listen.ts";
import type { ServeSummary } from "../lib/server.ts";
import type { Service } from "../lib/service.ts";
import type { StatsSource } from "../lib/stats/counters.ts";
import type { Strategy } from "../lib/strategy.ts";
import { SERVICES, serviceSpecifier } from "../services/mod.ts";
import type { Mode } from "../strategies/mod.ts";
import { type ModeControls, type ModeSettings, serveMode } from "../strategies/serve_mode.ts";

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
  /** The strategy serving it; none under `reuseport`, whose Workers each run `poll`. */
  strategy: Strategy | undefined;
  /** The server's admission control, when the test gave rules. */
  admission: Admission | undefined;
  /** The statistics, when the test asked for them with `stats`. */
  stats: StatsSource | undefined;
  /** Stops the server, closing its clients, and says what it did. */
  stop(): Promise<ServeSummary>;
  /** Stops the server. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * What a test server runs, and how: the settings of any mode, where the
 * address defaults to 127.0.0.1 port 0, the live parts a test may hold, and
 * a service given as a name, a module or the object itself.
 *
 * @example
 * ```ts
 * import type { TestServerOptions } from "../testing.ts";
 *
 * const options: TestServerOptions = { mode: "workers", service: "chat", maxLine: 80 };
 * ```
 */
export interface TestServerOptions
  extends
    Omit<ModeSettings, "listen" | "bus" | "rules" | "service">,
    Omit<ModeControls, "admission" | "shutdown" | "service"> {
  /**
   * A built-in's name, the path or URL of a module whose default export is a
   * service, or a service itself. Workers and child processes (`workers`,
   * `reuseport`, `processes`) load their service by name or module, so they
   * take a service object only when it is a built-in.
   */
  service: string | URL | Service;
  /** Where to listen; 127.0.0.1 port 0 over TCP unless given. */
  listen?: ListenOptions;
  /** The host to listen on, port 0; 127.0.0.1 unless given (e.g. `::1`). */
  hostname?: string;
  /** Admission rules, e.g. `{ maxConns: 1 }`; the server's defaults otherwise. */
  rules?: AdmissionRules;
}

/**
 * Resolves a service as a test names it to what the settings name (a name or
 * a module URL) and, for an object, the object itself.
 */
function resolveService(
  service: string | URL | Service,
  mode: Mode,
): { specifier: string; loaded: Service | undefined } {
  if (typeof service === "object" && !(service instanceof URL)) {
    const builtIn = Object.hasOwn(SERVICES, service.name) && SERVICES[service.name] === service;
    if (!builtIn && (mode === "workers" || mode === "processes" || mode === "reuseport")) {
      throw new TypeError(
        `${mode} loads the service in Workers, which cannot be handed the object ` +
          `"${service.name}": pass its module instead, e.g. ` +
          `new URL("./${service.name}.ts", import.meta.url)`,
      );
    }
    return { specifier: service.name, loaded: service };
  }
  // A name or module is loaded, and pinned, by `serveMode()`, as the CLI's is.
  return {
    specifier: service instanceof URL ? service.href : serviceSpecifier(service),
    loaded: undefined,
  };
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
  const {
    hostname = "127.0.0.1",
    listen,
    rules,
    observer,
    bus,
    idleTimeoutFor,
    current,
    ...settings
  } = options;
  const { specifier, loaded } = resolveService(options.service, options.mode);
  const admission = rules ? new Admission(rules) : undefined;
  const stopper = new AbortController();
  const server = await serveMode(
    {
      // Tests start many servers; ready Workers would only slow them unless a test asks.
      idleWorkers: 0,
      // Always more than one reuseport Worker, so that their sharing is tested.
      threads: 2,
      // The shutdown grace is 0 unless given, so that `stop()` closes clients at once.
      graceMs: 0,
      log: { level: "warn", format: "text" },
      ...settings,
      service: specifier,
      listen: listen ?? { transport: "tcp", hostname, port: 0 },
    },
    {
      shutdown: stopper.signal,
      admission,
      observer,
      bus,
      idleTimeoutFor,
      current,
      service: loaded,
    },
  );
  let stopped: Promise<ServeSummary> | undefined;
  const stop = () => {
    stopper.abort();
    return stopped ??= server.finished;
  };
  return {
    port: server.addr.transport === "tcp" ? server.addr.port : 0,
    address: server.address,
    strategy: server.strategy,
    admission,
    stats: server.stats,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}
