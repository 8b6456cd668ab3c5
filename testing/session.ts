/**
 * A service driven with no socket at all: the test plays the client through
 * an in-memory stream, and the service runs exactly as `poll` runs it — the
 * same read loop, framing, session and hub — so what passes here behaves the
 * same on the wire.
 *
 * @module
 */
import { Connection } from "../lib/connection.ts";
import { handleConnection } from "../lib/handle_connection.ts";
import { Hub } from "../lib/chat/hub.ts";
import { DEFAULT_MAX_LINE } from "../lib/line_framer.ts";
import type { Service } from "../lib/service.ts";
import type { ServerContext } from "../lib/strategy.ts";
import { ChunkReader, type ServiceClient } from "./reader.ts";

const encoder = new TextEncoder();

/**
 * How {@link openTestSession} sets a session up.
 *
 * @example
 * ```ts
 * import type { TestSessionOptions } from "../testing.ts";
 *
 * const options: TestSessionOptions = { maxLine: 80, peer: { hostname: "10.0.0.7", port: 4000 } };
 * ```
 */
export interface TestSessionOptions {
  /**
   * The hub (the server's room of clients) to join: pass another session's
   * `hub` to let the two see each other's broadcasts and `who()`. A hub of
   * its own by default.
   */
  hub?: Hub;
  /** The longest line a line service accepts; the server's default unless given. */
  maxLine?: number;
  /** The client's address as the service sees it; 127.0.0.1 and a port of its own unless given. */
  peer?: { hostname: string; port: number };
}

/**
 * One in-memory client of a service; see {@link openTestSession}.
 *
 * @example
 * ```ts
 * import { openTestSession, type TestSession } from "../testing.ts";
 * import { echo } from "../services/echo.ts";
 *
 * const client: TestSession = openTestSession(echo);
 * await client.close();
 * ```
 */
export interface TestSession extends ServiceClient {
  /** The connection id the service sees. */
  readonly id: number;
  /** The client's address as the service sees it, `HOST:PORT`. */
  readonly peer: string;
  /** The hub this client joined; pass it to another session to put both in one room. */
  readonly hub: Hub;
  /**
   * Delivers text or bytes to the service and resolves once the service has
   * handled them (it asked for more input, or the connection closed), so
   * whatever it answered is ready to read.
   */
  send(data: string | Uint8Array): Promise<void>;
  /**
   * The client goes away. Resolves once the service has finished with it:
   * its `close()` hook has run, and any broadcast it made is delivered.
   */
  close(): Promise<void>;
  /** Resolves once the server side has finished with this client, whoever ended it. */
  readonly finished: Promise<void>;
  /** Closes the session. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Ids handed out per hub, so the sessions of one room never share one. */
const lastIds = new WeakMap<Hub, number>();

/**
 * Opens an in-memory client of `service`: no socket, no port, no server. Its
 * `open()` hook runs at once; then the test sends lines or bytes, reads what
 * the service sent, ends the input, and closes.
 *
 * @param service The service under test, e.g. a module's default export.
 * @param options A hub to share with other sessions, limits, the peer's address.
 * @returns The client's side of the conversation.
 *
 * @example A line service, one client
 * ```ts
 * import { openTestSession } from "../testing.ts";
 * import { reverse } from "../services/reverse.ts";
 * import assert from "node:assert/strict";
 *
 * await using client = openTestSession(reverse);
 * await client.send("hola\nmundo\n");
 * assert.equal(await client.readLine(), "aloh");
 * assert.equal(await client.readLine(), "odnum");
 * await client.end();
 * assert.equal(await client.readLine(), null);
 * ```
 *
 * @example Two clients in one room: broadcast and who
 * ```ts
 * import { openTestSession } from "../testing.ts";
 * import { chat } from "../services/chat.ts";
 * import assert from "node:assert/strict";
 *
 * await using ana = openTestSession(chat);
 * assert.match((await ana.readLine())!, /^\* welcome, guest1/);
 * await using ben = openTestSession(chat, { hub: ana.hub });
 * assert.match((await ben.readLine())!, /^\* welcome, guest2/);
 * assert.equal(await ana.readLine(), "* guest2 joined");
 *
 * await ben.send("/nick ben\nhola\n");
 * assert.equal(await ben.readLine(), "* you are now ben");
 * assert.equal(await ana.readLine(), "* guest2 is now ben");
 * assert.equal(await ana.readLine(), "<ben> hola");
 * await ana.send("/who\n");
 * assert.match((await ana.readLine())!, /^\* online \(2\): guest1 \(127\.0\.0\.1:\d+\), ben /);
 * await ben.close();
 * assert.equal(await ana.readLine(), "* ben left");
 * ```
 *
 * @example A byte service and the end of input
 * ```ts
 * import { openTestSession } from "../testing.ts";
 * import { echo } from "../services/echo.ts";
 * import assert from "node:assert/strict";
 *
 * const client = openTestSession(echo);
 * await client.send(new Uint8Array([0, 1, 255]));
 * assert.deepEqual(await client.readBytes(3), new Uint8Array([0, 1, 255]));
 * await client.end();
 * assert.equal((await client.readAll()).byteLength, 0);
 * await client.finished;
 * ```
 */
export function openTestSession(service: Service, options: TestSessionOptions = {}): TestSession {
  const hub = options.hub ?? new Hub();
  const id = (lastIds.get(hub) ?? 0) + 1;
  lastIds.set(hub, id);
  const stream = new MemoryStream(
    {
      transport: "tcp",
      hostname: options.peer?.hostname ?? "127.0.0.1",
      port: options.peer?.port ?? 40_000 + id,
    },
  );
  const connection = new Connection(stream as unknown as Deno.Conn, id);
  const context: ServerContext = {
    service,
    serviceSpecifier: service.name,
    serviceArgs: [],
    maxLine: options.maxLine ?? DEFAULT_MAX_LINE,
    hub,
    // The server never stops under a test session; the client ends it.
    hardStop: new AbortController().signal,
  };
  const finished = handleConnection(connection, context).finally(() => connection.close());
  const reader = new ChunkReader(() => stream.nextOutput());
  const close = async () => {
    stream.disconnect();
    await finished;
  };
  return {
    id,
    peer: connection.peer,
    hub,
    finished,
    send: (data) => stream.deliver(typeof data === "string" ? encoder.encode(data) : data.slice()),
    readLine: () => reader.readLine(),
    readBytes: (count) => reader.readBytes(count),
    readAll: () => reader.readAll(),
    end: () => Promise.resolve(stream.endInput()),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Both ends of an in-memory connection. The server's end has the shape of a
 * `Deno.Conn` as `Connection` uses it (`read`, `write`, `close`, the
 * addresses); the client's end is the methods below it.
 */
class MemoryStream {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 7000 };
  /** Client to server: chunks not yet read, each with who waits for it to be handled. */
  readonly #input: Array<{ bytes: Uint8Array; handled: () => void }> = [];
  /** Sends whose bytes the server has read, handled once it asks for more. */
  #taken: Array<() => void> = [];
  #inputEnded = false;
  #clientGone = false;
  #serverClosed = false;
  #wakeServer: (() => void) | undefined;
  /** Server to client: chunks not yet read by the test. */
  readonly #output: Uint8Array[] = [];
  #wakeClient: (() => void) | undefined;

  constructor(remoteAddr: Deno.NetAddr) {
    this.remoteAddr = remoteAddr;
  }

  // The server's end.

  async read(buffer: Uint8Array): Promise<number | null> {
    // Asking for more means everything read before has been handled.
    this.#settleTaken();
    while (this.#input.length === 0 && !this.#inputEnded && !this.#serverClosed) {
      await new Promise<void>((resolve) => this.#wakeServer = resolve);
    }
    const first = this.#input[0];
    if (this.#serverClosed || !first) return null;
    const n = Math.min(buffer.byteLength, first.bytes.byteLength);
    buffer.set(first.bytes.subarray(0, n));
    if (n === first.bytes.byteLength) {
      this.#input.shift();
      this.#taken.push(first.handled);
    } else {
      first.bytes = first.bytes.subarray(n);
    }
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.#serverClosed) return Promise.reject(new Deno.errors.BadResource("closed"));
    if (this.#clientGone) {
      return Promise.reject(new Deno.errors.BrokenPipe("the test client went away"));
    }
    this.#output.push(bytes.slice());
    this.#wake("client");
    return Promise.resolve(bytes.byteLength);
  }

  close(): void {
    this.#serverClosed = true;
    this.#settleTaken();
    for (const { handled } of this.#input.splice(0)) handled();
    this.#wake("server");
    this.#wake("client");
  }

  // The client's end.

  deliver(bytes: Uint8Array): Promise<void> {
    if (this.#serverClosed || this.#clientGone || this.#inputEnded) {
      return Promise.reject(new Deno.errors.BrokenPipe("the connection is closed for sending"));
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#input.push({ bytes, handled: resolve });
    this.#wake("server");
    return promise;
  }

  endInput(): void {
    this.#inputEnded = true;
    this.#wake("server");
  }

  disconnect(): void {
    this.#clientGone = true;
    this.endInput();
  }

  async nextOutput(): Promise<Uint8Array | null> {
    while (this.#output.length === 0 && !this.#serverClosed) {
      await new Promise<void>((resolve) => this.#wakeClient = resolve);
    }
    return this.#output.shift() ?? null;
  }

  #settleTaken(): void {
    for (const handled of this.#taken) handled();
    this.#taken = [];
  }

  #wake(side: "server" | "client"): void {
    const wake = side === "server" ? this.#wakeServer : this.#wakeClient;
    if (side === "server") this.#wakeServer = undefined;
    else this.#wakeClient = undefined;
    wake?.();
  }
}
