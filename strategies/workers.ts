/**
 * `workers`: a Web Worker per client, the thread-per-client server. A
 * `Deno.Conn` cannot move into a Worker, so the main thread keeps the socket
 * and shuttles bytes: what the client sends goes to its Worker through a ring
 * in shared memory, and what the service sends comes back through another
 * and is written here (see `workers/shuttle.ts`).
 * The service runs on its own thread, so a CPU-bound request stalls only its
 * own client.
 *
 * At most `maxWorkers` clients are served at once. The next client waits,
 * connected but unread, until a Worker is free, like a request queued for a
 * thread pool; the admission's `maxConns` is the knob that refuses instead of waiting.
 * `idleWorkers` Workers are started before the first client is accepted, and
 * finished Workers are kept ready up to that number, because starting a Worker
 * (a thread, an isolate, its modules) costs far more than a connection does.
 *
 * @module
 */
import type { Connection } from "../lib/connection.ts";
import type { LogSettings } from "../lib/log.ts";
import type { ServerContext, Strategy } from "../lib/strategy.ts";
import { logger } from "../lib/log.ts";
import { DoorbellWatcher } from "./workers/doorbell.ts";
import { OutOfDescriptorsError, WorkerPool } from "./workers/pool.ts";
import { serveThroughWorker, type WorkerTuning } from "./workers/shuttle.ts";

/** The bound on Workers alive at once unless the options say otherwise. */
export const DEFAULT_MAX_WORKERS = 64;
/** Ready Workers kept between clients unless the options say otherwise. */
export const DEFAULT_IDLE_WORKERS = 4;

/**
 * How long a `workers` handler may keep its client's input unanswered before
 * its Worker is presumed stuck and terminated. Generous, because `compute`'s
 * largest request takes seconds on a busy machine.
 */
export const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;

/** How the `workers` strategy is tuned: settings no other strategy has. */
export interface WorkersOptions {
  /** Workers alive at once; each serves one client. */
  maxWorkers?: number;
  /** Finished Workers kept ready for the next client. */
  idleWorkers?: number;
  /**
   * Terminate a Worker that has left its client's input unanswered this long
   * (a stuck handler); 0 never. Only `workers` can: a handler stuck on the
   * main thread blocks the thread that would. Default {@link DEFAULT_HANDLER_TIMEOUT_MS}.
   */
  handlerTimeoutMs?: number;
  /** How each Worker logs. */
  log?: LogSettings;
}

/** A strategy that also says how many clients wait for a Worker. */
export interface WorkersStrategy extends Strategy {
  /** Clients accepted and waiting for a free Worker. */
  readonly waiting: number;
  /** Workers alive: busy, idle, or stuck and perhaps still running. */
  readonly alive: number;
  /** Workers terminated past the handler timeout that may still be running. */
  readonly stuck: number;
}

/** What a client gets when no Worker can be started for it. */
const NO_WORKER_NOTICE = "ERR server busy";

const log = logger("workers");

/**
 * Makes a `workers` strategy.
 *
 * @param options The bounds and the Workers' logging.
 */
export function createWorkers(options: WorkersOptions = {}): WorkersStrategy {
  const pool = new WorkerPool({
    maxWorkers: options.maxWorkers ?? DEFAULT_MAX_WORKERS,
    idleWorkers: options.idleWorkers ?? DEFAULT_IDLE_WORKERS,
  });
  // Out of descriptors, every client is refused until some come back: say so once a spell.
  let refusingSince: number | undefined;
  const tuning = {
    log: options.log ?? { level: "warn", format: "text" },
    handlerTimeoutMs: options.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS,
  } satisfies WorkerTuning;
  const doorbell = new DoorbellWatcher();
  return {
    name: "workers",
    sequential: false,
    get waiting() {
      return pool.waiting;
    },
    get alive() {
      return pool.alive;
    },
    get stuck() {
      return pool.stuck;
    },
    start: () => pool.prestart(),
    async handle(connection: Connection, context: ServerContext): Promise<void> {
      const onShutdown = () => pool.drain();
      context.hardStop.addEventListener("abort", onShutdown, { once: true });
      try {
        let worker;
        try {
          worker = await pool.acquire();
        } catch (error) {
          if (!(error instanceof OutOfDescriptorsError)) throw error;
          if (refusingSince === undefined) {
            refusingSince = Date.now();
            log.warn("refusing clients: {reason}", { reason: error.message });
          }
          await connection.closeWithLine(NO_WORKER_NOTICE);
          return;
        }
        if (refusingSince !== undefined) {
          log.warn("serving clients again after {seconds} s without descriptors", {
            seconds: Math.round((Date.now() - refusingSince) / 1000),
          });
          refusingSince = undefined;
        }
        if (!worker || connection.closed) {
          if (worker) pool.release(worker, true);
          return;
        }
        const reusable = await serveThroughWorker(
          worker,
          connection,
          context,
          tuning,
          doorbell,
          () => pool.finishing(worker),
        );
        pool.release(worker, reusable);
      } finally {
        context.hardStop.removeEventListener("abort", onShutdown);
      }
    },
    close(): Promise<void> {
      pool.close();
      return Promise.resolve();
    },
  };
}
