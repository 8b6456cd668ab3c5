/**
 * Line framing, apart from sockets and services: bytes go in as they arrive,
 * whole lines come out. A line may be split across reads and a read may hold
 * many lines; LF and CRLF both end a line.
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;

/** An unfinished-line buffer larger than this is freed once its line is done. */
const KEPT_BUFFER = 16 * 1024;

/** The limit a line may not exceed unless the settings' `maxLine` says otherwise. */
export const DEFAULT_MAX_LINE = 8192;

/**
 * A line grew past the limit before its end was seen.
 *
 * @example
 * ```ts
 * import { LineFramer, LineTooLongError } from "./line_framer.ts";
 * import assert from "node:assert/strict";
 *
 * const framer = new LineFramer(4);
 * assert.throws(() => framer.push(new TextEncoder().encode("too long")), LineTooLongError);
 * ```
 */
export class LineTooLongError extends Error {
  /** The limit, in bytes, that was exceeded. */
  readonly maxLine: number;
  /**
   * Lines completed in the same chunk before the long one: the client sent
   * them first, so they are still owed their answers.
   */
  readonly linesBefore: string[];

  /**
   * Makes the error for a line that passed `maxLine`.
   *
   * @param maxLine The limit, in bytes.
   * @param linesBefore Whole lines that came in the same read, ahead of the long one.
   */
  constructor(maxLine: number, linesBefore: string[] = []) {
    super(`line too long (max ${maxLine} bytes)`);
    this.name = "LineTooLongError";
    this.maxLine = maxLine;
    this.linesBefore = linesBefore;
  }
}

/**
 * Splits a byte stream into UTF-8 lines. It never holds more than `maxLine`
 * bytes of an unfinished line, so a client cannot make it buffer without end.
 * The unfinished line grows in a buffer that doubles when full, so a long
 * line arriving in many reads is copied a few times in all, not once per read
 * (which made a 60 MB line under a raised line limit take 16 s).
 *
 * @example
 * ```ts
 * import { LineFramer } from "./line_framer.ts";
 * import assert from "node:assert/strict";
 *
 * const framer = new LineFramer(100);
 * const bytes = new TextEncoder().encode("one\r\ntw");
 * assert.deepEqual(framer.push(bytes), ["one"]);
 * assert.deepEqual(framer.push(new TextEncoder().encode("o\n")), ["two"]);
 * ```
 */
export class LineFramer {
  readonly #maxLine: number;
  readonly #decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  /** The unfinished line is `#pending.subarray(0, #pendingLength)`; the rest is room to grow. */
  #pending: Uint8Array = new Uint8Array(0);
  #pendingLength = 0;

  /**
   * Makes a framer with a limit on line length.
   *
   * @param maxLine The longest line accepted, in bytes, not counting its LF or CRLF.
   */
  constructor(maxLine: number = DEFAULT_MAX_LINE) {
    this.#maxLine = maxLine;
  }

  /** Bytes of an unfinished line held so far. */
  get buffered(): number {
    return this.#pendingLength;
  }

  /**
   * Adds bytes and returns the lines they complete, in order.
   *
   * @param chunk The bytes just read; they are copied where kept.
   * @returns Every line completed by `chunk`, without its terminator.
   * @throws {LineTooLongError} When a line exceeds the limit; it carries the
   *   lines completed before it.
   */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    try {
      this.#split(chunk, lines);
    } catch (error) {
      if (error instanceof LineTooLongError) throw new LineTooLongError(this.#maxLine, lines);
      throw error;
    }
    return lines;
  }

  #split(chunk: Uint8Array, lines: string[]): void {
    let start = 0;
    let newline = chunk.indexOf(LF);
    if (newline !== -1 && this.#pendingLength > 0) {
      this.#checkLength(this.#pendingLength + newline);
      this.#hold(chunk.subarray(0, newline));
      lines.push(this.#decode(this.#takePending()));
      start = newline + 1;
      newline = chunk.indexOf(LF, start);
    }
    while (newline !== -1) {
      this.#checkLength(newline - start);
      lines.push(this.#decode(chunk.subarray(start, newline)));
      start = newline + 1;
      newline = chunk.indexOf(LF, start);
    }
    if (start < chunk.byteLength) {
      const rest = chunk.subarray(start);
      // A trailing CR may be the first half of a CRLF, so it does not count yet.
      const unfinished = this.#pendingLength + rest.byteLength - (endsWithCR(rest) ? 1 : 0);
      if (unfinished > this.#maxLine) throw new LineTooLongError(this.#maxLine);
      this.#hold(rest);
    }
  }

  /** Appends to the unfinished line, doubling its buffer when it is full. */
  #hold(bytes: Uint8Array): void {
    const needed = this.#pendingLength + bytes.byteLength;
    if (needed > this.#pending.byteLength) {
      // Never more than the longest line allowed plus its CRLF.
      const size = Math.min(Math.max(needed, 2 * this.#pending.byteLength, 256), this.#maxLine + 2);
      const grown = new Uint8Array(Math.max(size, needed));
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = needed;
  }

  /** The unfinished line, now finished; a large buffer is let go rather than kept per client. */
  #takePending(): Uint8Array {
    const line = this.#pending.subarray(0, this.#pendingLength);
    this.#pendingLength = 0;
    if (this.#pending.byteLength > KEPT_BUFFER) this.#pending = new Uint8Array(0);
    return line;
  }

  /**
   * Ends the stream and returns the last line if it had no terminator.
   *
   * @returns The unterminated last line, or `undefined` when there is none.
   */
  finish(): string | undefined {
    if (this.#pendingLength === 0) return undefined;
    return this.#decode(this.#takePending());
  }

  /** `length` may include a line's CR, which the limit does not count. */
  #checkLength(length: number): void {
    if (length > this.#maxLine + 1) throw new LineTooLongError(this.#maxLine);
  }

  #decode(line: Uint8Array): string {
    const body = endsWithCR(line) ? line.subarray(0, line.byteLength - 1) : line;
    if (body.byteLength > this.#maxLine) throw new LineTooLongError(this.#maxLine);
    return this.#decoder.decode(body);
  }
}

function endsWithCR(bytes: Uint8Array): boolean {
  return bytes.byteLength > 0 && bytes[bytes.byteLength - 1] === CR;
}
