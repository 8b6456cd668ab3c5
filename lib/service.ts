/**
 * The one interface every service implements and every strategy drives.
 * A service knows its protocol and nothing of sockets, threads or Workers:
 * it talks to its client only through a {@link Session}.
 *
 * @module
 */

/**
 * What a service may know about another client, e.g. for chat's `/who`.
 *
 * @example
 * ```ts
 * import type { PeerInfo } from "./service.ts";
 *
 * const alice: PeerInfo = { id: 1, name: "alice", peer: "127.0.0.1:50000" };
 * console.log(`${alice.name} at ${alice.peer}`);
 * ```
 */
export interface PeerInfo {
  /** The connection's id, unique within one server. */
  id: number;
  /** The name the client chose, or its default. */
  name: string;
  /** The client's address as `HOST:PORT` (`[::1]:PORT` for IPv6). */
  peer: string;
}

/**
 * One client as a service sees it. Under `single` and `poll` it writes to the
 * socket directly; under `workers` each call is carried to the main thread by
 * message. The service cannot tell the difference, which is the point.
 *
 * @example
 * ```ts
 * import type { Session } from "./service.ts";
 *
 * // Greets the client by its address, then closes once the greeting is written.
 * async function greet(session: Session): Promise<void> {
 *   await session.sendLine(`hello ${session.peer}`);
 *   session.close();
 * }
 * ```
 */
export interface Session {
  /** The connection's id, unique within one server. */
  readonly id: number;
  /** The client's address as `HOST:PORT`. */
  readonly peer: string;
  /**
   * The client's address as the socket reports it: `hostname` and `port` for
   * TCP and TLS, a `path` (usually empty) for a Unix socket.
   */
  readonly remoteAddr: Deno.Addr;
  /** The server's side of the connection: the address the client connected to. */
  readonly localAddr: Deno.Addr;
  /** Aborted once the connection is closed, by either side. */
  readonly signal: AbortSignal;
  /**
   * Writes to the client and resolves once every byte is written, so a slow
   * reader holds the service back instead of filling the server's memory.
   * Rejects with a close-path error once the connection is gone.
   */
  send(data: string | Uint8Array): Promise<void>;
  /** `send` with `"\r\n"` appended. */
  sendLine(text: string): Promise<void>;
  /**
   * Sends to every other client of this server. It does not wait for them to
   * read, except when the room falls behind: then the returned promise
   * resolves once it has caught up (a client that does not is disconnected as
   * a slow reader). A service that awaits it is paced to its room; one that
   * ignores it is not, and a client of its that outruns the room fills the
   * others' queues until they are dropped.
   */
  broadcast(data: string | Uint8Array): void | Promise<void>;
  /** Publishes the name that {@link Session.who} reports for this client. */
  setName(name: string): void;
  /** Lists every client connected to this server, this one included. */
  who(): Promise<PeerInfo[]>;
  /** Closes the connection once what was already sent has been written. */
  close(): void;
}

/**
 * Hooks that every service may have.
 *
 * @example
 * ```ts
 * import type { ServiceHooks } from "./service.ts";
 *
 * const hooks: ServiceHooks = {
 *   name: "hello",
 *   description: "greets each client, then waits for it to leave",
 *   open: (session) => session.sendLine("hello"),
 *   end: (session) => session.sendLine("bye"),
 * };
 * ```
 */
export interface ServiceHooks {
  /** A short name, the one a server's settings name it by. */
  readonly name: string;
  /** One line that says what it does, for a list of services. */
  readonly description: string;
  /**
   * Declares that the service does nothing outside its handlers: no timer,
   * no I/O or program of its own, no message from other clients, no
   * `who()`; each handler is done when its promise settles. Under `workers`,
   * its Worker may then block its thread while it waits for the client's
   * next bytes (`Atomics.wait`, several times quicker to wake than an
   * asynchronous wait), since nothing else would need the thread meanwhile.
   * Its clients are not in the server's room either (`lib/chat/hub.ts`):
   * they hear no broadcasts and `who()` does not list them, which spares an
   * entry per client. A wrong declaration delays the service's own work by
   * up to 20 ms a wait; leave it unset when unsure.
   */
  readonly handlersOnly?: boolean;
  /**
   * Called once when the client connects. Input is delivered while it runs,
   * so a service that produces output on its own (chargen) may stay in here
   * until `session.signal` aborts.
   */
  open?(session: Session): void | Promise<void>;
  /**
   * Called once when the client has finished sending (end of input) while the
   * connection is still open. The server closes the connection once it
   * resolves and what was sent is written, so a service that answers later
   * (exec waits for its process) resolves only when it has answered.
   */
  end?(session: Session): void | Promise<void>;
  /** Called once when the connection ends, whichever side ended it. */
  close?(session: Session): void | Promise<void>;
  /**
   * What every client of this server hears about a client of another server
   * in the room that vanished without leaving: its server was killed or cut
   * off, so `close` never ran there. The server asks once that server has
   * been silent for a while; the text goes to every client as it is, like a
   * broadcast. Only services with a room (chat) have it.
   */
  departed?(peer: PeerInfo): string;
}

/**
 * A byte-stream service: it sees the bytes as they arrive.
 * The chunk is only valid until the returned promise settles; the reader
 * reuses its buffer afterwards, so copy what must be kept.
 *
 * @example
 * ```ts
 * import type { ByteService } from "./service.ts";
 *
 * // Counts the bytes a client sends and reports the total when it finishes.
 * const totals = new WeakMap<object, number>();
 * const count: ByteService = {
 *   name: "count",
 *   description: "counts bytes",
 *   framing: "bytes",
 *   data(session, chunk) {
 *     totals.set(session, (totals.get(session) ?? 0) + chunk.byteLength);
 *   },
 *   end: (session) => session.sendLine(String(totals.get(session) ?? 0)),
 * };
 * ```
 */
export interface ByteService extends ServiceHooks {
  /** Says that this service wants the bytes as they arrive. */
  readonly framing: "bytes";
  /**
   * Handles bytes from the client; the next chunk waits until it resolves.
   *
   * @param session The client.
   * @param chunk Valid only until the returned promise settles.
   */
  data(session: Session, chunk: Uint8Array): void | Promise<void>;
}

/**
 * A line service: it sees one line at a time, LF or CRLF already removed,
 * decoded as UTF-8 with invalid bytes replaced by U+FFFD.
 *
 * @example
 * ```ts
 * import type { LineService } from "./service.ts";
 *
 * const shout: LineService = {
 *   name: "shout",
 *   description: "answers each line in capitals",
 *   framing: "lines",
 *   line: (session, line) => session.sendLine(line.toUpperCase()),
 * };
 * ```
 */
export interface LineService extends ServiceHooks {
  /** Says that this service wants whole lines. */
  readonly framing: "lines";
  /**
   * Handles one line from the client; the next line waits until it resolves.
   *
   * @param session The client.
   * @param line The line, without its LF or CRLF.
   */
  line(session: Session, line: string): void | Promise<void>;
}

/**
 * Any service servidor can run.
 *
 * @example
 * ```ts
 * import type { Service } from "./service.ts";
 * import { echo } from "../services/echo.ts";
 *
 * const chosen: Service = echo;
 * console.log(chosen.framing); // "bytes"
 * ```
 */
export type Service = ByteService | LineService;

/**
 * Tells whether a value has the shape of a {@link Service}, and if not, what is missing.
 *
 * @param value Typically a module's default export.
 * @returns A list of problems; empty when `value` is a valid service.
 *
 * @example
 * ```ts
 * import { serviceProblems } from "./service.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(serviceProblems({ name: "x", description: "", framing: "lines" }), [
 *   "a `line(session, line)` function",
 * ]);
 * ```
 */
export function serviceProblems(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return ["it is not an object"];
  const candidate = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof candidate.name !== "string" || candidate.name === "") {
    problems.push("a string `name`");
  }
  if (typeof candidate.description !== "string") problems.push("a string `description`");
  if (candidate.framing === "bytes") {
    if (typeof candidate.data !== "function") problems.push("a `data(session, chunk)` function");
  } else if (candidate.framing === "lines") {
    if (typeof candidate.line !== "function") problems.push("a `line(session, line)` function");
  } else {
    problems.push('`framing` set to "bytes" or "lines"');
  }
  for (const hook of ["open", "end", "close"]) {
    if (candidate[hook] !== undefined && typeof candidate[hook] !== "function") {
      problems.push(`\`${hook}\` to be a function when present`);
    }
  }
  return problems;
}
