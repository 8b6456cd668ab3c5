/**
 * The messages between the main thread, which owns a client's socket, and
 * the Worker that runs the client's service. Bytes cross as transferred
 * buffers, so each crossing moves them rather than copying them again.
 *
 * Flow control is by windows, not by a reply per message: a message costs a
 * thread wake-up, so each direction acknowledges in batches and only asks for
 * an immediate answer when its window is full. That keeps a request and its
 * reply to two messages while memory stays bounded both ways.
 *
 * @module
 */
import type { LogSettings } from "../lib/log.ts";
import type { PeerInfo } from "../lib/service.ts";

/**
 * Bytes a Worker's service may send before it waits for them to be written.
 * Past this, `send()` waits, so a client that does not read holds the
 * service back instead of filling the main thread's memory.
 */
export const SEND_WINDOW = 256 * 1024;
/**
 * Input bytes that may be on their way to a Worker, not yet handled. Past
 * this the main thread stops reading the client, so a client that sends
 * faster than its service works is held back by TCP, not by our memory.
 */
export const INPUT_WINDOW = 256 * 1024;
/** How many bytes each side lets pile up before it acknowledges them unasked. */
export const ACK_BATCH = 64 * 1024;
/**
 * How long a Worker holds request timings that no other message carried
 * before it sends them in a `requests` message of their own: the statistics
 * lag by at most this, and a Worker spends at most a few messages a second
 * on them however busy it is.
 */
export const TIMINGS_FLUSH_MS = 250;

/** From the main thread to a Worker. */
export type ToWorker =
  /** A new client: load the service (once per Worker) and call `open()`. */
  | {
    type: "open";
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
  /** Bytes the client sent. */
  | { type: "data"; chunk: Uint8Array }
  /** The client finished sending (end of input). */
  | { type: "end" }
  /** The connection is gone; finish the service and report `finished`. */
  | { type: "closed" }
  /** This many more bytes of the Worker's sends have been written to the client. */
  | { type: "sent"; bytes: number }
  /** The answer to a `who` request. */
  | { type: "who"; request: number; peers: PeerInfo[] };

/** From a Worker to the main thread. */
export type FromWorker =
  /** The Worker's modules are loaded; it can take a client. */
  | { type: "ready" }
  /**
   * Write these bytes to the client. `ack` asks for a `sent` as soon as they
   * are written: the Worker's send window is full and its service is waiting.
   * `consumed` acknowledges input, as a `consumed` message would. `requests`,
   * here and below, holds the durations in seconds of requests handled since
   * the last report: timings ride on messages that go anyway.
   */
  | { type: "send"; bytes: Uint8Array; ack: boolean; consumed: number; requests?: number[] }
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
  /** This many input bytes were handled; the main thread may read that many more. Batched. */
  | { type: "consumed"; bytes: number; requests?: number[] }
  /** Timings that nothing else carried for {@link TIMINGS_FLUSH_MS}. */
  | { type: "requests"; requests: number[] }
  /** The service threw; `disconnect` says whether it only met a closed connection. */
  | { type: "failed"; reason: string; stack: string; disconnect: boolean }
  /** The service's `close()` ran; the Worker is free for another client. */
  | { type: "finished"; requests?: number[] };
