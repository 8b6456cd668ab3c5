/**
 * Starting the `workers` strategy's Workers off the main thread.
 *
 * `new Worker()` blocks the thread that calls it until the new Worker's
 * isolate exists (Deno 2.9.6: `op_create_worker` waits for the new thread to
 * send back its handle): tens of milliseconds on an idle machine, hundreds on
 * a busy one. On the main thread, which owns every client's socket, that is a
 * stall of every client at once, once for each Worker started. So one small
 * Worker, the spawner, starts them instead: it creates each Worker, gives it
 * one end of a `MessageChannel` and transfers the other end to the main
 * thread, which from then on talks to the Worker through that port as it
 * would through the `Worker` object. Only terminating goes through the
 * spawner, which holds the `Worker` objects, and so do errors the Worker
 * throws outside a handler.
 *
 * The spawner costs one bare Worker (about 7 MiB) for the life of the pool.
 *
 * A Worker can also be started here, on the calling thread, behind the same
 * port: the pool does that when descriptors are short, because a Worker
 * started on another thread takes its descriptors at a moment the main
 * thread cannot see, between two of its accepts, and a Worker thread that
 * finds none takes the whole process down (Deno 2.9.6 panics).
 *
 * @module
 */
import type { FromWorker, ToWorker } from "../worker_protocol.ts";

/**
 * The spawner's program: plain JavaScript without imports, so that it starts
 * from a `blob:` URL and needs no permission and no bundle.
 */
const SPAWNER_SOURCE = `
const children = new Map();
self.onmessage = ({ data }) => {
  if (data.type === "terminate") {
    children.get(data.id)?.terminate();
    children.delete(data.id);
    return;
  }
  let child;
  try {
    child = new Worker(data.url, { type: "module", name: data.name });
  } catch (error) {
    self.postMessage({ type: "error", id: data.id, message: String(error) });
    return;
  }
  child.onerror = (event) => {
    event.preventDefault();
    self.postMessage({ type: "error", id: data.id, message: event.message });
  };
  const channel = new MessageChannel();
  child.postMessage({ type: "port", port: channel.port1 }, [channel.port1]);
  children.set(data.id, child);
  self.postMessage({ type: "spawned", id: data.id, port: channel.port2 }, [channel.port2]);
};
`;

/** From the main thread to the spawner. */
type ToSpawner =
  | { type: "spawn"; id: number; url: string; name: string }
  | { type: "terminate"; id: number };

/** From the spawner to the main thread. */
type FromSpawner =
  | { type: "spawned"; id: number; port: MessagePort }
  | { type: "error"; id: number; message: string };

let spawnerUrl: string | undefined;

/**
 * A Worker that the spawner started, as the main thread sees it: the parts of
 * a `Worker` that servidor uses, over a `MessagePort`. Messages posted before
 * the port has arrived wait for it, in order.
 */
export class SpawnedWorker {
  /** Called with each message from the Worker. */
  onmessage: ((event: MessageEvent<FromWorker>) => void) | null = null;
  /** Called when the Worker throws outside a handler or fails to start; cancelable. */
  onerror: ((event: ErrorEvent) => void) | null = null;
  /** Resolves once the Worker has loaded its modules; rejects if it fails to. */
  readonly started: Promise<void>;
  readonly #id: number;
  readonly #spawner: WorkerSpawner;
  #port: MessagePort | undefined;
  #queued: ToWorker[] = [];
  #terminated = false;
  #resolveStarted: () => void = () => {};
  #rejectStarted: (error: Error) => void = () => {};

  constructor(id: number, spawner: WorkerSpawner) {
    this.#id = id;
    this.#spawner = spawner;
    this.started = new Promise<void>((resolve, reject) => {
      this.#resolveStarted = resolve;
      this.#rejectStarted = reject;
    });
    // Whoever needs to know awaits it; a failure nobody waited for is not unhandled.
    this.started.catch(() => {});
  }

  /** Sends a message to the Worker. */
  postMessage(message: ToWorker): void {
    if (this.#terminated) return;
    if (this.#port) this.#port.postMessage(message);
    else this.#queued.push(message);
  }

  /** Stops the Worker (as `Worker.terminate()` does, running JavaScript may spin on). */
  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#queued = [];
    this.#port?.close();
    this.#spawner.forget(this.#id);
  }

  /** The spawner started the Worker: from now on, messages go through `port`. */
  connected(port: MessagePort): void {
    if (this.#terminated) {
      port.close();
      return;
    }
    this.#port = port;
    port.onmessage = (event: MessageEvent<FromWorker>) => {
      if (event.data.type === "ready") this.#resolveStarted();
      this.onmessage?.(event);
    };
    for (const message of this.#queued) port.postMessage(message);
    this.#queued = [];
  }

  /** The Worker failed to start, or threw outside a handler. */
  failed(message: string): void {
    if (this.#terminated) return;
    this.#rejectStarted(new Error(`a Worker failed to start: ${message}`));
    this.onerror?.(new ErrorEvent("error", { message, cancelable: true }));
  }
}

/** Starts Workers on a thread of its own; see the module's documentation. */
export class WorkerSpawner {
  #worker: Worker | undefined;
  readonly #children = new Map<number, SpawnedWorker>();
  /** Workers started on this thread, by id. */
  readonly #here = new Map<number, Worker>();
  #nextId = 0;

  /**
   * Starts a Worker.
   *
   * @param url The Worker's module: a `file:` URL or a `blob:` URL made in this process.
   * @param name The Worker's name, as `new Worker()` takes it.
   * @param aside Whether the spawner starts it, without blocking this thread;
   *   otherwise it is started here and now, as `new Worker()` does.
   */
  spawn(url: string | URL, name: string, aside = true): SpawnedWorker {
    const id = this.#nextId++;
    const child = new SpawnedWorker(id, this);
    this.#children.set(id, child);
    if (aside) {
      this.#post({ type: "spawn", id, url: String(url), name });
      return child;
    }
    const worker = new Worker(url, { type: "module", name });
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      child.failed(event.message);
    };
    const channel = new MessageChannel();
    worker.postMessage({ type: "port", port: channel.port1 } satisfies ToWorker, [channel.port1]);
    this.#here.set(id, worker);
    child.connected(channel.port2);
    return child;
  }

  /** Terminates one Worker; {@link SpawnedWorker.terminate} calls it. */
  forget(id: number): void {
    if (!this.#children.delete(id)) return;
    const here = this.#here.get(id);
    if (here) {
      this.#here.delete(id);
      here.terminate();
    } else {
      this.#post({ type: "terminate", id });
    }
  }

  /** Terminates every Worker it started, and the spawner itself. */
  close(): void {
    for (const child of [...this.#children.values()]) child.terminate();
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  #post(message: ToSpawner): void {
    this.#worker ??= this.#start();
    this.#worker.postMessage(message);
  }

  #start(): Worker {
    spawnerUrl ??= URL.createObjectURL(new Blob([SPAWNER_SOURCE], { type: "text/javascript" }));
    const worker = new Worker(spawnerUrl, { type: "module", name: "servidor-spawner" });
    worker.onmessage = (event: MessageEvent<FromSpawner>) => {
      const reply = event.data;
      const child = this.#children.get(reply.id);
      if (reply.type === "spawned") {
        if (child) child.connected(reply.port);
        else reply.port.close();
      } else {
        child?.failed(reply.message);
      }
    };
    return worker;
  }
}
