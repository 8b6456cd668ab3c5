/**
 * The `workers` strategy's pool: at most `maxWorkers` Workers alive at once,
 * `idleWorkers` of them started ahead and kept ready between clients, and a
 * queue of clients waiting for one.
 *
 * @module
 */
import type { FromWorker } from "../worker_protocol.ts";
import { workerScriptUrl } from "../worker_script.ts";

/** Bounded Workers, some kept ready between clients. */
export class WorkerPool {
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
  return new Worker(workerScriptUrl("service"), {
    type: "module",
    name: "servidor-service",
  });
}
