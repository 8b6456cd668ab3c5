/**
 * The `workers` strategy's pool: at most `maxWorkers` Workers alive at once,
 * counting idle ones and stuck ones; a queue of clients waiting for one; and
 * as many ready Workers as recent load needed.
 *
 * **The ceiling.** Every Worker is a thread, and `maxWorkers` bounds them all:
 * busy, idle, and stuck. A Worker whose handler ran past the handler timeout
 * is terminated, but Deno (2.9.6) does not interrupt JavaScript that is
 * running a loop, so its thread may spin on; it stays counted until the
 * process ends, because nothing can tell when it is gone. After `maxWorkers`
 * stuck handlers, the server serves nobody rather than grow without bound.
 *
 * **Adapting.** A client that finds no ready Worker starts one (up to the
 * ceiling). When it leaves, its Worker is kept ready rather than terminated,
 * so a burst of clients pays for starting Workers once, not once a client.
 * Ready Workers beyond what the last quiet period needed (and beyond
 * `idleWorkers`, the floor always kept) are let go after that period.
 *
 * **Descriptors.** Starting a Worker takes a few descriptors, and Deno ends
 * the whole process if there are none left (its Worker thread panics). So
 * before starting one, the pool checks that there is room, and when there is
 * not, the client is refused ({@link OutOfDescriptorsError}) and the server
 * goes on, as the accept loop does when `accept` itself runs out.
 *
 * @module
 */
import type { FromWorker } from "../worker_protocol.ts";
import { workerScriptUrl } from "../worker_script.ts";

/**
 * How long ready Workers beyond the floor are kept with nothing needing them.
 * Long enough that a steady stream of short clients (churn) keeps its
 * Workers between bursts; short enough that memory comes back soon after load.
 */
export const DEFAULT_QUIET_MS = 10_000;

/**
 * Descriptors that must be free before a Worker is started. Measured with
 * Deno 2.9.6: a Worker's runtime takes five to six as it starts (with fewer,
 * its thread panics and the process exits), and its service may open more
 * (`exec` opens three pipes a client).
 */
export const WORKER_DESCRIPTORS = 16;

/**
 * Workers started at once. Starting one is CPU work (a thread, an isolate,
 * compiling its modules), so more at once than there are cores only makes
 * each slower; a client that finds no ready Worker waits for the first one
 * that is ready or freed, whichever comes first, rather than for its own.
 */
export const CONCURRENT_STARTS: number = Math.max(1, navigator.hardwareConcurrency || 1);

/**
 * How long a client waits for a busy Worker to come back before one is
 * started for it. Under churn (connect, one request, close, connect again)
 * the next client is often accepted a moment before the last one's Worker
 * is free; starting a Worker at once would keep up to twice the Workers the
 * load needs, each started at the cost of tens of milliseconds of the main
 * thread and 9 MiB. A Worker comes back within a millisecond or two of its
 * client leaving; a real burst of new clients pays this once, beside the
 * hundreds of milliseconds that starting its Workers takes.
 */
export const START_DELAY_MS = 20;

/** A client was refused a Worker because the process has no descriptors to start one. */
export class OutOfDescriptorsError extends Error {
  constructor() {
    super(`fewer than ${WORKER_DESCRIPTORS} descriptors are free, too few to start a Worker`);
    this.name = "OutOfDescriptorsError";
  }
}

/** How the pool is sized. */
export interface WorkerPoolOptions {
  /** Workers alive at once, busy, idle or stuck. */
  maxWorkers: number;
  /** Ready Workers always kept, started ahead. */
  idleWorkers: number;
  /** How long ready Workers beyond the floor outlive the load that needed them. */
  quietMs?: number;
  /** Whether a Worker can be started now; by default, whether descriptors are free for it. */
  canStart?: () => boolean;
}

interface Waiter {
  /** When it began to wait, by `performance.now()`. */
  since: number;
  resolve(worker: Worker | undefined): void;
  reject(error: Error): void;
}

/** Workers terminated as stuck; the pool counts them until the process ends. */
const stuckWorkers = new WeakSet<Worker>();

/**
 * Terminates a Worker whose handler is stuck, and marks it so that its pool
 * keeps counting it: its thread may run on after `terminate()`.
 *
 * @param worker The stuck Worker.
 */
export function terminateStuck(worker: Worker): void {
  stuckWorkers.add(worker);
  worker.terminate();
}

/** Bounded Workers, as many kept ready as recent load needed. */
export class WorkerPool {
  readonly #maxWorkers: number;
  readonly #idleWorkers: number;
  readonly #quietMs: number;
  readonly #canStart: () => boolean;
  readonly #idle: Worker[] = [];
  readonly #busy = new Set<Worker>();
  readonly #waiters: Waiter[] = [];
  #stuck = 0;
  /** Busy Workers whose client is gone, running only their service's close (also busy). */
  readonly #finishing = new Set<Worker>();
  /** Workers handed to a client as they started, and not yet ready (also busy). */
  readonly #startingWorkers = new Set<Worker>();
  /** The most Workers busy at once since the last trim. */
  #recentPeak = 0;
  #trimTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set while {@link START_DELAY_MS} runs for the longest-waiting client. */
  #growTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: WorkerPoolOptions) {
    this.#maxWorkers = options.maxWorkers;
    this.#idleWorkers = Math.min(options.idleWorkers, options.maxWorkers);
    this.#quietMs = options.quietMs ?? DEFAULT_QUIET_MS;
    this.#canStart = options.canStart ?? (() => descriptorsFree(WORKER_DESCRIPTORS));
  }

  /** Clients waiting for a Worker. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Workers alive: busy, idle, and stuck ones that may still be running. */
  get alive(): number {
    return this.#idle.length + this.#busy.size + this.#stuck;
  }

  /** Workers terminated past the handler timeout that may still be running. */
  get stuck(): number {
    return this.#stuck;
  }

  /**
   * A Worker for one client, or `undefined` once the pool is closed: a ready
   * one at once, or else the first one freed or started.
   *
   * @throws {OutOfDescriptorsError} When a Worker is needed and cannot be started.
   */
  acquire(): Promise<Worker | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    const worker = this.#take();
    if (worker) return Promise.resolve(worker);
    const waiting = new Promise<Worker | undefined>((resolve, reject) =>
      this.#waiters.push({ since: performance.now(), resolve, reject })
    );
    this.#grow();
    return waiting;
  }

  /**
   * Says that a busy Worker's client is gone and it will be back as soon as
   * its service has closed: a client waiting meanwhile waits for it rather
   * than start a Worker of its own. Under churn (connect, one request, close,
   * connect again) the next client usually arrives before the last one's
   * Worker is free; starting one for it would keep twice the Workers, each
   * started at the cost of tens of milliseconds of the main thread.
   */
  finishing(worker: Worker): void {
    if (this.#busy.has(worker)) this.#finishing.add(worker);
  }

  /** Gives a Worker back; one that cannot be trusted again is terminated. */
  release(worker: Worker, reusable: boolean): void {
    this.#busy.delete(worker);
    this.#finishing.delete(worker);
    this.#startingWorkers.delete(worker);
    if (stuckWorkers.has(worker)) {
      this.#stuck++;
    } else if (!reusable || this.#closed) {
      worker.terminate();
    } else {
      this.#idle.push(worker);
      this.#scheduleTrim();
    }
    this.#serveWaiters();
  }

  /**
   * Lends no more Workers: idle ones are terminated and every waiter gets
   * `undefined`, while busy ones finish their client and are terminated as
   * they come back.
   */
  drain(): void {
    this.#closed = true;
    clearTimeout(this.#trimTimer);
    this.#trimTimer = undefined;
    clearTimeout(this.#growTimer);
    this.#growTimer = undefined;
    for (const worker of this.#idle) worker.terminate();
    this.#idle.length = 0;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(undefined);
  }

  /** Terminates every Worker, busy or not, and wakes every waiter with `undefined`. */
  close(): void {
    this.drain();
    for (const worker of this.#busy) worker.terminate();
    this.#busy.clear();
    this.#finishing.clear();
    this.#startingWorkers.clear();
  }

  /**
   * Starts the ready Workers and waits until each has loaded its modules, so
   * the first clients do not pay for it. A Worker that fails to load is
   * reported here rather than to the first client.
   */
  async prestart(): Promise<void> {
    await Promise.all(Array.from({ length: this.#idleWorkers }, async () => {
      const worker = spawnWorker();
      try {
        await untilReady(worker);
      } catch (error) {
        worker.terminate();
        throw error;
      }
      if (this.#closed) worker.terminate();
      else this.#idle.push(worker);
    }));
  }

  /**
   * Starts Workers for waiting clients, the longest-waiting first, no more
   * at once than {@link CONCURRENT_STARTS} and never past the ceiling, and
   * not for the clients that Workers about to be free will serve, nor for
   * one that has waited less than {@link START_DELAY_MS}. A
   * Worker is handed over as it starts: its client's bytes wait in it while
   * it loads, rather than unread in the socket. Out of descriptors, every
   * client still waiting is refused.
   */
  #grow(): void {
    while (
      !this.#closed && this.#waiters.length > this.#finishing.size &&
      this.#startingWorkers.size < CONCURRENT_STARTS && this.alive < this.#maxWorkers
    ) {
      const wait = this.#waiters[0]!.since + START_DELAY_MS - performance.now();
      if (wait > 0) {
        this.#growTimer ??= setTimeout(() => {
          this.#growTimer = undefined;
          this.#grow();
        }, wait);
        return;
      }
      if (!this.#canStart()) {
        for (const waiter of this.#waiters.splice(0)) waiter.reject(new OutOfDescriptorsError());
        return;
      }
      const worker = spawnWorker();
      this.#startingWorkers.add(worker);
      const started = () => {
        worker.removeEventListener("message", onMessage);
        worker.removeEventListener("error", started);
        if (this.#startingWorkers.delete(worker)) this.#grow();
      };
      const onMessage = (event: MessageEvent<FromWorker>) => {
        if (event.data.type === "ready") started();
      };
      // Listeners beside the shuttle's own handlers, which the Worker is handed with.
      worker.addEventListener("message", onMessage);
      worker.addEventListener("error", started);
      this.#busy.add(worker);
      this.#recentPeak = Math.max(this.#recentPeak, this.#busy.size);
      this.#waiters.shift()!.resolve(worker);
    }
  }

  /** Hands ready Workers to waiting clients, in the order they came, then starts more. */
  #serveWaiters(): void {
    while (this.#waiters.length > 0) {
      const worker = this.#take();
      if (!worker) break;
      this.#waiters.shift()!.resolve(worker);
    }
    this.#grow();
  }

  /** A ready Worker, marked busy; `undefined` when none is ready or at the ceiling. */
  #take(): Worker | undefined {
    if (this.#closed || this.#busy.size + this.#stuck >= this.#maxWorkers) return undefined;
    const worker = this.#idle.pop();
    if (!worker) return undefined;
    this.#busy.add(worker);
    this.#recentPeak = Math.max(this.#recentPeak, this.#busy.size);
    return worker;
  }

  /**
   * Once a quiet period passes, lets go of the ready Workers that neither
   * the floor nor the busiest moment of that period needed.
   */
  #scheduleTrim(): void {
    if (this.#trimTimer !== undefined || this.#idle.length <= this.#idleWorkers) return;
    this.#trimTimer = setTimeout(() => {
      this.#trimTimer = undefined;
      const needed = Math.max(this.#idleWorkers, this.#recentPeak - this.#busy.size);
      while (this.#idle.length > needed) this.#idle.shift()!.terminate();
      this.#recentPeak = this.#busy.size;
      this.#scheduleTrim();
    }, this.#quietMs);
    // Ready Workers are no reason to keep the process alive.
    Deno.unrefTimer(this.#trimTimer);
  }
}

/** Resolves once a new Worker says it has loaded its modules; rejects if it fails to. */
async function untilReady(worker: Worker): Promise<void> {
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
  } finally {
    worker.onmessage = null;
    worker.onerror = null;
  }
}

function spawnWorker(): Worker {
  return new Worker(workerScriptUrl("service"), {
    type: "module",
    name: "servidor-service",
  });
}

/**
 * Whether `count` descriptors are free, found by opening that many loopback
 * listeners and closing them again: Deno offers no other way to ask without
 * read access to /proc. When the probe itself is not allowed (a `--allow-net`
 * limited to other addresses), the answer is yes, and Workers start as before.
 *
 * @param count How many descriptors to look for.
 */
export function descriptorsFree(count: number): boolean {
  const probes: Deno.Listener[] = [];
  try {
    for (let i = 0; i < count; i++) probes.push(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    return true;
  } catch (error) {
    // EMFILE (the process's limit) and ENFILE (the system's) are the answer; anything else is not.
    return !/os error 2[34]\)/.test(String(error));
  } finally {
    for (const probe of probes) probe.close();
  }
}
