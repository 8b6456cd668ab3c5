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

/** main.ts, for tests that run the CLI as a subprocess. */
export const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** Reads a stream line by line, without line ends. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
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

/** A server run through the CLI in its own process. */
export class CliServer {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  /** Every line of standard error so far, the `listening` line first. */
  readonly log: string[];
  readonly #waiters = new Set<{ pattern: RegExp; resolve(line: string): void }>();
  readonly #drained: Promise<void>;

  private constructor(child: Deno.ChildProcess, port: number, first: string) {
    this.child = child;
    this.port = port;
    this.log = [first];
    this.#drained = this.#drain();
  }

  /**
   * Starts `main.ts serve` with `args` on a free port, with read and net
   * access, and resolves once it listens.
   */
  static async start(args: string[]): Promise<CliServer> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", "--allow-net", "--allow-read", MAIN, "--port=0", ...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const reader = child.stderr.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    const newline = text.indexOf("\n");
    const first = text.slice(0, newline === -1 ? undefined : newline);
    const listening = /^listening on [^ ]+:(\d+) /.exec(first);
    if (!listening) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`the server did not start: ${text}`);
    }
    const server = new CliServer(child, Number(listening[1]), first);
    // Whatever came with the first line is fed to the drain as it starts.
    server.#pushLines(text.slice(newline + 1));
    return server;
  }

  /** The process id, for /proc. */
  get pid(): number {
    return this.child.pid;
  }

  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(pattern: RegExp): Promise<string> {
    const seen = this.log.find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.add({ pattern, resolve }));
  }

  /** Like {@link waitForLog}, but resolves with the match, capture groups included. */
  async waitForMatch(pattern: RegExp): Promise<RegExpExecArray> {
    return pattern.exec(await this.waitForLog(pattern))!;
  }

  /** Sends a signal and waits for the exit; see {@link exited}. */
  stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    this.child.kill(signal);
    return this.exited();
  }

  /** Waits for the process to exit on its own; by then {@link log} is complete. */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.child.status;
    await this.#drained;
    return status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
    }
    await this.child.status;
    await this.#drained;
  }

  #partial = "";

  #pushLines(text: string): void {
    this.#partial += text;
    let newline: number;
    while ((newline = this.#partial.indexOf("\n")) !== -1) {
      this.#addLine(this.#partial.slice(0, newline));
      this.#partial = this.#partial.slice(newline + 1);
    }
  }

  #addLine(line: string): void {
    this.log.push(line);
    for (const waiter of this.#waiters) {
      if (waiter.pattern.test(line)) {
        this.#waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }

  async #drain(): Promise<void> {
    for await (const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())) {
      this.#pushLines(chunk);
    }
    if (this.#partial) this.#addLine(this.#partial);
  }
}

/**
 * An interactive OpenBSD `nc`: write lines to it, read its output line by
 * line. It can connect from a chosen loopback address such as 127.0.0.2,
 * which `Deno.connect` cannot bind.
 */
export class Netcat {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncGenerator<string>;

  /**
   * @param port The server's port on 127.0.0.1.
   * @param source The address to connect from (`nc -s`); the kernel's choice unless given.
   */
  constructor(port: number, source?: string) {
    this.#child = new Deno.Command("nc", {
      args: [...(source ? ["-s", source] : []), "127.0.0.1", String(port)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = lines(this.#child.stdout);
  }

  send(text: string): Promise<void> {
    return this.#writer.write(encoder.encode(text));
  }

  async readLine(): Promise<string | null> {
    const next = await this.#lines.next();
    return next.done ? null : next.value.replace(/\r$/, "");
  }

  /** Lines that came after the last {@link readLine}, collected by {@link exited}. */
  readonly unread: string[] = [];

  /** Waits for nc to exit once the server has closed; stdin is closed first. */
  async exited(): Promise<number> {
    await this.#writer.close();
    for (let line = await this.#lines.next(); !line.done; line = await this.#lines.next()) {
      this.unread.push(line.value);
    }
    return (await this.#child.status).code;
  }
}
