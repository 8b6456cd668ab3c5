/**
 * A client connection as the main thread owns it: the socket, its counters,
 * and one ordered queue of writes so that replies, broadcasts and notices
 * never interleave mid-message.
 *
 * @module
 */
import { formatAddr } from "./address.ts";
import { ConnectionClosedError, describeError, isDisconnect } from "./errors.ts";
import { logger } from "./log.ts";
import { writeAllNow, type Writer } from "./write_all.ts";

/** The first read buffer; small, so that thousands of idle clients cost little. */
const INITIAL_READ_BUFFER = 1024;
/** Reads that fill the buffer double it, up to this size, so bulk transfers need few reads. */
const MAX_READ_BUFFER = 64 * 1024;

/**
 * What one queued write costs beyond its bytes: its promises and closures,
 * roughly. Broadcasts queued together share one batch, and one such cost.
 */
export const QUEUED_WRITE_COST = 256;

/** Broadcasts waiting behind the write under way, to go out as one. */
interface Batch {
  chunks: Uint8Array[];
  written: Promise<void>;
}

/** One buffer holding `chunks` in order; the chunk itself when there is one. */
function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let length = 0;
  for (const chunk of chunks) length += chunk.byteLength;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}

const encoder = new TextEncoder();
const log = logger("connection");
/** What every write that finished at once returns: one promise, shared, already resolved. */
const WRITTEN: Promise<void> = Promise.resolve();

/** Told that a connection closed; see {@link Connection.whenClosed}. */
export type CloseCallback = (connection: Connection) => void;

/** What every socket a {@link Connection} wraps has, whichever way it reads. */
export interface SocketBase {
  /** The client's address. */
  readonly remoteAddr: Deno.Addr;
  /** The server's side. */
  readonly localAddr: Deno.Addr;
  /**
   * Writes some of `bytes` and says how many: as a number when they were
   * taken at once (see `writeAllNow`), else as a promise.
   */
  write(bytes: Uint8Array): number | Promise<number>;
  /** Closes at once. */
  close(): void;
}

/**
 * A socket that reads into a buffer it is given, like `Deno.Conn` (TCP, TLS
 * or Unix): a read must be pending, with its buffer, to learn that bytes came.
 */
export interface BufferSocket extends SocketBase {
  /** Fills some of `buffer`; `null` at end of input. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/**
 * What a socket that reads by chunks calls from its own events once told to
 * push ({@link ChunkSocket.pushChunks}), in order, one call at a time.
 */
export interface ChunkReader {
  /**
   * The next chunk, the reader's to keep. A promise returned holds every
   * later call back until it settles: the chunks that arrive meanwhile wait
   * in the socket, which stops reading once too many do.
   */
  chunk(chunk: Uint8Array): void | Promise<void>;
  /** After the last chunk: the client ended its input, or the socket was closed. */
  end(): void;
  /** After the last chunk: the socket failed (a reset is `Deno.errors.ConnectionReset`). */
  failed(error: unknown): void;
  /** A promise {@link chunk} returned rejected: nothing more is delivered. */
  rejected(error: unknown): void;
}

/**
 * A socket that hands out the chunks it received, each a buffer of its own,
 * like `NodeTcpSocket` (`node_tcp.ts`): it reads when the kernel says bytes
 * are there, so nothing need be pending on an idle client.
 */
export interface ChunkSocket extends SocketBase {
  /** The next chunk, the reader's to keep; `null` at end of input. */
  readChunk(): Promise<Uint8Array | null>;
  /**
   * From now on, hands every chunk to `reader` from the socket's own events,
   * the chunks already received first; {@link readChunk} is then not called
   * again. Exactly one of `end`, `failed` or `rejected` is called, once. A
   * socket without it is read with {@link readChunk} in a loop.
   *
   * @param reader Told of every chunk, then of the end.
   * @param first Bytes that go before everything the socket holds.
   */
  pushChunks?(reader: ChunkReader, first?: Uint8Array): void;
}

/**
 * What {@link Connection.pushTo} tells the one who serves the connection:
 * every chunk, counted, then the end of the input or why it failed.
 */
export interface ConnectionReader {
  /** A chunk; a promise returned holds the next one back until it settles. */
  chunk(chunk: Uint8Array): void | Promise<void>;
  /**
   * No more input: the client ended it (the connection is open, replies can
   * still go out), or it went away or the connection was closed (closed).
   */
  end(): void;
  /** The socket failed other than by the client leaving, or a chunk's promise rejected. */
  fail(error: unknown): void;
}

/** What a {@link Connection} can wrap: a `Deno.Conn`, or a socket that reads by chunks. */
export type Socket = BufferSocket | ChunkSocket;

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
  /** When it was accepted, from `performance.now()`. */
  readonly openedAt: number = performance.now();
  /**
   * When a byte last moved either way, from `performance.now()`; for the idle
   * timeout. Read once for everything that runs until the microtask queue
   * next empties (see {@link activityNow}), so it may be early by as long as
   * the work of that one turn of the event loop.
   */
  lastActiveAt: number = this.openedAt;
  /** Bytes read from the client. */
  bytesIn = 0;
  /** Bytes written to the client. */
  bytesOut = 0;

  readonly #conn: Socket;
  /**
   * The socket as `writeAll` sees it: each partial write counts as activity.
   * Made on the first write, like everything below that a connection may never
   * need: at ten thousand connections each object kept per client is
   * ten thousand objects for the garbage collector to walk.
   */
  #writer: Writer | undefined;
  #closed = false;
  /** Made when someone first asks for {@link signal}; most connections never do. */
  #closing: AbortController | undefined;
  /**
   * Called once, at close, in the order they were given; see {@link whenClosed}.
   * One callback is kept alone, not in an array: most connections have one.
   */
  #onClose: CloseCallback | CloseCallback[] | undefined;
  /** For a {@link BufferSocket}; made at the first read. */
  #readBuffer: Uint8Array | undefined;
  /**
   * Settles once every write queued so far has; none while nothing is queued,
   * rather than a settled promise kept per client.
   */
  #writeTail: Promise<void> | undefined;
  /** Broadcasts queued last, behind the write under way, not yet started: they go out together. */
  #batch: Batch | undefined;
  #pendingWrites = 0;
  #queuedBytes = 0;
  #peer: string | undefined;
  #host: string | undefined;
  #unread: Uint8Array | undefined;

  /**
   * Wraps an accepted socket.
   *
   * @param conn The socket: a `Deno.Conn` (TCP, TLS or Unix) or a {@link ChunkSocket}.
   * @param id Unique within one server.
   */
  constructor(conn: Socket, id: number) {
    this.#conn = conn;
    this.id = id;
  }

  /** The client's address as the socket reports it. */
  get remoteAddr(): Deno.Addr {
    return this.#conn.remoteAddr;
  }

  /** The server's side of the connection. */
  get localAddr(): Deno.Addr {
    return this.#conn.localAddr;
  }

  /** The client's address, e.g. `127.0.0.1:51234`; formatted when first asked for. */
  get peer(): string {
    return this.#peer ??= formatAddr(this.remoteAddr);
  }

  /** The client's host alone, e.g. `127.0.0.1` or `::1`, for admission rules. */
  get host(): string {
    const remote = this.remoteAddr;
    return this.#host ??= "hostname" in remote ? remote.hostname : this.peer;
  }

  /**
   * Presents the connection as coming from another address: the real client
   * that a trusted proxy named in its PROXY header.
   *
   * @param peer The client's address as `HOST:PORT` or `[HOST]:PORT`.
   */
  setPeer(peer: string): void {
    this.#peer = peer;
    this.#host = peer.startsWith("[")
      ? peer.slice(1, peer.indexOf("]"))
      : peer.slice(0, peer.lastIndexOf(":"));
  }

  /**
   * Gives back bytes that were read ahead (past a PROXY header), so the next
   * {@link read} returns them first. They are copied, and counted again then.
   *
   * @param bytes What was read but belongs to whoever reads next.
   */
  unread(bytes: Uint8Array): void {
    this.bytesIn -= bytes.byteLength;
    this.#unread = bytes.byteLength > 0 ? bytes.slice() : undefined;
  }

  /** Aborted when the connection closes. */
  get signal(): AbortSignal {
    if (!this.#closing) {
      this.#closing = new AbortController();
      if (this.#closed) this.#closing.abort();
    }
    return this.#closing.signal;
  }

  /** Whether the connection has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Calls `callback` the moment the connection closes, or now if it already
   * has: a cheaper {@link signal} for servidor's own bookkeeping, which needs
   * no event object. The callback is given the connection, so that one
   * function can serve every connection instead of a closure each.
   *
   * @param callback Told once, with this connection; it must not throw.
   */
  whenClosed(callback: CloseCallback): void {
    const onClose = this.#onClose;
    if (this.#closed) callback(this);
    else if (!onClose) this.#onClose = callback;
    else if (typeof onClose === "function") this.#onClose = [onClose, callback];
    else onClose.push(callback);
  }

  /** Bytes handed to {@link write} and not yet written. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** What the writes not yet written hold in memory: their bytes and {@link QUEUED_WRITE_COST} each. */
  get queuedCost(): number {
    return this.#queuedBytes + this.#pendingWrites * QUEUED_WRITE_COST;
  }

  /** Whether {@link handshake} has work to do: the connection is TLS. */
  get needsHandshake(): boolean {
    return "handshake" in this.#conn;
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
  read(): Promise<Uint8Array | null> {
    const unread = this.#unread;
    if (unread) {
      this.#unread = undefined;
      this.bytesIn += unread.byteLength;
      return Promise.resolve(unread);
    }
    // Not an async function: a silent client keeps its read pending for as
    // long as it likes, and an async function waiting holds a frame, two
    // closures and a promise more than this `then` does; at ten thousand idle
    // clients that is megabytes (see docs/scale.md).
    // The callbacks are made at the first read, each once: a connection
    // that never reads, or reads only one way, holds no closure it never uses.
    const conn = this.#conn;
    const failed = this.#readFailed ??= (error) => this.#failedRead(error);
    if ("readChunk" in conn) {
      return conn.readChunk().then(this.#afterChunk ??= (chunk) => this.#countChunk(chunk), failed);
    }
    const buffer = this.#readBuffer ??= new Uint8Array(INITIAL_READ_BUFFER);
    return conn.read(buffer).then(this.#afterRead ??= (n) => this.#countRead(n), failed);
  }

  #afterChunk: ((chunk: Uint8Array | null) => Uint8Array | null) | undefined;
  #afterRead: ((n: number | null) => Uint8Array | null) | undefined;
  #readFailed: ((error: unknown) => null) | undefined;

  /**
   * Whether {@link pushTo} can serve this connection: its socket reads by
   * chunks (`node:net`). A `Deno.Conn` (TCP, TLS, Unix) is read with {@link read}.
   */
  get pushes(): boolean {
    return "pushChunks" in this.#conn && this.#conn.pushChunks !== undefined;
  }

  /**
   * Hands the client's bytes to `reader` as the socket's events bring them,
   * counted as {@link read} counts them, with bytes given back by
   * {@link unread} first: no read is pending while the client is silent, so
   * an idle client holds no promise and no async frame. Call it once, and
   * only when {@link pushes}; {@link read} is not called afterwards.
   *
   * @param reader Told of every chunk in order, then once of the end or of a failure.
   */
  pushTo(reader: ConnectionReader): void {
    const conn = this.#conn;
    if (!("pushChunks" in conn) || !conn.pushChunks) {
      throw new TypeError("this connection's socket cannot push: read() it instead");
    }
    const unread = this.#unread;
    this.#unread = undefined;
    conn.pushChunks(new CountingReader(this, reader), unread);
  }

  /** Counts a chunk that a {@link ChunkSocket} received. */
  #countChunk(chunk: Uint8Array | null): Uint8Array | null {
    if (chunk === null) return null;
    countIn(this, chunk.byteLength);
    return chunk;
  }

  /** Counts what a read brought and grows the buffer when it came back full. */
  #countRead(n: number | null): Uint8Array | null {
    const buffer = this.#readBuffer;
    if (n === null || !buffer) return null;
    countIn(this, n);
    if (n === buffer.byteLength && buffer.byteLength < MAX_READ_BUFFER) {
      this.#readBuffer = new Uint8Array(buffer.byteLength * 2);
    }
    return buffer.subarray(0, n);
  }

  /** A read that fails because the client left ends the input; any other failure is thrown. */
  #failedRead(error: unknown): null {
    if (endsInput(this, error)) return null;
    throw error;
  }

  /**
   * Queues bytes behind earlier writes and resolves once they are all written.
   *
   * @param bytes Not copied: keep them unchanged until the promise settles.
   * @throws {ConnectionClosedError} Once the connection is closed.
   */
  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError(this.peer));
    // A batch behind this write must stay behind it: later broadcasts start a new one.
    this.#batch = undefined;
    this.#queuedBytes += bytes.byteLength;
    if (this.#pendingWrites === 0) {
      // With nothing queued, the write starts now instead of a turn later,
      // and a reply that the socket takes whole at once (most of them) is
      // done here: no queue, no async function, one shared promise.
      const started = this.#startWrite(bytes);
      return started === WRITTEN ? WRITTEN : this.#enqueue(started);
    }
    return this.#enqueue((this.#writeTail ?? WRITTEN).then(() => this.#startWrite(bytes)));
  }

  /**
   * Like {@link write}, but joined to the batch queued just before it if that
   * has not started: one socket write and one promise for all of them. For
   * broadcasts, where a thousand short lines can wait behind a slow reader and
   * should cost their bytes, not a thousand promises and system calls.
   *
   * @param bytes Copied when the batch starts, so keep them unchanged until the promise settles.
   * @throws {ConnectionClosedError} Once the connection is closed.
   */
  writeBatched(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new ConnectionClosedError(this.peer));
    if (this.#pendingWrites === 0) return this.write(bytes);
    this.#queuedBytes += bytes.byteLength;
    if (this.#batch) {
      this.#batch.chunks.push(bytes);
      return this.#batch.written;
    }
    const batch: Batch = { chunks: [bytes], written: Promise.resolve() };
    this.#batch = batch;
    batch.written = this.#enqueue((this.#writeTail ?? WRITTEN).then(() => {
      // From here on, later broadcasts start a batch of their own.
      if (this.#batch === batch) this.#batch = undefined;
      return this.#startWrite(concat(batch.chunks));
    }));
    return batch.written;
  }

  #enqueue(written: Promise<void>): Promise<void> {
    this.#pendingWrites++;
    const settled = this.#settled ??= () => {
      // The last write settled: the tail is dropped, and drain() needs none.
      if (--this.#pendingWrites === 0) this.#writeTail = undefined;
    };
    this.#writeTail = written.then(settled, settled);
    return written;
  }

  /** Counts a finished write, well or not; made at the first write, then reused by each. */
  #settled: (() => void) | undefined;

  /**
   * Starts a write whose turn has come: at once when nothing is queued, else
   * behind the queue. Returns the shared {@link WRITTEN} when the socket took
   * it whole at once.
   */
  #startWrite(bytes: Uint8Array): Promise<void> {
    const started = this.#closed
      ? Promise.reject(new ConnectionClosedError(this.peer))
      : writeAllNow(this.#writer ??= new ActivityWriter(this, this.#conn), bytes, this);
    return started ? this.#settle(started, bytes) : this.#settleNow(bytes);
  }

  /** Accounts for a write that finished at once. */
  #settleNow(bytes: Uint8Array): Promise<void> {
    this.#queuedBytes -= bytes.byteLength;
    this.bytesOut += bytes.byteLength;
    return WRITTEN;
  }

  /**
   * Accounts for a write under way once it ends: a failure closes the
   * connection (a client that went away is logged as such) and is thrown on.
   */
  async #settle(writing: Promise<void>, bytes: Uint8Array): Promise<void> {
    try {
      await writing;
      this.bytesOut += bytes.byteLength;
    } catch (error) {
      if (!this.#closed && isDisconnect(error)) wentAway(this.peer, error);
      this.close();
      throw error;
    } finally {
      this.#queuedBytes -= bytes.byteLength;
    }
  }

  /** Resolves once every write queued so far has finished, well or not. */
  drain(): Promise<void> {
    return this.#writeTail ?? WRITTEN;
  }

  /** Closes once the queued writes are done. */
  async closeAfterWrites(): Promise<void> {
    await this.drain();
    this.close();
  }

  /**
   * Queues one last line (CRLF added) behind what is already queued, then
   * closes once it is written: how a client learns why it is being closed.
   *
   * @param text The line, e.g. `ERR idle timeout`.
   */
  async closeWithLine(text: string): Promise<void> {
    if (this.closed) return;
    // A failed write closes the connection itself; there is no one else to tell.
    this.write(encoder.encode(`${text}\r\n`)).catch(() => {});
    await this.closeAfterWrites();
  }

  /** Closes the socket at once; queued writes fail. Safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing?.abort();
    const onClose = this.#onClose;
    this.#onClose = undefined;
    if (typeof onClose === "function") onClose(this);
    else if (onClose) { for (const callback of onClose) callback(this); }
    try {
      this.#conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }
}

/**
 * The socket itself says the client vanished (a reset, a broken pipe). It is
 * logged here, once, because a service may never hear of it: under
 * `workers` a send can be acknowledged before it is written.
 */
function wentAway(peer: string, error: unknown): void {
  log.debug("{peer} went away: {reason}", { peer, reason: describeError(error) });
}

/** The time {@link activityNow} read in this turn of the event loop, until the turn's microtasks run. */
let turnTime: number | undefined;
const forgetTurnTime = (): void => {
  turnTime = undefined;
};

/**
 * The time a byte moved, for {@link Connection.lastActiveAt}: the clock is
 * read once, then the same reading serves everything until the microtask
 * queue next empties. A `performance.now()` is a call into Deno that costs
 * about 100 ns here, as much as the rest of servidor's work for an echo
 * reply, and one turn of the event loop hands over the data of many sockets,
 * each with its read and its reply (docs/scale.md, "Per-request work"). The
 * idle timeout counts in seconds; a reading as old as one turn's work does
 * not change when it fires.
 */
function activityNow(): number {
  if (turnTime === undefined) {
    turnTime = performance.now();
    queueMicrotask(forgetTurnTime);
  }
  return turnTime;
}

/** Counts bytes that came from the client as activity. */
function countIn(connection: Connection, bytes: number): void {
  connection.bytesIn += bytes;
  connection.lastActiveAt = activityNow();
}

/**
 * Whether a failed read only ends the input: the connection was closed, or
 * the client went away. A reset is not an end of input the client chose: it
 * is gone, so the connection closes now, and whatever serves it (a program
 * under exec) stops. Any other failure is the caller's to report.
 */
function endsInput(connection: Connection, error: unknown): boolean {
  if (connection.closed) return true;
  if (!isDisconnect(error)) return false;
  wentAway(connection.peer, error);
  connection.close();
  return true;
}

/**
 * The socket as `writeAll` sees it, for one {@link Connection}: each partial
 * write counts as activity. Two fields, its method on the prototype: no
 * closure is kept per client.
 */
class ActivityWriter implements Writer {
  readonly #connection: Connection;
  readonly #socket: SocketBase;

  constructor(connection: Connection, socket: SocketBase) {
    this.#connection = connection;
    this.#socket = socket;
  }

  write(bytes: Uint8Array): number | Promise<number> {
    const n = this.#socket.write(bytes);
    if (typeof n === "number") {
      this.#connection.lastActiveAt = activityNow();
      return n;
    }
    // Only a write that waits makes a closure, for as long as it waits.
    return n.then((written) => {
      this.#connection.lastActiveAt = activityNow();
      return written;
    });
  }
}

/**
 * What a {@link ChunkSocket} pushes to for {@link Connection.pushTo}: it
 * counts each chunk and treats a failed socket as {@link Connection.read}
 * does. One small object per connection, with its methods on the prototype.
 */
class CountingReader implements ChunkReader {
  readonly #connection: Connection;
  readonly #reader: ConnectionReader;

  constructor(connection: Connection, reader: ConnectionReader) {
    this.#connection = connection;
    this.#reader = reader;
  }

  chunk(chunk: Uint8Array): void | Promise<void> {
    countIn(this.#connection, chunk.byteLength);
    const handled = this.#reader.chunk(chunk);
    // A reply that went out at once (an echo, most replies) returns the
    // shared settled promise: nothing to wait for, so the socket need not
    // make its callbacks for a promise, nor wait a turn for the next chunk.
    return handled === WRITTEN ? undefined : handled;
  }

  end(): void {
    this.#reader.end();
  }

  failed(error: unknown): void {
    if (endsInput(this.#connection, error)) this.#reader.end();
    else this.#reader.fail(error);
  }

  rejected(error: unknown): void {
    this.#reader.fail(error);
  }
}
