/**
 * The one shape every concurrency strategy has. Like `process_request` in
 * CPython's `socketserver` mix-ins, a strategy decides only how an accepted
 * connection is handed off; the accept loop, tracking and shutdown are the
 * server's, and the protocol is the service's.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import type { Hub } from "./chat/hub.ts";
import type { Service } from "./service.ts";
import type { RequestTimer } from "./service_driver.ts";

/**
 * What a strategy gets to serve a connection with.
 *
 * @example
 * ```ts
 * import type { ServerContext } from "./strategy.ts";
 *
 * // What a strategy might log before it serves a client.
 * function describe(context: ServerContext): string {
 *   return `${context.service.name}, lines up to ${context.maxLine} bytes`;
 * }
 * ```
 */
export interface ServerContext {
  /** The service, loaded on the main thread. */
  readonly service: Service;
  /** How a Worker loads the same service: a built-in name or a module URL. */
  readonly serviceSpecifier: string;
  /** The arguments a service made from them (exec) is built with. */
  readonly serviceArgs: readonly string[];
  /** The longest line a line service accepts. */
  readonly maxLine: number;
  /** The server's clients, for broadcasts and `who`. */
  readonly hub: Hub;
  /**
   * The hard stop: aborted when the server stops for good, at once when it
   * finishes, or when the grace period of a shutdown is over. It is not the
   * shutdown signal a server's caller aborts (`ServeControls.shutdown`, the
   * soft stop): clients are still served during the grace period, so
   * strategies must keep going until this aborts.
   */
  readonly hardStop: AbortSignal;
  /** Told how long each request took, when the server keeps statistics. */
  readonly onRequest?: RequestTimer;
}

/**
 * How a server hands accepted connections off.
 *
 * @example
 * ```ts
 * import type { Strategy } from "./strategy.ts";
 * import { handleConnection } from "./handle_connection.ts";
 *
 * // The `poll` strategy, written out: serve every client at once on this thread.
 * const concurrent: Strategy = { name: "concurrent", sequential: false, handle: handleConnection };
 * ```
 */
export interface Strategy {
  /** The mode's name, as a server's settings give it. */
  readonly name: string;
  /**
   * Whether the accept loop waits for one client to finish before it accepts
   * the next (`single`), or goes straight back to accepting.
   */
  readonly sequential: boolean;
  /**
   * Gets ready before the first client is accepted (the `workers` pool starts
   * its ready Workers here). The server accepts nobody until it resolves.
   */
  start?(context: ServerContext): Promise<void>;
  /** Serves one connection until it ends; it must not reject. */
  handle(connection: Connection, context: ServerContext): Promise<void>;
  /**
   * {@link handle} that tells `done` instead of returning a promise, for a
   * strategy that does not wait on its clients (`sequential` false): the
   * server then keeps no promise, reaction and closure per client for as
   * long as it stays (`poll`, see docs/scale.md). `done` is told once,
   * whether the connection ended well or not; this must not throw.
   */
  handleThen?(
    connection: Connection,
    context: ServerContext,
    done: (connection: Connection) => void,
  ): void;
  /** Releases what the strategy holds (Workers) once the last connection ended. */
  close?(): Promise<void>;
}
