/**
 * Credit for broadcasts that cross from one thread to another: the thread
 * that reads a sender may have only {@link CREDIT_WINDOW} bytes of its
 * broadcasts on their way to another thread before that thread acknowledges
 * them, and a thread whose clients have fallen behind holds its
 * acknowledgements back until they catch up. A sender that outruns readers
 * served on another thread is thereby slowed to their pace, as one that
 * outruns readers on its own thread is (`hub.ts`), and what waits between the
 * threads stays bounded whatever the flood.
 *
 * Two edges carry credit: between the hubs of a room over a bus (the Workers
 * of `reuseport`, servers over Redis), and between a `workers` Worker, which
 * runs a sender's service, and the main thread, which writes to the room.
 *
 * @module
 */

/**
 * How many bytes of broadcasts a thread may have on their way to another,
 * unacknowledged. Once a receiving thread's clients fall behind, each sending
 * thread adds at most this (and one line) to their backlog before it waits:
 * small against the hub's 1 MiB cap on a client's backlog, large enough that
 * a window lasts many lines and acknowledgements are few.
 */
export const CREDIT_WINDOW = 32 * 1024;

/** A receiving thread acknowledges once this much has been delivered, not every line. */
export const ACK_EVERY = CREDIT_WINDOW / 4;

/**
 * The sending side of one edge: the bytes sent that the other side has not
 * acknowledged.
 *
 * @example
 * ```ts
 * import { Credit, CREDIT_WINDOW } from "./credit.ts";
 * import assert from "node:assert/strict";
 *
 * const credit = new Credit();
 * credit.spend(CREDIT_WINDOW);
 * assert.ok(credit.exhausted);
 * const open = credit.whenOpen();
 * credit.grant(CREDIT_WINDOW);
 * await open;
 * assert.ok(!credit.exhausted);
 * ```
 */
export class Credit {
  #outstanding = 0;
  #opened: PromiseWithResolvers<void> | undefined;

  /** Whether the window is full: the sender should wait for {@link whenOpen}. */
  get exhausted(): boolean {
    return this.#outstanding >= CREDIT_WINDOW;
  }

  /** Bytes sent and not yet acknowledged. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /**
   * Counts bytes sent.
   *
   * @param bytes How many.
   */
  spend(bytes: number): void {
    this.#outstanding += bytes;
  }

  /**
   * Counts bytes the other side acknowledged, and wakes a waiting sender once there is room.
   *
   * @param bytes How many.
   */
  grant(bytes: number): void {
    // An acknowledgement can outlive what it acknowledges (a session that ended); never below 0.
    this.#outstanding = Math.max(0, this.#outstanding - bytes);
    if (!this.exhausted) this.#open();
  }

  /** Writes off everything outstanding: the other side is gone, or will never answer. */
  forgive(): void {
    this.#outstanding = 0;
    this.#open();
  }

  /** Resolves once the window has room; at once if it has now. */
  whenOpen(): Promise<void> {
    if (!this.exhausted) return Promise.resolve();
    return (this.#opened ??= Promise.withResolvers()).promise;
  }

  #open(): void {
    this.#opened?.resolve();
    this.#opened = undefined;
  }
}

/**
 * The receiving side: what each sending thread has not been told of yet,
 * acknowledged every {@link ACK_EVERY} bytes, and held back while this
 * thread's clients are behind.
 *
 * @example
 * ```ts
 * import { ACK_EVERY, Acknowledgements } from "./credit.ts";
 * import assert from "node:assert/strict";
 *
 * const sent: [string, number][] = [];
 * const acks = new Acknowledgements<string>((to, bytes) => sent.push([to, bytes]));
 * let behind: PromiseWithResolvers<void> | undefined = Promise.withResolvers<void>();
 * const caughtUp = behind.promise;
 * acks.holdWhile(() => behind?.promise);
 * acks.received("node-a", ACK_EVERY);
 * assert.deepEqual(sent, []);
 * behind.resolve();
 * behind = undefined;
 * await caughtUp;
 * assert.deepEqual(sent, [["node-a", ACK_EVERY]]);
 * ```
 */
export class Acknowledgements<Sender> {
  readonly #pending = new Map<Sender, number>();
  readonly #acknowledge: (to: Sender, bytes: number) => void;
  #holding = false;
  #closed = false;

  /**
   * @param acknowledge Tells a sending thread that `bytes` more of its broadcasts were delivered.
   */
  constructor(acknowledge: (to: Sender, bytes: number) => void) {
    this.#acknowledge = acknowledge;
  }

  /**
   * Counts bytes delivered from `from`; acknowledges them once there are
   * {@link ACK_EVERY} of them, unless held. Less than that never holds a
   * sender up: it waits only with a whole window outstanding.
   *
   * @param from The sending thread.
   * @param bytes How many.
   */
  received(from: Sender, bytes: number): void {
    const pending = (this.#pending.get(from) ?? 0) + bytes;
    if (this.#holding || pending < ACK_EVERY) {
      this.#pending.set(from, pending);
      return;
    }
    this.#pending.delete(from);
    if (!this.#closed) this.#acknowledge(from, pending);
  }

  /**
   * Holds every acknowledgement while clients here are behind: `behind`
   * returns a promise that settles once those behind now have caught up or
   * been dropped, or `undefined` when none is. It is asked again each time
   * (others may have fallen behind meanwhile), and once it says none,
   * everything held is acknowledged. Already holding, this does nothing.
   *
   * @param behind The wait for the clients behind now, or `undefined`.
   * @param first A wait to hold for before `behind` is first asked, if one is known.
   */
  holdWhile(behind: () => Promise<void> | undefined, first?: Promise<void>): void {
    if (this.#holding || this.#closed) return;
    let known = first;
    const release = (): void => {
      const again = this.#closed ? undefined : known ?? behind();
      known = undefined;
      if (again) {
        this.#holding = true;
        again.then(release, release);
        return;
      }
      this.#holding = false;
      for (const [to, bytes] of this.#pending) if (!this.#closed) this.#acknowledge(to, bytes);
      this.#pending.clear();
    };
    release();
  }

  /** Forgets what `from` sent: it is gone. */
  forget(from: Sender): void {
    this.#pending.delete(from);
  }

  /** Acknowledges nothing more, ever: the edge is gone. */
  close(): void {
    this.#closed = true;
    this.#pending.clear();
  }
}
