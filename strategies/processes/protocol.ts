/**
 * The control messages between the main process, which owns a client's
 * socket, and the `processes` child that runs the client's service. They
 * travel as control frames (`frames.ts`) on the child's standard input and
 * output, between the data frames that carry the client's bytes, so they
 * keep their order with those bytes: a reply is never overtaken by the
 * `close` or the failure that follows it.
 *
 * @module
 */
import type { FromWorker, ToWorker } from "../worker_protocol.ts";
import type { PinnedSources } from "../../services/pinned_copy.ts";

/**
 * Bytes of the client's input the main process sends ahead of the child's
 * acknowledgements. The child reads its standard input all the time, so that
 * a `who` answer is never stuck behind data it has no room for; this window
 * is what bounds the input it holds. A client that sends faster than its
 * service works is no longer read once the window is full, so TCP holds it
 * back, not memory.
 */
export const INPUT_WINDOW = 64 * 1024;

/**
 * Bytes of the service's output the main process queues on the socket
 * before it stops reading the child: then the pipe fills, and the child's
 * sends wait, which is how a client that does not read holds its service back.
 */
export const OUTPUT_WINDOW = 64 * 1024;

/**
 * From the main process to the child: what a Worker is told, with frames
 * where a Worker has rings. The `open` message is a Worker's without its
 * rings and doorbell; the client's bytes follow it in data frames.
 */
export type ToChild =
  | Omit<Extract<ToWorker, { type: "open" }>, "rings"> & {
    /**
     * A module's pinned texts: a `blob:` URL of the main process means
     * nothing to a child, so it gets the texts and makes its own.
     */
    pinned?: PinnedSources;
  }
  /** The client finished sending: answer what is left, then finish. */
  | { type: "end" }
  | Extract<ToWorker, { type: "closed" | "who" }>;

/**
 * From the child to the main process: what a Worker says, except what a
 * Worker's rings and its `ready` cover, and with `handled`, which
 * acknowledges input as a ring's released room does.
 */
export type FromChild =
  | Extract<FromWorker, { type: "loaded" | "name" | "who" | "close" | "failed" | "finished" }>
  /**
   * The service has handled this many more bytes of input, and these
   * requests took these many seconds (when asked to time them).
   */
  | { type: "handled"; bytes: number; requests?: number[] };
