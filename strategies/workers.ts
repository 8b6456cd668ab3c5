/**
 * `workers`: a Web Worker per client, the thread-per-client server. A
 * `Deno.Conn` cannot move into a Worker, so the main thread keeps the socket
 * and shuttles bytes: what the client sends goes to its Worker by message,
 * and what the service sends comes back the same way and is written here.
 * The service runs on its own thread, so a CPU-bound request stalls only its
 * own client.
 *
 * At most `maxWorkers` clients are served at once. The next client waits,
 * connected but unread, until a Worker is free, like a request queued for a
 * thread pool; `--max-conns` is the knob that refuses instead of waiting.
 * `idleWorkers` Workers are started before the first client is accepted, and
 * finished Workers are kept ready up to that number, because starting a Worker
 * (a thread, an isolate, its modules) costs far more than a connection does.
 *
 * @module
 */
import type { Connection } from "../lib/connection.ts";
import { INTERNAL_ERROR_NOTICE } from "../lib/errors.ts";
import { logServiceFailure } from "../lib/handle_connection.ts";
import { logger, type LogSettings } from "../lib/log.ts";
import type { ServerContext, Strategy } from "../lib/strategy.ts";
import { ACK_BATCH, type FromWorker, INPUT_WINDOW, type ToWorker } from "./worker_protocol.ts";

/** The bound on Workers alive at once unless `--max-workers` says otherwise. */
export const DEFAULT_MAX_WORKERS = 64;
/** Ready Workers kept between clients unless `--idle-workers` says otherwise. */
export const DEFAULT_IDLE_WORKERS = 4;
/**
 * After the server's hard stop has closed its client, how long a busy
 * Worker's service gets to finish before the Worker is terminated.
 * Terminating a Worker ends its JavaScript but not the processes it started,
 * so exec needs the chance to stop its program (it sends SIGKILL two seconds
 * after SIGTERM); a service stuck in a long computation is cut off after this.
 */
const FINISH_AFTER_CLOSE_MS = 5_000;

const log = logger("workers");

/** How the `workers` strategy is tuned. */
export interface WorkersOptions {
  /** Workers alive at once; each serves one client. */
  maxWorkers?: number;
  /** Finished Workers kept ready for the next client. */
  idleWorkers?: number;
  /** How each Worker logs. */
  log?: LogSettings;
}

/** A strategy that also says how many clients wait for a Worker. */
export interface WorkersStrategy extends Strategy {
  /** Clients accepted and waiting for a free Worker. */
  readonly waiting: number;
  /** Workers alive, busy or idle. */
  readonly alive: number;
}

/** Bounded Workers, some kept ready between clients. */
class WorkerPool {
  readonly #maxWorkers: number;
  readonly #idleWorkers: number;
  readonly #idle: Worker[] = [];
  readonly #busy = new Set<Worker>();
  readonly #waiters: Array<(worker: Worker | undefined) => void> = [];
  #closed = false;

  constructor(maxWorkers: number, idleWorkers: number) {
    this.#maxWorkers = maxWorkers;
    this.#idleWorkers = idleWorkers;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  get alive(): number {
    return this.#idle.length + this.#busy.size;
  }

  /** A Worker for one client, or `undefined` once the pool is closed. */
  acquire(): Promise<Worker | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    const worker = this.#take();
    if (worker) return Promise.resolve(worker);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Gives a Worker back; one that cannot be trusted again is terminated. */
  release(worker: Worker, reusable: boolean): void {
    this.#busy.delete(worker);
    if (!reusable || this.#closed) {
      worker.terminate();
    } else {
      this.#idle.push(worker);
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter(this.#take());
    while (this.#idle.length > this.#idleWorkers) this.#idle.pop()!.terminate();
  }

  /**
   * Lends no more Workers: idle ones are terminated and every waiter gets
   * `undefined`, while busy ones finish their client and are terminated as
   * they come back.
   */
  drain(): void {
    this.#closed = true;
    for (const worker of this.#idle) worker.terminate();
    this.#idle.length = 0;
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }

  /** Terminates every Worker, busy or not, and wakes every waiter with `undefined`. */
  close(): void {
    this.drain();
    for (const worker of this.#busy) worker.terminate();
    this.#busy.clear();
  }

  /**
   * Starts the ready Workers and waits until each has loaded its modules, so
   * the first clients do not pay for it. A Worker that fails to load is
   * reported here rather than to the first client.
   */
  async prestart(): Promise<void> {
    const starting = Array.from({ length: this.#idleWorkers }, async () => {
      const worker = spawnWorker();
      const { promise: loaded, resolve, reject } = Promise.withResolvers<void>();
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        if (event.data.type === "ready") resolve();
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        reject(new Error(`a Worker failed to start: ${event.message}`));
      };
      try {
        await loaded;
      } catch (error) {
        worker.terminate();
        throw error;
      } finally {
        worker.onmessage = null;
        worker.onerror = null;
      }
      if (this.#closed) worker.terminate();
      else this.#idle.push(worker);
    });
    await Promise.all(starting);
  }

  #take(): Worker | undefined {
    if (this.#closed) return undefined;
    let worker = this.#idle.pop();
    if (!worker && this.#busy.size < this.#maxWorkers) worker = spawnWorker();
    if (worker) this.#busy.add(worker);
    return worker;
  }
}

function spawnWorker(): Worker {
  return new Worker(new URL("./worker_main.ts", import.meta.url), {
    type: "module",
    name: "servidor-service",
  });
}

/**
 * Makes a `workers` strategy.
 *
 * @param options The bounds and the Workers' logging.
 */
export function createWorkers(options: WorkersOptions = {}): WorkersStrategy {
  const pool = new WorkerPool(
    options.maxWorkers ?? DEFAULT_MAX_WORKERS,
    options.idleWorkers ?? DEFAULT_IDLE_WORKERS,
  );
  const logSettings: LogSettings = options.log ?? { level: "warn", format: "text" };
  return {
    name: "workers",
    sequential: false,
    get waiting() {
      return pool.waiting;
    },
    get alive() {
      return pool.alive;
    },
    start: () => pool.prestart(),
    async handle(connection: Connection, context: ServerContext): Promise<void> {
      const onShutdown = () => pool.drain();
      context.signal.addEventListener("abort", onShutdown, { once: true });
      try {
        const worker = await pool.acquire();
        if (!worker || connection.closed) {
          if (worker) pool.release(worker, true);
          return;
        }
        const reusable = await serveThroughWorker(worker, connection, context, logSettings);
        pool.release(worker, reusable);
      } finally {
        context.signal.removeEventListener("abort", onShutdown);
      }
    },
    close(): Promise<void> {
      pool.close();
      return Promise.resolve();
    },
  };
}

/**
 * Shuttles one client's bytes to and from its Worker until the service has
 * finished. Resolves with whether the Worker may serve another client.
 */
async function serveThroughWorker(
  worker: Worker,
  connection: Connection,
  context: ServerContext,
  logSettings: LogSettings,
): Promise<boolean> {
  let reusable = true;
  let inFlight = 0;
  let writtenUnacknowledged = 0;
  let creditWaiter: (() => void) | undefined;
  const { promise: finished, resolve: resolveFinished } = Promise.withResolvers<void>();
  let isFinished = false;
  const finish = () => {
    isFinished = true;
    watchdog.stop();
    resolveFinished();
  };

  /** The Worker cannot be trusted with this client or any other: tell the client, close. */
  const fail = (reason: string, stack = reason) => {
    reusable = false;
    logServiceFailure(connection.peer, reason, stack);
    void connection.closeWithLine(INTERNAL_ERROR_NOTICE);
    finish();
  };
  let awaitingFinish = false;
  const watchdog = new StuckWorkerWatchdog(
    context.handlerTimeoutMs,
    // The Worker owes us work while input it was given is unacknowledged, or
    // while it has been told the client is done and has not finished.
    () => inFlight > 0 || awaitingFinish,
    () => {
      // A Worker stuck in a loop never reads another message; only terminate stops it.
      worker.terminate();
      fail(`its Worker ran past the handler timeout of ${context.handlerTimeoutMs} ms`);
    },
  );
  // A Worker that loaded the service for an earlier client is running already.
  if (loadedServices.has(worker)) watchdog.start();
  const send = (message: ToWorker, transfer: Transferable[] = []) => {
    if (message.type === "end" || message.type === "closed") awaitingFinish = true;
    worker.postMessage(message, transfer);
    if (message.type !== "sent" && message.type !== "who") watchdog.watch();
  };

  const reportTimings = (timings: number[] | undefined) => {
    if (!timings || !context.onRequest) return;
    for (const seconds of timings) context.onRequest(seconds);
  };

  const acknowledgeInput = (bytes: number) => {
    inFlight -= bytes;
    if (inFlight <= INPUT_WINDOW) creditWaiter?.();
  };

  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const message = event.data;
    watchdog.heard();
    switch (message.type) {
      case "send": {
        const { bytes, ack } = message;
        if (message.consumed > 0) acknowledgeInput(message.consumed);
        reportTimings(message.requests);
        watchdog.holdBack();
        connection.write(bytes).then(() => {
          writtenUnacknowledged += bytes.byteLength;
          if (ack || writtenUnacknowledged >= ACK_BATCH) {
            send({ type: "sent", bytes: writtenUnacknowledged });
            writtenUnacknowledged = 0;
          }
          // A failed write closes the connection, and the Worker hears "closed".
        }, () => {}).finally(() => watchdog.letGo());
        break;
      }
      case "broadcast":
        context.hub.broadcast(connection.id, message.bytes);
        break;
      case "name":
        context.hub.rename(connection.id, message.name);
        break;
      case "who":
        send({ type: "who", request: message.request, peers: context.hub.who() });
        break;
      case "close":
        void connection.closeAfterWrites();
        break;
      case "loaded":
        loadedServices.add(worker);
        watchdog.start();
        break;
      case "consumed":
        acknowledgeInput(message.bytes);
        reportTimings(message.requests);
        break;
      case "requests":
        reportTimings(message.requests);
        break;
      case "failed":
        if (message.disconnect) {
          log.debug("{peer} went away: {reason}", {
            peer: connection.peer,
            reason: message.reason,
          });
          connection.close();
        } else {
          fail(message.reason, message.stack);
        }
        break;
      case "finished":
        reportTimings(message.requests);
        finish();
        break;
    }
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    fail(event.message);
  };
  // Credit waits and the final wait end when the connection or the server closes.
  const wake = () => creditWaiter?.();
  connection.signal.addEventListener("abort", wake, { once: true });

  context.hub.join(connection);
  try {
    send({
      type: "open",
      id: connection.id,
      peer: connection.peer,
      // Deno's Addr objects may carry a null prototype; a plain copy crosses cleanly.
      remoteAddr: { ...connection.remoteAddr },
      localAddr: { ...connection.localAddr },
      service: context.serviceSpecifier,
      serviceArgs: context.serviceArgs,
      maxLine: context.maxLine,
      timeRequests: context.onRequest !== undefined,
      log: logSettings,
    });
    for (let chunk = await connection.read(); chunk; chunk = await connection.read()) {
      const copy = chunk.slice();
      inFlight += copy.byteLength;
      send({ type: "data", chunk: copy }, [copy.buffer]);
      if (inFlight > INPUT_WINDOW) {
        await new Promise<void>((resolve) => creditWaiter = resolve);
        creditWaiter = undefined;
      }
      if (!reusable) break;
    }
    if (!connection.closed && reusable) {
      send({ type: "end" });
      await untilAborted(finished, connection.signal);
      await connection.closeAfterWrites();
    }
  } finally {
    context.hub.leave(connection.id);
    // A failed service's client is owed its "ERR internal error" line.
    if (reusable) connection.close();
    else await connection.closeAfterWrites();
    connection.signal.removeEventListener("abort", wake);
    if (reusable && !isFinished) send({ type: "closed" });
    await untilAborted(finished, context.signal);
    // Shutting down: the service still gets a moment to finish, so that what
    // it holds outside the Worker (a program under exec) is let go, not orphaned.
    if (!isFinished) await withinGrace(finished, FINISH_AFTER_CLOSE_MS);
    watchdog.stop();
    worker.onmessage = null;
    worker.onerror = null;
  }
  return reusable && !context.signal.aborted;
}

/** Waits for `promise`, but no longer than `ms` milliseconds, leaving no timer behind. */
async function withinGrace(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  try {
    await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Workers that have loaded their service, so start-up no longer counts against them. */
const loadedServices = new WeakSet<Worker>();

/**
 * Tells a busy Worker from a stuck one without touching it. The Worker owes
 * work while input it was sent is unacknowledged or while it has been told
 * to finish; it is stuck when it owes work and has not been heard from for
 * the timeout, except while the main thread itself holds it back: a send
 * waiting on a slow client is backpressure, not a stuck handler. The clock
 * starts once the Worker has loaded its service: starting a Worker and
 * loading a module is slow on a busy machine, and is not the handler's doing.
 */
class StuckWorkerWatchdog {
  readonly #timeoutMs: number;
  readonly #owesWork: () => boolean;
  readonly #onStuck: () => void;
  #heldBack = 0;
  #lastHeardAt = performance.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  #stopped = false;

  constructor(timeoutMs: number, owesWork: () => boolean, onStuck: () => void) {
    this.#timeoutMs = timeoutMs;
    this.#owesWork = owesWork;
    this.#onStuck = onStuck;
  }

  /** The Worker is up and its service loaded: from now on, silence counts. */
  start(): void {
    this.#started = true;
    this.#lastHeardAt = performance.now();
    this.watch();
  }

  /** Work went to the Worker: time its silence, unless that is under way already. */
  watch(): void {
    if (
      !this.#started || this.#stopped || this.#timeoutMs <= 0 || this.#timer !== undefined ||
      !this.#owesWork()
    ) return;
    // Silence only counts from the moment there is something to answer.
    this.#lastHeardAt = Math.max(this.#lastHeardAt, performance.now());
    this.#timer = setTimeout(() => this.#check(), this.#timeoutMs);
  }

  /** Any message from the Worker shows it is running. */
  heard(): void {
    this.#lastHeardAt = performance.now();
  }

  /** The main thread is writing for the Worker, which may wait on it meanwhile. */
  holdBack(): void {
    this.#heldBack++;
  }

  /** That write finished; the Worker has been waiting, not stuck, until now. */
  letGo(): void {
    this.#heldBack--;
    this.#lastHeardAt = performance.now();
  }

  /** Stops watching for good. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    this.#timer = undefined;
    if (this.#stopped || !this.#owesWork()) return;
    const silentFor = performance.now() - this.#lastHeardAt;
    if (this.#heldBack === 0 && silentFor >= this.#timeoutMs) {
      this.stop();
      this.#onStuck();
      return;
    }
    const wait = this.#heldBack > 0 ? this.#timeoutMs : this.#timeoutMs - silentFor;
    this.#timer = setTimeout(() => this.#check(), wait);
  }
}

/** Waits for `promise`, or less if `signal` aborts first, leaving no listener behind. */
async function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
