/**
 * Reading what a service sent, the same way whether it came over a socket or
 * from an in-memory session: whole lines, exact byte counts, or everything
 * until the end.
 *
 * @module
 */

const decoder = new TextDecoder();

/**
 * What a test holds to talk to a service: a real client over a socket
 * ({@link TestClient}) or an in-memory one (`openTestSession`). A script
 * written against it runs against both.
 *
 * @example
 * ```ts
 * import type { ServiceClient } from "./reader.ts";
 * import assert from "node:assert/strict";
 *
 * // One conversation with `reverse`, whatever carries it.
 * async function reverses(client: ServiceClient): Promise<void> {
 *   await client.send("hola\n");
 *   assert.equal(await client.readLine(), "aloh");
 * }
 * ```
 */
export interface ServiceClient {
  /** Sends text or bytes to the service, all of them. */
  send(data: string | Uint8Array): Promise<void>;
  /** The next line the service sent, without its LF or CRLF; `null` once it closed. */
  readLine(): Promise<string | null>;
  /** Exactly `count` bytes; rejects if the service closes first. */
  readBytes(count: number): Promise<Uint8Array>;
  /** Everything the service sends until it closes. */
  readAll(): Promise<Uint8Array>;
  /** Ends the input (a half-close): the service sees the end, and may still answer. */
  end(): Promise<void>;
  /** Goes away without waiting for anything more. */
  close(): void | Promise<void>;
}

/**
 * Buffers the chunks a source yields and hands them out as lines or byte counts.
 *
 * @example
 * ```ts
 * import { ChunkReader } from "./reader.ts";
 * import assert from "node:assert/strict";
 *
 * const chunks = [new TextEncoder().encode("uno\r\ndo"), new TextEncoder().encode("s\n")];
 * const reader = new ChunkReader(() => Promise.resolve(chunks.shift() ?? null));
 * assert.equal(await reader.readLine(), "uno");
 * assert.equal(await reader.readLine(), "dos");
 * assert.equal(await reader.readLine(), null);
 * ```
 */
export class ChunkReader {
  readonly #next: () => Promise<Uint8Array | null>;
  #buffered = new Uint8Array(0);
  #ended = false;

  /**
   * Reads from a source of chunks.
   *
   * @param next Yields the next chunk, or `null` at the end of the stream.
   */
  constructor(next: () => Promise<Uint8Array | null>) {
    this.#next = next;
  }

  /** The next line without its LF or CRLF; at the end, what is left, then `null`. */
  async readLine(): Promise<string | null> {
    for (;;) {
      const newline = this.#buffered.indexOf(0x0a);
      if (newline !== -1) {
        return decoder.decode(this.#take(newline + 1)).replace(/\r?\n$/, "");
      }
      if (!(await this.#fill())) {
        return this.#buffered.byteLength > 0
          ? decoder.decode(this.#take(this.#buffered.byteLength))
          : null;
      }
    }
  }

  /** Exactly `count` bytes; throws if the stream ends first. */
  async readBytes(count: number): Promise<Uint8Array> {
    while (this.#buffered.byteLength < count) {
      if (!(await this.#fill())) {
        throw new Error(`stream ended after ${this.#buffered.byteLength} of ${count} bytes`);
      }
    }
    return this.#take(count);
  }

  /** Everything until the end of the stream. */
  async readAll(): Promise<Uint8Array> {
    while (await this.#fill());
    return this.#take(this.#buffered.byteLength);
  }

  #take(count: number): Uint8Array {
    const taken = this.#buffered.slice(0, count);
    this.#buffered = this.#buffered.slice(count);
    return taken;
  }

  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    const chunk = await this.#next();
    if (chunk === null) {
      this.#ended = true;
      return false;
    }
    const joined = new Uint8Array(this.#buffered.byteLength + chunk.byteLength);
    joined.set(this.#buffered);
    joined.set(chunk, this.#buffered.byteLength);
    this.#buffered = joined;
    return true;
  }
}
