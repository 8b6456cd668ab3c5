/**
 * Plain TCP through Deno's `node:net`: the default (`--tcp-api=node`). Deno
 * implements `node:net` on handles of its own (a libuv-style
 * layer in Rust): the listener accepts in batches (up to 128 a turn of the
 * event loop), and a socket is read only when the kernel says bytes are there, into
 * a buffer made then. A `Deno.Conn`, by contrast, learns of bytes only through
 * a `read()` that is pending, with its buffer, on every idle client; and a
 * `Deno.Listener` accepts one connection per `accept()` op. At ten thousand
 * clients that difference is most of a server's memory, its slowest replies
 * and the length of a connect storm (see docs/scale.md).
 *
 * Each socket here has the shape `Connection` reads and writes
 * ({@link NodeTcpSocket}), so services, admission, PROXY headers, the idle
 * timeout, statistics and shutdown work unchanged, and every write still goes
 * through `writeAll`. Only the main thread loads this module: a Worker that
 * imported `node:net` would set up Deno's whole Node layer, about 2 MiB each.
 *
 * @module
 */
import net from "node:net";
import type { ChunkReader } from "./connection.ts";

/**
 * How much may arrive while nobody reads before the socket is paused: enough
 * that a bulk sender's next chunk is already here when the service asks, as
 * with a `Deno.Conn` read into a 64 KiB buffer.
 */
export const MAX_UNREAD = 64 * 1024;

/**
 * Turns a Node socket error into the `Deno.errors` class that means the same,
 * so that `isDisconnect` recognises the close path by class, as for a
 * `Deno.Conn`. The original is kept as the cause.
 */
function asDenoError(error: Error): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error.message;
  switch (code) {
    case "ECONNRESET":
      return new Deno.errors.ConnectionReset(message, { cause: error });
    case "EPIPE":
      return new Deno.errors.BrokenPipe(message, { cause: error });
    case "ECONNABORTED":
      return new Deno.errors.ConnectionAborted(message, { cause: error });
    case "ENOTCONN":
      return new Deno.errors.NotConnected(message, { cause: error });
    // A write still waiting when the socket is closed, as Deno.Conn's is interrupted.
    case "ECANCELED":
      return new Deno.errors.Interrupted(message, { cause: error });
    case "ERR_STREAM_DESTROYED":
    case "ERR_STREAM_WRITE_AFTER_END":
    case "EBADF":
      return new Deno.errors.BadResource(message, { cause: error });
    case "EADDRINUSE":
      return new Deno.errors.AddrInUse(message, { cause: error });
    case "EADDRNOTAVAIL":
      return new Deno.errors.AddrNotAvailable(message, { cause: error });
    case "EACCES":
    case "EPERM":
      return new Deno.errors.PermissionDenied(message, { cause: error });
    default:
      return error;
  }
}

/** Queued behind a write that waits, to be called back when it is done. */
const EMPTY = new Uint8Array(0);

/** Where a Node socket keeps the {@link NodeTcpSocket} that wraps it. */
const OWNER = Symbol("servidor.NodeTcpSocket");
type OwnedSocket = net.Socket & { [OWNER]: NodeTcpSocket };

// The socket's events, shared by every socket: Node calls them with `this` the socket.
function onData(this: net.Socket, data: Uint8Array): void {
  (this as OwnedSocket)[OWNER].received(data);
}
function onEnd(this: net.Socket): void {
  (this as OwnedSocket)[OWNER].inputEnded();
}
function onError(this: net.Socket, error: Error): void {
  (this as OwnedSocket)[OWNER].failed(error);
}
function onClose(this: net.Socket): void {
  const owner = (this as OwnedSocket)[OWNER];
  owner.gone();
  owner.onGone?.();
}

/** A write that Node holds until the kernel takes it, settled by Node's callback number `callback`. */
interface WaitingWrite extends PromiseWithResolvers<number> {
  callback: number;
  length: number;
}

/** A Node socket's address as a `Deno.NetAddr`; a socket already gone reports port 0. */
function netAddr(address: string | undefined, port: number | undefined): Deno.NetAddr {
  return { transport: "tcp", hostname: address ?? "", port: port ?? 0 };
}

/**
 * One accepted client over `node:net`, with the part of `Deno.Conn` that
 * `Connection` uses, except that it hands out the chunks it received
 * ({@link readChunk}) instead of filling a buffer it is given.
 *
 * Backpressure: the socket starts paused (nothing is read before someone
 * asks), and once {@link MAX_UNREAD} bytes wait here unread it is paused
 * again, so the kernel's receive buffer, then the client, hold what the
 * service has not taken yet.
 *
 * @example
 * ```ts
 * import { listenNodeTcp } from "./node_tcp.ts";
 *
 * const listener = await listenNodeTcp({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const socket = await listener.accept();
 * await client.write(new TextEncoder().encode("hola"));
 * const chunk = await socket.readChunk(); // the four bytes
 * await socket.write(chunk ?? new Uint8Array());
 * socket.close();
 * client.close();
 * listener.close();
 * ```
 */
export class NodeTcpSocket {
  readonly #socket: net.Socket;
  /**
   * Chunks that arrived while nobody waited for one; made when the first
   * must wait, as most never do when the socket pushes.
   */
  #chunks: Uint8Array[] | undefined;
  /** Their bytes; past {@link MAX_UNREAD} the socket is paused. */
  #unread = 0;
  /** Whether the socket is paused: at first, and whenever too much waits unread. */
  #paused = true;
  /** The reader waiting for the next chunk, when there is one. */
  #waiting: PromiseWithResolvers<Uint8Array | null> | undefined;
  /** Told of each chunk from the `data` event, once {@link pushChunks} was called; until told of the end. */
  #reader: ChunkReader | undefined;
  /** Whether the reader has not finished with the chunk it was given last. */
  #busy = false;
  /**
   * The chunk the reader is being handed inside the `data` event, and the
   * Buffer from Node that it views: a write of that chunk hands Node the
   * Buffer. Cleared when the handing returns.
   */
  #handing: Uint8Array | undefined;
  #handingData: Uint8Array | undefined;
  /** The reader finished with a chunk; made at the first chunk whose handling waits. */
  #handled: (() => void) | undefined;
  /** The reader's handling of a chunk failed; made with {@link #handled}. */
  #handlerFailed: ((error: unknown) => void) | undefined;
  /** The client ended its side (`null` comes after the chunks). */
  #ended = false;
  /** What failed, to be thrown to the reader after the chunks. */
  #failure: Error | undefined;
  #closed = false;
  /** Told once the socket's descriptor is closed; the listener re-arms itself there. */
  onGone: (() => void) | undefined;
  /** Writes handed to Node with a callback so far (those that wait), and Node's callbacks so far. */
  #handedOver = 0;
  #acknowledged = 0;
  /** Writes that wait for the kernel, oldest first; see {@link write}. */
  #waitingWrites: WaitingWrite[] | undefined;
  /** Why writes fail, once one has: the socket is gone. */
  #writeFailure: Error | undefined;
  /** Node's callback for every write, made at the first one. */
  #onWritten: ((error?: Error | null) => void) | undefined;

  /**
   * Wraps a socket that `node:net` accepted paused.
   *
   * @param socket Accepted with `pauseOnConnect` and `allowHalfOpen`.
   */
  constructor(socket: net.Socket) {
    this.#socket = socket;
    // The listeners are shared by every socket and find this one through
    // the socket: four closures per client are ten thousand times four.
    (socket as OwnedSocket)[OWNER] = this;
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
  }

  /**
   * The client's address, made each time it is asked for rather than kept:
   * the Node socket keeps it already from the first time (admission asks for
   * every client, and `Connection` keeps the host it needs).
   */
  get remoteAddr(): Deno.NetAddr {
    return netAddr(this.#socket.remoteAddress, this.#socket.remotePort);
  }

  /** The server's side, made each time it is asked for, which few services do. */
  get localAddr(): Deno.NetAddr {
    return netAddr(this.#socket.localAddress, this.#socket.localPort);
  }

  /** Bytes received and not yet handed over: what waits here for the reader. */
  get unreadBytes(): number {
    return this.#unread;
  }

  /**
   * Whether no more chunks will come from the client: it ended its input, or
   * the socket failed or closed. The chunks sent before may still wait here.
   */
  get inputDone(): boolean {
    return this.#ended || this.#closed || this.#failure !== undefined;
  }

  /**
   * The next chunk the client sent, or `null` once its input has ended or
   * the socket is closed. The chunk is the reader's to keep: each is a new buffer.
   *
   * @throws A `Deno.errors` class for a socket that failed (a reset is `ConnectionReset`).
   */
  readChunk(): Promise<Uint8Array | null> {
    const chunk = this.#chunks?.shift();
    if (chunk) {
      this.#unread -= chunk.byteLength;
      if (this.#paused && this.#unread < MAX_UNREAD) this.#resume();
      return Promise.resolve(chunk);
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#ended || this.#closed) return Promise.resolve(null);
    this.#waiting = Promise.withResolvers();
    if (this.#paused) this.#resume();
    return this.#waiting.promise;
  }

  /**
   * Hands every chunk to `reader` from now on, as the `data` event brings it,
   * instead of through {@link readChunk}: no promise is pending while the
   * client is silent. A chunk whose handling returns a promise holds the next
   * ones back until it settles; they wait here, and once {@link MAX_UNREAD}
   * bytes wait the socket is paused, as for a reader that does not ask.
   * After the last chunk comes `end` (input ended, or closed: what still
   * waits is dropped then) or `failed`; or `rejected`, and nothing more, once
   * a handling fails.
   *
   * @param reader Told of the chunks, one at a time, and then of the end.
   * @param first Given back by whoever read before (past a PROXY header): delivered first.
   */
  pushChunks(reader: ChunkReader, first?: Uint8Array): void {
    if (first) {
      (this.#chunks ??= []).unshift(first);
      this.#unread += first.byteLength;
    }
    this.#reader = reader;
    this.#drain();
  }

  /** Hands the reader what waits, while it is free: the chunks, then the end. */
  #drain(): void {
    const reader = this.#reader;
    if (!reader) return;
    while (!this.#busy) {
      // A closed socket delivers nothing more: no reply could reach its client.
      const chunk = this.#closed ? undefined : this.#chunks?.shift();
      if (!chunk) break;
      this.#unread -= chunk.byteLength;
      this.#hand(reader, chunk);
    }
    if (this.#busy || this.#reader !== reader) return;
    if (this.#closed || (!this.#chunks?.length && (this.#ended || this.#failure))) {
      this.#reader = undefined;
      if (this.#failure) reader.failed(this.#failure);
      else reader.end();
    } else if (this.#paused && this.#unread < MAX_UNREAD) {
      this.#resume();
    }
  }

  /** One chunk to the reader; busy until its handling settles. */
  #hand(reader: ChunkReader, chunk: Uint8Array): void {
    // Busy while it runs, too: a close inside it must not end the input before it returns.
    this.#busy = true;
    const handled = reader.chunk(chunk);
    if (!handled) {
      this.#busy = false;
      return;
    }
    handled.then(
      this.#handled ??= () => {
        this.#busy = false;
        this.#drain();
      },
      this.#handlerFailed ??= (error) => {
        this.#busy = false;
        const told = this.#reader;
        this.#reader = undefined;
        told?.rejected(error);
      },
    );
  }

  /**
   * Hands `bytes` to the socket and says when they are written to the
   * kernel, so that a caller awaiting it is held back by a slow reader.
   *
   * Most writes reach the kernel inside `write()` itself: Deno tries the
   * send at once, and Node's stream then holds nothing (`writableLength` is
   * 0). For those this returns the count itself, as `writeAllNow` hopes,
   * with no promise made, and Node is given no callback, so it schedules
   * nothing for them (it keeps a record and a tick for every write that has
   * one). Only a write that has to wait (the client reads slowly) returns a
   * promise, settled by Node's callback: on the write itself when one of
   * ours waits before it, else on an empty write queued behind it, which
   * Node calls back once the one before it is done, or with its failure.
   * Deno keeps a pointer to the bytes of a write that waits, not a copy, so
   * reporting that one early would let a caller change bytes not yet sent.
   *
   * @param bytes Not copied: keep them unchanged until a returned promise settles.
   * @returns How many bytes were written, all of them: at once, or once the kernel has them.
   */
  write(bytes: Uint8Array): number | Promise<number> {
    const failure = this.#writeFailure;
    if (failure) return Promise.reject(failure);
    const socket = this.#socket;
    // Node's stream turns a plain Uint8Array into a Buffer (a second view and
    // a call into Deno to check its memory); the chunk being handed over has
    // one already, over the same bytes.
    const chunk = bytes === this.#handing ? this.#handingData! : bytes;
    // One callback for all of this socket's writes rather than a closure each.
    const onWritten = this.#onWritten ??= (error) => this.#written(error);
    if (this.#waitingWrites?.length) {
      // Behind a write that waits: this one waits too, and carries the callback.
      socket.write(chunk, onWritten);
    } else {
      const sent = socket.writable;
      socket.write(chunk);
      // A write refused or failed at once is reported by the empty write's
      // callback, later; the socket is then destroyed, or was not writable.
      if (sent && !socket.destroyed && socket.writableLength === 0) return bytes.byteLength;
      socket.write(EMPTY, onWritten);
    }
    const wait: WaitingWrite = {
      callback: ++this.#handedOver,
      length: bytes.byteLength,
      ...Promise.withResolvers<number>(),
    };
    (this.#waitingWrites ??= []).push(wait);
    return wait.promise;
  }

  /**
   * Node's callback for one of this socket's writes that wait (each has one,
   * on itself or on the empty write behind it). Node calls them in the order
   * of the writes while all goes well, so the n-th callback settles the n-th
   * write that waits; once a write fails the socket is destroyed, the order
   * is no longer kept, and every write still waiting fails with it.
   */
  #written(error: Error | null | undefined): void {
    const callback = ++this.#acknowledged;
    if (error) this.#writeFailure ??= asDenoError(error);
    const waits = this.#waitingWrites;
    if (!waits) return;
    const failure = this.#writeFailure;
    while (waits.length > 0 && (failure || waits[0]!.callback <= callback)) {
      const wait = waits.shift()!;
      if (failure) wait.reject(failure);
      else wait.resolve(wait.length);
    }
  }

  /**
   * Turns Nagle's algorithm off (`true`) or on.
   *
   * @param noDelay Whether small writes leave at once.
   */
  setNoDelay(noDelay = true): void {
    this.#socket.setNoDelay(noDelay);
  }

  /** Closes the socket at once; a pending {@link readChunk} gets `null`. Safe to call again. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    this.#settle();
  }

  /**
   * What the socket's `data` event brings: for the reader waiting, or kept.
   *
   * @param data The bytes, in a buffer of their own.
   */
  received(data: Uint8Array): void {
    // A plain view, not the Buffer: a service should not meet Buffer's
    // `slice`, which shares memory where Uint8Array's copies.
    const chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting.resolve(chunk);
      return;
    }
    const reader = this.#reader;
    if (reader && !this.#busy && !this.#chunks?.length) {
      // A reader that is free takes it at once, within this event, and the
      // queue stays empty: an array that once grew keeps its slots. While it
      // runs, a reply of the very chunk (an echo) is written as the Buffer it
      // views; kept no longer, so that an idle client holds no buffer.
      this.#handing = chunk;
      this.#handingData = data;
      try {
        this.#hand(reader, chunk);
      } finally {
        this.#handing = this.#handingData = undefined;
      }
      if (!this.#busy) this.#drain(); // It may have closed the socket meanwhile.
      return;
    }
    (this.#chunks ??= []).push(chunk);
    this.#unread += chunk.byteLength;
    if (this.#unread >= MAX_UNREAD && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #resume(): void {
    this.#paused = false;
    this.#socket.resume();
  }

  /** The socket's `end` event: the client ended its side. */
  inputEnded(): void {
    this.#ended = true;
    this.#settle();
  }

  /**
   * The socket's `error` event.
   *
   * @param error Node's error, thrown to the reader as its `Deno.errors` class.
   */
  failed(error: Error): void {
    this.#failure ??= asDenoError(error);
    this.#settle();
  }

  /** The socket's `close` event. */
  gone(): void {
    this.#closed = true;
    this.#settle();
  }

  /** Tells a waiting reader that no more chunks will come, and why. */
  #settle(): void {
    if (this.#reader) this.#drain();
    const waiting = this.#waiting;
    if (!waiting) return;
    this.#waiting = undefined;
    if (this.#failure) waiting.reject(this.#failure);
    else waiting.resolve(null);
  }
}

/** The native handle under a listening `net.Server`: Node's `TCPWrap`, private to `node:net`. */
type ServerWithHandle = net.Server & { _handle?: { listen?(backlog: number): number } | null };

/** The listen backlog Node asks for when given none, as `net.ts` does. */
const NODE_DEFAULT_BACKLOG = 511;

/**
 * How often the listener re-arms itself while clients keep arriving. Under
 * load Deno 2.9.6 polls a `node:net` listener seldom: each poll accepts at
 * most 128 connections (tokio's cooperative budget, shared with every socket
 * the same turn polls) and then waits, for seconds at ten thousand busy
 * clients, while the kernel's accept queue overflows. A re-arm puts the
 * listener on Deno's ready queue, so it is polled in the next turn; every
 * 10 ms takes up to 12,800 connections a second, and no handshake was
 * dropped in `bench/accept_storm.ts` where the bare listener dropped tens of
 * thousands (docs/scale.md, "The connect storm").
 */
const PACE_MS = 10;

/**
 * How many re-arms in a row may find no new client before the pacing stops:
 * one second. An idle server, or one whose clients are all in, runs no timer.
 */
const PACE_QUIET_TICKS = 100;

/** Where {@link listenNodeTcp} listens. */
export interface NodeTcpOptions {
  /** An IPv4 or IPv6 address. */
  hostname: string;
  /** 0 for any free port. */
  port: number;
  /** The listen backlog the kernel is asked for (it caps it at `net.core.somaxconn`). */
  backlog?: number;
}

/**
 * A TCP listener over `node:net` with `Deno.Listener`'s `accept`/`close`/`addr`,
 * so that the server's accept loop takes either. The connections Deno's
 * listener takes in each batch (at most 128 a turn of its event loop) wait
 * here until accepted; while clients keep arriving the listener re-arms
 * itself every {@link PACE_MS} ms, or Deno would leave them in the kernel's
 * queue for seconds under load.
 *
 * @example
 * ```ts
 * import { listenNodeTcp } from "./node_tcp.ts";
 *
 * const listener = await listenNodeTcp({ hostname: "127.0.0.1", port: 0, backlog: 4096 });
 * console.log(listener.addr);
 * listener.close();
 * ```
 */
export class NodeTcpListener {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  readonly #server: net.Server;
  readonly #accepted: NodeTcpSocket[] = [];
  #waiting: PromiseWithResolvers<NodeTcpSocket> | undefined;
  #failure: Error | undefined;
  #closed = false;
  /** What the server listened with, for {@link rearm}. */
  readonly #backlog: number;
  /** The timer that re-arms the listener while clients keep arriving ({@link PACE_MS}). */
  #pacer: ReturnType<typeof setInterval> | undefined;
  /** Re-arms by the pacer since the last new client. */
  #quietTicks = 0;

  /**
   * Wraps a listening server; use {@link listenNodeTcp}.
   *
   * @param server Listening, with `pauseOnConnect` and `allowHalfOpen`.
   * @param backlog The backlog it listened with.
   */
  constructor(server: net.Server, backlog: number) {
    this.#server = server;
    const address = server.address() as net.AddressInfo;
    this.addr = netAddr(address.address, address.port);
    server.on("connection", this.#connected);
    server.on("error", this.#failed);
    this.#backlog = backlog;
  }

  /**
   * The next client.
   *
   * @throws {Deno.errors.BadResource} Once the listener is closed.
   */
  accept(): Promise<NodeTcpSocket> {
    const socket = this.#accepted.shift();
    if (socket) return Promise.resolve(socket);
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("the listener is closed"));
    const failure = this.#failure;
    if (failure) {
      this.#failure = undefined;
      return Promise.reject(failure);
    }
    this.#waiting = Promise.withResolvers();
    return this.#waiting.promise;
  }

  /**
   * Whether the listener is re-arming itself on a timer, as it does from the
   * first new client until a second passes with none ({@link PACE_MS}).
   */
  get pacing(): boolean {
    return this.#pacer !== undefined;
  }

  /** Stops listening and closes the clients not yet accepted. Safe to call again. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopPacing();
    this.#server.close();
    for (const socket of this.#accepted.splice(0)) socket.close();
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(new Deno.errors.BadResource("the listener is closed"));
  }

  /**
   * Makes Deno poll the listener again, because a descriptor is free again.
   *
   * Deno 2.9.6's `node:net` stops accepting for good once an accept fails for
   * want of descriptors (EMFILE; `bench/node_net_emfile.ts` shows it): in
   * `libs/core/uv_compat/tcp.rs`, `poll_tcp_handle` drains `poll_accept`
   * only while it returns a connection, and on an error it neither reports
   * it nor registers a waker, so the listener is never polled again and the
   * clients wait in the kernel's queue. No `error` event comes, so the
   * server cannot tell. But `uv_listen` on a handle that already listens
   * skips bind and listen, keeps the callback and calls `mark_ready()` on
   * the handle's waker (read in denoland/deno at 98f9507, `uv_listen`), so a
   * second native `listen()` puts the listener back on the ready queue; the
   * JavaScript wrapper of `onconnection` is set up in `net.ts`, not there,
   * so it is not wrapped twice. Called on every close, when a descriptor
   * has just been freed: it costs one native call and, when nothing waits,
   * one `accept` that finds nothing.
   */
  readonly #rearm = (): void => {
    if (this.#closed) return;
    const handle = (this.#server as ServerWithHandle)._handle;
    handle?.listen?.(this.#backlog);
  };

  /**
   * One tick of the pacer: re-arms the listener, so that clients waiting in
   * the kernel's queue are accepted in the next turn of Deno's event loop
   * instead of whenever the listener's turn comes back ({@link PACE_MS}).
   */
  readonly #pace = (): void => {
    if (++this.#quietTicks > PACE_QUIET_TICKS) this.#stopPacing();
    else this.#rearm();
  };

  #stopPacing(): void {
    clearInterval(this.#pacer);
    this.#pacer = undefined;
  }

  readonly #connected = (socket: net.Socket): void => {
    this.#quietTicks = 0;
    if (this.#pacer === undefined && !this.#closed) {
      const pacer = setInterval(this.#pace, PACE_MS);
      // The listener keeps the process alive, not its pacer.
      Deno.unrefTimer(pacer);
      this.#pacer = pacer;
    }
    const accepted = new NodeTcpSocket(socket);
    accepted.onGone = this.#rearm;
    if (this.#closed) {
      accepted.close();
      return;
    }
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting.resolve(accepted);
    } else {
      this.#accepted.push(accepted);
    }
  };

  /** An accept that failed (out of descriptors, say) is the next `accept()`'s error. */
  readonly #failed = (error: Error): void => {
    const failure = asDenoError(error);
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting.reject(failure);
    } else {
      this.#failure = failure;
    }
  };
}

/**
 * Listens on TCP through `node:net`.
 *
 * @param options The address and backlog.
 * @returns The listener, once it listens.
 * @throws The `Deno.errors` class of the failure, e.g. `AddrInUse`.
 *
 * @example
 * ```ts
 * import { listenNodeTcp } from "./node_tcp.ts";
 *
 * const listener = await listenNodeTcp({ hostname: "127.0.0.1", port: 0 });
 * listener.close();
 * ```
 */
export function listenNodeTcp(options: NodeTcpOptions): Promise<NodeTcpListener> {
  // allowHalfOpen: a client that ends its input still gets every reply, as
  // with Deno.Conn. pauseOnConnect: nothing is read before the server asks.
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
  const { promise, resolve, reject } = Promise.withResolvers<NodeTcpListener>();
  const failed = (error: Error) => reject(asDenoError(error));
  server.once("error", failed);
  server.listen({ host: options.hostname, port: options.port, backlog: options.backlog }, () => {
    server.off("error", failed);
    resolve(new NodeTcpListener(server, options.backlog ?? NODE_DEFAULT_BACKLOG));
  });
  return promise;
}
