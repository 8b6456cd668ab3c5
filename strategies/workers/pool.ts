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
import { workerScriptUrl } from "../worker_script.ts";
import { type SpawnedWorker, WorkerSpawner } from "./spawner.ts";

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
 * Descriptors that must be known free for a Worker to be started off the
 * main thread (see `spawner.ts`); with fewer, it is started on the main
 * thread, where no accept can come between the check and the start. The
 * margin is for the connections the main thread may accept while another
 * thread starts a Worker. Probing for this many costs milliseconds, so a
 * probe's answer is kept and spent: {@link CLIENT_DESCRIPTORS} for every
 * client that comes and {@link WORKER_DESCRIPTORS} for every Worker started,
 * until less than {@link ASIDE_MARGIN} of it is left and the next start
 * probes again.
 */
export const ASIDE_DESCRIPTORS = 256;
/** What must be left of {@link ASIDE_DESCRIPTORS}, as the pool counts, to start a Worker off the main thread. */
export const ASIDE_MARGIN = 128;
/** Descriptors a client may take: its socket, and the three pipes of a program under exec. */
export const CLIENT_DESCRIPTORS = 4;

/**
 * Workers started at once: four a core. Starting one is CPU work (a thread,
 * an isolate, compiling its modules), and its client gets nothing until it
 * is done, while the clients that have a Worker keep the cores busy; with
 * the main thread free (see `spawner.ts`), a few starts a core get the
 * waiting clients their share of the CPU instead of the leftovers. A client
 * that finds no ready Worker waits for the first one that is ready or freed,
 * whichever comes first, rather than for its own.
 */
export const CONCURRENT_STARTS: number = 4 * Math.max(1, navigator.hardwareConcurrency || 1);

/**
 * The least time a client waits for a busy Worker to come back before one
 * is started for it; the pool waits as long as starting a Worker has lately
 * taken, if that is longer. Under churn (connect, one request, close,
 * connect again) the next client is often accepted a moment before the last
 * one's Worker is free; starting a Worker at once would keep up to twice the
 * Workers the load needs, each costing a start and 9 MiB, and on a loaded
 * machine the starts slow everything down further, so that more clients
 * wait and more Workers start. Waiting as long as a start takes before
 * starting costs a client that really needs a new Worker at most twice the
 * start, and a client that a busy Worker could serve no start at all.
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
  /**
   * Whether a Worker can be started off the main thread now; by default,
   * whether {@link ASIDE_DESCRIPTORS} are free.
   */
  canStartAside?: () => boolean;
}

interface Waiter {
  /** When it began to wait, by `performance.now()`. */
  since: number;
  resolve(worker: SpawnedWorker | undefined): void;
  reject(error: Error): void;
}

/** Workers terminated as stuck; the pool counts them until the process ends. */
const stuckWorkers = new WeakSet<SpawnedWorker>();

/**
 * Terminates a Worker whose handler is stuck, and marks it so that its pool
 * keeps counting it: its thread may run on after `terminate()`.
 *
 * @param worker The stuck Worker.
 */
export function terminateStuck(worker: SpawnedWorker): void {
  stuckWorkers.add(worker);
  worker.terminate();
}

/** Bounded Workers, as many kept ready as recent load needed. */
export class WorkerPool {
  readonly #maxWorkers: number;
  readonly #idleWorkers: number;
  readonly #quietMs: number;
  readonly #canStart: () => boolean;
  readonly #canStartAside: () => boolean;
  readonly #idle: SpawnedWorker[] = [];
  readonly #busy = new Set<SpawnedWorker>();
  readonly #waiters: Waiter[] = [];
  #stuck = 0;
  /** Busy Workers whose client is gone, running only their service's close (also busy). */
  readonly #finishing = new Set<SpawnedWorker>();
  /** Workers handed to a client as they started, and not yet ready (also busy). */
  readonly #startingWorkers = new Set<SpawnedWorker>();
  /** The most Workers busy at once since the last trim. */
  #recentPeak = 0;
  #trimTimer: ReturnType<typeof setTimeout> | undefined;
  /** How long starting a Worker has lately taken, in milliseconds (a moving average). */
  #startMs = START_DELAY_MS;
  /** Descriptors free at the last probe for {@link ASIDE_DESCRIPTORS}, less what has been spent since. */
  #asideBudget = 0;
  /** Set while the start delay runs for the longest-waiting client. */
  #growTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Starts the Workers, so that starting one does not stall the main thread. */
  readonly #spawner = new WorkerSpawner();

  constructor(options: WorkerPoolOptions) {
    this.#maxWorkers = options.maxWorkers;
    this.#idleWorkers = Math.min(options.idleWorkers, options.maxWorkers);
    this.#quietMs = options.quietMs ?? DEFAULT_QUIET_MS;
    this.#canStart = options.canStart ?? (() => descriptorsFree(WORKER_DESCRIPTORS));
    this.#canStartAside = options.canStartAside ?? (() => descriptorsFree(ASIDE_DESCRIPTORS));
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
  acquire(): Promise<SpawnedWorker | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    this.#asideBudget -= CLIENT_DESCRIPTORS;
    const worker = this.#take();
    if (worker) return Promise.resolve(worker);
    const waiting = new Promise<SpawnedWorker | undefined>((resolve, reject) =>
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
  finishing(worker: SpawnedWorker): void {
    if (this.#busy.has(worker)) this.#finishing.add(worker);
  }

  /** Gives a Worker back; one that cannot be trusted again is terminated. */
  release(worker: SpawnedWorker, reusable: boolean): void {
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
    this.#spawner.close();
  }

  /**
   * Starts the ready Workers and waits until each has loaded its modules, so
   * the first clients do not pay for it. A Worker that fails to load is
   * reported here rather than to the first client.
   */
  async prestart(): Promise<void> {
    await Promise.all(Array.from({ length: this.#idleWorkers }, async () => {
      const worker = this.#spawn();
      try {
        await worker.started;
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
   * one that has waited less than a start takes ({@link START_DELAY_MS}). A
   * Worker is handed over as it starts: its client's bytes wait in it while
   * it loads, rather than unread in the socket. Out of descriptors, every
   * client still waiting is refused.
   */
  #grow(): void {
    while (
      !this.#closed && this.#waiters.length > this.#finishing.size &&
      this.#startingWorkers.size < CONCURRENT_STARTS && this.alive < this.#maxWorkers
    ) {
      const wait = this.#waiters[0]!.since + Math.max(START_DELAY_MS, this.#startMs) -
        performance.now();
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
      const worker = this.#spawn();
      this.#startingWorkers.add(worker);
      const startedAt = performance.now();
      const started = () => {
        this.#startMs += (performance.now() - startedAt - this.#startMs) / 4;
        if (this.#startingWorkers.delete(worker)) this.#grow();
      };
      worker.started.then(started, started);
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
  #take(): SpawnedWorker | undefined {
    if (this.#closed || this.#busy.size + this.#stuck >= this.#maxWorkers) return undefined;
    const worker = this.#idle.pop();
    if (!worker) return undefined;
    this.#busy.add(worker);
    this.#recentPeak = Math.max(this.#recentPeak, this.#busy.size);
    return worker;
  }

  /** Starts a Worker: off the main thread while descriptors are known to be plenty. */
  #spawn(): SpawnedWorker {
    if (this.#asideBudget < ASIDE_MARGIN + WORKER_DESCRIPTORS) {
      this.#asideBudget = this.#canStartAside() ? ASIDE_DESCRIPTORS : 0;
    }
    const aside = this.#asideBudget >= ASIDE_MARGIN + WORKER_DESCRIPTORS;
    this.#asideBudget -= WORKER_DESCRIPTORS;
    return this.#spawner.spawn(workerScriptUrl("service"), "servidor-service", aside);
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
