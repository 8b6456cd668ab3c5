/**
 * One doorbell for all of the `workers` strategy's output rings. Every Worker
 * rings it after it writes to its output ring, and the main thread waits on it
 * alone, then looks at every ring. However many clients there are, the main
 * thread pays for one wake-up per turn of its loop, not one per client: under
 * load many Workers ring while it is busy, and one wake-up serves them all.
 *
 * @module
 */

const RUNG = 0; // How many times the bell was rung, modulo 2³².
const LISTENING = 1; // 1 while the main thread waits, so ringers skip the notify otherwise.

/**
 * A counter in shared memory that many threads bump and one thread waits on.
 *
 * @example
 * ```ts
 * import { Doorbell } from "./doorbell.ts";
 *
 * const bell = Doorbell.create();
 * const seen = bell.rung;
 * bell.ring(); // e.g. in a Worker that wrapped bell.buffer
 * await bell.wait(seen); // returns at once: it rang since `seen`
 * ```
 */
export class Doorbell {
  /** The shared memory; post it to each Worker and wrap it there. */
  readonly buffer: SharedArrayBuffer;
  readonly #words: Int32Array;

  /** Allocates a bell. */
  static create(): Doorbell {
    return new Doorbell(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  }

  /**
   * Wraps a bell that {@link Doorbell.create} allocated, on any thread.
   *
   * @param buffer The bell's shared memory.
   */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#words = new Int32Array(buffer);
  }

  /** The count so far; pass it to {@link wait} after looking at what the bell guards. */
  get rung(): number {
    return Atomics.load(this.#words, RUNG);
  }

  /** Rings: wakes the waiter, if one waits. */
  ring(): void {
    Atomics.add(this.#words, RUNG, 1);
    // Both sides use sequentially consistent atomics: either the waiter sees
    // the new count before it waits, or this sees it listening and wakes it.
    if (Atomics.load(this.#words, LISTENING) === 1) Atomics.notify(this.#words, RUNG);
  }

  /**
   * Resolves once the bell has rung since the count was `seen`, without
   * blocking this thread's event loop. One thread waits at a time.
   *
   * @param seen {@link rung} as it was before the caller looked.
   */
  async wait(seen: number): Promise<void> {
    Atomics.store(this.#words, LISTENING, 1);
    try {
      const result = Atomics.waitAsync(this.#words, RUNG, seen);
      if (result.async) await result.value;
    } finally {
      Atomics.store(this.#words, LISTENING, 0);
    }
  }
}

/**
 * The main thread's side of a {@link Doorbell}: while any check is
 * registered, it runs every check each time the bell rings.
 */
export class DoorbellWatcher {
  /** The bell the Workers ring. */
  readonly bell: Doorbell = Doorbell.create();
  readonly #checks = new Set<() => void>();
  #running = false;

  /**
   * Runs `check` now and after every ring, until the returned function is called.
   *
   * @param check Looks at one ring and acts on what it finds; must not throw.
   * @returns Stops calling `check`.
   */
  add(check: () => void): () => void {
    this.#checks.add(check);
    if (!this.#running) void this.#run();
    return () => {
      this.#checks.delete(check);
      // The loop ends with its last check; wake it, so it does not wait on a bell nobody rings.
      if (this.#checks.size === 0) this.bell.ring();
    };
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#checks.size > 0) {
        const seen = this.bell.rung;
        for (const check of this.#checks) check();
        await this.bell.wait(seen);
      }
    } finally {
      this.#running = false;
    }
  }
}
