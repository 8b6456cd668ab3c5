/**
 * Serving a connection on the thread that owns its socket, as `single` and
 * `poll` do: pushed to by a socket that reads by chunks, or a read loop for
 * a `Deno.Conn`. Either way the next chunk waits until the service has
 * handled the last, which is what keeps a client that sends faster than it
 * reads from filling the server's memory.
 *
 * @module
 */
import type { Connection, ConnectionReader } from "./connection.ts";
import type { Hub } from "./chat/hub.ts";
import { ConnectionSession } from "./connection_session.ts";
import {
  describeError,
  errorStack,
  INTERNAL_ERROR_NOTICE,
  isDisconnect,
  logServiceFailure,
} from "./errors.ts";
import { ServiceDriver } from "./service_driver.ts";
import type { ServerContext } from "./strategy.ts";

/**
 * Runs the context's service for `connection` until either side ends it.
 * Errors stay inside this connection: they are logged and close only it.
 *
 * A connection whose socket reads by chunks (`node:net`, plain TCP's
 * default) is pushed to: the socket's `data` event calls the service, and
 * nothing waits while the client is silent. Any other (`Deno.Conn`: TCP,
 * TLS, Unix) is read in a loop, a read pending on it while it is silent.
 * Either way the next chunk waits until the service has handled the last.
 *
 * @param connection The accepted client.
 * @param context The server's service and shared state.
 * @returns Once the connection is closed and the service's `close()` has run.
 */
export function handleConnection(connection: Connection, context: ServerContext): Promise<void> {
  return new ServedConnection(connection, context).run();
}

/**
 * One connection and its service. When its socket pushes, this is the
 * connection's reader, and what an idle client holds is this object, its
 * session and driver, and the one promise of {@link run}; no frame waits.
 * Both ways end through the same steps (`#serve`).
 */
class ServedConnection implements ConnectionReader {
  readonly #connection: Connection;
  readonly #hub: Hub;
  readonly #driver: ServiceDriver;
  /** Resolves {@link run}'s promise, when pushed to. */
  #done: (() => void) | undefined;

  constructor(connection: Connection, context: ServerContext) {
    this.#connection = connection;
    this.#hub = context.hub;
    this.#driver = new ServiceDriver(
      context.service,
      new ConnectionSession(connection, context.hub),
      context.maxLine,
      context.onRequest,
    );
  }

  run(): Promise<void> {
    const connection = this.#connection;
    this.#hub.join(connection);
    this.#driver.start((error) => void reportServiceError(connection, error));
    if (!connection.pushes) return this.#serve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#done = resolve;
    connection.pushTo(this);
    return promise;
  }

  /** From the socket's `data` event; the next chunk waits for a promise returned. */
  chunk(chunk: Uint8Array): void | Promise<void> {
    try {
      return this.#driver.input(chunk);
    } catch (error) {
      // A service that throws at once must not throw into the socket's event.
      return Promise.reject(error);
    }
  }

  end(): void {
    const done = this.#done;
    void this.#serve().then(done, done);
  }

  fail(error: unknown): void {
    const done = this.#done;
    void this.#serve({ error }).then(done, done);
  }

  /**
   * Serves the connection to its end, each step once: the read loop unless
   * the socket pushes (then the input has ended already), the end of input
   * (the service finishes, and the replies still go out), a failure's report,
   * and what every connection ends with. One async function, so that a
   * connection read in a loop holds one frame while its client is silent.
   *
   * @param failure What failed, when the socket or the service failed while pushing.
   */
  async #serve(failure?: { error: unknown }): Promise<void> {
    const connection = this.#connection;
    const driver = this.#driver;
    try {
      if (failure) throw failure.error;
      if (!this.#done) {
        for (let chunk = await connection.read(); chunk; chunk = await connection.read()) {
          const handled = driver.input(chunk);
          if (handled) await handled;
        }
      }
      if (!connection.closed) {
        await driver.end();
        await connection.closeAfterWrites();
      }
    } catch (error) {
      await reportServiceError(connection, error);
    } finally {
      this.#hub.leave(connection.id);
      connection.close();
      try {
        await driver.finish();
      } catch (error) {
        await reportServiceError(connection, error);
      }
    }
  }
}

/**
 * Logs a failure inside one connection and closes it. A peer that went away
 * is routine: the connection already logged it at debug where its socket
 * failed, so it is only closed here. Anything else is the service's fault, and
 * the client is told {@link INTERNAL_ERROR_NOTICE} before it is closed.
 *
 * @param connection The client whose service failed.
 * @param error What was thrown.
 * @returns Once the connection is closed.
 */
export async function reportServiceError(connection: Connection, error: unknown): Promise<void> {
  if (isDisconnect(error)) {
    connection.close();
    return;
  }
  logServiceFailure(connection.peer, describeError(error), errorStack(error));
  await connection.closeWithLine(INTERNAL_ERROR_NOTICE);
}
