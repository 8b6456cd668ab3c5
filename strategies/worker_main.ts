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
import { ConnectionClosedError, describeError, isDisconnect } from "../lib/errors.ts";
import { configureLogging } from "../lib/log.ts";
import type { PeerInfo, Service, Session } from "../lib/service.ts";
import { ServiceDriver } from "../lib/service_driver.ts";
import { loadService } from "../services/mod.ts";
import type { FromWorker, ToWorker } from "./worker_protocol.ts";

const encoder = new TextEncoder();

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

/** Copies bytes into a buffer of their own, so it can be transferred. */
function ownBytes(data: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return typeof data === "string" ? encoder.encode(data) : data.slice();
}

/** A session whose every action is a message to the main thread. */
class RemoteSession implements Session {
  readonly id: number;
  readonly peer: string;
  readonly #closing = new AbortController();
  readonly #pendingSends = new Map<number, { resolve(): void; reject(error: Error): void }>();
  readonly #pendingWho = new Map<number, (peers: PeerInfo[]) => void>();
  #nextSeq = 0;

  constructor(id: number, peer: string) {
    this.id = id;
    this.peer = peer;
  }

  get signal(): AbortSignal {
    return this.#closing.signal;
  }

  send(data: string | Uint8Array): Promise<void> {
    if (this.signal.aborted) return Promise.reject(new ConnectionClosedError(this.peer));
    const seq = ++this.#nextSeq;
    const bytes = ownBytes(data);
    return new Promise((resolve, reject) => {
      this.#pendingSends.set(seq, { resolve, reject });
      post({ type: "send", seq, bytes }, [bytes.buffer]);
    });
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
    const request = ++this.#nextSeq;
    return new Promise((resolve) => {
      this.#pendingWho.set(request, resolve);
      post({ type: "who", request });
    });
  }

  close(): void {
    post({ type: "close" });
  }

  settleSend(seq: number, ok: boolean): void {
    const pending = this.#pendingSends.get(seq);
    this.#pendingSends.delete(seq);
    if (ok) pending?.resolve();
    else pending?.reject(new ConnectionClosedError(this.peer));
  }

  answerWho(request: number, peers: PeerInfo[]): void {
    this.#pendingWho.get(request)?.(peers);
    this.#pendingWho.delete(request);
  }

  /** The connection is gone: every waiting send fails, every `who` gets nobody. */
  end(): void {
    this.#closing.abort();
    for (const pending of this.#pendingSends.values()) {
      pending.reject(new ConnectionClosedError(this.peer));
    }
    this.#pendingSends.clear();
    for (const answer of this.#pendingWho.values()) answer([]);
    this.#pendingWho.clear();
  }
}

function reportFailure(error: unknown): void {
  post({
    type: "failed",
    reason: describeError(error),
    stack: error instanceof Error ? error.stack ?? error.message : String(error),
    disconnect: isDisconnect(error),
  });
}

let service: Service | undefined;
let loggingConfigured = false;
let session: RemoteSession | undefined;
let driver: ServiceDriver | undefined;
// Durations of requests not yet reported; they ride on the next `consumed` or `finished`.
let requestTimings: number[] = [];
// Input is handled strictly in arrival order, one chunk after another.
let inputTail: Promise<void> = Promise.resolve();

function enqueue(step: () => Promise<void>): void {
  inputTail = inputTail.then(step).catch(reportFailure);
}

async function openSession(message: Extract<ToWorker, { type: "open" }>): Promise<void> {
  if (!loggingConfigured) {
    configureLogging(message.log);
    loggingConfigured = true;
  }
  service ??= await loadService(message.service);
  session = new RemoteSession(message.id, message.peer);
  const onRequest = message.timeRequests
    ? (seconds: number) => void requestTimings.push(seconds)
    : undefined;
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
  try {
    await finishing.finish();
  } finally {
    post({ type: "finished", requests: takeTimings() });
  }
}

/** The timings gathered since the last report, or nothing when there are none. */
function takeTimings(): number[] | undefined {
  if (requestTimings.length === 0) return undefined;
  const taken = requestTimings;
  requestTimings = [];
  return taken;
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "open":
      enqueue(() => openSession(message));
      break;
    case "data":
      enqueue(async () => {
        await driver?.input(message.chunk);
        post({ type: "consumed", bytes: message.chunk.byteLength, requests: takeTimings() });
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
      session?.settleSend(message.seq, message.ok);
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
