/**
 * The entry point of a `reuseport` Worker: a whole server on its own thread.
 * It opens its own listener on the shared port with SO_REUSEPORT, so the
 * kernel hands it a share of the new connections, and serves them with the
 * `poll` strategy through the same `serve()` as every other mode. Its hub
 * joins the others' over a bus, so chat spans every Worker.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { type AdmissionGate, hostOf, type Refusal } from "../lib/admission.ts";
import { openBus } from "../lib/chat/open_bus.ts";
import { describeError } from "../lib/errors.ts";
import { configureLogging } from "../lib/log.ts";
import { serve } from "../lib/server.ts";
import { ServerStats } from "../lib/stats/counters.ts";
import { CurrentService } from "../lib/current_service.ts";
import { loadService } from "../services/registry.ts";
import { poll } from "./poll.ts";
import { type FromListener, STATS_REPORT_MS, type ToListener } from "./reuseport_protocol.ts";

const stop = new AbortController();

function post(message: FromListener): void {
  self.postMessage(message);
}

/**
 * Admission is asked of the main thread, which holds one count for every
 * Worker: `maxConns` and `maxPerIp` limit the whole server, and a
 * reload of the rules reaches every Worker at once.
 */
const pendingAdmissions = new Map<number, (refusal: Refusal | undefined) => void>();
// The idle timeout for the client admitted last; each admission brings the one in force.
let idleTimeoutMs = 0;
let nextRequest = 0;
const remoteAdmission: AdmissionGate = {
  // The main thread counts every address (its clients are out of reach of a
  // census), and a Deno.Conn holds its address from the accept anyway.
  admit(client) {
    const request = ++nextRequest;
    return new Promise((resolve) => {
      pendingAdmissions.set(request, resolve);
      post({ type: "admit", request, host: hostOf(client) });
    });
  },
  release(client) {
    post({ type: "release", host: hostOf(client) });
  },
};

/** The version each new client gets, when the service may be replaced. */
let current: CurrentService | undefined;
let serviceArgs: readonly string[] = [];
let serviceUpdates: Promise<void> = Promise.resolve();

/** Loads a new version for the clients accepted from now on, and says so. */
async function takeUp(specifier: string, version: string): Promise<void> {
  try {
    const service = await loadService(specifier, serviceArgs);
    await current?.replace({ service, specifier, version });
    post({ type: "serving", version });
  } catch (error) {
    post({ type: "serving", version, error: describeError(error) });
  }
}

async function run(start: Extract<ToListener, { type: "start" }>): Promise<void> {
  const { settings } = start;
  if (settings.log) configureLogging(settings.log);
  idleTimeoutMs = settings.idleTimeoutMs ?? 0;
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({
      hostname: start.hostname,
      port: start.port,
      reusePort: true,
      tcpBacklog: start.backlog,
    });
  } catch (error) {
    post({ type: "failed", reason: `cannot listen: ${describeError(error)}` });
    return;
  }
  let bus;
  try {
    // A literal import, so that the Worker's bundle carries the Redis client
    // (a blob: Worker cannot load files), evaluated only if a Redis bus is used.
    bus = await openBus(start.bus, () => import("../lib/chat/redis_bus.ts"));
  } catch (error) {
    listener.close();
    post({ type: "failed", reason: describeError(error) });
    return;
  }
  try {
    const service = await loadService(settings.service, settings.serviceArgs);
    serviceArgs = settings.serviceArgs ?? [];
    if (start.serviceVersion !== undefined) {
      current = new CurrentService({
        service,
        specifier: settings.service,
        version: start.serviceVersion,
      });
    }
    // Counted here, where the connections are; the main thread adds up every Worker's.
    const stats = start.reportStats
      ? new ServerStats({
        service: service.name,
        mode: "reuseport",
        serviceVersion: () => current?.version.version ?? "builtin",
      })
      : undefined;
    const report = () => {
      if (stats) post({ type: "stats", snapshot: stats.snapshot() });
    };
    const reporter = stats ? setInterval(report, STATS_REPORT_MS) : undefined;
    stop.signal.addEventListener("abort", () => clearInterval(reporter), { once: true });
    post({ type: "listening" });
    const summary = await serve({
      ...settings,
      listener,
      strategy: poll,
      service,
      serviceSpecifier: settings.service,
      current,
      admission: remoteAdmission,
      idleTimeoutFor: () => idleTimeoutMs,
      shutdown: stop.signal,
      bus,
      ids: { first: start.index, step: start.threads },
      observer: stats,
    });
    clearInterval(reporter);
    report();
    post({ type: "stopped", summary });
  } finally {
    await bus.close();
  }
}

self.onmessage = (event: MessageEvent<ToListener>) => {
  const message = event.data;
  switch (message.type) {
    case "start":
      run(message).catch((error) => post({ type: "failed", reason: describeError(error) }));
      break;
    case "stop":
      stop.abort();
      break;
    case "service":
      // One version after another, so the main thread hears them in the order it sent them.
      serviceUpdates = serviceUpdates.then(() => takeUp(message.specifier, message.version));
      break;
    case "admitted":
      idleTimeoutMs = message.idleTimeoutMs;
      pendingAdmissions.get(message.request)?.(message.refusal);
      pendingAdmissions.delete(message.request);
      break;
  }
};
