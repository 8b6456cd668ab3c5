/**
 * `reuseport`: every core. N Workers each open their own listener on the same
 * port with SO_REUSEPORT, and the Linux kernel spreads new connections across
 * them; each Worker is a whole `poll` server through the same `serve()`, so
 * the only new thing here is starting and stopping them. Unlike `workers`, no
 * byte crosses between threads: a connection lives and dies in the Worker
 * that accepted it. Chat spans the Workers through a bus (a
 * `MessagePort` from each Worker to each other, or Redis).
 *
 * SO_REUSEPORT in Deno is an unstable API (`unstable-net`) and
 * spreads connections only on Linux; elsewhere it is silently ignored, so the
 * Workers could not share the port.
 *
 * @module
 */
import { Admission, DEFAULT_MAX_CONNS } from "../lib/admission.ts";
import { MessagePortBus } from "../lib/chat/bus.ts";
import type { BusSpec } from "../lib/chat/open_bus.ts";
import { describeError } from "../lib/errors.ts";
import { LISTEN_BACKLOG } from "../lib/listen.ts";
import { logger } from "../lib/log.ts";
import type { ServeSummary } from "../lib/server.ts";
import type { ServeSettings } from "../lib/settings.ts";
import type { CurrentService, ServiceVersion } from "../lib/current_service.ts";
import type { CombinedStats } from "../lib/stats/counters.ts";
import type { FromListener, ToListener } from "./reuseport_protocol.ts";
import { workerScriptUrl } from "./worker_script.ts";

const log = logger("reuseport");

/** One Worker a core unless the settings say otherwise. */
export const DEFAULT_THREADS: number = navigator.hardwareConcurrency || 1;

/**
 * Why `reuseport` cannot run here, in one line, or `undefined` if it can.
 * Deno ends the process at once on `reusePort` without its unstable-net API, so
 * this must be asked before listening.
 *
 * @example
 * ```ts
 * import { reusePortProblem } from "./reuseport.ts";
 *
 * const problem = reusePortProblem();
 * if (problem) console.log(problem);
 * ```
 */
export function reusePortProblem(): string | undefined {
  if (Deno.build.os !== "linux") {
    return `reuseport needs SO_REUSEPORT load balancing, which Deno offers only on Linux (this is ${Deno.build.os})`;
  }
  // `listenDatagram` is one of the APIs `--unstable-net` turns on.
  if (typeof (Deno as { listenDatagram?: unknown }).listenDatagram !== "function") {
    return "reuseport needs Deno's unstable SO_REUSEPORT API: run deno with --unstable-net";
  }
  return undefined;
}

/** What `reuseport` adds to the settings every server shares. */
export interface ReusePortSettings extends ServeSettings {
  /** How many Workers; default {@link DEFAULT_THREADS}. */
  threads?: number;
  /** The bus the Workers' hubs share; default `MessagePort`s between them, a room of their own. */
  bus?: BusSpec;
  /** Each Worker's listen backlog; default `LISTEN_BACKLOG`. */
  backlog?: number;
}

/** The live parts of a `reuseport` server, all on the main thread. */
export interface ReusePortControls {
  /** Abort it to stop every Worker, each after its grace period. */
  shutdown: AbortSignal;
  /**
   * The version new clients get, when a reload may replace it: each Worker
   * loads each new version, and a replacement resolves once all of them
   * serve it. The settings' `service` is ignored when this is given.
   */
  current?: CurrentService;
  /** Who may connect; the Workers ask it, so its limits hold for the whole server. */
  admission?: Admission;
  /**
   * The idle timeout in force, asked at each admission; the answer travels
   * with it, so a reload reaches every Worker.
   */
  idleTimeoutFor?: () => number;
  /** Where the Workers' statistics are added up; none are kept unless given. */
  stats?: CombinedStats;
  /** Called once every Worker is listening. */
  onReady?: () => void;
}

/** One Worker and what it has said. */
interface Listener {
  worker: Worker;
  listening: Promise<void>;
  stopped: Promise<ServeSummary>;
  /** Has the Worker take up a new version; resolves once it serves it (or has stopped). */
  serve(version: ServiceVersion): Promise<void>;
}

/**
 * Starts the Workers, serves until `shutdown` aborts, then stops them and
 * adds up what they did.
 *
 * @param listener A listener the caller opened with `reusePort: true`, which
 *   reserves the port (and resolves port 0). It is closed once the Workers
 *   listen, so that the kernel sends no connection to a socket nobody accepts on.
 * @param settings The settings every Worker's server is started with.
 * @param controls The shutdown signal, the admission and the statistics.
 * @throws When a Worker cannot start; the others are stopped first.
 */
export async function serveReusePort(
  listener: Deno.TcpListener,
  settings: ReusePortSettings,
  controls: ReusePortControls,
): Promise<ServeSummary> {
  const threads = settings.threads ?? DEFAULT_THREADS;
  // A room of its own (MessagePorts between the Workers) unless the settings name a bus,
  // so that two servers in one process never share a chat.
  const mesh = settings.bus ? undefined : MessagePortBus.mesh(threads);
  const { hostname, port } = listener.addr;
  const admission = controls.admission ?? new Admission({ maxConns: DEFAULT_MAX_CONNS });
  // The clients live in the Workers, where no census reaches; their addresses come with each admission.
  admission.countEveryAddress();
  const idleTimeoutFor = controls.idleTimeoutFor ?? (() => settings.idleTimeoutMs ?? 0);
  const { shutdown, stats } = controls;
  const workers: Listener[] = [];
  for (let index = 1; index <= threads; index++) {
    workers.push(startListener(admission, idleTimeoutFor, stats, {
      type: "start",
      index,
      threads,
      hostname,
      port,
      backlog: settings.backlog ?? LISTEN_BACKLOG,
      // Plain data, so it crosses as it is; the idle timeout is the one in force now.
      settings: {
        ...settings,
        service: controls.current?.version.specifier ?? settings.service,
        idleTimeoutMs: idleTimeoutFor(),
      },
      serviceVersion: controls.current?.version.version,
      bus: mesh ? { kind: "ports", ports: mesh[index - 1]! } : settings.bus!,
      reportStats: stats !== undefined,
    }));
  }
  const stopAll = () => {
    for (const { worker } of workers) worker.postMessage({ type: "stop" } satisfies ToListener);
  };
  try {
    await Promise.all(workers.map((worker) => worker.listening));
  } catch (error) {
    for (const { worker } of workers) worker.terminate();
    listener.close();
    throw error;
  }
  listener.close();
  const stopFollowing = controls.current?.subscribe(async (version) => {
    await Promise.all(workers.map((worker) => worker.serve(version)));
  });
  controls.onReady?.();
  if (shutdown.aborted) stopAll();
  else shutdown.addEventListener("abort", stopAll, { once: true });

  const summary: ServeSummary = { clients: 0, bytesIn: 0, bytesOut: 0 };
  try {
    for (const result of await Promise.allSettled(workers.map((worker) => worker.stopped))) {
      if (result.status === "rejected") continue;
      summary.clients += result.value.clients;
      summary.bytesIn += result.value.bytesIn;
      summary.bytesOut += result.value.bytesOut;
    }
  } finally {
    shutdown.removeEventListener("abort", stopAll);
    stopFollowing?.();
    for (const { worker } of workers) worker.terminate();
  }
  return summary;
}

function startListener(
  admission: Admission,
  idleTimeoutFor: () => number,
  stats: CombinedStats | undefined,
  start: Extract<ToListener, { type: "start" }>,
): Listener {
  const worker = new Worker(workerScriptUrl("reuseport"), {
    type: "module",
    name: `servidor-reuseport-${start.index}`,
  });
  const listening = Promise.withResolvers<void>();
  const stopped = Promise.withResolvers<ServeSummary>();
  // Answers to `service`, which the Worker gives in the order it was asked.
  const serving: Array<() => void> = [];
  // A Worker that fails after listening has no caller to throw to; it is logged.
  stopped.promise.catch((error) => {
    log.error("Worker {index} failed: {reason}", {
      index: start.index,
      reason: describeError(error),
    });
  });
  worker.onmessage = (event: MessageEvent<FromListener>) => {
    const message = event.data;
    switch (message.type) {
      case "listening":
        listening.resolve();
        break;
      case "failed": {
        const error = new Error(message.reason);
        listening.reject(error);
        stopped.reject(error);
        break;
      }
      case "stopped":
        stopped.resolve(message.summary);
        break;
      case "serving":
        if (message.error !== undefined) {
          log.error("Worker {index} could not load service version {version}: {reason}", {
            index: start.index,
            version: message.version,
            reason: message.error,
          });
        }
        serving.shift()?.();
        break;
      case "stats":
        stats?.update(start.index, message.snapshot);
        break;
      case "admit":
        worker.postMessage(
          {
            type: "admitted",
            request: message.request,
            refusal: admission.admit(message.host),
            idleTimeoutMs: idleTimeoutFor(),
          } satisfies ToListener,
        );
        break;
      case "release":
        admission.release(message.host);
        break;
    }
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    const error = new Error(event.message);
    listening.reject(error);
    stopped.reject(error);
  };
  // The bus's ports, if any, move to the Worker; nothing else needs to.
  worker.postMessage(start, start.bus.kind === "ports" ? start.bus.ports : []);
  const serve = (version: ServiceVersion): Promise<void> => {
    const { promise, resolve } = Promise.withResolvers<void>();
    serving.push(resolve);
    worker.postMessage(
      {
        type: "service",
        specifier: version.specifier,
        version: version.version,
      } satisfies ToListener,
    );
    // A Worker that has stopped will never answer.
    stopped.promise.then(() => resolve(), () => resolve());
    return promise;
  };
  return { worker, listening: listening.promise, stopped: stopped.promise, serve };
}
