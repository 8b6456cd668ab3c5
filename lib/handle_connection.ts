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
import {
  describeError,
  errorStack,
  INTERNAL_ERROR_NOTICE,
  isDisconnect,
  logServiceFailure,
} from "./errors.ts";
import type { PeerInfo, Session } from "./service.ts";
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
  const { promise, resolve } = Promise.withResolvers<void>();
  handleConnectionThen(connection, context, () => resolve());
  return promise;
}

/**
 * {@link handleConnection} that tells `done` when it has finished instead of
 * returning a promise: a pushed-to connection then holds no promise of its
 * own, and its server no reaction and closure on one, while it is open.
 *
 * @param connection The accepted client.
 * @param context The server's service and shared state.
 * @param done Told once the connection is closed and the service's `close()` has run.
 */
export function handleConnectionThen(
  connection: Connection,
  context: ServerContext,
  done: (connection: Connection) => void,
): void {
  const served = new ServedConnection(connection, context);
  if (connection.pushes) return served.push(done);
  const finish = () => done(connection);
  void served.readAll().then(finish, finish);
}

const encoder = new TextEncoder();

/**
 * One client on the thread that owns its socket, as one object: the
 * {@link Session} its service talks to, the driver that runs the service
 * ({@link ServiceDriver}: framing, hooks, timing), and, when the socket
 * pushes, the socket's reader. Three objects before (a driver, a session and
 * the reader), each holding the others; at ten thousand clients each object
 * per client is ten thousand for the garbage collector to walk, and every
 * chunk went through all three. Its service sees it only as a `Session`:
 * the connection, a socket, is private to it.
 * Both ways of reading end through the same steps (`#serve`).
 */
class ServedConnection extends ServiceDriver implements Session, ConnectionReader {
  readonly #connection: Connection;
  readonly #hub: Hub;
  /** Told once the connection is served, when pushed to. */
  #done: ((connection: Connection) => void) | undefined;

  constructor(connection: Connection, context: ServerContext) {
    super(context.service, context.maxLine, context.onRequest);
    this.#connection = connection;
    this.#hub = context.hub;
    // In the room before its service opens, unless its service has no use for one.
    context.hub.join(connection, context.service);
  }

  // What the driver hands the service: this object itself.
  protected override get session(): Session {
    return this;
  }

  // --- The Session: what the service sees of its client. ---

  get id(): number {
    return this.#connection.id;
  }

  get peer(): string {
    return this.#connection.peer;
  }

  get remoteAddr(): Deno.Addr {
    return this.#connection.remoteAddr;
  }

  get localAddr(): Deno.Addr {
    return this.#connection.localAddr;
  }

  get signal(): AbortSignal {
    return this.#connection.signal;
  }

  send(data: string | Uint8Array): Promise<void> {
    return this.#connection.write(typeof data === "string" ? encoder.encode(data) : data);
  }

  sendLine(text: string): Promise<void> {
    return this.send(`${text}\r\n`);
  }

  broadcast(data: string | Uint8Array): Promise<void> | undefined {
    // Recipients write later, after the caller may have reused its buffer.
    return this.#hub.broadcast(
      this.id,
      typeof data === "string" ? encoder.encode(data) : data.slice(),
    );
  }

  setName(name: string): void {
    this.#hub.rename(this.id, name);
  }

  who(): Promise<PeerInfo[]> {
    return Promise.resolve(this.#hub.who());
  }

  close(): void {
    void this.#connection.closeAfterWrites();
  }

  // --- Serving: reading the client, to the end. ---

  /** Serves a connection whose socket does not push, with a read loop. */
  readAll(): Promise<void> {
    this.#start();
    return this.#serve();
  }

  /** Serves a connection whose socket pushes, as its reader; `done` is told at the end. */
  push(done: (connection: Connection) => void): void {
    this.#start();
    this.#done = done;
    this.#connection.pushTo(this);
  }

  #start(): void {
    const connection = this.#connection;
    this.start((error) => void reportServiceError(connection, error));
  }

  /** From the socket's `data` event; the next chunk waits for a promise returned. */
  chunk(chunk: Uint8Array): void | Promise<void> {
    try {
      return this.input(chunk);
    } catch (error) {
      // A service that throws at once must not throw into the socket's event.
      return Promise.reject(error);
    }
  }

  end(): void {
    const finish = this.#finish;
    void this.#serve().then(finish, finish);
  }

  fail(error: unknown): void {
    const finish = this.#finish;
    void this.#serve({ error }).then(finish, finish);
  }

  /** Tells the one who handed the connection over; made at the end, not kept while open. */
  get #finish(): () => void {
    return () => this.#done?.(this.#connection);
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
    try {
      if (failure) throw failure.error;
      if (!this.#done) {
        for (let chunk = await connection.read(); chunk; chunk = await connection.read()) {
          const handled = this.input(chunk);
          if (handled) await handled;
        }
      }
      if (!connection.closed) {
        await this.endInput();
        await connection.closeAfterWrites();
      }
    } catch (error) {
      await reportServiceError(connection, error);
    } finally {
      this.#hub.leave(connection.id);
      connection.close();
      try {
        await this.finish();
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
