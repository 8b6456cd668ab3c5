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
import type { LogSettings } from "../../lib/log.ts";
import type { PeerInfo } from "../../lib/service.ts";

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

/** From the main process to the child. */
export type ToChild =
  /** The client: load the service and call `open()`; its bytes follow in data frames. */
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
    /** Whether to time requests and report their durations. */
    timeRequests: boolean;
  }
  /** The client finished sending: answer what is left, then finish. */
  | { type: "end" }
  /** The connection is gone: finish the service and report `finished`. */
  | { type: "closed" }
  /** The answer to a `who` request. */
  | { type: "who"; request: number; peers: PeerInfo[] };

/** From the child to the main process. */
export type FromChild =
  /** The service is loaded; from now on the handler timeout counts. */
  | { type: "loaded" }
  /** The client's new name. */
  | { type: "name"; name: string }
  /** List the server's clients; answer with `who`. */
  | { type: "who"; request: number }
  /** Close the connection once what was sent before is written. */
  | { type: "close" }
  /**
   * The service has handled this many more bytes of input, and these
   * requests took these many seconds (when asked to time them).
   */
  | { type: "handled"; bytes: number; requests?: number[] }
  /** The service threw; `disconnect` says whether it only met a closed connection. */
  | { type: "failed"; reason: string; stack: string; disconnect: boolean }
  /** The service's `close()` ran; the child exits next. */
  | { type: "finished"; requests?: number[] };
