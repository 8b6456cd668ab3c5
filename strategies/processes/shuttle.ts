/**
 * The `processes` strategy's byte shuttle: the main process keeps a client's
 * socket and carries its bytes to and from the client's child process
 * through the child's standard input and output, in frames (`frames.ts`).
 * Both directions are windows: the child acknowledges the input it has
 * handled, and no more than {@link INPUT_WINDOW} goes unacknowledged; the
 * child's output is read only while the socket keeps up. A child whose
 * handler owes work and says nothing past the handler timeout is killed with
 * SIGKILL, which, unlike a Worker's `terminate()`, always stops it.
 *
 * @module
 */
import type { Connection } from "../../lib/connection.ts";
import {
  describeError,
  errorStack,
  INTERNAL_ERROR_NOTICE,
  logServiceFailure,
} from "../../lib/errors.ts";
import { logger, type LogSettings } from "../../lib/log.ts";
import type { ServerContext } from "../../lib/strategy.ts";
import { StuckWorkerWatchdog } from "../workers/watchdog.ts";
import { settleFailed } from "../worker_protocol.ts";
// After the hard stop a child's service gets the grace a Worker's gets (exec stops its program).
import { FINISH_AFTER_CLOSE_MS, untilAborted, withinGrace } from "../workers/shuttle.ts";
import {
  BROADCAST,
  CONTROL,
  DATA,
  FrameError,
  FrameReader,
  FrameWriter,
  parseControl,
} from "./frames.ts";
import { type FromChild, INPUT_WINDOW, OUTPUT_WINDOW, type ToChild } from "./protocol.ts";
import type { PinnedSources } from "../../services/pinned_copy.ts";

const log = logger("processes");

/** What the `processes` strategy tells each shuttle. */
export interface ProcessTuning {
  /** How the child logs. */
  readonly log: LogSettings;
  /** How long the child may leave its client's input unanswered; 0 never. */
  readonly handlerTimeoutMs: number;
  /** The service as the child loads it: a built-in name, `exec`, or a module URL. */
  readonly service: string;
  /** The module's pinned texts, when it is one: the child loads those, not the file. */
  readonly pinned?: PinnedSources;
}

/**
 * Shuttles one client's bytes to and from its child until the service has
 * finished. Resolves then, with `gone`, which resolves once the child is:
 * it exits by itself once its service is done, and is killed if it does not.
 * The client is done with before the child is reaped, so that a server
 * counts a connection as open for as long as its client is, not its process.
 *
 * @param child The child, just spawned, its standard input and output piped.
 * @param connection The client.
 * @param context The server's shared state.
 * @param tuning The strategy's settings.
 */
export async function serveThroughProcess(
  child: Deno.ChildProcess,
  connection: Connection,
  context: ServerContext,
  tuning: ProcessTuning,
): Promise<{ gone: Promise<void> }> {
  const { handlerTimeoutMs } = tuning;
  const toChild = child.stdin.getWriter();
  const frames = new FrameWriter({
    write: async (bytes) => {
      await toChild.write(bytes);
      return bytes.byteLength;
    },
  });
  // One frame at a time from this side: nothing to gather, so each goes out at once.
  const send = (message: ToChild) => {
    frames.control(message).catch(() => {});
    frames.flush();
  };

  let exited = false;
  const status = child.status.finally(() => exited = true);
  const kill = async () => {
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch (error) {
        // It exited between the look and the kill.
        if (!(error instanceof TypeError)) throw error;
      }
    }
    await status;
  };

  const { promise: finished, resolve: resolveFinished } = Promise.withResolvers<void>();
  let isFinished = false;
  /** Wakes the input loop waiting for the window to open, or for the end. */
  let wakeInput: (() => void) | undefined;
  const finish = () => {
    isFinished = true;
    watchdog.stop();
    resolveFinished();
    wakeInput?.();
  };
  let failure: Promise<void> | undefined;
  /**
   * The child cannot be trusted with this client: it is killed, and once it
   * is gone (reaped), the client is told and closed.
   */
  const fail = (reason: string, stack = reason) => {
    if (failure) return;
    logServiceFailure(connection.peer, reason, stack);
    failure = kill().then(() => connection.closeWithLine(INTERNAL_ERROR_NOTICE));
    finish();
  };

  let sent = 0;
  let handled = 0;
  let awaitingFinish = false;
  const watchdog = new StuckWorkerWatchdog(
    handlerTimeoutMs,
    () => sent > handled || awaitingFinish,
    () => fail(`its process ran past the handler timeout of ${handlerTimeoutMs} ms`),
    () => handled,
  );
  const reportTimings = (timings: number[] | undefined) => {
    if (!timings || !context.onRequest) return;
    for (const seconds of timings) context.onRequest(seconds);
  };

  const onControl = (message: FromChild) => {
    switch (message.type) {
      case "loaded":
        watchdog.start();
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
      case "handled":
        handled += message.bytes;
        reportTimings(message.requests);
        wakeInput?.();
        break;
      case "failed":
        settleFailed(message, connection, fail, log);
        break;
      case "finished":
        reportTimings(message.requests);
        finish();
        break;
    }
  };

  /**
   * Reads the child's output to its end (the child exits or is killed).
   * Writes to the socket beyond the window are awaited before the next read,
   * so a client that does not read fills the pipe and holds its service
   * back: backpressure, which the watchdog is told is not a stuck handler.
   */
  const readOutput = async () => {
    const reader = new FrameReader();
    for await (const chunk of child.stdout) {
      watchdog.heard();
      let frames;
      try {
        // Each chunk is a fresh array, so frames may be views of it.
        frames = reader.push(chunk, true);
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        fail(`its process wrote something that is not a frame: ${error.message}`);
        continue;
      }
      for (const frame of frames) {
        if (frame.kind === DATA) {
          if (connection.closed) continue;
          const written = connection.write(frame.payload).catch(() => {});
          if (connection.queuedBytes > OUTPUT_WINDOW) {
            watchdog.holdBack();
            await written;
            watchdog.letGo();
          }
        } else if (frame.kind === BROADCAST) {
          // The room is behind (here, or on other nodes over a bus): read no
          // more of this child until it catches up. Its pipe fills, its input
          // goes unacknowledged, the window stops its client's reads: a
          // flooder is paced as under every other mode (lib/chat/credit.ts).
          const paced = context.hub.broadcast(connection.id, frame.payload);
          if (paced) {
            watchdog.holdBack();
            await paced;
            watchdog.letGo();
          }
        } else if (frame.kind === CONTROL) {
          onControl(parseControl<FromChild>(frame.payload));
        }
      }
    }
    if (!isFinished) fail("its process exited before its service finished");
  };
  const output = readOutput().catch((error) => fail(describeError(error), errorStack(error)));

  context.hub.join(connection, context.service);
  try {
    send({
      type: "open",
      id: connection.id,
      peer: connection.peer,
      // Deno's Addr objects may carry a null prototype; a plain copy serializes cleanly.
      remoteAddr: { ...connection.remoteAddr },
      localAddr: { ...connection.localAddr },
      service: tuning.service,
      pinned: tuning.pinned,
      serviceArgs: context.serviceArgs,
      maxLine: context.maxLine,
      timeRequests: context.onRequest !== undefined,
      log: tuning.log,
    });
    for (let chunk = await connection.read(); chunk; chunk = await connection.read()) {
      // The window: the child holds at most this much input it has not handled.
      while (sent - handled >= INPUT_WINDOW && !isFinished) {
        await new Promise<void>((resolve) => wakeInput = resolve);
      }
      if (isFinished) break;
      sent += chunk.byteLength;
      // The frame is a copy, so the connection may reuse its read buffer.
      const delivered = frames.frame(DATA, chunk);
      frames.flush();
      watchdog.watch();
      if ((await delivered.then(() => true, () => false)) === false) break;
    }
    if (!connection.closed && !isFinished) {
      // End of input: the child answers what is left, then finishes.
      awaitingFinish = true;
      send({ type: "end" });
      watchdog.watch();
      await untilAborted(finished, connection.signal);
      await connection.closeAfterWrites();
    }
  } finally {
    context.hub.leave(connection.id);
    if (failure) await failure;
    else connection.close();
    if (!isFinished) {
      awaitingFinish = true;
      send({ type: "closed" });
    }
    await untilAborted(finished, context.hardStop);
    // Shutting down: the service still gets a moment to finish, so that what
    // it holds outside the child (a program under exec) is let go.
    if (!isFinished) await withinGrace(finished, FINISH_AFTER_CLOSE_MS);
    watchdog.stop();
  }
  const reap = async () => {
    // A finished child exits by itself; one that does not, or never finished, is killed.
    if (isFinished) await withinGrace(status.then(() => {}), FINISH_AFTER_CLOSE_MS);
    await kill();
    await toChild.close().catch(() => {});
    await output;
  };
  return { gone: reap() };
}
