/**
 * The one interface every service implements and every strategy drives.
 * A service knows its protocol and nothing of sockets, threads or Workers:
 * it talks to its client only through a {@link Session}.
 *
 * @module
 */

/** What a service may know about another client, e.g. for chat's `/who`. */
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
   * Sends to every other client of this server. It does not wait for them: a
   * client that falls too far behind is disconnected instead.
   */
  broadcast(data: string | Uint8Array): void;
  /** Publishes the name that {@link Session.who} reports for this client. */
  setName(name: string): void;
  /** Lists every client connected to this server, this one included. */
  who(): Promise<PeerInfo[]>;
  /** Closes the connection once what was already sent has been written. */
  close(): void;
}

/** Hooks that every service may have. */
export interface ServiceHooks {
  /** A short name, as given to `--service`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
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
}

/**
 * A byte-stream service: it sees the bytes as they arrive.
 * The chunk is only valid until the returned promise settles; the reader
 * reuses its buffer afterwards, so copy what must be kept.
 */
export interface ByteService extends ServiceHooks {
  readonly framing: "bytes";
  data(session: Session, chunk: Uint8Array): void | Promise<void>;
}

/**
 * A line service: it sees one line at a time, LF or CRLF already removed,
 * decoded as UTF-8 with invalid bytes replaced by U+FFFD.
 */
export interface LineService extends ServiceHooks {
  readonly framing: "lines";
  line(session: Session, line: string): void | Promise<void>;
}

/** Any service servidor can run. */
export type Service = ByteService | LineService;

/**
 * Tells whether a value has the shape of a {@link Service}, and if not, what is missing.
 *
 * @param value Typically a module's default export.
 * @returns A list of problems; empty when `value` is a valid service.
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
