/**
 * The `workers` strategy's byte shuttle: the main thread keeps a client's
 * socket and carries its bytes to and from the client's Worker, with windows
 * both ways so that memory stays bounded whichever side is slow.
 *
 * @module
 */
import type { Connection } from "../../lib/connection.ts";
import { INTERNAL_ERROR_NOTICE, logServiceFailure } from "../../lib/errors.ts";
import { logger, type LogSettings } from "../../lib/log.ts";
import type { ServerContext } from "../../lib/strategy.ts";
import { ACK_BATCH, type FromWorker, INPUT_WINDOW, type ToWorker } from "../worker_protocol.ts";
import { StuckWorkerWatchdog } from "./watchdog.ts";

/**
 * After the server's hard stop has closed its client, how long a busy
 * Worker's service gets to finish before the Worker is terminated.
 * Terminating a Worker ends its JavaScript but not the processes it started,
 * so exec needs the chance to stop its program (it sends SIGKILL two seconds
 * after SIGTERM); a service stuck in a long computation is cut off after this.
 */
const FINISH_AFTER_CLOSE_MS = 5_000;

const log = logger("workers");

/**
 * Shuttles one client's bytes to and from its Worker until the service has
 * finished. Resolves with whether the Worker may serve another client.
 */
export async function serveThroughWorker(
  worker: Worker,
  connection: Connection,
  context: ServerContext,
  logSettings: LogSettings,
): Promise<boolean> {
  let reusable = true;
  let inFlight = 0;
  let writtenUnacknowledged = 0;
  let creditWaiter: (() => void) | undefined;
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
    context.handlerTimeoutMs,
    // The Worker owes us work while input it was given is unacknowledged, or
    // while it has been told the client is done and has not finished.
    () => inFlight > 0 || awaitingFinish,
    () => {
      // A Worker stuck in a loop never reads another message; only terminate stops it.
      worker.terminate();
      fail(`its Worker ran past the handler timeout of ${context.handlerTimeoutMs} ms`);
    },
  );
  // A Worker that loaded the service for an earlier client is running already.
  if (loadedServices.get(worker) === context.serviceSpecifier) watchdog.start();
  const send = (message: ToWorker, transfer: Transferable[] = []) => {
    if (message.type === "end" || message.type === "closed") awaitingFinish = true;
    worker.postMessage(message, transfer);
    if (message.type !== "sent" && message.type !== "who") watchdog.watch();
  };

  const reportTimings = (timings: number[] | undefined) => {
    if (!timings || !context.onRequest) return;
    for (const seconds of timings) context.onRequest(seconds);
  };

  const acknowledgeInput = (bytes: number) => {
    inFlight -= bytes;
    if (inFlight <= INPUT_WINDOW) creditWaiter?.();
  };

  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const message = event.data;
    watchdog.heard();
    switch (message.type) {
      case "send": {
        const { bytes, ack } = message;
        if (message.consumed > 0) acknowledgeInput(message.consumed);
        reportTimings(message.requests);
        watchdog.holdBack();
        connection.write(bytes).then(() => {
          writtenUnacknowledged += bytes.byteLength;
          if (ack || writtenUnacknowledged >= ACK_BATCH) {
            send({ type: "sent", bytes: writtenUnacknowledged });
            writtenUnacknowledged = 0;
          }
          // A failed write closes the connection, and the Worker hears "closed".
        }, () => {}).finally(() => watchdog.letGo());
        break;
      }
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
      case "loaded":
        loadedServices.set(worker, context.serviceSpecifier);
        watchdog.start();
        break;
      case "consumed":
        acknowledgeInput(message.bytes);
        reportTimings(message.requests);
        break;
      case "requests":
        reportTimings(message.requests);
        break;
      case "failed":
        if (message.disconnect) {
          log.debug("{peer} went away: {reason}", {
            peer: connection.peer,
            reason: message.reason,
          });
          connection.close();
        } else {
          fail(message.reason, message.stack);
        }
        break;
      case "finished":
        reportTimings(message.requests);
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
      timeRequests: context.onRequest !== undefined,
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
    // A failed service's client is owed its "ERR internal error" line.
    if (reusable) connection.close();
    else await connection.closeAfterWrites();
    connection.signal.removeEventListener("abort", wake);
    if (reusable && !isFinished) send({ type: "closed" });
    await untilAborted(finished, context.signal);
    // Shutting down: the service still gets a moment to finish, so that what
    // it holds outside the Worker (a program under exec) is let go, not orphaned.
    if (!isFinished) await withinGrace(finished, FINISH_AFTER_CLOSE_MS);
    watchdog.stop();
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

/**
 * The service each Worker has loaded, so start-up no longer counts against
 * it; a Worker that meets a new version (a reload) loads again first.
 */
const loadedServices = new WeakMap<Worker, string>();

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
