/**
 * A byte ring in a `SharedArrayBuffer`: one thread writes, one other thread
 * reads, and neither copies through a message. It is how a client's bytes
 * cross between the main thread, which owns the socket, and the client's
 * Worker, which runs the service — one ring each way.
 *
 * The ring is the window. A writer that finds it full waits for space, so a
 * side that does not keep up holds the other back by at most the ring's
 * capacity, never by memory that grows.
 *
 * The reader takes bytes out in two steps: {@link ByteRing.read} copies them
 * (or {@link ByteRing.readInPlace} lends a view of them) and moves its own
 * cursor, and {@link ByteRing.release} gives their space
 * back to the writer later. In between, the writer still counts them as
 * unread, so the writer can tell "handed over, not yet dealt with" from
 * "dealt with": the main thread releases output only once it is written to
 * the socket, and the Worker releases input only once its service has handled
 * it.
 *
 * Waking is by `Atomics.notify` on the word the other side changed, and
 * waiting is by `Atomics.waitAsync`, which leaves the waiting thread's event
 * loop free: a Worker running a chat, a timer or a program under exec goes on
 * while it waits. {@link ByteRing.waitForDataBlocking} exists for the
 * benchmark's floor and for threads that have nothing else to run.
 *
 * @module
 */

/** Words of the header, each an `Int32` in its own cache line so the two sides do not contend. */
const WRITTEN = 0; // Bytes written so far, modulo 2³², by the writer.
const RELEASED = 16; // Bytes released so far, modulo 2³², by the reader.
const STATE = 32; // OPEN, ENDED or ABORTED.
// What each side waits on. Every write, and every end or abort, changes
// DATA_EVENTS; every release, end or abort changes SPACE_EVENTS. A waiter
// reads the word before it looks at the ring, and waits only while the word
// still holds that value, so no wake-up can fall between its look and its wait.
const DATA_EVENTS = 48;
const SPACE_EVENTS = 64;
// How many wait on each word. A change skips its Atomics.notify while none
// does: notify takes a lock that every thread of the process shares, and
// under load the side that changes the ring rarely finds the other waiting.
// Either the changer sees the waiter counted, or the waiter, counted first,
// sees the changed word when Atomics.waitAsync compares it and does not sleep.
const DATA_WAITERS = DATA_EVENTS + 1;
const SPACE_WAITERS = SPACE_EVENTS + 1;
const HEADER_WORDS = 80;
const HEADER_BYTES = HEADER_WORDS * Int32Array.BYTES_PER_ELEMENT;

const OPEN = 0;
/** The writer is done: the reader takes what is left, then sees the end. */
const ENDED = 1;
/** Either side gave up: both stop now and whatever is inside is dropped. */
const ABORTED = 2;

/** What a reader finds: bytes, nothing yet, the writer's end, or an abort. */
export type RingState = "open" | "ended" | "aborted";

/**
 * A single-writer, single-reader byte ring over shared memory.
 *
 * @example
 * ```ts
 * import { ByteRing } from "./ring.ts";
 * import assert from "node:assert/strict";
 *
 * const writer = ByteRing.create(16);
 * const reader = new ByteRing(writer.buffer); // e.g. in a Worker, after postMessage
 * assert.equal(writer.write(new TextEncoder().encode("hello")), 5);
 * const bytes = reader.read();
 * assert.equal(new TextDecoder().decode(bytes), "hello");
 * reader.release(bytes!.byteLength);
 * assert.equal(writer.free, 16);
 * ```
 */
export class ByteRing {
  /** The shared memory; post it to the other thread and wrap it there. */
  readonly buffer: SharedArrayBuffer;
  /** How many bytes the ring holds. */
  readonly capacity: number;
  readonly #header: Int32Array;
  readonly #data: Uint8Array<SharedArrayBuffer>;
  readonly #onWrite: (() => void) | undefined;
  /** The reader's own cursor: bytes read, released or not, modulo 2³². */
  #readTo: number;

  /**
   * Allocates a ring.
   *
   * @param capacity Bytes it holds: a power of two, at least 1.
   * @returns The ring, open, with no bytes in it.
   */
  static create(capacity: number): ByteRing {
    if (
      !Number.isInteger(capacity) || capacity < 1 || capacity > 2 ** 30 ||
      (capacity & (capacity - 1)) !== 0
    ) {
      throw new RangeError(`a ring's capacity must be a power of two up to 2³⁰, not ${capacity}`);
    }
    return new ByteRing(new SharedArrayBuffer(HEADER_BYTES + capacity));
  }

  /**
   * Wraps a ring that {@link ByteRing.create} allocated, on either thread.
   * Each side wraps it once: the reader's cursor lives in its wrapper.
   *
   * @param buffer The ring's shared memory.
   * @param onWrite For a writer: called after each write, e.g. to ring a
   *   doorbell that a reader of many rings waits on.
   */
  constructor(buffer: SharedArrayBuffer, onWrite?: () => void) {
    this.buffer = buffer;
    this.#onWrite = onWrite;
    this.capacity = buffer.byteLength - HEADER_BYTES;
    this.#header = new Int32Array(buffer, 0, HEADER_WORDS);
    this.#data = new Uint8Array(buffer, HEADER_BYTES, this.capacity);
    this.#readTo = Atomics.load(this.#header, RELEASED);
  }

  /**
   * Empties the ring and opens it again, for the next writer and reader: a
   * Worker keeps its two rings for every client it serves, because a fresh
   * `SharedArrayBuffer` per client costs an allocation, a zeroing and, worse,
   * memory outside both threads' heaps that neither garbage collector hurries
   * to give back. Call it only while neither side uses the ring (between two
   * clients); each side wraps the buffer anew afterwards. What the last
   * client left in the ring stays in memory but cannot be read: the counters
   * say the ring is empty.
   */
  reset(): void {
    Atomics.store(this.#header, WRITTEN, 0);
    Atomics.store(this.#header, RELEASED, 0);
    Atomics.store(this.#header, STATE, OPEN);
    this.#readTo = 0;
  }

  /** Whether the ring is open, ended by its writer, or aborted by either side. */
  get state(): RingState {
    const state = Atomics.load(this.#header, STATE);
    return state === OPEN ? "open" : state === ENDED ? "ended" : "aborted";
  }

  /** Bytes written and not yet released: what the writer sees as taken. */
  get used(): number {
    return (Atomics.load(this.#header, WRITTEN) - Atomics.load(this.#header, RELEASED)) >>> 0;
  }

  /** Bytes the writer may write now. */
  get free(): number {
    return this.capacity - this.used;
  }

  /** Bytes the reader has not read yet. */
  get available(): number {
    return (Atomics.load(this.#header, WRITTEN) - this.#readTo) >>> 0;
  }

  /**
   * A number that changes whenever the reader releases bytes: how the writer
   * sees that the reader is making progress without waiting for it.
   */
  get releasedCount(): number {
    return Atomics.load(this.#header, RELEASED);
  }

  /**
   * Copies as many of `bytes` as fit into the ring and wakes the reader.
   *
   * @param bytes What to write; not kept.
   * @returns How many bytes were written: less than all when the ring filled,
   *   and none once it has ended or been aborted.
   */
  write(bytes: Uint8Array): number {
    if (Atomics.load(this.#header, STATE) !== OPEN) return 0;
    const written = Atomics.load(this.#header, WRITTEN);
    const n = Math.min(
      bytes.byteLength,
      this.capacity - ((written - Atomics.load(this.#header, RELEASED)) >>> 0),
    );
    if (n === 0) return 0;
    const at = written & (this.capacity - 1);
    const first = Math.min(n, this.capacity - at);
    this.#data.set(bytes.subarray(0, first), at);
    if (first < n) this.#data.set(bytes.subarray(first, n), 0);
    // The store publishes the bytes: the reader loads WRITTEN before it reads them.
    Atomics.store(this.#header, WRITTEN, (written + n) | 0);
    this.#signal(DATA_EVENTS, DATA_WAITERS);
    this.#onWrite?.();
    return n;
  }

  /**
   * Copies out what is available, up to `max` bytes, and moves the reader's
   * cursor past it. Their space stays taken until {@link release}.
   *
   * @param max The most bytes to take.
   * @returns A fresh buffer, or `undefined` when nothing is available or
   *   the ring was aborted.
   */
  read(max = Infinity): Uint8Array<ArrayBuffer> | undefined {
    if (Atomics.load(this.#header, STATE) === ABORTED) return undefined;
    const n = Math.min(this.available, max);
    if (n === 0) return undefined;
    const at = this.#readTo & (this.capacity - 1);
    const first = Math.min(n, this.capacity - at);
    const bytes = new Uint8Array(n);
    bytes.set(this.#data.subarray(at, at + first));
    if (first < n) bytes.set(this.#data.subarray(0, n - first), first);
    this.#readTo = (this.#readTo + n) | 0;
    return bytes;
  }

  /**
   * Like {@link read}, but without a copy: a view of the ring's own memory,
   * as many bytes as lie together before the ring wraps around (call again
   * for the rest). The view stays valid until its bytes are released, since
   * until then the writer cannot reuse their space.
   *
   * @param max The most bytes to take.
   * @returns A view into shared memory, or `undefined` when nothing is
   *   available or the ring was aborted.
   */
  readInPlace(max = Infinity): Uint8Array<SharedArrayBuffer> | undefined {
    if (Atomics.load(this.#header, STATE) === ABORTED) return undefined;
    const at = this.#readTo & (this.capacity - 1);
    const n = Math.min(this.available, max, this.capacity - at);
    if (n === 0) return undefined;
    this.#readTo = (this.#readTo + n) | 0;
    return this.#data.subarray(at, at + n);
  }

  /**
   * Gives the space of `n` bytes read earlier back to the writer, and wakes it.
   *
   * @param n At most what was read and not yet released.
   */
  release(n: number): void {
    if (n === 0) return;
    Atomics.add(this.#header, RELEASED, n);
    this.#signal(SPACE_EVENTS, SPACE_WAITERS);
  }

  /** The writer is done: the reader gets what is left, then the end. */
  end(): void {
    Atomics.compareExchange(this.#header, STATE, OPEN, ENDED);
    this.#wakeBoth();
  }

  /** Stops both sides now: waits return, writes write nothing, what is inside is dropped. */
  abort(): void {
    Atomics.store(this.#header, STATE, ABORTED);
    this.#wakeBoth();
  }

  /**
   * Resolves once there is something to read, the writer has ended, or the
   * ring was aborted, without blocking this thread's event loop.
   */
  async waitForData(): Promise<void> {
    const events = Atomics.load(this.#header, DATA_EVENTS);
    if (this.available > 0 || Atomics.load(this.#header, STATE) !== OPEN) return;
    await this.#waitAsync(DATA_EVENTS, DATA_WAITERS, events);
  }

  /**
   * Like {@link waitForData}, but blocks the thread, for at most `timeoutMs`.
   * Only for a thread with nothing else to do meanwhile: its event loop
   * stands still, and `Atomics.wait` is refused on the main thread of a
   * browser (Deno allows it).
   *
   * @param timeoutMs The longest wait.
   */
  waitForDataBlocking(timeoutMs: number): void {
    const events = Atomics.load(this.#header, DATA_EVENTS);
    if (this.available > 0 || Atomics.load(this.#header, STATE) !== OPEN) return;
    Atomics.add(this.#header, DATA_WAITERS, 1);
    try {
      Atomics.wait(this.#header, DATA_EVENTS, events, timeoutMs);
    } finally {
      Atomics.sub(this.#header, DATA_WAITERS, 1);
    }
  }

  /**
   * Resolves once the reader has released space, or either side has ended
   * or aborted the ring, without blocking this thread's event loop.
   */
  async waitForSpace(): Promise<void> {
    const events = Atomics.load(this.#header, SPACE_EVENTS);
    if (this.free > 0 || Atomics.load(this.#header, STATE) !== OPEN) return;
    await this.#waitAsync(SPACE_EVENTS, SPACE_WAITERS, events);
  }

  /** Waits, counted among the word's waiters, until the word is no longer `seen`. */
  async #waitAsync(word: number, waiters: number, seen: number): Promise<void> {
    Atomics.add(this.#header, waiters, 1);
    try {
      const result = Atomics.waitAsync(this.#header, word, seen);
      if (result.async) await result.value;
    } finally {
      Atomics.sub(this.#header, waiters, 1);
    }
  }

  /** Changes an events word, and wakes its waiters if any wait. */
  #signal(word: number, waiters: number): void {
    Atomics.add(this.#header, word, 1);
    if (Atomics.load(this.#header, waiters) > 0) Atomics.notify(this.#header, word);
  }

  /** Wakes whoever waits on either side, so that each looks at the state again. */
  #wakeBoth(): void {
    this.#signal(DATA_EVENTS, DATA_WAITERS);
    this.#signal(SPACE_EVENTS, SPACE_WAITERS);
  }
}
