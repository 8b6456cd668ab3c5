/**
 * The accept loop, shared by every strategy: it accepts, tracks each
 * connection, hands it to the strategy, and on shutdown stops accepting,
 * closes what is open and waits for the last handler to finish.
 *
 * @module
 */
import { formatAddr } from "./address.ts";
import { Connection } from "./connection.ts";
import { describeError, isDisconnect } from "./errors.ts";
import { Hub } from "./hub.ts";
import { DEFAULT_MAX_LINE } from "./line_framer.ts";
import { logger } from "./log.ts";
import type { Service } from "./service.ts";
import type { ServerContext, Strategy } from "./strategy.ts";

const log = logger("server");

/**
 * How long to pause after an accept error that is not a shutdown (for example
 * running out of descriptors), so the loop does not spin while it lasts.
 */
const ACCEPT_ERROR_PAUSE_MS = 50;

/**
 * What {@link serve} needs.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "./server.ts";
 * import { poll } from "../strategies/poll.ts";
 * import { echo } from "../services/echo.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const options: ServeOptions = { listener, strategy: poll, service: echo, maxLine: 1024 };
 * ```
 */
export interface ServeOptions {
  /** A listener the caller opened, so the caller knows its address. */
  listener: Deno.Listener;
  /** How connections are handed off. */
  strategy: Strategy;
  /** The service every client gets. */
  service: Service;
  /** How a Worker loads the same service; defaults to `service.name`. */
  serviceSpecifier?: string;
  /** The words after `--` a Worker builds the same service with (exec); none by default. */
  serviceArgs?: readonly string[];
  /** The longest line a line service accepts; default {@link DEFAULT_MAX_LINE}. */
  maxLine?: number;
  /** Abort it to shut the server down. */
  signal?: AbortSignal;
}

/**
 * What a server did, reported when it stops.
 *
 * @example
 * ```ts
 * import { serve } from "./server.ts";
 * import { poll } from "../strategies/poll.ts";
 * import { echo } from "../services/echo.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const stop = new AbortController();
 * const served = serve({ listener, strategy: poll, service: echo, signal: stop.signal });
 * stop.abort();
 * const { clients, bytesIn, bytesOut } = await served;
 * console.log(`${clients} clients, ${bytesIn} bytes in, ${bytesOut} bytes out`);
 * ```
 */
export interface ServeSummary {
  /** Clients accepted. */
  clients: number;
  /** Bytes read from all clients. */
  bytesIn: number;
  /** Bytes written to all clients. */
  bytesOut: number;
}

/**
 * Serves clients from `listener` until `signal` aborts, then closes every
 * connection and resolves once the last handler has finished.
 *
 * @param options The listener, strategy and service.
 * @returns What the server did.
 *
 * @example Serve echo on a free port until aborted
 * ```ts
 * import { serve } from "./server.ts";
 * import { poll } from "../strategies/poll.ts";
 * import { echo } from "../services/echo.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const stop = new AbortController();
 * const served = serve({ listener, strategy: poll, service: echo, signal: stop.signal });
 * stop.abort();
 * await served;
 * ```
 */
export async function serve(options: ServeOptions): Promise<ServeSummary> {
  const { listener, strategy, service } = options;
  const signal = options.signal ?? new AbortController().signal;
  const context: ServerContext = {
    service,
    serviceSpecifier: options.serviceSpecifier ?? service.name,
    serviceArgs: options.serviceArgs ?? [],
    maxLine: options.maxLine ?? DEFAULT_MAX_LINE,
    hub: new Hub(),
    signal,
  };
  const summary: ServeSummary = { clients: 0, bytesIn: 0, bytesOut: 0 };
  const open = new Set<Connection>();
  const handlers = new Set<Promise<void>>();
  let nextId = 0;

  const shutDown = () => {
    try {
      listener.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    for (const connection of open) connection.close();
  };
  if (signal.aborted) shutDown();
  else signal.addEventListener("abort", shutDown, { once: true });

  const handle = async (connection: Connection): Promise<void> => {
    log.info("open {peer} id={id}", { peer: connection.peer, id: connection.id });
    try {
      try {
        await connection.handshake();
      } catch (error) {
        // A client that cannot do TLS with us is the client's problem, not the service's.
        log.info("TLS handshake with {peer} failed: {reason}", {
          peer: connection.peer,
          reason: describeError(error),
        });
        return;
      }
      await strategy.handle(connection, context);
    } finally {
      connection.close();
      open.delete(connection);
      summary.bytesIn += connection.bytesIn;
      summary.bytesOut += connection.bytesOut;
      log.info("close {peer} id={id} in={bytesIn} out={bytesOut} duration_ms={durationMs}", {
        peer: connection.peer,
        id: connection.id,
        bytesIn: connection.bytesIn,
        bytesOut: connection.bytesOut,
        durationMs: Math.round(performance.now() - connection.openedAt),
      });
    }
  };

  try {
    while (!signal.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (signal.aborted || error instanceof Deno.errors.BadResource) break;
        log.error("accept on {address} failed: {reason}", {
          address: formatAddr(listener.addr),
          reason: describeError(error),
        });
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_ERROR_PAUSE_MS));
        continue;
      }
      if (signal.aborted) {
        conn.close();
        break;
      }
      setNoDelay(conn);
      const connection = new Connection(conn, ++nextId);
      open.add(connection);
      summary.clients++;
      const handler = handle(connection);
      if (strategy.sequential) {
        await handler;
      } else {
        handlers.add(handler);
        handler.finally(() => handlers.delete(handler));
      }
    }
  } finally {
    signal.removeEventListener("abort", shutDown);
    shutDown();
    await Promise.allSettled(handlers);
    await strategy.close?.();
  }
  return summary;
}

/** Small replies must leave at once rather than wait for Nagle's timer. */
function setNoDelay(conn: Deno.Conn): void {
  if (!("setNoDelay" in conn)) return;
  try {
    (conn as Deno.TcpConn).setNoDelay(true);
  } catch (error) {
    if (!isDisconnect(error)) throw error;
  }
}
