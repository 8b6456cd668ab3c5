/**
 * The `workers` strategy's stuck-handler watchdog: it decides, from the
 * messages a Worker sends and the work it owes, when its handler has run past
 * the handler timeout.
 *
 * @module
 */

/**
 * Tells a busy Worker from a stuck one without touching it. The Worker owes
 * work while input it was sent is unacknowledged or while it has been told
 * to finish; it is stuck when it owes work and has not been heard from for
 * the timeout, except while the main thread itself holds it back: a send
 * waiting on a slow client is backpressure, not a stuck handler. The clock
 * starts once the Worker has loaded its service: starting a Worker and
 * loading a module is slow on a busy machine, and is not the handler's doing.
 */
export class StuckWorkerWatchdog {
  readonly #timeoutMs: number;
  readonly #owesWork: () => boolean;
  readonly #onStuck: () => void;
  readonly #progress: () => number;
  #lastProgress: number;
  #heldBack = 0;
  #lastHeardAt = performance.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  #stopped = false;

  /**
   * @param timeoutMs How long a Worker that owes work may stay silent; 0 never times out.
   * @param owesWork Whether the Worker has something to answer.
   * @param onStuck Called once, when it is found stuck.
   * @param progress A number that changes when the Worker makes progress no
   *   message tells of (handled input, say); looked at when the time is up.
   */
  constructor(
    timeoutMs: number,
    owesWork: () => boolean,
    onStuck: () => void,
    progress: () => number = () => 0,
  ) {
    this.#timeoutMs = timeoutMs;
    this.#owesWork = owesWork;
    this.#onStuck = onStuck;
    this.#progress = progress;
    this.#lastProgress = progress();
  }

  /** The Worker is up and its service loaded: from now on, silence counts. */
  start(): void {
    this.#started = true;
    this.#lastHeardAt = performance.now();
    this.watch();
  }

  /** Work went to the Worker: time its silence, unless that is under way already. */
  watch(): void {
    if (
      !this.#started || this.#stopped || this.#timeoutMs <= 0 || this.#timer !== undefined ||
      !this.#owesWork()
    ) return;
    // Silence only counts from the moment there is something to answer.
    this.#lastHeardAt = Math.max(this.#lastHeardAt, performance.now());
    this.#timer = setTimeout(() => this.#check(), this.#timeoutMs);
  }

  /** Any message from the Worker shows it is running. */
  heard(): void {
    this.#lastHeardAt = performance.now();
  }

  /** The main thread is writing for the Worker, which may wait on it meanwhile. */
  holdBack(): void {
    this.#heldBack++;
  }

  /** That write finished; the Worker has been waiting, not stuck, until now. */
  letGo(): void {
    this.#heldBack--;
    this.#lastHeardAt = performance.now();
  }

  /** Stops watching for good. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    this.#timer = undefined;
    if (this.#stopped || !this.#owesWork()) return;
    const progress = this.#progress();
    if (progress !== this.#lastProgress) {
      // It moved since the last look, though it said nothing: not stuck, not yet.
      this.#lastProgress = progress;
      this.heard();
    }
    const silentFor = performance.now() - this.#lastHeardAt;
    if (this.#heldBack === 0 && silentFor >= this.#timeoutMs) {
      this.stop();
      this.#onStuck();
      return;
    }
    const wait = this.#heldBack > 0 ? this.#timeoutMs : this.#timeoutMs - silentFor;
    this.#timer = setTimeout(() => this.#check(), wait);
  }
}
