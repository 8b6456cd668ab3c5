/**
 * The one door to a server in any mode. {@link serveMode} takes one
 * {@link ModeSettings}, the same type the CLI builds from its flags and the
 * tests build by hand, and does what every mode needs: it loads the service,
 * opens the listener, keeps and serves the statistics, joins the bus, and
 * starts either one `serve()` loop with the mode's strategy or, for
 * `reuseport`, N `poll` servers on Workers. Like oak's back-ends behind one
 * interface, the caller never branches on the mode.
 *
 * @module
 */
import { Admission, type AdmissionRules, DEFAULT_MAX_CONNS } from "../lib/admission.ts";
import type { Bus } from "../lib/chat/bus.ts";
import { openBus } from "../lib/chat/open_bus.ts";
import { CurrentService } from "../lib/current_service.ts";
import { SettingError } from "../lib/errors.ts";
import { type Listener, type ListenOptions, openListener } from "../lib/listen.ts";
import { serve, type ServeSummary } from "../lib/server.ts";
import type { Service } from "../lib/service.ts";
import type { ServeControls } from "../lib/settings.ts";
import { CombinedStats, ServerStats, type StatsSource } from "../lib/stats/counters.ts";
import { serveStats, type StatsServer } from "../lib/stats/http.ts";
import { logStatsEvery } from "../lib/stats/log_line.ts";
import type { Strategy } from "../lib/strategy.ts";
import { loadServiceVersion } from "../services/mod.ts";
import { createStrategy, type Mode, type StrategyName } from "./mod.ts";
import {
  DEFAULT_THREADS,
  reusePortProblem,
  type ReusePortSettings,
  serveReusePort,
} from "./reuseport.ts";
import { createProcesses, type ProcessesOptions, processesProblem } from "./processes.ts";
import { createWorkers, type WorkersOptions } from "./workers.ts";

/** Where the statistics go; any of them makes the server keep statistics. */
export interface StatsSettings {
  /** Serve them over HTTP on this port (0 for any free one): a live page, JSON, Prometheus. */
  port?: number;
  /** The address to serve them on; default `127.0.0.1`. */
  hostname?: string;
  /** Log a one-line summary every this many seconds. */
  intervalSeconds?: number;
}

/**
 * Everything a server in any mode is told: the settings every server shares,
 * what `reuseport` and `workers` add, and what only the door needs.
 *
 * @example
 * ```ts
 * import type { ModeSettings } from "./serve_mode.ts";
 *
 * const settings: ModeSettings = {
 *   mode: "poll",
 *   service: "echo",
 *   listen: { transport: "tcp", hostname: "127.0.0.1", port: 0 },
 * };
 * ```
 */
export interface ModeSettings extends ReusePortSettings, WorkersOptions, ProcessesOptions {
  /** Which strategy, or the `reuseport` topology. */
  mode: Mode;
  /** Where to listen. */
  listen: ListenOptions;
  /** Who may connect, unless the controls bring an admission of their own. */
  rules?: AdmissionRules;
  /** Keep statistics, and where to show them. */
  stats?: StatsSettings;
}

/** The live parts of a server in any mode; see `ServeControls`. */
export interface ModeControls extends Omit<ServeControls, "admission"> {
  /**
   * The service, already loaded: an object of a program's own that has no
   * module to load it from. By default the settings' `service` is loaded.
   * Workers still load theirs by the settings' name.
   */
  service?: Service;
  /**
   * Who may connect. Keep a reference to change its rules while the server
   * runs; under `reuseport` every Worker asks this one.
   */
  admission?: Admission;
}

/** A server that is listening. */
export interface RunningServer {
  /** The listener's address as the server logs it. */
  readonly address: string;
  /** The listener's address. */
  readonly addr: Deno.Addr;
  /** The service, loaded. */
  readonly service: Service;
  /** The strategy; none under `reuseport`, whose Workers each run `poll`. */
  readonly strategy: Strategy | undefined;
  /** The statistics, when the settings asked for them. */
  readonly stats: StatsSource | undefined;
  /** Where the statistics are served over HTTP, when they are. */
  readonly statsAddr: Deno.NetAddr | undefined;
  /** Resolves with what the server did once it has stopped. */
  readonly finished: Promise<ServeSummary>;
}

/**
 * Starts a server in any mode and resolves once it listens; it serves until
 * `controls.shutdown` aborts.
 *
 * @param settings The mode, the address, the service and its limits.
 * @param controls The shutdown signal and the other live parts.
 * @returns The listening server; its `finished` resolves once it has stopped.
 * @throws {SettingError} For settings that cannot be used here (naming the setting).
 * @throws {ListenError} When an address cannot be listened on.
 *
 * @example Serve echo on a free port, then stop
 * ```ts
 * import { serveMode } from "./serve_mode.ts";
 *
 * const shutdown = new AbortController();
 * const server = await serveMode(
 *   { mode: "poll", service: "echo", listen: { transport: "tcp", hostname: "127.0.0.1", port: 0 } },
 *   { shutdown: shutdown.signal },
 * );
 * console.log(`listening on ${server.address}`);
 * shutdown.abort();
 * await server.finished;
 * ```
 */
export async function serveMode(
  settings: ModeSettings,
  controls: ModeControls = {},
): Promise<RunningServer> {
  checkSettings(settings);
  const { service, specifier, current } = await serviceFor(settings, controls);
  const { mode, listen } = settings;
  const admission = controls.admission ??
    new Admission(settings.rules ?? { maxConns: DEFAULT_MAX_CONNS });
  // Aborted by the caller's shutdown, or by a start that fails half-way.
  const stopping = new AbortController();
  const onShutdown = () => stopping.abort();
  const { listener, address } = await openListener(
    listen.transport === "tcp" && mode === "reuseport" ? { ...listen, reusePort: true } : listen,
  );
  let statsServer: StatsServer | undefined;
  let ownBus: Bus | undefined;
  try {
    const { strategy, workersAlive, workersStuck } = mode === "reuseport"
      ? {
        strategy: undefined,
        workersAlive: () => settings.threads ?? DEFAULT_THREADS,
        workersStuck: undefined,
      }
      : strategyFor(mode, settings);
    const labels = {
      service: service.name,
      mode,
      serviceVersion: () => current?.version.version ?? "builtin",
      workersAlive,
      workersStuck,
    };
    // Under reuseport every Worker counts its own clients; this thread adds them up.
    const combined = settings.stats && mode === "reuseport" ? new CombinedStats(labels) : undefined;
    const stats = combined ?? (settings.stats ? new ServerStats(labels) : undefined);
    if (stats && settings.stats?.port !== undefined) {
      statsServer = serveStats({
        stats,
        hostname: settings.stats.hostname ?? "127.0.0.1",
        port: settings.stats.port,
        signal: stopping.signal,
      });
    }
    if (stats && settings.stats?.intervalSeconds !== undefined) {
      logStatsEvery(stats, settings.stats.intervalSeconds, stopping.signal);
    }
    // Each reuseport Worker opens its own bus; a one-loop server shares this one.
    if (strategy && !controls.bus) ownBus = await openBus(settings.bus ?? { kind: "local" });
    const ready = Promise.withResolvers<void>();
    const served = strategy
      ? serve({
        ...settings,
        listener,
        strategy,
        service,
        serviceSpecifier: specifier,
        admission,
        idleTimeoutFor: controls.idleTimeoutFor,
        shutdown: stopping.signal,
        observer: controls.observer ?? (stats instanceof ServerStats ? stats : undefined),
        bus: controls.bus ?? ownBus,
        current,
        onReady: ready.resolve,
      })
      : serveReusePort(listenerForReusePort(listener), {
        ...settings,
        service: specifier,
        backlog: listen.transport === "tcp" ? listen.backlog : undefined,
      }, {
        shutdown: stopping.signal,
        current,
        admission,
        idleTimeoutFor: controls.idleTimeoutFor,
        stats: combined,
        onReady: ready.resolve,
      });
    if (controls.shutdown?.aborted) stopping.abort();
    else controls.shutdown?.addEventListener("abort", onShutdown, { once: true });
    await Promise.race([ready.promise, served]);
    const bus = ownBus;
    const finished = served.finally(async () => {
      controls.shutdown?.removeEventListener("abort", onShutdown);
      stopping.abort();
      await statsServer?.finished;
      await bus?.close();
    });
    return {
      address,
      addr: listener.addr,
      service,
      strategy,
      stats,
      statsAddr: statsServer?.addr,
      finished,
    };
  } catch (error) {
    controls.shutdown?.removeEventListener("abort", onShutdown);
    stopping.abort();
    closeQuietly(listener);
    await statsServer?.finished;
    await ownBus?.close();
    throw error;
  }
}

/**
 * The service, loaded, and the version new clients get. A module is read
 * once and pinned, so that Workers load this exact text, not the file again;
 * its version is named for each client, and a reload may replace it.
 */
async function serviceFor(
  settings: ModeSettings,
  controls: ModeControls,
): Promise<{ service: Service; specifier: string; current: CurrentService | undefined }> {
  if (controls.current) {
    const { service, specifier } = controls.current.version;
    return { service, specifier, current: controls.current };
  }
  if (controls.service) {
    return { service: controls.service, specifier: settings.service, current: undefined };
  }
  const loaded = await loadServiceVersion(settings.service, settings.serviceArgs);
  // A built-in has one version only; a module's is named in each client's log lines.
  const current = loaded.files.length > 0 ? new CurrentService(loaded) : undefined;
  return { service: loaded.service, specifier: loaded.specifier, current };
}

/** Refuses settings that cannot work together, before anything is opened. */
function checkSettings(settings: ModeSettings): void {
  const { mode, listen } = settings;
  if (mode === "reuseport") {
    const problem = reusePortProblem();
    if (problem) throw new SettingError("mode", problem);
    if (listen.transport !== "tcp") {
      throw new SettingError(
        "mode",
        "reuseport listens on plain TCP only, not on a Unix socket or with TLS",
      );
    }
    if (listen.ipv6Only) {
      // Each Worker accepts on a listener of its own, which the main thread cannot filter.
      throw new SettingError("ipv6Only", "IPv6 only is not available with reuseport");
    }
  }
  if (mode === "processes") {
    const problem = processesProblem();
    if (problem) throw new SettingError("mode", problem);
  }
  if (settings.proxyProtocol && listen.transport === "tls") {
    // The PROXY header comes before the TLS handshake, which Deno performs before we see a byte.
    throw new SettingError(
      "proxyProtocol",
      "a PROXY header cannot be read on a TLS listener: it would come before the handshake",
    );
  }
}

/** The strategy of a one-loop mode, and how many Workers it has alive and stuck, if any. */
function strategyFor(mode: StrategyName, settings: ModeSettings): {
  strategy: Strategy;
  workersAlive: (() => number) | undefined;
  workersStuck: (() => number) | undefined;
} {
  if (mode === "processes") {
    // A child is sent a module's pinned texts with each client (processes.ts), so it needs only the name here.
    const processes = createProcesses(settings, settings.service);
    return { strategy: processes, workersAlive: () => processes.alive, workersStuck: () => 0 };
  }
  if (mode !== "workers") {
    return { strategy: createStrategy(mode), workersAlive: undefined, workersStuck: undefined };
  }
  const workers = createWorkers(settings);
  return {
    strategy: workers,
    workersAlive: () => workers.alive,
    workersStuck: () => workers.stuck,
  };
}

function listenerForReusePort(listener: Listener): Deno.TcpListener {
  const { addr } = listener;
  if (addr.transport !== "tcp") throw new TypeError("reuseport listens on TCP only");
  return listener as Deno.TcpListener;
}

function closeQuietly(listener: Listener): void {
  try {
    listener.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}
