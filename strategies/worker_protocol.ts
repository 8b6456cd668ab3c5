/**
 * The messages between the main thread, which owns a client's socket, and
 * the Worker that runs the client's service. Bytes cross as transferred
 * buffers, so each crossing moves them rather than copying them again.
 *
 * @module
 */
import type { LogSettings } from "../lib/log.ts";
import type { PeerInfo } from "../lib/service.ts";

/** From the main thread to a Worker. */
export type ToWorker =
  /** A new client: load the service (once per Worker) and call `open()`. */
  | {
    type: "open";
    id: number;
    peer: string;
    service: string;
    maxLine: number;
    log: LogSettings;
    /** Whether to time requests and report them with `consumed` and `finished`. */
    timeRequests: boolean;
  }
  /** Bytes the client sent. */
  | { type: "data"; chunk: Uint8Array }
  /** The client finished sending (end of input). */
  | { type: "end" }
  /** The connection is gone; finish the service and report `finished`. */
  | { type: "closed" }
  /** A `send` with this sequence number was written, or failed. */
  | { type: "sent"; seq: number; ok: boolean }
  /** The answer to a `who` request. */
  | { type: "who"; request: number; peers: PeerInfo[] };

/** From a Worker to the main thread. */
export type FromWorker =
  /** Write these bytes to the client and answer with `sent`. */
  | { type: "send"; seq: number; bytes: Uint8Array }
  /** Send these bytes to every other client. */
  | { type: "broadcast"; bytes: Uint8Array }
  /** The client's new name. */
  | { type: "name"; name: string }
  /** List the server's clients; answer with `who`. */
  | { type: "who"; request: number }
  /** Close the connection once the queued writes are done. */
  | { type: "close" }
  /**
   * This many input bytes were handled; the main thread may read that many
   * more. `requests` holds the durations, in seconds, of the requests handled
   * since the last report: timings ride along rather than cost a message each.
   */
  | { type: "consumed"; bytes: number; requests?: number[] }
  /** The service threw; `disconnect` says whether it only met a closed connection. */
  | { type: "failed"; reason: string; stack: string; disconnect: boolean }
  /** The service's `close()` ran; the Worker is free for another client. Timings as in `consumed`. */
  | { type: "finished"; requests?: number[] };
