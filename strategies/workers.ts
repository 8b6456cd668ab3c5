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
 * Finished Workers are kept ready, up to `idleWorkers`, because starting a
 * Worker costs far more than a connection does.
 *
 * @module
 */
import type { Connection } from "../lib/connection.ts";
import { logger, type LogSettings } from "../lib/log.ts";
import type { ServerContext, Strategy } from "../lib/strategy.ts";
import type { FromWorker, ToWorker } from "./worker_protocol.ts";

/** The bound on Workers alive at once unless `--max-workers` says otherwise. */
export const DEFAULT_MAX_WORKERS = 64;
/** Ready Workers kept between clients unless `--idle-workers` says otherwise. */
export const DEFAULT_IDLE_WORKERS = 4;
/**
 * Input bytes that may be on their way to a Worker, not yet handled. Past
 * this the main thread stops reading the client, so a client that sends
 * faster than its service works is held back by TCP, not by our memory.
 */
const INPUT_WINDOW = 256 * 1024;
/**
 * How long a server that is shutting down waits for a busy Worker's service
 * to finish before it terminates the Worker. Terminating a Worker ends its
 * JavaScript but not the processes it started, so exec needs the chance to
 * stop its program (it gives SIGKILL after two seconds); a service stuck in
 * a long computation is cut off after this.
 */
const SHUTDOWN_GRACE_MS = 5_000;

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

  #take(): Worker | undefined {
    if (this.#closed) return undefined;
    let worker = this.#idle.pop();
    if (!worker && this.#busy.size < this.#maxWorkers) {
      worker = new Worker(new URL("./worker_main.ts", import.meta.url), {
        type: "module",
        name: "servidor-service",
      });
    }
    if (worker) this.#busy.add(worker);
    return worker;
  }
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
  const send = (message: ToWorker, transfer: Transferable[] = []) =>
    worker.postMessage(message, transfer);
  let reusable = true;
  let inFlight = 0;
  let creditWaiter: (() => void) | undefined;
  const { promise: finished, resolve: resolveFinished } = Promise.withResolvers<void>();
  let isFinished = false;
  const finish = () => {
    isFinished = true;
    resolveFinished();
  };

  const fail = (reason: string) => {
    reusable = false;
    if (!connection.closed) {
      connection.write(new TextEncoder().encode("ERR internal error\r\n")).catch(() => {});
      void connection.closeAfterWrites();
    }
    log.warn("service failed for {peer}: {reason}", { peer: connection.peer, reason });
    finish();
  };

  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const message = event.data;
    switch (message.type) {
      case "send":
        connection.write(message.bytes).then(
          () => send({ type: "sent", seq: message.seq, ok: true }),
          () => send({ type: "sent", seq: message.seq, ok: false }),
        );
        break;
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
      case "consumed":
        inFlight -= message.bytes;
        if (inFlight <= INPUT_WINDOW) creditWaiter?.();
        break;
      case "failed":
        if (message.disconnect) {
          log.debug("{peer} went away: {reason}", {
            peer: connection.peer,
            reason: message.reason,
          });
        } else {
          reusable = false;
          log.warn("service failed for {peer}: {reason}", {
            peer: connection.peer,
            reason: message.reason,
          });
          log.debug("{stack}", { stack: message.stack });
        }
        connection.close();
        break;
      case "finished":
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
    connection.close();
    connection.signal.removeEventListener("abort", wake);
    if (reusable && !isFinished) send({ type: "closed" });
    await untilAborted(finished, context.signal);
    // Shutting down: the service still gets a moment to finish, so that what
    // it holds outside the Worker (a program under exec) is let go, not orphaned.
    if (!isFinished) await withinGrace(finished, SHUTDOWN_GRACE_MS);
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
