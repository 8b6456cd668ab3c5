/**
 * Test helpers: a server on a free loopback port, and a line-aware client.
 * Private to the tests, as the leading underscore says.
 *
 * @module
 */
import { Admission, type AdmissionRules } from "../lib/admission.ts";
import { serve, type ServeSummary } from "../lib/server.ts";
import type { Service } from "../lib/service.ts";
import type { ServerObserver } from "../lib/stats.ts";
import type { Strategy } from "../lib/strategy.ts";
import { writeAll } from "../lib/write_all.ts";
import { loadService } from "../services/mod.ts";
import { createStrategy, type Mode, type StrategyOptions } from "../strategies/mod.ts";

/** A server started by a test, stopped by `stop()` or `await using`. */
export interface TestServer {
  port: number;
  strategy: Strategy;
  /** The server's admission control, when the test gave rules. */
  admission: Admission | undefined;
  stop(): Promise<ServeSummary>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What a test server runs. */
export interface TestServerOptions extends StrategyOptions {
  mode: Mode;
  service: string | Service;
  maxLine?: number;
  /** Told of connections and requests, e.g. a `ServerStats`. */
  observer?: ServerObserver;
  /** Admission rules, e.g. `{ maxConns: 1 }`; the server's defaults otherwise. */
  rules?: AdmissionRules;
  idleTimeoutMs?: number;
  handlerTimeoutMs?: number;
  /** The shutdown grace; 0 unless given, so `stop()` closes clients at once. */
  graceMs?: number;
  /** The host to listen on; 127.0.0.1 unless given (e.g. `::1`). */
  hostname?: string;
}

/** Starts a server on 127.0.0.1, port 0. */
export async function startServer(options: TestServerOptions): Promise<TestServer> {
  const service = typeof options.service === "string"
    ? await loadService(options.service)
    : options.service;
  const listener = Deno.listen({ hostname: options.hostname ?? "127.0.0.1", port: 0 });
  // Tests start many servers; ready Workers would only slow them unless a test asks.
  const strategy = createStrategy(options.mode, { idleWorkers: 0, ...options });
  const admission = options.rules ? new Admission(options.rules) : undefined;
  const stopper = new AbortController();
  const served = serve({
    listener,
    strategy,
    service,
    serviceSpecifier: typeof options.service === "string" ? options.service : service.name,
    maxLine: options.maxLine,
    admission,
    idleTimeoutMs: options.idleTimeoutMs,
    handlerTimeoutMs: options.handlerTimeoutMs,
    graceMs: options.graceMs ?? 0,
    signal: stopper.signal,
    observer: options.observer,
  });
  let stopped: Promise<ServeSummary> | undefined;
  const stop = () => {
    stopper.abort();
    return stopped ??= served;
  };
  return {
    port: listener.addr.port,
    strategy,
    admission,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client that reads whole lines or exact byte counts. */
export class TestClient {
  readonly conn: Deno.TcpConn;
  #buffered = new Uint8Array(0);
  #ended = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to `hostname` (127.0.0.1 unless given):`port`. */
  static async connect(port: number, hostname = "127.0.0.1"): Promise<TestClient> {
    return new TestClient(await Deno.connect({ hostname, port }));
  }

  /** Writes text or bytes, all of them. */
  send(data: string | Uint8Array): Promise<void> {
    return writeAll(this.conn, typeof data === "string" ? encoder.encode(data) : data);
  }

  /** The next line without its LF or CRLF, or `null` at end of stream. */
  async readLine(): Promise<string | null> {
    for (;;) {
      const newline = this.#buffered.indexOf(0x0a);
      if (newline !== -1) {
        const line = this.#take(newline + 1);
        return decoder.decode(line).replace(/\r?\n$/, "");
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

  /** Everything until the server closes. */
  async readAll(): Promise<Uint8Array> {
    while (await this.#fill());
    return this.#take(this.#buffered.byteLength);
  }

  /** Half-closes: the server sees end of input but can still answer. */
  closeWrite(): Promise<void> {
    return this.conn.closeWrite();
  }

  close(): void {
    try {
      this.conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #take(count: number): Uint8Array {
    const taken = this.#buffered.slice(0, count);
    this.#buffered = this.#buffered.slice(count);
    return taken;
  }

  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) n = null;
      else throw error;
    }
    if (n === null) {
      this.#ended = true;
      return false;
    }
    const joined = new Uint8Array(this.#buffered.byteLength + n);
    joined.set(this.#buffered);
    joined.set(chunk.subarray(0, n), this.#buffered.byteLength);
    this.#buffered = joined;
    return true;
  }
}

/** Every mode, for tables of tests. */
export const ALL_MODES: readonly Mode[] = ["single", "poll", "workers"];
/** The modes that serve clients at the same time. */
export const CONCURRENT_MODES: readonly Mode[] = ["poll", "workers"];

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/**
 * The CLI running as a child process, as an operator starts it: a test reads
 * its log line by line, signals it, and waits for its exit.
 */
export class CliServer {
  readonly child: Deno.ChildProcess;
  /** The port its first line announced. */
  readonly port: number;
  /** Every log line read so far. */
  readonly logged: string[] = [];
  readonly #lines: AsyncGenerator<string>;

  private constructor(child: Deno.ChildProcess, port: number, lines: AsyncGenerator<string>) {
    this.child = child;
    this.port = port;
    this.#lines = lines;
  }

  /**
   * Starts `main.ts` with `args` and `--port=0`, and waits for its listening line.
   *
   * @param args Flags after `main.ts`.
   * @param permissions Deno's permission flags for the child.
   */
  static async start(
    args: string[],
    permissions = ["--allow-net", "--allow-read"],
  ): Promise<CliServer> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", ...permissions, MAIN, "--port=0", ...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const lines = readLines(child.stderr);
    const first = (await lines.next()).value ?? "";
    const listening = /^listening on [^ ]+:(\d+) /.exec(first);
    if (!listening) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`the server did not start: ${first}`);
    }
    const server = new CliServer(child, Number(listening[1]), lines);
    server.logged.push(first);
    return server;
  }

  /**
   * Reads log lines until one matches, and returns its match.
   *
   * @throws When the log ends first.
   */
  async waitForLine(pattern: RegExp): Promise<RegExpExecArray> {
    for (let line = await this.#lines.next(); !line.done; line = await this.#lines.next()) {
      this.logged.push(line.value);
      const match = pattern.exec(line.value);
      if (match) return match;
    }
    throw new Error(`the log ended without a line matching ${pattern}:\n${this.logged.join("\n")}`);
  }

  /** Sends SIGTERM, reads the rest of the log, and returns the exit status. */
  async stop(): Promise<Deno.CommandStatus> {
    try {
      this.child.kill("SIGTERM");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // It has already exited.
    }
    for (let line = await this.#lines.next(); !line.done; line = await this.#lines.next()) {
      this.logged.push(line.value);
    }
    return await this.child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Splits a byte stream, such as a child's stderr, into lines. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf("\n")) !== -1) {
      yield pending.slice(0, newline);
      pending = pending.slice(newline + 1);
    }
  }
  if (pending) yield pending;
}

/**
 * A client connected from a chosen loopback source address, such as
 * 127.0.0.2, which `Deno.connect` cannot bind: it is netcat-openbsd's
 * `nc -s`, talked to through its standard input and output.
 */
export class SourcedClient {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncGenerator<string>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = readLines(child.stdout);
  }

  /**
   * Connects from `source` to 127.0.0.1:`port`. The connection is made by
   * the time the server has answered the client's first line.
   */
  static connect(port: number, source: string): SourcedClient {
    return new SourcedClient(
      new Deno.Command("nc", {
        args: ["-N", "-s", source, "127.0.0.1", String(port)],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn(),
    );
  }

  /** Sends text as it is. */
  async send(text: string): Promise<void> {
    await this.#writer.write(encoder.encode(text));
  }

  /** The next line without its CR, or `null` once the server has closed. */
  async readLine(): Promise<string | null> {
    const next = await this.#lines.next();
    return next.done ? null : next.value.replace(/\r$/, "");
  }

  /** Ends input, reads what is left, and waits for nc to exit. */
  async close(): Promise<string[]> {
    await this.#writer.close().catch(() => {});
    const rest: string[] = [];
    for (let line = await this.readLine(); line !== null; line = await this.readLine()) {
      rest.push(line);
    }
    await this.#child.status;
    return rest;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
