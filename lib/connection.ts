/**
 * A client connection as the main thread owns it: the socket, its counters,
 * and one ordered queue of writes so that replies, broadcasts and notices
 * never interleave mid-message.
 *
 * @module
 */
import { formatAddr } from "./address.ts";
import { ConnectionClosedError, isDisconnect } from "./errors.ts";
import { writeAll } from "./write_all.ts";

/** The first read buffer; small, so that thousands of idle clients cost little. */
const INITIAL_READ_BUFFER = 4 * 1024;
/** Reads that fill the buffer double it, up to this size, so bulk transfers need few reads. */
const MAX_READ_BUFFER = 64 * 1024;

/**
 * One accepted client.
 *
 * @example
 * ```ts
 * import type { Connection } from "./connection.ts";
 *
 * // What a strategy does with a connection it was handed: echo until the end.
 * async function echoAll(connection: Connection): Promise<void> {
 *   for (let chunk = await connection.read(); chunk; chunk = await connection.read()) {
 *     await connection.write(chunk.slice());
 *   }
 *   await connection.closeAfterWrites();
 * }
 * ```
 */
export class Connection {
  /** Unique within one server. */
  readonly id: number;
  /** The client's address, e.g. `127.0.0.1:51234`. */
  readonly peer: string;
  /** The client's address as the socket reports it. */
  readonly remoteAddr: Deno.Addr;
  /** The server's side of the connection. */
  readonly localAddr: Deno.Addr;
  /** When it was accepted, from `performance.now()`. */
  readonly openedAt: number = performance.now();
  /** Bytes read from the client. */
  bytesIn = 0;
  /** Bytes written to the client. */
  bytesOut = 0;

  readonly #conn: Deno.Conn;
  readonly #closing = new AbortController();
  #readBuffer = new Uint8Array(INITIAL_READ_BUFFER);
  #writeTail: Promise<void> = Promise.resolve();
  #queuedBytes = 0;

  /**
   * Wraps an accepted socket.
   *
   * @param conn The socket: TCP, TLS or Unix.
   * @param id Unique within one server.
   */
  constructor(conn: Deno.Conn, id: number) {
    this.#conn = conn;
    this.id = id;
    this.remoteAddr = conn.remoteAddr;
    this.localAddr = conn.localAddr;
    this.peer = formatAddr(conn.remoteAddr);
  }

  /** Aborted when the connection closes. */
  get signal(): AbortSignal {
    return this.#closing.signal;
  }

  /** Whether the connection has been closed. */
  get closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /** Bytes handed to {@link write} and not yet written. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Completes the TLS handshake of a TLS connection, and does nothing for any
   * other. Deno would otherwise do it inside the first read or write, where a
   * client that does not speak TLS looks like a failing service.
   *
   * @throws The handshake's error, e.g. `InvalidData` for a client that sent plain text.
   */
  async handshake(): Promise<void> {
    if ("handshake" in this.#conn) await (this.#conn as Deno.TlsConn).handshake();
  }

  /**
   * Reads the next chunk. The returned view is only valid until the next call.
   *
   * @returns The bytes read, or `null` at end of input or once the connection is gone.
   * @throws Errors other than close-path ones.
   */
  async read(): Promise<Uint8Array | null> {
    const buffer = this.#readBuffer;
    let n: number | null;
    try {
      n = await this.#conn.read(buffer);
    } catch (error) {
      if (this.closed) return null;
      if (isDisconnect(error)) {
        // A reset is not an end of input the client chose: it is gone, so
        // close now, and whatever serves it (a program under exec) stops.
        this.close();
        return null;
      }
      throw error;
    }
    if (n === null) return null;
    this.bytesIn += n;
    if (n === buffer.byteLength && buffer.byteLength < MAX_READ_BUFFER) {
      this.#readBuffer = new Uint8Array(buffer.byteLength * 2);
    }
    return buffer.subarray(0, n);
  }

  /**
   * Queues bytes behind earlier writes and resolves once they are all written.
   *
   * @param bytes Not copied: keep them unchanged until the promise settles.
   * @throws {ConnectionClosedError} Once the connection is closed.
   */
  write(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new ConnectionClosedError(this.peer));
    this.#queuedBytes += bytes.byteLength;
    const written = this.#writeTail.then(() => this.#writeNow(bytes));
    this.#writeTail = written.catch(() => {});
    return written;
  }

  async #writeNow(bytes: Uint8Array): Promise<void> {
    try {
      if (this.closed) throw new ConnectionClosedError(this.peer);
      await writeAll(this.#conn, bytes, this.peer);
      this.bytesOut += bytes.byteLength;
    } catch (error) {
      this.close();
      throw error;
    } finally {
      this.#queuedBytes -= bytes.byteLength;
    }
  }

  /** Resolves once every write queued so far has finished, well or not. */
  drain(): Promise<void> {
    return this.#writeTail;
  }

  /** Closes once the queued writes are done. */
  async closeAfterWrites(): Promise<void> {
    await this.drain();
    this.close();
  }

  /** Closes the socket at once; queued writes fail. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.#closing.abort();
    try {
      this.#conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }
}
