/**
 * Runs one service for one client: it frames the input the way the service
 * asked for and calls its hooks in order. It knows nothing of where the bytes
 * come from, so the same driver runs on the main thread and inside a Worker.
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

/** Drives one {@link Service} for one {@link Session}. */
export class ServiceDriver {
  readonly #service: Service;
  readonly #session: Session;
  readonly #framer: LineFramer | undefined;
  readonly #onRequest: RequestTimer | undefined;
  #opening: Promise<void> | undefined;

  /**
   * @param service What to run.
   * @param session The client it talks to.
   * @param maxLine The longest line a line service accepts.
   * @param onRequest Told how long each request took, if the server keeps statistics.
   */
  constructor(service: Service, session: Session, maxLine: number, onRequest?: RequestTimer) {
    this.#service = service;
    this.#session = session;
    this.#framer = service.framing === "lines" ? new LineFramer(maxLine) : undefined;
    this.#onRequest = onRequest;
  }

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
        await this.#service.open?.(this.#session);
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
    if (!this.#onRequest) return service.data(this.#session, chunk);
    return this.#timedData(service, chunk, this.#onRequest);
  }

  async #timedData(
    service: ByteService,
    chunk: Uint8Array,
    onRequest: RequestTimer,
  ): Promise<void> {
    const started = performance.now();
    await service.data(this.#session, chunk);
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
    const onRequest = this.#onRequest;
    let turnStarted = performance.now();
    for (const line of lines) {
      if (performance.now() - turnStarted >= YIELD_AFTER_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        turnStarted = performance.now();
      }
      if (this.#session.signal.aborted) return;
      // Timed inline, not through a closure: this loop runs once per request.
      const started = onRequest ? performance.now() : 0;
      await service.line(this.#session, line);
      onRequest?.((performance.now() - started) / 1000);
    }
    if (tooLong && !this.#session.signal.aborted) await this.#refuse(tooLong);
  }

  /**
   * The client finished sending: a last line without a newline is still
   * answered, then the service's `end()` runs.
   */
  async end(): Promise<void> {
    const service = this.#service;
    if (this.#session.signal.aborted) return;
    if (service.framing === "lines") {
      const last = this.#framer!.finish();
      if (last !== undefined) {
        const started = performance.now();
        await service.line(this.#session, last);
        this.#onRequest?.((performance.now() - started) / 1000);
      }
    }
    await service.end?.(this.#session);
  }

  /** Waits for `open()` to end, then calls the service's `close()`. */
  async finish(): Promise<void> {
    if (this.#opening) await this.#opening;
    await this.#service.close?.(this.#session);
  }

  async #refuse(error: LineTooLongError): Promise<void> {
    try {
      await this.#session.sendLine(`ERR ${error.message}`);
    } finally {
      this.#session.close();
    }
  }
}
