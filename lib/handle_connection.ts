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
 * One connection and its service, with the steps both ways of reading
 * share: the end of input, a failure, and what every connection ends with.
 * When pushed to it is the connection's reader: what an idle client holds
 * then is this object, its session and driver, and the one promise of
 * {@link run}.
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
    if (!connection.pushes) return this.#serve(this.#readAll());
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#done = resolve;
    connection.pushTo(this);
    return promise;
  }

  /** The read loop: awaits the service before it reads again. */
  async #readAll(): Promise<void> {
    const connection = this.#connection;
    for (let chunk = await connection.read(); chunk; chunk = await connection.read()) {
      const handled = this.#driver.input(chunk);
      if (handled) await handled;
    }
    await this.#inputEnded();
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
    void this.#serve(this.#inputEnded()).then(done, done);
  }

  fail(error: unknown): void {
    const done = this.#done;
    void this.#serve(Promise.reject(error)).then(done, done);
  }

  /** The client ended its input: the service finishes, and the replies still go out. */
  async #inputEnded(): Promise<void> {
    const connection = this.#connection;
    if (connection.closed) return;
    await this.#driver.end();
    await connection.closeAfterWrites();
  }

  /** Waits for `serving` (a failure is reported), then ends the connection, once. */
  async #serve(serving: Promise<void>): Promise<void> {
    const connection = this.#connection;
    try {
      await serving;
    } catch (error) {
      await reportServiceError(connection, error);
    } finally {
      this.#hub.leave(connection.id);
      connection.close();
      try {
        await this.#driver.finish();
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
