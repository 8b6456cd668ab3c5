/**
 * A Worker's control block in shared memory: how the main thread hands a
 * Worker its next client, and how the Worker says it has finished one,
 * without a message either way.
 *
 * Under churn (connect, one request, close) a client costs four thread
 * wake-ups: its `open`, its request, the reply, and its `finished`. A
 * message wakes the other thread through its event loop (a task posted to
 * its isolate, its runtime woken, the message deserialised); a counter in
 * shared memory wakes a thread blocked in `Atomics.wait` through the futex
 * alone, and the main thread, which waits on the one doorbell for every
 * Worker's output, sees a finished client in the same look. Measured with no
 * servidor code at all (`bench/worker_churn_floor.ts`), moving `open` and
 * `finished` here took a Worker per client from 0.17–0.30 × the main
 * thread's own echo under churn to 0.48–0.49 × on a quiet machine (see
 * docs/workers.md).
 *
 * Only the common case crosses here: a Worker whose last client exchanged no
 * message with the main thread (no broadcast, no `who`, no failure, no
 * request timings) finishes through the block, and only then is its next
 * client opened through it. Any message still on its way would otherwise be
 * overtaken by the next client's `open`; messages keep their order among
 * themselves. Everything else, and every Worker's first client (which brings
 * the block with it), goes by message as before.
 *
 * @module
 */

/** Opens posted by the main thread, modulo 2³²; the Worker waits on it between clients. */
const OPENED = 0;
/** 1 while the Worker waits on {@link OPENED}, so the main thread notifies only then. */
const OPEN_WAITING = 1;
/** Clients the Worker finished through the block, modulo 2³². */
const FINISHED = 16;
/** Bytes of the open's JSON text, or 0 when the open comes by message. */
const OPEN_LENGTH = 32;
const HEADER_WORDS = 64;
const HEADER_BYTES = HEADER_WORDS * Int32Array.BYTES_PER_ELEMENT;
/**
 * Room for an open's JSON text: the client's addresses, the service's name
 * or URL, its arguments and the log settings, a few hundred bytes. An open
 * that does not fit goes by message.
 */
const OPEN_TEXT_BYTES = 4096;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A Worker's control block, wrapped once on each side.
 *
 * @example
 * ```ts
 * import { WorkerControl } from "./control.ts";
 * import assert from "node:assert/strict";
 *
 * const main = WorkerControl.create();
 * const worker = new WorkerControl(main.buffer); // in the Worker, after postMessage
 * const taken = worker.opened;
 * assert.equal(main.open({ id: 7 }), true);
 * assert.notEqual(worker.opened, taken);
 * assert.deepEqual(worker.readOpen(), { id: 7 });
 * worker.finish();
 * assert.equal(main.finished, 1);
 * ```
 */
export class WorkerControl {
  /** The shared memory; post it to the Worker and wrap it there. */
  readonly buffer: SharedArrayBuffer;
  readonly #words: Int32Array<SharedArrayBuffer>;
  readonly #text: Uint8Array<SharedArrayBuffer>;

  /** Allocates a block. */
  static create(): WorkerControl {
    return new WorkerControl(new SharedArrayBuffer(HEADER_BYTES + OPEN_TEXT_BYTES));
  }

  /**
   * Wraps a block that {@link WorkerControl.create} allocated, on either thread.
   *
   * @param buffer The block's shared memory.
   */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#words = new Int32Array(buffer, 0, HEADER_WORDS);
    this.#text = new Uint8Array(buffer, HEADER_BYTES);
  }

  /**
   * The main thread's side: opens the Worker's next client, and wakes the
   * Worker if it waits. Call it only for a Worker that finished its last
   * client through this block, which waits on it for the next.
   *
   * @param message The open, which must survive `JSON.stringify`.
   * @returns Whether it went through the block; when it did not (too long),
   *   the Worker was told to expect it by message, which the caller posts.
   */
  open(message: unknown): boolean {
    const text = encoder.encode(JSON.stringify(message));
    const fits = text.byteLength <= this.#text.byteLength;
    if (fits) this.#text.set(text);
    Atomics.store(this.#words, OPEN_LENGTH, fits ? text.byteLength : 0);
    // The count publishes the text: the Worker loads it before it reads.
    Atomics.add(this.#words, OPENED, 1);
    // Either this sees the Worker waiting, or the Worker, counted first, sees the new count.
    if (Atomics.load(this.#words, OPEN_WAITING) === 1) Atomics.notify(this.#words, OPENED);
    return fits;
  }

  /** The main thread's side: clients the Worker has finished through the block. */
  get finished(): number {
    return Atomics.load(this.#words, FINISHED);
  }

  /** The Worker's side: opens posted so far; it changes when a client is opened. */
  get opened(): number {
    return Atomics.load(this.#words, OPENED);
  }

  /**
   * The Worker's side: the open the main thread wrote, or `undefined` when it
   * comes by message. Read it once {@link opened} has changed.
   */
  readOpen(): unknown {
    const length = Atomics.load(this.#words, OPEN_LENGTH);
    if (length === 0) return undefined;
    // A copy, since a TextDecoder does not read shared memory.
    return JSON.parse(decoder.decode(this.#text.slice(0, length)));
  }

  /**
   * The Worker's side: blocks this thread until {@link opened} is no longer
   * `seen`, for at most `timeoutMs`. Only for a thread with nothing else to
   * run meanwhile: its event loop stands still.
   *
   * @returns Whether a client was opened.
   */
  waitForOpenBlocking(seen: number, timeoutMs: number): boolean {
    Atomics.store(this.#words, OPEN_WAITING, 1);
    try {
      Atomics.wait(this.#words, OPENED, seen, timeoutMs);
    } finally {
      Atomics.store(this.#words, OPEN_WAITING, 0);
    }
    return this.opened !== seen;
  }

  /**
   * The Worker's side: resolves once {@link opened} is no longer `seen`,
   * leaving the event loop running meanwhile.
   */
  async waitForOpen(seen: number): Promise<void> {
    Atomics.store(this.#words, OPEN_WAITING, 1);
    try {
      const result = Atomics.waitAsync(this.#words, OPENED, seen);
      if (result.async) await result.value;
    } finally {
      Atomics.store(this.#words, OPEN_WAITING, 0);
    }
  }

  /**
   * The Worker's side: its client is finished; the caller rings the doorbell
   * after, so that the main thread looks.
   */
  finish(): void {
    Atomics.add(this.#words, FINISHED, 1);
  }
}
