/**
 * The accept loop, shared by every strategy: it accepts, admits or refuses
 * each connection (see `admission.ts`), tracks it, watches it for idleness,
 * and hands it to the strategy. On shutdown it stops accepting, warns line
 * clients, waits out the grace period, closes what is left, and waits for the
 * last handler to finish.
 *
 * @module
 */
import { formatAddr } from "./address.ts";
import { Admission, type AdmissionGate, DEFAULT_MAX_CONNS, type Refusal } from "./admission.ts";
import { Connection, type Socket } from "./connection.ts";
import { describeError, isDisconnect } from "./errors.ts";
import { Hub } from "./chat/hub.ts";
import { DEFAULT_MAX_LINE } from "./line_framer.ts";
import { logger } from "./log.ts";
import { acceptProxyHeader } from "./proxy_protocol.ts";
import type { ServiceVersion } from "./current_service.ts";
import type { Listener } from "./listen.ts";
import type { Service } from "./service.ts";
import type { ServeControls, ServeSettings } from "./settings.ts";
import type { ServerContext, Strategy } from "./strategy.ts";

const log = logger("server");

/**
 * How long to pause after an accept error that is not a shutdown (for example
 * running out of descriptors), so the loop does not spin while it lasts.
 */
const ACCEPT_ERROR_PAUSE_MS = 50;

/** How long open clients may take to finish after a shutdown signal, unless told otherwise. */
export const DEFAULT_GRACE_MS = 5_000;

/**
 * The line every line-service client gets when the server starts shutting
 * down. Byte services get nothing: a line would corrupt their stream.
 */
export const SHUTDOWN_NOTICE = "server shutting down";
/** The line a line-service client gets before an idle timeout closes it. */
export const IDLE_NOTICE = "ERR idle timeout";

/**
 * What {@link serve} needs: the listener and strategy, the loaded service,
 * the {@link ServeSettings} every server shares and the live
 * {@link ServeControls}. Every limit the server enforces enters here.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "./server.ts";
 * import { poll } from "../strategies/poll.ts";
 * import { echo } from "../services/echo.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const options: ServeOptions = { listener, strategy: poll, service: echo, maxLine: 1024 };
 * ```
 */
export interface ServeOptions extends Omit<ServeSettings, "service">, ServeControls {
  /**
   * A listener the caller opened, so the caller knows its address: a
   * `Deno.Listener`, or one from `openListener` (which may be `node:net`'s).
   */
  listener: Listener;
  /** How connections are handed off. */
  strategy: Strategy;
  /** The service every client gets, loaded. */
  service: Service;
  /** How a Worker loads the same service (the settings' `service`); defaults to `service.name`. */
  serviceSpecifier?: string;
  /** Called once the strategy is ready, just before the first accept. */
  onReady?: () => void;
  /**
   * Connection ids are `first`, `first + step`, …; servers sharing a bus in
   * one process take interleaved ids so that no two clients share one.
   * Default `{ first: 1, step: 1 }`.
   */
  ids?: { first: number; step: number };
}

/**
 * What a server did, reported when it stops.
 *
 * @example
 * ```ts
 * import { serve } from "./server.ts";
 * import { poll } from "../strategies/poll.ts";
 * import { echo } from "../services/echo.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const stop = new AbortController();
 * const served = serve({ listener, strategy: poll, service: echo, shutdown: stop.signal });
 * stop.abort();
 * const { clients, bytesIn, bytesOut } = await served;
 * console.log(`${clients} clients, ${bytesIn} bytes in, ${bytesOut} bytes out`);
 * ```
 */
export interface ServeSummary {
  /** Clients accepted and served (refused ones are not counted). */
  clients: number;
  /** Bytes read from all clients. */
  bytesIn: number;
  /** Bytes written to all clients. */
  bytesOut: number;
}

/**
 * Serves clients from `listener` until `shutdown` aborts. Then it stops
 * accepting, tells line-service clients that it is shutting down, gives open
 * clients up to `graceMs` to finish, closes what is left, and resolves once
 * the last handler has finished.
 *
 * @param options The listener, strategy, service and limits.
 * @returns What the server did.
 *
 * @example Serve echo on a free port until aborted
 * ```ts
 * import { serve } from "./server.ts";
 * import { poll } from "../strategies/poll.ts";
 * import { echo } from "../services/echo.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const stop = new AbortController();
 * const served = serve({ listener, strategy: poll, service: echo, shutdown: stop.signal });
 * stop.abort();
 * await served;
 * ```
 */
export async function serve(options: ServeOptions): Promise<ServeSummary> {
  const { listener, strategy, service } = options;
  const stopping = options.shutdown ?? new AbortController().signal;
  const observer = options.observer ?? {};
  const admission: AdmissionGate = options.admission ??
    new Admission({ maxConns: DEFAULT_MAX_CONNS });
  const idleTimeoutFor = options.idleTimeoutFor ?? (() => options.idleTimeoutMs ?? 0);
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  // Strategies see only the hard stop: during the grace period they keep serving.
  const hardStop = new AbortController();
  const context: ServerContext = {
    service,
    serviceSpecifier: options.serviceSpecifier ?? service.name,
    serviceArgs: options.serviceArgs ?? [],
    maxLine: options.maxLine ?? DEFAULT_MAX_LINE,
    hub: new Hub(options.bus, service.departed?.bind(service)),
    hardStop: hardStop.signal,
    onRequest: observer.request?.bind(observer),
  };
  // One context per version, made when the first client of a new version arrives.
  let versionServed: ServiceVersion | undefined;
  let versionContext = context;
  const contextForNewClient = (): ServerContext => {
    const version = options.current?.version;
    if (!version) return context;
    if (version !== versionServed) {
      versionServed = version;
      versionContext = {
        ...context,
        service: version.service,
        serviceSpecifier: version.specifier,
      };
    }
    return versionContext;
  };
  /** Clients whose open was logged, so their close is too; none while info is not printed. */
  const loggedOpen = new WeakSet<Connection>();
  /** What each client's version frames as, when versions may differ between clients. */
  const framingOf = new WeakMap<Connection, Service["framing"]>();
  const summary: ServeSummary = { clients: 0, bytesIn: 0, bytesOut: 0 };
  const open = new Set<Connection>();
  /** Connections being admitted or served; counted, not kept, for the shutdown to wait on. */
  let running = 0;
  let noneRunning: PromiseWithResolvers<void> | undefined;
  const allFinished = (): Promise<void> => {
    if (running === 0) return Promise.resolve();
    noneRunning ??= Promise.withResolvers();
    return noneRunning.promise;
  };
  const { first: firstId, step: idStep } = options.ids ?? { first: 1, step: 1 };
  let nextId = firstId - idStep;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;

  const closeListener = () => {
    try {
      listener.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  };
  const closeEverything = () => {
    closeListener();
    for (const connection of open) connection.close();
  };
  hardStop.signal.addEventListener("abort", closeEverything, { once: true });
  const beginShutdown = () => {
    closeListener();
    log.info("shutting down: {open} clients get up to {graceMs} ms to finish", {
      open: open.size,
      graceMs,
    });
    const notice = encoder.encode(`${SHUTDOWN_NOTICE}\r\n`);
    for (const connection of open) {
      if ((framingOf.get(connection) ?? service.framing) !== "lines") continue;
      connection.write(notice).catch(() => {});
    }
    // No grace means no request starts after this one: stopping at once, not
    // on a timer, for a timer that fires after a busy service's own yield
    // lets that service start its next request first.
    if (graceMs <= 0) hardStop.abort();
    else graceTimer = setTimeout(() => hardStop.abort(), graceMs);
  };
  if (stopping.aborted) beginShutdown();
  else stopping.addEventListener("abort", beginShutdown, { once: true });

  /** Connections waiting on their admission: in {@link open}, but not admitted yet. */
  const admitting = new Set<Connection>();
  /**
   * The clients admitted and not yet released, for a reload that starts
   * counting per address: a closed one has been released already.
   */
  function* admitted(): Iterable<Connection> {
    for (const connection of open) {
      if (!connection.closed && !admitting.has(connection)) yield connection;
    }
  }
  const stopCensus = admission.countOpenWith?.(admitted);
  /** Gives an admitted client's place back; one function for every connection. */
  const release = (connection: Connection): void => admission.release(connection);
  /** Counts a connection's handling as finished, well or not. */
  const finished = (): void => {
    if (--running === 0) {
      noneRunning?.resolve();
      noneRunning = undefined;
    }
  };
  /**
   * Learns who the client really is (from a PROXY header, when required),
   * then admits or refuses it before any service runs, and hands an admitted
   * client to {@link serveAdmitted}.
   *
   * @returns Once admitted or refused: what serves an admitted client, in an
   *   object, because an async function that returned the promise itself
   *   would wait on it, with a job, a reaction and two closures more per
   *   client (see docs/scale.md).
   */
  const admitAndHandle = async (
    connection: Connection,
  ): Promise<{ served: Promise<void> } | undefined> => {
    running++;
    let serving = false;
    admitting.add(connection);
    try {
      if (options.proxyProtocol && !(await acceptProxyHeader(connection))) {
        open.delete(connection);
        return;
      }
      // The connection, not its address: admission asks for that only if a rule needs it.
      const answer = admission.admit(connection);
      const refusal = answer instanceof Promise ? await answer : answer;
      if (refusal) {
        open.delete(connection);
        observer.refused?.(connection.peer, refusal.reason);
        await refuse(connection, refusal);
        return;
      }
      // The place is given back the moment the connection closes, before the
      // client can see the close: under reuseport the count lives on the main
      // thread, and a client that reconnects at once through another Worker
      // must not find its old place still taken.
      connection.whenClosed(release);
      summary.clients++;
      observer.opened?.(connection);
      // Returned, not awaited: this function's frame is freed now rather
      // than kept for the connection's whole life (see serveAdmitted).
      const served = serveAdmitted(connection);
      serving = true;
      return served ? { served } : undefined;
    } finally {
      // Once answered it waits no more: an admitted client gets here with no
      // wait after its answer, and a refused one has left `open` already.
      admitting.delete(connection);
      if (!serving) finished();
    }
  };
  /**
   * Runs the strategy for an admitted client, and accounts for it once it is
   * done. Written with callbacks rather than as an async function: an
   * async function waiting holds a frame, its registers, two closures and a
   * promise, and this one would wait as long as the client stays, ten
   * thousand times over at ten thousand clients (see docs/scale.md). A
   * strategy that can tell {@link finishConnection} itself (`poll`) is not
   * waited on at all: then nothing is returned.
   */
  const serveAdmitted = (connection: Connection): Promise<void> | undefined => {
    const served = contextForNewClient();
    if (options.current) framingOf.set(connection, served.service.framing);
    // Formatting a line nobody reads costs objects per connection; ask first.
    const logOpenClose = log.isEnabledFor("info");
    if (logOpenClose) loggedOpen.add(connection);
    if (logOpenClose && options.current) {
      log.info("open {peer} id={id} service_version={version}", {
        peer: connection.peer,
        id: connection.id,
        version: versionServed?.version,
      });
    } else if (logOpenClose) {
      log.info("open {peer} id={id}", { peer: connection.peer, id: connection.id });
    }
    const idleTimeoutMs = idleTimeoutFor();
    // The watch stops when the connection closes, which it does at the latest in finishConnection.
    if (idleTimeoutMs > 0) {
      connection.whenClosed(watchIdle(connection, idleTimeoutMs, served.service.framing));
    }
    if (strategy.handleThen && !strategy.sequential && !connection.needsHandshake) {
      strategy.handleThen(connection, served, finishConnection);
      return undefined;
    }
    const done = (): void => finishConnection(connection);
    const handled = connection.needsHandshake
      ? connection.handshake().then(
        () => strategy.handle(connection, served),
        (error: unknown): void => {
          // A client that cannot do TLS with us is the client's problem, not the service's.
          log.info("TLS handshake with {peer} failed: {reason}", {
            peer: connection.peer,
            reason: describeError(error),
          });
        },
      )
      : strategy.handle(connection, served);
    // then, not finally: handle() never rejects, and finally would keep two
    // closures more per client until it ends.
    return handled.then(done, done);
  };
  /**
   * Accounts for a client whose handling is done, well or not. One function
   * for every connection, told which, rather than a closure per client.
   */
  const finishConnection = (connection: Connection): void => {
    try {
      connection.close();
      open.delete(connection);
      summary.bytesIn += connection.bytesIn;
      summary.bytesOut += connection.bytesOut;
      observer.closed?.(connection);
      if (loggedOpen.delete(connection)) {
        log.info("close {peer} id={id} in={bytesIn} out={bytesOut} duration_ms={durationMs}", {
          peer: connection.peer,
          id: connection.id,
          bytesIn: connection.bytesIn,
          bytesOut: connection.bytesOut,
          durationMs: Math.round(performance.now() - connection.openedAt),
        });
      }
    } finally {
      finished();
    }
  };

  try {
    await strategy.start?.(context);
    options.onReady?.();
    while (!stopping.aborted) {
      let conn: Socket;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopping.aborted || error instanceof Deno.errors.BadResource) break;
        if (isDisconnect(error)) {
          // A client that reset before we accepted it costs nothing but a log line; pausing
          // here would let anyone stall the accept loop with a stream of resets.
          log.debug("a client left before it was accepted: {reason}", {
            reason: describeError(error),
          });
          continue;
        }
        log.error("accept on {address} failed: {reason}", {
          address: formatAddr(listener.addr),
          reason: describeError(error),
        });
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_ERROR_PAUSE_MS));
        continue;
      }
      if (stopping.aborted) {
        conn.close();
        break;
      }
      const connection = new Connection(conn, nextId += idStep);
      setNoDelay(conn);
      // Tracked from here, so that shutdown closes it even while its PROXY header is awaited.
      open.add(connection);
      const handler = admitAndHandle(connection);
      if (strategy.sequential) await (await handler)?.served;
    }
  } finally {
    stopping.removeEventListener("abort", beginShutdown);
    closeListener();
    if (stopping.aborted && !hardStop.signal.aborted && running > 0) {
      await Promise.race([allFinished(), untilAborted(hardStop.signal)]);
    }
    clearTimeout(graceTimer);
    hardStop.abort();
    await allFinished();
    await strategy.close?.();
    stopCensus?.();
    context.hub.close();
  }
  return summary;
}

const encoder = new TextEncoder();

/** Tells a refused client why, when it may know, and closes it; no service runs. */
async function refuse(connection: Connection, refusal: Refusal): Promise<void> {
  log.info("refused {peer}: {reason}", { peer: connection.peer, reason: refusal.reason });
  if (refusal.notice === undefined) connection.close();
  else await connection.closeWithLine(refusal.notice);
}

/**
 * Closes `connection` once no byte has moved either way for `timeoutMs`. A
 * line-service client is told first, unless its writes are stuck, in which
 * case nothing more could reach it. One timer per connection, re-armed for
 * the time left rather than reset on every read.
 *
 * @returns A function that stops watching.
 */
function watchIdle(
  connection: Connection,
  timeoutMs: number,
  framing: Service["framing"],
): () => void {
  let told = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    const idleFor = performance.now() - connection.lastActiveAt;
    if (idleFor < timeoutMs && !told) {
      timer = setTimeout(check, timeoutMs - idleFor);
      return;
    }
    log.info("closing {peer}: idle for {idleMs} ms", {
      peer: connection.peer,
      idleMs: Math.round(idleFor),
    });
    if (told || framing === "bytes" || connection.queuedBytes > 0) {
      connection.close();
      return;
    }
    // The notice should take no time; if it sticks, the next check closes at once.
    told = true;
    void connection.closeWithLine(IDLE_NOTICE);
    timer = setTimeout(check, timeoutMs);
  };
  timer = setTimeout(check, timeoutMs);
  return () => clearTimeout(timer);
}

/** Resolves when `signal` aborts. Only for signals that are certain to abort. */
function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

/** Small replies must leave at once rather than wait for Nagle's timer. */
function setNoDelay(conn: Socket): void {
  if (!("setNoDelay" in conn)) return;
  try {
    (conn as { setNoDelay(noDelay: boolean): void }).setNoDelay(true);
  } catch (error) {
    if (!isDisconnect(error)) throw error;
  }
}
