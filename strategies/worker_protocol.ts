/**
 * The messages between the main thread, which owns a client's socket, and
 * the Worker that runs the client's service. The client's bytes do not travel
 * in messages: they cross through two rings in shared memory (see
 * `workers/ring.ts`), handed over with the `open` message, because a message
 * costs several times what a ring and an `Atomics` wake-up cost. Messages are
 * for control: open, the end of the connection, failures, `who`, broadcasts
 * and other rare things.
 *
 * Ordering: a Worker posts `close`, `failed` and `finished` only once every
 * byte its service sent before them is in the output ring, and the main
 * thread writes what is in that ring before it acts on them, so a reply is
 * never overtaken by the close or the error notice that follows it.
 *
 * @module
 */
import { describeError, errorStack, isDisconnect } from "../lib/errors.ts";
import type { LogSettings } from "../lib/log.ts";
import type { Logger, LogRecordLevel } from "../lib/logger.ts";
import type { PeerInfo } from "../lib/service.ts";

/**
 * Bytes each ring holds, one ring each way. The ring is the window: a Worker
 * whose client does not read finds its output ring full and its sends wait,
 * and a client that sends faster than its service works finds the input ring
 * full and is no longer read, so TCP holds it back, not our memory. Small
 * enough that many Workers cost little (2 × 64 KiB each), large enough that
 * a bulk transfer wakes the other side once per many kilobytes.
 */
export const RING_CAPACITY = 64 * 1024;
/**
 * How long a Worker holds request timings that no other message carried
 * before it sends them in a `requests` message of their own: the statistics
 * lag by at most this, and a Worker spends at most a few messages a second
 * on them however busy it is.
 */
export const TIMINGS_FLUSH_MS = 250;

/** The shared memory a Worker keeps for all its clients. */
export interface WorkerRings {
  /** The client's bytes, main thread to Worker. */
  input: SharedArrayBuffer;
  /** The service's sends, Worker to main thread. */
  output: SharedArrayBuffer;
  /** The doorbell (`workers/doorbell.ts`) to ring after each write to `output`. */
  doorbell: SharedArrayBuffer;
  /**
   * The control block (`workers/control.ts`): later clients are opened, and
   * finished, through it when no message has to keep its order with them.
   */
  control: SharedArrayBuffer;
}

/** From the main thread to a Worker. */
export type ToWorker =
  /**
   * A new client: load the service (once per Worker) and call `open()`. Its
   * bytes arrive in the input ring, which the main thread ends when the
   * client finishes sending; what the service sends goes into the output ring.
   */
  | {
    type: "open";
    /**
     * The Worker's rings and the doorbell, with its first client only: the
     * Worker keeps them for every later client, and the main thread empties
     * the rings (`ByteRing.reset`) before each `open`.
     */
    rings?: WorkerRings;
    id: number;
    peer: string;
    remoteAddr: Deno.Addr;
    localAddr: Deno.Addr;
    /** A built-in name or module URL, as `loadService` takes it. */
    service: string;
    /** The words after `--` for a service made from them (exec). */
    serviceArgs: readonly string[];
    maxLine: number;
    log: LogSettings;
    /** Whether to time requests and report their durations (see `requests` below). */
    timeRequests: boolean;
  }
  /**
   * From the spawner that started this Worker (`workers/spawner.ts`), before
   * anything else: the port to the main thread, which every later message
   * comes through and every reply goes to.
   */
  | { type: "port"; port: MessagePort }
  /**
   * The connection is gone; finish the service and report `finished`. A
   * Worker ignores a `closed` for a client other than the one it serves: it
   * may come after the Worker, seeing its input ring aborted, finished that
   * client by itself and took the next one through shared memory.
   */
  | { type: "closed"; id?: number }
  /** The answer to a `who` request. */
  | { type: "who"; request: number; peers: PeerInfo[] }
  /**
   * `bytes` more of this client's broadcasts reached a room that is not
   * behind: credit for more (`lib/chat/credit.ts`).
   */
  | { type: "credit"; bytes: number };

/** From a Worker to the main thread. */
export type FromWorker =
  /** The Worker's modules are loaded; it can take a client. */
  | { type: "ready" }
  /** Send these bytes to every other client. */
  | { type: "broadcast"; bytes: Uint8Array }
  /** The client's new name. */
  | { type: "name"; name: string }
  /** List the server's clients; answer with `who`. */
  | { type: "who"; request: number }
  /** Close the connection once the queued writes are done. */
  | { type: "close" }
  /** The Worker loaded its service for the first time; its handler clock may start. */
  | { type: "loaded" }
  /**
   * The durations in seconds of requests handled since the last report,
   * batched: sent once {@link TIMINGS_FLUSH_MS} has passed, unless
   * `finished` carries them first.
   */
  | { type: "requests"; requests: number[] }
  /** The service threw; `disconnect` says whether it only met a closed connection. */
  | { type: "failed"; reason: string; stack: string; disconnect: boolean }
  /**
   * The service's `close()` ran; the Worker is free for another client. A
   * client that exchanged no other message finishes through the control
   * block instead (`workers/control.ts`).
   */
  | { type: "finished"; requests?: number[] }
  /** A record the Worker's code logged, at or above the server's level; logged here. */
  | {
    type: "log";
    category: string[];
    level: LogRecordLevel;
    message: string;
    properties: Record<string, unknown>;
  };

/**
 * The `failed` message for an error a service threw: what a Worker, and a
 * `processes` child, tell the main thread.
 *
 * @param error What the service threw.
 */
export function failedMessage(error: unknown): Extract<FromWorker, { type: "failed" }> {
  return {
    type: "failed",
    reason: describeError(error),
    stack: errorStack(error),
    disconnect: isDisconnect(error),
  };
}

/**
 * What the main thread does with a `failed` from a Worker or a `processes`
 * child: a service that only met a closed connection means the peer went
 * away, so its connection is closed quietly; any other failure goes to
 * `fail`, which tells the client.
 *
 * @param failed The message.
 * @param connection The client's connection.
 * @param fail The strategy's own way to fail a client.
 * @param log The strategy's logger.
 */
export function settleFailed(
  failed: Extract<FromWorker, { type: "failed" }>,
  connection: { readonly peer: string; close(): void },
  fail: (reason: string, stack: string) => void,
  log: Logger,
): void {
  if (!failed.disconnect) return fail(failed.reason, failed.stack);
  log.debug("{peer} went away: {reason}", { peer: connection.peer, reason: failed.reason });
  connection.close();
}
