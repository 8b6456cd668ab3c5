/**
 * The entry point of a `workers` Worker: it runs one client's service at a
 * time. The client's bytes come in through one ring in shared memory and the
 * service's sends go out through another; broadcasts, closes and failures go
 * to the main thread, which owns the socket, as messages. A Worker may serve
 * many clients one after another, which is what lets the strategy keep a pool
 * of ready Workers.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { ConnectionClosedError } from "../lib/errors.ts";
import type { LogSettings } from "../lib/log.ts";
import { type LogRecordLevel, RECORD_LEVEL, setLogBackend } from "../lib/logger.ts";
import type { PeerInfo, Service, Session } from "../lib/service.ts";
import { type ServiceDriver, SessionDriver } from "../lib/service_driver.ts";
import { Credit } from "../lib/chat/credit.ts";
import { loadService } from "../services/registry.ts";
import {
  failedMessage,
  type FromWorker,
  TIMINGS_FLUSH_MS,
  type ToWorker,
  type WorkerRings,
} from "./worker_protocol.ts";
import { WorkerControl } from "./workers/control.ts";
import { Doorbell } from "./workers/doorbell.ts";
import { ByteRing } from "./workers/ring.ts";

const encoder = new TextEncoder();

/**
 * Where messages to the main thread go: this Worker's own channel to its
 * parent, or the port that the spawner (`workers/spawner.ts`) hands over
 * when it, not the main thread, started this Worker.
 */
let toMain: { postMessage(message: FromWorker, transfer: Transferable[]): void } = self;

/**
 * Whether this client has exchanged a message with the main thread: then
 * it finishes by message too, so that the next client's `open`, through
 * shared memory, overtakes nothing still on its way (see `workers/control.ts`).
 */
let postedSinceOpen = false;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  postedSinceOpen = true;
  toMain.postMessage(message, transfer);
}

const SENT = Promise.resolve();

/**
 * Why a session's signal aborts, made once: `abort()` without a reason makes
 * a DOMException and captures its stack each time, once a client.
 */
const SESSION_ENDED = new DOMException("The session ended.", "AbortError");

/** What waits to go out, in order: bytes that did not fit in the ring, or what must follow them. */
type Outgoing =
  | { bytes: Uint8Array; resolve(): void; reject(error: Error): void }
  | { then: () => void };

/**
 * A session whose sends go into the output ring and whose other actions are
 * messages to the main thread.
 */
class RemoteSession implements Session {
  readonly id: number;
  readonly peer: string;
  readonly remoteAddr: Deno.Addr;
  readonly localAddr: Deno.Addr;
  readonly #output: ByteRing;
  readonly #closing = new AbortController();
  /** Sends that wait for room in the ring, and the messages and signals that must follow them. */
  readonly #outbox: Outgoing[] = [];
  #draining = false;
  readonly #pendingWho = new Map<number, (peers: PeerInfo[]) => void>();
  #nextRequest = 0;
  /** Broadcasts the main thread has not acknowledged; a full window makes the sender wait. */
  readonly #credit = new Credit();

  constructor(opening: Extract<ToWorker, { type: "open" }>, output: ByteRing) {
    this.id = opening.id;
    this.peer = opening.peer;
    this.remoteAddr = opening.remoteAddr;
    this.localAddr = opening.localAddr;
    this.#output = output;
  }

  get signal(): AbortSignal {
    return this.#closing.signal;
  }

  send(data: string | Uint8Array): Promise<void> {
    if (this.signal.aborted) return Promise.reject(new ConnectionClosedError(this.peer));
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    // The common case: the ring has room, and the send is done at once.
    const n = this.#outbox.length === 0 ? this.#output.write(bytes) : 0;
    if (n === bytes.byteLength) return SENT;
    // The ring is full: the rest waits its turn, copied, since the caller may
    // reuse its buffer once it has its promise.
    const rest = bytes.slice(n);
    return new Promise((resolve, reject) => {
      this.#outbox.push({ bytes: rest, resolve, reject });
      void this.#drain();
    });
  }

  /** Whether sends wait for room in the ring. */
  get sendsWaiting(): boolean {
    return this.#outbox.length > 0;
  }

  sendLine(text: string): Promise<void> {
    return this.send(`${text}\r\n`);
  }

  broadcast(data: string | Uint8Array): Promise<void> | undefined {
    const bytes = typeof data === "string" ? encoder.encode(data) : data.slice();
    this.#credit.spend(bytes.byteLength);
    post({ type: "broadcast", bytes }, [bytes.buffer]);
    return this.#credit.exhausted ? this.#credit.whenOpen() : undefined;
  }

  /** The main thread acknowledged broadcasts. */
  credit(bytes: number): void {
    this.#credit.grant(bytes);
  }

  setName(name: string): void {
    post({ type: "name", name });
  }

  who(): Promise<PeerInfo[]> {
    const request = ++this.#nextRequest;
    return new Promise((resolve) => {
      this.#pendingWho.set(request, resolve);
      post({ type: "who", request });
    });
  }

  close(): void {
    this.postAfterSends({ type: "close" });
  }

  /**
   * Posts `message` once every byte sent before it is in the ring, so that
   * the main thread, which writes the ring out before it acts on a message,
   * never lets it overtake them.
   */
  postAfterSends(message: FromWorker): void {
    postedSinceOpen = true;
    this.afterSends(() => post(message));
  }

  /** Runs `then` once every byte sent before it is in the ring: now, or once they are. */
  afterSends(then: () => void): void {
    if (this.#outbox.length === 0) {
      then();
    } else {
      this.#outbox.push({ then });
    }
  }

  /**
   * The connection is gone: sends that wait for room fail now, as later
   * ones will, rather than wait on a ring nobody reads.
   */
  gone(): void {
    this.#output.abort();
    this.end();
  }

  answerWho(request: number, peers: PeerInfo[]): void {
    this.#pendingWho.get(request)?.(peers);
    this.#pendingWho.delete(request);
  }

  /**
   * The service is done with the connection, or the connection is gone:
   * later sends fail, and every `who` gets nobody. Sends already made still
   * go out while the connection lasts; see {@link gone} for when it does not.
   */
  end(): void {
    this.#closing.abort(SESSION_ENDED);
    // No acknowledgement comes for a client that is gone; a sender waiting on one would hang.
    this.#credit.forgive();
    for (const answer of this.#pendingWho.values()) answer([]);
    this.#pendingWho.clear();
  }

  /** Moves the outbox into the ring as room appears; one drain at a time. */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let next = this.#outbox[0]; next; next = this.#outbox[0]) {
        if ("then" in next) {
          this.#outbox.shift();
          next.then();
        } else if (this.#output.state !== "open") {
          this.#outbox.shift();
          next.reject(new ConnectionClosedError(this.peer));
        } else {
          next.bytes = next.bytes.subarray(this.#output.write(next.bytes));
          if (next.bytes.byteLength === 0) {
            this.#outbox.shift();
            next.resolve();
          } else {
            await this.#output.waitForSpace();
          }
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}

function reportFailure(error: unknown): void {
  const failure = failedMessage(error);
  if (session) session.postAfterSends(failure);
  else post(failure);
}

let service: Service | undefined;
/** What {@link service} was loaded from: a built-in's name or a pinned module's URL. */
let serviceSpecifier: string | undefined;
let loggingConfigured = false;
let session: RemoteSession | undefined;
/** This Worker's rings and doorbell, sent with its first client and kept for every later one. */
let rings: WorkerRings | undefined;
/** The doorbell and the control block of {@link rings}, wrapped once. */
let doorbell: Doorbell | undefined;
let control: WorkerControl | undefined;
let driver: ServiceDriver | undefined;
// Opening, serving and finishing a client run strictly one after another.
let steps: Promise<void> = Promise.resolve();

/**
 * Durations of requests not yet reported. They ride on `finished`, or go in
 * a `requests` message once TIMINGS_FLUSH_MS has passed.
 */
let requestTimings: number[] = [];
let timingsFlush: ReturnType<typeof setTimeout> | undefined;

function recordTiming(seconds: number): void {
  requestTimings.push(seconds);
  timingsFlush ??= setTimeout(() => {
    timingsFlush = undefined;
    const requests = takeTimings();
    if (requests) post({ type: "requests", requests });
  }, TIMINGS_FLUSH_MS);
}

/** The timings gathered since the last report, or nothing when there are none. */
function takeTimings(): number[] | undefined {
  if (requestTimings.length === 0) return undefined;
  const taken = requestTimings;
  requestTimings = [];
  return taken;
}

const LEVEL_RANK: Record<LogRecordLevel, number> = { debug: 0, info: 1, warning: 2, error: 3 };

/**
 * Hands this Worker's log records at or above the server's level to the main
 * thread, which logs them: a Worker does not load LogTape (lib/logger.ts).
 */
function forwardLogs(settings: LogSettings): void {
  const lowest = LEVEL_RANK[RECORD_LEVEL[settings.level]];
  setLogBackend({
    write(category, level, message, properties) {
      if (LEVEL_RANK[level] < lowest) return;
      post({ type: "log", category: [...category], level, message, properties });
    },
    isEnabledFor: (_, level) => LEVEL_RANK[level] >= lowest,
  });
}

function enqueue(step: () => Promise<void>): void {
  steps = steps.then(step).catch(reportFailure);
}

/** A client to serve, by message or through the control block. */
type Opening = Extract<ToWorker, { type: "open" }>;

async function openSession(message: Opening): Promise<void> {
  postedSinceOpen = false;
  if (!loggingConfigured) {
    forwardLogs(message.log);
    loggingConfigured = true;
  }
  // A Worker kept for the next client may meet a new version of the service (a reload).
  if (!service || serviceSpecifier !== message.service) {
    service = await loadService(message.service, message.serviceArgs);
    serviceSpecifier = message.service;
    post({ type: "loaded" });
  }
  rings = message.rings ?? rings;
  if (!rings) throw new Error("the first client came without the Worker's rings");
  const bell = doorbell ??= new Doorbell(rings.doorbell);
  control ??= new WorkerControl(rings.control);
  // Wrapped anew for each client: the main thread emptied the rings before it opened this one.
  const input = new ByteRing(rings.input);
  session = new RemoteSession(message, new ByteRing(rings.output, () => bell.ring()));
  const onRequest = message.timeRequests ? recordTiming : undefined;
  driver = new SessionDriver(service, session, message.maxLine, onRequest);
  driver.start(reportFailure);
  await serveInput(input, driver, service.handlersOnly === true ? session : undefined);
}

/**
 * How long a Worker whose service works only in its handlers blocks for the
 * client's next bytes before it waits without blocking: long enough for the
 * next request of a busy client, short enough that an idle one costs nothing.
 */
const BLOCK_MS = 20;
/** How often a blocking Worker still lets its event loop run (messages, the timings' timer). */
const YIELD_EVERY_MS = 100;
/** When this Worker's event loop last ran: a blocking Worker lets it run every YIELD_EVERY_MS. */
let yieldedAt = performance.now();

/** Lets the event loop run (a message, a timer) if a blocking wait has held it YIELD_EVERY_MS. */
async function yieldIfDue(): Promise<boolean> {
  if (performance.now() - yieldedAt <= YIELD_EVERY_MS) return false;
  await new Promise((resolve) => setTimeout(resolve, 0));
  yieldedAt = performance.now();
  return true;
}

/** How a Worker waits for one thing: its client's bytes, or its next client. */
interface Wait {
  /** Blocks the thread for at most `ms`; the event loop stands still meanwhile. */
  blocking(ms: number): void;
  /** Waits through the event loop, which runs the service's timers and I/O meanwhile. */
  async(): Promise<void>;
  /** Whether what is waited for came (or can no longer come). */
  done(): boolean;
}

/**
 * One turn of a wait; the caller looks again after it. A Worker may block
 * only when `block` says it has nothing else to run (its service works only
 * in its handlers), and then for at most {@link BLOCK_MS}, letting its event
 * loop run every {@link YIELD_EVERY_MS}; otherwise, or after that, it waits
 * without blocking.
 */
async function waitTurn(wait: Wait, block: boolean): Promise<void> {
  if (block) {
    if (await yieldIfDue()) return;
    wait.blocking(BLOCK_MS);
    if (wait.done()) return;
  }
  await wait.async();
  yieldedAt = performance.now();
}

/**
 * Hands the client's bytes to the service in order, each chunk once the one
 * before it has been handled. A chunk's room in the ring is given back only
 * then: until the service is done with it, the main thread counts it as work
 * this Worker owes, which is how a stuck handler is told from an idle one.
 * Waiting is `Atomics.waitAsync`, so the service's own timers and I/O run
 * meanwhile.
 */
async function serveInput(
  input: ByteRing,
  serving: ServiceDriver,
  blocking?: RemoteSession,
): Promise<void> {
  for (;;) {
    // A view of the ring, not a copy: a service reads its input only until
    // the promise settles (as on the main thread, where the read buffer is
    // reused), and the room is given back only then.
    const chunk = input.readInPlace();
    if (chunk) {
      try {
        await serving.input(chunk);
      } catch (error) {
        reportFailure(error);
      }
      input.release(chunk.byteLength);
      continue;
    }
    const state = input.state;
    if (driver !== serving) return;
    if (state === "aborted") {
      // The connection is gone (a `closed` message follows, which this makes
      // moot): fail the waiting sends, finish, and be free for the next client.
      session?.gone();
      await finishSession();
      return;
    }
    if (state === "ended") {
      // The client finished sending: answer what is left, then finish, so the
      // main thread can close the socket knowing this Worker is free again.
      await serving.endInput();
      await finishSession();
      return;
    }
    // A service that works only in its handlers has nothing to run while it
    // waits for input, so the thread may block; not while its own sends wait
    // for room, which only an asynchronous wait would see come.
    await waitTurn({
      blocking: (ms) => input.waitForDataBlocking(ms),
      async: () => input.waitForData(),
      done: () => input.available > 0 || input.state !== "open",
    }, blocking !== undefined && !blocking.sendsWaiting);
  }
}

/** Runs the service's `close()` once, then frees this Worker for the next client. */
async function finishSession(): Promise<void> {
  const finishing = driver;
  const ending = session;
  if (!finishing || !ending) return;
  ending.end();
  session = undefined;
  driver = undefined;
  try {
    await finishing.finish();
  } finally {
    const requests = takeTimings();
    const block = control;
    const bell = doorbell;
    if (postedSinceOpen || requests || !block || !bell) {
      ending.postAfterSends({ type: "finished", requests });
    } else {
      // Nothing of this client's is on its way by message: finish through
      // shared memory, and wait there for the next client.
      ending.afterSends(() => {
        const seen = block.opened;
        block.finish();
        bell.ring();
        awaitNextOpen(block, seen).catch(reportFailure);
      });
    }
  }
}

/**
 * Waits for the main thread to open the next client through the control
 * block, then serves it. A Worker whose service works only in its handlers
 * blocks for it, as it does for input (see {@link serveInput}): between two
 * clients it has nothing at all to run, and a blocked thread wakes by the
 * futex alone, where an asynchronous wait wakes through the event loop.
 *
 * @param seen The block's open count before this Worker said it finished.
 */
async function awaitNextOpen(block: WorkerControl, seen: number): Promise<void> {
  const wait: Wait = {
    blocking: (ms) => block.waitForOpenBlocking(seen, ms),
    async: () => block.waitForOpen(seen),
    done: () => block.opened !== seen,
  };
  while (!wait.done()) await waitTurn(wait, service?.handlersOnly === true);
  // Nothing there: the open was too long for the block, and comes by message.
  const message = block.readOpen() as Opening | undefined;
  if (message) enqueue(() => openSession(message));
}

function onMessage(event: MessageEvent<ToWorker>): void {
  const message = event.data;
  switch (message.type) {
    case "port":
      // Started by the spawner: the main thread is at the other end of this port.
      toMain = message.port;
      message.port.onmessage = onMessage;
      post({ type: "ready" });
      break;
    case "open":
      enqueue(() => openSession(message));
      break;
    case "who":
      session?.answerWho(message.request, message.peers);
      break;
    case "credit":
      session?.credit(message.bytes);
      break;
    case "closed":
      // Late, for a client this Worker finished by itself once its input was aborted.
      if (message.id !== undefined && message.id !== session?.id) break;
      // Fail the waiting sends first, so a service blocked on one can finish.
      session?.gone();
      enqueue(finishSession);
      break;
  }
}

self.onmessage = onMessage;
post({ type: "ready" });
