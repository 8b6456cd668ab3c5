/**
 * The `workers` strategy's byte shuttle: the main thread keeps a client's
 * socket and carries its bytes to and from the client's Worker through two
 * rings in shared memory, one each way. Each ring is a window: a full one
 * holds the side that fills it back, so memory stays bounded whichever side
 * is slow. Messages carry the control that is rare: close, failures, `who`,
 * broadcasts. A client's `open` and `finished` cross through the Worker's
 * control block in shared memory (`control.ts`) when no message has to keep
 * its order with them, which under churn is nearly every client.
 *
 * @module
 */
import { Acknowledgements } from "../../lib/chat/credit.ts";
import type { Connection } from "../../lib/connection.ts";
import { INTERNAL_ERROR_NOTICE, logServiceFailure } from "../../lib/errors.ts";
import { logger, type LogSettings } from "../../lib/log.ts";
import { writeLogRecord } from "../../lib/logger.ts";
import type { ServerContext } from "../../lib/strategy.ts";
import {
  type FromWorker,
  RING_CAPACITY,
  settleFailed,
  type ToWorker,
  type WorkerRings,
} from "../worker_protocol.ts";
import { WorkerControl } from "./control.ts";
import type { DoorbellWatcher } from "./doorbell.ts";
import { terminateStuck } from "./pool.ts";
import { ByteRing } from "./ring.ts";
import type { SpawnedWorker } from "./spawner.ts";
import { StuckWorkerWatchdog } from "./watchdog.ts";

/**
 * After the server's hard stop has closed its client, how long a busy
 * Worker's service gets to finish before the Worker is terminated.
 * Terminating a Worker ends its JavaScript but not the processes it started,
 * so exec needs the chance to stop its program (it sends SIGKILL two seconds
 * after SIGTERM); a service stuck in a long computation is cut off after this.
 */
export const FINISH_AFTER_CLOSE_MS = 5_000;

const log = logger("workers");

/** What the `workers` strategy tells each shuttle: its own settings, no other strategy's. */
export interface WorkerTuning {
  /** How the Worker logs. */
  readonly log: LogSettings;
  /** How long the Worker may leave its client's input unanswered; 0 never. */
  readonly handlerTimeoutMs: number;
}

/** What the main thread keeps of each Worker's shared memory, made with its first client. */
interface WorkerMemory {
  /** What the Worker was sent with its first client. */
  readonly rings: WorkerRings;
  readonly input: ByteRing;
  readonly output: ByteRing;
  readonly control: WorkerControl;
  /**
   * Whether the Worker finished its last client through the control block,
   * and so waits there for the next one; otherwise it waits for a message.
   */
  waitsOnControl: boolean;
}

const workerMemory = new WeakMap<SpawnedWorker, WorkerMemory>();

function memoryOf(worker: SpawnedWorker, doorbell: DoorbellWatcher): WorkerMemory {
  let memory = workerMemory.get(worker);
  if (memory === undefined) {
    const input = ByteRing.create(RING_CAPACITY);
    const output = ByteRing.create(RING_CAPACITY);
    const control = WorkerControl.create();
    memory = {
      rings: {
        input: input.buffer,
        output: output.buffer,
        doorbell: doorbell.bell.buffer,
        control: control.buffer,
      },
      input,
      output,
      control,
      waitsOnControl: false,
    };
    workerMemory.set(worker, memory);
  }
  return memory;
}

/**
 * Shuttles one client's bytes to and from its Worker until the service has
 * finished. Resolves with whether the Worker may serve another client.
 *
 * @param onFinishing Called once the client is gone (or done sending) and
 *   the Worker has only its service's close to run: the Worker will be free
 *   soon, which the pool counts on rather than start another.
 */
export async function serveThroughWorker(
  worker: SpawnedWorker,
  connection: Connection,
  context: ServerContext,
  tuning: WorkerTuning,
  doorbell: DoorbellWatcher,
  onFinishing: () => void = () => {},
): Promise<boolean> {
  const { log: logSettings, handlerTimeoutMs } = tuning;
  let reusable = true;
  // The Worker's own rings, emptied for this client, so nothing of the last
  // one can be read by this one.
  const firstClient = !workerMemory.has(worker);
  const memory = memoryOf(worker, doorbell);
  const { input, output, control } = memory;
  input.reset();
  output.reset();
  // The Worker finished this many clients through the control block before this one.
  const finishedBefore = control.finished;
  // Set once this client is over: a write of its that settles later must not
  // give room back in a ring that the next client's has been emptied for.
  let over = false;
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
    handlerTimeoutMs,
    // The Worker owes us work while input is in its ring unhandled (it gives
    // a chunk's room back only once its service has handled it), or while it
    // has been told the client is done and has not finished.
    () => input.used > 0 || awaitingFinish,
    () => {
      // A Worker stuck in a loop never reads another message; only terminate stops it.
      terminateStuck(worker);
      fail(`its Worker ran past the handler timeout of ${handlerTimeoutMs} ms`);
    },
    // Input handled is progress, though no message says so.
    () => input.releasedCount,
  );
  // A Worker that loaded the service for an earlier client is running already.
  if (loadedServices.get(worker) === context.serviceSpecifier) watchdog.start();
  const post = (message: ToWorker) => {
    worker.postMessage(message);
    if (message.type !== "who") watchdog.watch();
  };

  const reportTimings = (timings: number[] | undefined) => {
    if (!timings || !context.onRequest) return;
    for (const seconds of timings) context.onRequest(seconds);
  };

  /**
   * Queues for the socket everything the Worker has put in the output ring.
   * The room of those bytes is given back only once they are written, so a
   * client that does not read leaves the ring full and the Worker's sends
   * waiting: that is the backpressure, and it is not a stuck handler.
   */
  const writeOutput = () => {
    // Written straight from the ring, which is why its room waits for the write.
    for (let bytes = output.readInPlace(); bytes; bytes = output.readInPlace()) {
      watchdog.heard();
      watchdog.holdBack();
      const n = bytes.byteLength;
      const written = () => {
        if (over) return;
        output.release(n);
        watchdog.letGo();
      };
      // A failed write closes the connection, and the Worker hears "closed".
      connection.write(bytes).then(written, written);
    }
  };
  // The Worker rings the strategy's one doorbell after each write, and after
  // it finishes through the control block; the main thread then looks at
  // every client's output ring and control block.
  const stopWatchingOutput = doorbell.add(() => {
    // Loaded first: the Worker writes the last of its output before it finishes.
    const finishedHere = control.finished !== finishedBefore;
    writeOutput();
    if (finishedHere && !isFinished) {
      memory.waitsOnControl = true;
      finish();
    }
  });

  // Broadcasts are acknowledged while the room keeps up; the Worker waits
  // for credit when it does not, so a flooder's reads pause (lib/chat/credit.ts).
  const acknowledgements = new Acknowledgements<void>((_, bytes) => {
    worker.postMessage({ type: "credit", bytes } satisfies ToWorker);
  });

  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const message = event.data;
    watchdog.heard();
    switch (message.type) {
      case "broadcast": {
        // The room (here, and on other nodes over a bus) is behind: hold.
        const paced = context.hub.broadcast(connection.id, message.bytes);
        if (paced) acknowledgements.holdWhile(() => context.hub.caughtUp(), paced);
        acknowledgements.received(undefined, message.bytes.byteLength);
        break;
      }
      case "name":
        context.hub.rename(connection.id, message.name);
        break;
      case "who":
        post({ type: "who", request: message.request, peers: context.hub.who() });
        break;
      case "close":
        // What the service sent before it closed goes out first, here and below.
        writeOutput();
        void connection.closeAfterWrites();
        break;
      case "loaded":
        loadedServices.set(worker, context.serviceSpecifier);
        watchdog.start();
        break;
      case "requests":
        reportTimings(message.requests);
        break;
      case "failed":
        writeOutput();
        settleFailed(message, connection, fail, log);
        break;
      case "log":
        writeLogRecord(message.category, message.level, message.message, message.properties);
        break;
      case "finished":
        writeOutput();
        reportTimings(message.requests);
        memory.waitsOnControl = false;
        finish();
        break;
    }
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    fail(event.message);
  };
  // Once the connection is gone, neither side may wait on the other: waits
  // for room or data end, the Worker's waiting sends fail, and nothing more
  // is read from either ring.
  const abortRings = () => {
    input.abort();
    output.abort();
  };
  connection.signal.addEventListener("abort", abortRings, { once: true });

  /** An open through the control block that waits for the client's first bytes. */
  let unopened: ToWorker | undefined;
  const openNow = () => {
    if (unopened === undefined) return;
    const opening = unopened;
    unopened = undefined;
    // By message if too long for the block; the Worker, told so, waits for it.
    if (!control.open(opening)) worker.postMessage(opening);
    watchdog.watch();
  };

  context.hub.join(connection, context.service);
  try {
    const opening: ToWorker = {
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
    };
    if (memory.waitsOnControl) {
      // Through shared memory, where the Worker waits. A service with no
      // open() of its own has nothing to do before the client's first bytes,
      // so it is opened with them (or with the client's end): one wake-up of
      // the Worker for both.
      memory.waitsOnControl = false;
      unopened = opening;
      if (context.service.open) openNow();
    } else {
      post(firstClient ? { ...opening, rings: memory.rings } : opening);
    }
    reading: for (let chunk = await connection.read(); chunk; chunk = await connection.read()) {
      // The ring copies the chunk, so the connection may reuse its buffer.
      for (let at = input.write(chunk);; at += input.write(chunk.subarray(at))) {
        openNow();
        watchdog.watch();
        if (at === chunk.byteLength) break;
        // The ring is full: the client is not read again until the Worker catches up.
        await input.waitForSpace();
        if (!reusable || input.state !== "open") break reading;
      }
      if (!reusable) break;
    }
    if (reusable) onFinishing();
    if (!connection.closed && reusable) {
      // End of input: the Worker answers what is left, then finishes.
      awaitingFinish = true;
      input.end();
      openNow();
      watchdog.watch();
      await untilAborted(finished, connection.signal);
      await connection.closeAfterWrites();
    }
  } finally {
    context.hub.leave(connection.id);
    acknowledgements.close();
    // A failed service's client is owed its "ERR internal error" line.
    if (reusable) connection.close();
    else await connection.closeAfterWrites();
    connection.signal.removeEventListener("abort", abortRings);
    abortRings();
    // Never opened: the Worker opens now, finds its input aborted, and finishes.
    openNow();
    if (reusable && !isFinished) {
      awaitingFinish = true;
      post({ type: "closed", id: connection.id });
    }
    // Usually finished by now (a client's last wake-up is its Worker's `finished`).
    if (!isFinished) await untilAborted(finished, context.hardStop);
    // Shutting down: the service still gets a moment to finish, so that what
    // it holds outside the Worker (a program under exec) is let go, not orphaned.
    if (!isFinished) await withinGrace(finished, FINISH_AFTER_CLOSE_MS);
    watchdog.stop();
    worker.onmessage = null;
    worker.onerror = null;
    stopWatchingOutput();
    over = true;
  }
  return reusable && !context.hardStop.aborted;
}

/** Waits for `promise`, but no longer than `ms` milliseconds, leaving no timer behind. */
export async function withinGrace(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
  try {
    await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The service each Worker has loaded, so start-up no longer counts against
 * it; a Worker that meets a new version (a reload) loads again first.
 */
const loadedServices = new WeakMap<SpawnedWorker, string>();

/** Waits for `promise`, or less if `signal` aborts first, leaving no listener behind. */
export async function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
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
