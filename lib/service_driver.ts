/**
 * Runs one service for one client: it frames the input the way the service
 * asked for and calls its hooks in order. It knows nothing of where the bytes
 * come from, so the same driver runs on the main thread, inside a Worker and
 * in a child process. On the main thread the client is one object: the
 * `ServedConnection` of `handle_connection.ts` is at once this driver, the
 * session its service talks to and its socket's reader.
 *
 * @module
 */
import { LineFramer, LineTooLongError } from "./line_framer.ts";
import type { ByteService, LineService, Service, Session } from "./service.ts";

/**
 * A request that held the thread this long is followed by a turn of the
 * event loop before the next one from the same read. Lines that arrive
 * together are otherwise handled in one go, in microtasks, and nothing else
 * runs between them: not a signal handler, not a timer. A client that
 * pipelined twenty `sha256` requests kept SIGTERM waiting for all twenty; now
 * a shutdown (or a second signal's exit) begins right after the running one.
 */
const YIELD_AFTER_MS = 10;

/** Told how long one request took, in seconds; see {@link ServiceDriver.input}. */
export type RequestTimer = (seconds: number) => void;

/**
 * Drives one {@link Service} for one {@link Session}: the steps every
 * strategy takes, whoever carries the client's bytes. A subclass says what
 * the session is: a {@link SessionDriver} is given one (a Worker's, a child
 * process's), and `handle_connection.ts`'s `ServedConnection` is its own, so
 * that a client of `poll` costs one object rather than a driver, a session
 * and a reader, ten thousand times over at ten thousand clients.
 */
export abstract class ServiceDriver {
  readonly #service: Service;
  /** Made for a line service alone: a byte service has nothing to frame. */
  readonly #framer: LineFramer | undefined;
  readonly #onRequest: RequestTimer | undefined;
  #opening: Promise<void> | undefined;

  /**
   * @param service What to run.
   * @param maxLine The longest line a line service accepts.
   * @param onRequest Told how long each request took, if the server keeps statistics.
   */
  constructor(service: Service, maxLine: number, onRequest?: RequestTimer) {
    this.#service = service;
    this.#framer = service.framing === "lines" ? new LineFramer(maxLine) : undefined;
    this.#onRequest = onRequest;
  }

  /** The client the service talks to, given to each of its hooks. */
  protected abstract get session(): Session;

  /**
   * Calls the service's `open()` without waiting for it; see {@link ServiceHooks.open}.
   *
   * @param onFailure Told if `open()` throws; input errors reject `input()` instead.
   *   Kept only while `open()` runs, not for the client's whole stay.
   */
  start(onFailure: (error: unknown) => void): void {
    // Most services have no open(): no promise to keep for them.
    if (!this.#service.open) return;
    this.#opening = (async () => {
      try {
        await this.#service.open?.(this.session);
      } catch (error) {
        onFailure(error);
      }
    })();
  }

  /**
   * Delivers bytes from the client and resolves once the service has handled
   * them, so a caller that awaits it reads no faster than the service works.
   * Each request is timed from its delivery to the service's handler
   * resolving: a line for line services, the whole chunk for byte services.
   *
   * @param chunk Only read before the promise settles.
   */
  input(chunk: Uint8Array): void | Promise<void> {
    const service = this.#service;
    if (service.framing === "lines") return this.#inputLines(service, chunk);
    // Byte services are called directly: no extra promise on the hottest path.
    if (!this.#onRequest) return service.data(this.session, chunk);
    return this.#timedData(service, chunk, this.#onRequest);
  }

  async #timedData(
    service: ByteService,
    chunk: Uint8Array,
    onRequest: RequestTimer,
  ): Promise<void> {
    const started = performance.now();
    await service.data(this.session, chunk);
    onRequest((performance.now() - started) / 1000);
  }

  async #inputLines(service: LineService, chunk: Uint8Array): Promise<void> {
    let lines: string[];
    let tooLong: LineTooLongError | undefined;
    try {
      lines = this.#framer!.push(chunk);
    } catch (error) {
      if (!(error instanceof LineTooLongError)) throw error;
      lines = error.linesBefore;
      tooLong = error;
    }
    const session = this.session;
    const onRequest = this.#onRequest;
    let turnStarted = performance.now();
    for (const line of lines) {
      if (performance.now() - turnStarted >= YIELD_AFTER_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        turnStarted = performance.now();
      }
      if (session.signal.aborted) return;
      // Timed inline, not through a closure: this loop runs once per request.
      const started = onRequest ? performance.now() : 0;
      await service.line(session, line);
      onRequest?.((performance.now() - started) / 1000);
    }
    if (tooLong && !session.signal.aborted) await this.#refuse(session, tooLong);
  }

  /**
   * The client finished sending: a last line without a newline is still
   * answered, then the service's `end()` runs.
   */
  async endInput(): Promise<void> {
    const service = this.#service;
    const session = this.session;
    if (session.signal.aborted) return;
    if (service.framing === "lines") {
      const last = this.#framer!.finish();
      if (last !== undefined) {
        const started = performance.now();
        await service.line(session, last);
        this.#onRequest?.((performance.now() - started) / 1000);
      }
    }
    await service.end?.(session);
  }

  /** Waits for `open()` to end, then calls the service's `close()`. */
  async finish(): Promise<void> {
    if (this.#opening) await this.#opening;
    await this.#service.close?.(this.session);
  }

  async #refuse(session: Session, error: LineTooLongError): Promise<void> {
    try {
      await session.sendLine(`ERR ${error.message}`);
    } finally {
      session.close();
    }
  }
}

/**
 * A {@link ServiceDriver} for a session that is an object of its own: a
 * Worker's, which carries each call to the main thread, or a child process's.
 */
export class SessionDriver extends ServiceDriver {
  readonly #session: Session;

  /**
   * @param service What to run.
   * @param session The client it talks to.
   * @param maxLine The longest line a line service accepts.
   * @param onRequest Told how long each request took, if the server keeps statistics.
   */
  constructor(service: Service, session: Session, maxLine: number, onRequest?: RequestTimer) {
    super(service, maxLine, onRequest);
    this.#session = session;
  }

  protected override get session(): Session {
    return this.#session;
  }
}
