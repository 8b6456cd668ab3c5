/**
 * Serving a connection on the thread that owns its socket: the read loop that
 * `single` and `poll` share. The read loop awaits the service before reading
 * again, which is what keeps a client that sends faster than it reads from
 * filling the server's memory.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
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
 * @param connection The accepted client.
 * @param context The server's service and shared state.
 */
export async function handleConnection(
  connection: Connection,
  context: ServerContext,
): Promise<void> {
  const session = new ConnectionSession(connection, context.hub);
  const driver = new ServiceDriver(
    context.service,
    session,
    context.maxLine,
    (error) => void reportServiceError(connection, error),
    context.onRequest,
  );
  context.hub.join(connection);
  try {
    driver.start();
    for (let chunk = await connection.read(); chunk; chunk = await connection.read()) {
      const handled = driver.input(chunk);
      if (handled) await handled;
    }
    if (!connection.closed) {
      await driver.end();
      await connection.closeAfterWrites();
    }
  } catch (error) {
    await reportServiceError(connection, error);
  } finally {
    context.hub.leave(connection.id);
    connection.close();
    try {
      await driver.finish();
    } catch (error) {
      await reportServiceError(connection, error);
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
