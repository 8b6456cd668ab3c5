/**
 * The entry point of a `workers` Worker: it runs one client's service at a
 * time, and its `Session` carries every send, broadcast and close to the main
 * thread, which owns the socket. A Worker may serve many clients one after
 * another, which is what lets the strategy keep a pool of ready Workers.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { ConnectionClosedError, describeError, errorStack, isDisconnect } from "../lib/errors.ts";
import { configureLogging } from "../lib/log.ts";
import type { PeerInfo, Service, Session } from "../lib/service.ts";
import { ServiceDriver } from "../lib/service_driver.ts";
import { loadService } from "../services/mod.ts";
import {
  ACK_BATCH,
  type FromWorker,
  SEND_WINDOW,
  TIMINGS_FLUSH_MS,
  type ToWorker,
} from "./worker_protocol.ts";

const encoder = new TextEncoder();

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

/** Copies bytes into a buffer of their own, so it can be transferred. */
function ownBytes(data: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return typeof data === "string" ? encoder.encode(data) : data.slice();
}

const SENT = Promise.resolve();

/** A session whose every action is a message to the main thread. */
class RemoteSession implements Session {
  readonly id: number;
  readonly peer: string;
  readonly remoteAddr: Deno.Addr;
  readonly localAddr: Deno.Addr;
  readonly #closing = new AbortController();
  readonly #sendWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  readonly #pendingWho = new Map<number, (peers: PeerInfo[]) => void>();
  #unwritten = 0;
  #nextRequest = 0;

  constructor(opening: Extract<ToWorker, { type: "open" }>) {
    this.id = opening.id;
    this.peer = opening.peer;
    this.remoteAddr = opening.remoteAddr;
    this.localAddr = opening.localAddr;
  }

  get signal(): AbortSignal {
    return this.#closing.signal;
  }

  send(data: string | Uint8Array): Promise<void> {
    if (this.signal.aborted) return Promise.reject(new ConnectionClosedError(this.peer));
    const bytes = ownBytes(data);
    this.#unwritten += bytes.byteLength;
    const full = this.#unwritten > SEND_WINDOW;
    post(
      { type: "send", bytes, ack: full, consumed: takeUnreportedInput(), requests: takeTimings() },
      [bytes.buffer],
    );
    if (!full) return SENT;
    return new Promise((resolve, reject) => this.#sendWaiters.push({ resolve, reject }));
  }

  sendLine(text: string): Promise<void> {
    return this.send(`${text}\r\n`);
  }

  broadcast(data: string | Uint8Array): void {
    const bytes = ownBytes(data);
    post({ type: "broadcast", bytes }, [bytes.buffer]);
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
    post({ type: "close" });
  }

  /** The main thread wrote `bytes` more of our sends: waiting sends may go on. */
  written(bytes: number): void {
    this.#unwritten -= bytes;
    if (this.#unwritten > SEND_WINDOW) return;
    for (const waiter of this.#sendWaiters.splice(0)) waiter.resolve();
  }

  answerWho(request: number, peers: PeerInfo[]): void {
    this.#pendingWho.get(request)?.(peers);
    this.#pendingWho.delete(request);
  }

  /** The connection is gone: every waiting send fails, every `who` gets nobody. */
  end(): void {
    this.#closing.abort();
    for (const waiter of this.#sendWaiters.splice(0)) {
      waiter.reject(new ConnectionClosedError(this.peer));
    }
    for (const answer of this.#pendingWho.values()) answer([]);
    this.#pendingWho.clear();
  }
}

function reportFailure(error: unknown): void {
  post({
    type: "failed",
    reason: describeError(error),
    stack: errorStack(error),
    disconnect: isDisconnect(error),
  });
}

let service: Service | undefined;
/** What {@link service} was loaded from: a built-in's name or a pinned module's URL. */
let serviceSpecifier: string | undefined;
let loggingConfigured = false;
let session: RemoteSession | undefined;
let driver: ServiceDriver | undefined;
// Input is handled strictly in arrival order, one chunk after another.
let inputTail: Promise<void> = Promise.resolve();
let queuedSteps = 0;
/**
 * Input bytes handed to the service and not yet reported to the main thread.
 * They ride on the next `send` (a request's reply carries its own
 * acknowledgement), and otherwise go in a `consumed` of their own once the
 * queue is empty or ACK_BATCH bytes have piled up.
 */
let unreportedInput = 0;

/**
 * Durations of requests not yet reported. They ride on the next `send`,
 * `consumed` or `finished`, or go in a `requests` message once
 * TIMINGS_FLUSH_MS has passed without one.
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

function takeUnreportedInput(): number {
  const bytes = unreportedInput;
  unreportedInput = 0;
  return bytes;
}

function enqueue(step: () => Promise<void>): void {
  queuedSteps++;
  inputTail = inputTail.then(step).catch(reportFailure).finally(() => {
    queuedSteps--;
    if (unreportedInput > 0 && (queuedSteps === 0 || unreportedInput >= ACK_BATCH)) {
      post({ type: "consumed", bytes: takeUnreportedInput(), requests: takeTimings() });
    }
  });
}

async function openSession(message: Extract<ToWorker, { type: "open" }>): Promise<void> {
  if (!loggingConfigured) {
    configureLogging(message.log);
    loggingConfigured = true;
  }
  // A Worker kept for the next client may meet a new version of the service (a reload).
  if (!service || serviceSpecifier !== message.service) {
    service = await loadService(message.service, message.serviceArgs);
    serviceSpecifier = message.service;
    post({ type: "loaded" });
  }
  session = new RemoteSession(message);
  const onRequest = message.timeRequests ? recordTiming : undefined;
  driver = new ServiceDriver(service, session, message.maxLine, reportFailure, onRequest);
  driver.start();
}

/** Runs the service's `close()` once, then frees this Worker for the next client. */
async function finishSession(): Promise<void> {
  const finishing = driver;
  if (!finishing) return;
  session?.end();
  session = undefined;
  driver = undefined;
  unreportedInput = 0;
  try {
    await finishing.finish();
  } finally {
    post({ type: "finished", requests: takeTimings() });
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "open":
      enqueue(() => openSession(message));
      break;
    case "data":
      enqueue(async () => {
        // Counted as consumed once the service has it: from here on it is the
        // service's to hold back, by awaiting its sends.
        unreportedInput += message.chunk.byteLength;
        await driver?.input(message.chunk);
      });
      break;
    case "end":
      // The client finished sending: answer what is left, then finish, so the
      // main thread can close the socket knowing this Worker is free again.
      enqueue(async () => {
        await driver?.end();
        await finishSession();
      });
      break;
    case "sent":
      session?.written(message.bytes);
      break;
    case "who":
      session?.answerWho(message.request, message.peers);
      break;
    case "closed":
      // Fail the waiting sends first, so a service blocked on one can finish.
      session?.end();
      enqueue(finishSession);
      break;
  }
};

post({ type: "ready" });
