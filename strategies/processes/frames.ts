/**
 * Frames on a pipe, both ways between the main process and a `processes`
 * child: a pipe is one byte stream, so a client's bytes and the control
 * messages (open, end, `who`, failures) share it, each in a frame of its
 * own. A frame is one byte of kind, four bytes of length (big-endian), then
 * the payload: the client's bytes as they are, or a control message as JSON.
 *
 * @module
 */
import { writeAll, type Writer } from "../../lib/write_all.ts";

/** What a frame holds. */
export type FrameKind = typeof DATA | typeof BROADCAST | typeof CONTROL;
/** The client's bytes: from the client to the child, or from the service to the client. */
export const DATA = 0;
/** Bytes the service broadcasts to every other client. */
export const BROADCAST = 1;
/** A control message, as JSON. */
export const CONTROL = 2;

/** One frame, read. */
export interface Frame {
  readonly kind: FrameKind;
  /** The payload; the reader's own copy. */
  readonly payload: Uint8Array;
}

const HEADER_BYTES = 5;
/**
 * The largest payload a reader accepts. Data frames are at most one socket
 * read (64 KiB) and control messages are short; a larger length means the
 * stream is not ours or is corrupt, and waiting for it would grow memory.
 */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

const encoder = new TextEncoder();
const SENT = Promise.resolve();
const decoder = new TextDecoder();

/** A frame's length field was larger than {@link MAX_FRAME_BYTES}: the stream is not ours. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/** A frame's header at `at` in `bytes`, checked. */
function readHeader(bytes: Uint8Array, at: number): { kind: FrameKind; length: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER_BYTES);
  const kind = view.getUint8(0);
  const length = view.getUint32(1);
  if (kind > CONTROL || length > MAX_FRAME_BYTES) {
    throw new FrameError(`a frame of kind ${kind} and ${length} bytes is not ours`);
  }
  return { kind: kind as FrameKind, length };
}

/**
 * Cuts a byte stream into frames, whatever the sizes of the chunks it
 * arrives in.
 */
export class FrameReader {
  #buffer = new Uint8Array(0);
  #start = 0;
  #end = 0;

  /**
   * Takes the next chunk of the stream and returns the frames it completed.
   *
   * @param chunk Copied, unless `owned`; the caller may then reuse it.
   * @param owned The chunk is the reader's to keep (a stream's fresh chunk):
   *   frames wholly inside it are views of it, not copies, which spares a
   *   copy of every byte on the way from a child to its client.
   * @throws {FrameError} For a length no frame of ours has.
   */
  push(chunk: Uint8Array, owned = false): Frame[] {
    const frames: Frame[] = [];
    if (owned && this.#start === this.#end) chunk = this.#takeWhole(chunk, frames);
    this.#append(chunk);
    for (;;) {
      const available = this.#end - this.#start;
      if (available < HEADER_BYTES) break;
      const { kind, length } = readHeader(this.#buffer, this.#start);
      if (available < HEADER_BYTES + length) break;
      const from = this.#start + HEADER_BYTES;
      frames.push({ kind, payload: this.#buffer.slice(from, from + length) });
      this.#start = from + length;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return frames;
  }

  /** Cuts the whole frames at the start of `chunk` as views; returns what is left. */
  #takeWhole(chunk: Uint8Array, frames: Frame[]): Uint8Array {
    let at = 0;
    while (chunk.byteLength - at >= HEADER_BYTES) {
      const { kind, length } = readHeader(chunk, at);
      if (chunk.byteLength - at < HEADER_BYTES + length) break;
      const from = at + HEADER_BYTES;
      frames.push({ kind, payload: chunk.subarray(from, from + length) });
      at = from + length;
    }
    return chunk.subarray(at);
  }

  /** Whether a frame has begun and not ended: a stream that ends now ends mid-frame. */
  get partial(): boolean {
    return this.#end > this.#start;
  }

  #append(chunk: Uint8Array): void {
    const needed = this.#end - this.#start + chunk.byteLength;
    if (this.#end + chunk.byteLength > this.#buffer.byteLength) {
      // Move what is left to the front, in a larger buffer if it has to be.
      if (needed > this.#buffer.byteLength) {
        const larger = new Uint8Array(Math.max(needed, this.#buffer.byteLength * 2, 4096));
        larger.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = larger;
      } else {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      }
      this.#end -= this.#start;
      this.#start = 0;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.byteLength;
  }
}

/** A control message from its frame's payload. */
export function parseControl<Message>(payload: Uint8Array): Message {
  return JSON.parse(decoder.decode(payload)) as Message;
}

interface Pending {
  bytes: Uint8Array;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Writes frames in order, one writer for a whole pipe. Up to a window of
 * bytes, a frame counts as sent as soon as it is queued; past it, its
 * promise waits for the pipe. Frames queued before
 * a write starts go out together, so a reply and its acknowledgement cost
 * one system call, not two: a write starts a macrotask after the first frame
 * is queued, or at once on {@link FrameWriter.flush}, which a writer that
 * knows it has queued the last frame of a turn calls. Frames queued while a
 * write is under way go out together in the next one. A full pipe (a reader
 * that does not keep up) fills the window and holds its writer back, which
 * is the backpressure.
 */
export class FrameWriter {
  readonly #writer: Writer;
  #queue: Pending[] = [];
  #writing = false;
  #failed: unknown;
  #last: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;

  readonly #window: number;
  /** Bytes queued or being written. */
  #unwritten = 0;

  /**
   * @param writer The pipe.
   * @param window Bytes that may wait to be written while their frames
   *   count as sent; beyond it, a frame's promise waits for its write.
   */
  constructor(writer: Writer, window = 64 * 1024) {
    this.#writer = writer;
    this.#window = window;
  }

  /**
   * Queues one frame; its payload is copied now.
   *
   * @param kind What it holds.
   * @param payload The bytes.
   */
  frame(kind: FrameKind, payload: Uint8Array): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const bytes = new Uint8Array(HEADER_BYTES + payload.byteLength);
    const view = new DataView(bytes.buffer);
    view.setUint8(0, kind);
    view.setUint32(1, payload.byteLength);
    bytes.set(payload, HEADER_BYTES);
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    // Within the window, the frame counts as sent at once, as a send into a
    // Worker's ring does: the service goes on, and its reply and the
    // acknowledgement that follows it can share one write.
    const withinWindow = this.#unwritten + bytes.byteLength <= this.#window;
    this.#unwritten += bytes.byteLength;
    this.#queue.push({ bytes, resolve, reject });
    if (!this.#writing && this.#timer === undefined) {
      this.#timer = setTimeout(() => this.flush(), 0);
    }
    this.#last = promise.catch(() => {});
    return withinWindow ? SENT : promise;
  }

  /**
   * Queues one control message.
   *
   * @param message Anything JSON can carry.
   */
  control(message: unknown): Promise<void> {
    return this.frame(CONTROL, encoder.encode(JSON.stringify(message)));
  }

  /** Resolves once everything queued so far is written, or has failed. */
  flushed(): Promise<void> {
    this.flush();
    return this.#last;
  }

  /** Starts writing what is queued now, rather than a macrotask later. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#writing && this.#queue.length > 0) void this.#write();
  }

  async #write(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        const bytes = batch.length === 1 ? batch[0]!.bytes : concat(batch);
        try {
          await writeAll(this.#writer, bytes, "the other process");
        } catch (error) {
          // The other side is gone: this batch, the queue and every later frame fail.
          this.#failed = error;
          for (const pending of [...batch, ...this.#queue]) pending.reject(error);
          this.#queue = [];
          return;
        }
        this.#unwritten -= bytes.byteLength;
        for (const pending of batch) pending.resolve();
      }
    } finally {
      this.#writing = false;
    }
  }
}

function concat(batch: readonly Pending[]): Uint8Array {
  let length = 0;
  for (const pending of batch) length += pending.bytes.byteLength;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const pending of batch) {
    joined.set(pending.bytes, offset);
    offset += pending.bytes.byteLength;
  }
  return joined;
}
