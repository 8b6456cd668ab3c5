/**
 * Test helpers: a server on a free loopback port, and a line-aware client.
 * Private to the tests, as the leading underscore says.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Admission, type AdmissionRules } from "../lib/admission.ts";
import { type ClientOptions, connectTo } from "../lib/client.ts";
import type { ListenOptions } from "../lib/listen.ts";
import type { ServeSummary } from "../lib/server.ts";
import type { StatsSource } from "../lib/stats/counters.ts";
import type { Strategy } from "../lib/strategy.ts";
import { writeAll } from "../lib/write_all.ts";
import type { Mode } from "../strategies/mod.ts";
import { type ModeControls, type ModeSettings, serveMode } from "../strategies/serve_mode.ts";
import type { Service } from "../lib/service.ts";
import { makeTestCertificate, type TestCertificate } from "../lib/test_certificate.ts";

export { makeTestCertificate, type TestCertificate };

/** A server started by a test, stopped by `stop()` or `await using`. */
export interface TestServer {
  /** The TCP port, or 0 for a Unix socket. */
  port: number;
  /** The listener's address as the server logs it. */
  address: string;
  /** The strategy; none under `reuseport`. */
  strategy: Strategy | undefined;
  /** The server's admission control, when the test gave rules. */
  admission: Admission | undefined;
  /** The statistics, when the test asked for them with `stats`. */
  stats: StatsSource | undefined;
  stop(): Promise<ServeSummary>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * What a test server runs: the settings every mode takes, where the address
 * defaults to 127.0.0.1 port 0, and the live parts a test may hold.
 */
export interface TestServerOptions
  extends
    Omit<ModeSettings, "listen" | "bus" | "rules" | "service">,
    Omit<ModeControls, "admission" | "shutdown" | "service"> {
  /** A service's name or module URL, or a test's own service object. */
  service: string | Service;
  /** Where to listen; 127.0.0.1 port 0 over TCP unless given. */
  listen?: ListenOptions;
  /** The host to listen on, port 0; 127.0.0.1 unless given (e.g. `::1`). */
  hostname?: string;
  /** Admission rules, e.g. `{ maxConns: 1 }`; the server's defaults otherwise. */
  rules?: AdmissionRules;
}

/** Starts a server on 127.0.0.1, port 0, or wherever `options.listen` says. */
export async function startServer(options: TestServerOptions): Promise<TestServer> {
  const {
    hostname = "127.0.0.1",
    listen,
    rules,
    observer,
    bus,
    idleTimeoutFor,
    service,
    ...settings
  } = options;
  const admission = rules ? new Admission(rules) : undefined;
  const stopper = new AbortController();
  const server = await serveMode(
    {
      // Tests start many servers; ready Workers would only slow them unless a test asks.
      idleWorkers: 0,
      // Always more than one reuseport Worker, so that their sharing is tested.
      threads: 2,
      // The shutdown grace is 0 unless given, so that `stop()` closes clients at once.
      graceMs: 0,
      log: { level: "warn", format: "text" },
      ...settings,
      service: typeof service === "string" ? service : service.name,
      listen: listen ?? { transport: "tcp", hostname, port: 0 },
    },
    {
      shutdown: stopper.signal,
      admission,
      observer,
      bus,
      idleTimeoutFor,
      service: typeof service === "string" ? undefined : service,
    },
  );
  let stopped: Promise<ServeSummary> | undefined;
  const stop = () => {
    stopper.abort();
    return stopped ??= server.finished;
  };
  return {
    port: server.addr.transport === "tcp" ? server.addr.port : 0,
    address: server.address,
    strategy: server.strategy,
    admission,
    stats: server.stats,
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
  readonly conn: Deno.Conn;
  #buffered = new Uint8Array(0);
  #ended = false;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Connects to `hostname` (127.0.0.1 unless given):`port`. */
  static async connect(port: number, hostname = "127.0.0.1"): Promise<TestClient> {
    return new TestClient(await Deno.connect({ hostname, port }));
  }

  /** Connects over any transport: TLS, a Unix socket, IPv6. */
  static async connectTo(options: ClientOptions): Promise<TestClient> {
    return new TestClient(await connectTo(options));
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
export const CONCURRENT_MODES: readonly Mode[] = ["poll", "workers", "reuseport"];

/** `--port=0` first, so that a server listens on a free port unless told otherwise. */
function portUnlessGiven(args: string[]): string[] {
  return args.some((arg) => arg.startsWith("--port") || arg.startsWith("--unix"))
    ? []
    : ["--port=0"];
}

/** Whether a program is on `PATH`, for tests that drive real clients. */
export function hasCommand(name: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
    .outputSync().success;
}

/** Whether this machine can listen on `::1`. */
export function hasIpv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

/** A test server over TLS, with the throw-away certificate it serves. */
export interface TlsTestServer extends TestServer {
  certificate: TestCertificate;
}

/**
 * Starts a server over TLS on 127.0.0.1 with a fresh certificate; disposing
 * of it stops the server, then removes the certificate.
 */
export async function startTlsServer(
  options: Omit<TestServerOptions, "listen">,
): Promise<TlsTestServer> {
  const certificate = await makeTestCertificate();
  let server: TestServer;
  try {
    server = await startServer({
      ...options,
      listen: { transport: "tls", hostname: "127.0.0.1", port: 0, ...certificate.files },
    });
  } catch (error) {
    await certificate[Symbol.asyncDispose]();
    throw error;
  }
  return {
    ...server,
    certificate,
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await certificate[Symbol.asyncDispose]();
    },
  };
}

/**
 * Runs a tool (nc, socat, python3) to completion with `input` on its standard
 * input, asserts that it exited with status 0, and returns its standard output.
 */
export async function runTool(command: string, args: string[], input = ""): Promise<string> {
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(input));
  await writer.close();
  const output = await child.output();
  assert.equal(output.code, 0, `${command} ${args.join(" ")} exited with ${output.code}`);
  return decoder.decode(output.stdout);
}

/** main.ts, for tests that run the CLI. */
export const MAIN = new URL("../main.ts", import.meta.url).pathname;
/** The repository's root, where CLI tests run so that README paths work. */
export const ROOT = new URL("..", import.meta.url).pathname;

/** What a finished CLI run printed. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Asserts that a CLI run failed the way a serious tool should: one line on
 * standard error that matches `message`, and exit status `code`.
 */
export function assertOneLineError(result: CliResult, code: number, message: RegExp): void {
  assert.equal(result.code, code, result.stderr);
  assert.match(result.stderr, message);
  assert.equal(
    result.stderr.trimEnd().split("\n").length,
    1,
    `more than one line: ${result.stderr}`,
  );
}

/**
 * Runs main.ts to completion with the given flags and deno permissions.
 *
 * @param input Written to its standard input, which is then closed; none by default.
 */
export async function runCli(
  args: string[],
  permissions: string[] = ["--allow-net"],
  input?: string,
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-check", ...permissions, MAIN, ...args],
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    cwd: ROOT,
  }).spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    // A client that has already exited has closed its end; that is its answer.
    await writer.close().catch(() => {});
  }
  const output = await child.output();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Reads a stream line by line. */
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

/** How long {@link CliServer.waitForLog} waits before it fails the test. */
const LOG_WAIT_CAP_MS = 60_000;

/** A server run through the CLI in its own process. */
export class CliServer {
  readonly child: Deno.ChildProcess;
  /** The address from its `listening on ADDRESS mode=…` line. */
  readonly address: string;
  /** Its TCP port, or 0 when it listens on a Unix socket. */
  readonly port: number;
  /** The `listening on ADDRESS mode=… service=…` line. */
  readonly listening: string;
  /** Every line of standard error so far, the `listening` line among them. */
  readonly log: string[];
  readonly #waiters = new Set<{ matches(line: string): boolean; resolve(line: string): void }>();
  readonly #drained: Promise<void>;

  private constructor(
    child: Deno.ChildProcess,
    address: string,
    listening: string,
    before: string,
  ) {
    this.child = child;
    this.address = address;
    this.port = Number(/:(\d+)$/.exec(address)?.[1] ?? 0);
    this.listening = listening;
    this.log = [...before.split("\n").filter((line) => line !== ""), listening];
    this.#drained = this.#drain();
  }

  /**
   * Starts `main.ts serve` with `args` on a free port (unless `args` name
   * another), with `permissions`, and resolves once it listens.
   */
  static start(
    args: string[],
    permissions: string[] = ["--unstable-net", "--allow-net", "--allow-read"],
  ): Promise<CliServer> {
    return CliServer.startProgram(Deno.execPath(), [
      "run",
      "--no-check",
      ...permissions,
      MAIN,
      ...portUnlessGiven(args),
      ...args,
    ]);
  }

  /**
   * Starts any servidor executable (the compiled binary, say) with exactly
   * `args`, and resolves once it listens.
   */
  static async startProgram(program: string, args: string[]): Promise<CliServer> {
    const child = new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      cwd: ROOT,
    }).spawn();
    // Log lines may come before the `listening` one (a bus that connects first).
    const reader = child.stderr.getReader();
    const decoder = new TextDecoder();
    let text = "";
    let listening: RegExpExecArray | null = null;
    while (!listening) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      listening = /^listening on (\S+) mode=.*$/m.exec(text);
    }
    reader.releaseLock();
    if (!listening) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`the server did not start: ${text}`);
    }
    const end = listening.index + listening[0].length;
    const server = new CliServer(
      child,
      listening[1]!,
      listening[0],
      text.slice(0, listening.index),
    );
    // Whatever came with the `listening` line is fed to the drain as it starts.
    server.#pushLines(text.slice(end + 1));
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
    return this.#wait((line) => pattern.test(line), `a log line matching ${pattern}`);
  }

  /** Resolves once `count` log lines (past and future) match `pattern`. */
  async waitForLogCount(pattern: RegExp, count: number): Promise<void> {
    let seen = this.log.filter((line) => pattern.test(line)).length;
    if (seen >= count) return;
    await this.#wait(
      (line) => pattern.test(line) && ++seen >= count,
      `${count} log lines matching ${pattern}`,
    );
  }

  /** Waits for a future line that `matches`; capped, so that a line that never comes fails the test. */
  #wait(matches: (line: string) => boolean, what: string): Promise<string> {
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    const waiter = {
      matches,
      resolve(line: string) {
        clearTimeout(timer);
        resolve(line);
      },
    };
    // A safety cap, not a synchronisation: a line that never comes fails the test instead of hanging CI.
    const timer = setTimeout(() => {
      this.#waiters.delete(waiter);
      reject(new Error(`no ${what} in ${LOG_WAIT_CAP_MS} ms:\n${this.log.join("\n")}`));
    }, LOG_WAIT_CAP_MS);
    this.#waiters.add(waiter);
    return promise;
  }

  /** Like {@link waitForLog}, but resolves with the match, capture groups included. */
  async waitForMatch(pattern: RegExp): Promise<RegExpExecArray> {
    return pattern.exec(await this.waitForLog(pattern))!;
  }

  /**
   * Sends a signal and waits for the exit; see {@link exited}. `logged` is
   * every line after the `listening` one.
   */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus & { logged: string[] }> {
    try {
      this.child.kill(signal);
    } catch (error) {
      // It may have exited already.
      if (!(error instanceof TypeError)) throw error;
    }
    const status = await this.exited();
    return { ...status, logged: this.log.slice(this.log.indexOf(this.listening) + 1) };
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
      if (waiter.matches(line)) {
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
 * A loopback port that was free a moment ago, for programs that cannot be
 * told "port 0" and report back (redis-server, haproxy).
 */
export function freePort(): number {
  using probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return probe.addr.port;
}

/**
 * Retries `attempt` until it returns a value other than `undefined`, a
 * bounded number of times, pausing briefly in between: for conditions that
 * another process brings about in its own time (a port that starts
 * listening, a proxy that notices a dead server).
 *
 * @throws Naming `what` when every attempt came back empty.
 */
export async function eventually<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  attempts = 100,
): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const result = await attempt();
    if (result !== undefined) return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up after ${attempts} attempts: ${what}`);
}

/** A redis-server on a loopback port of its own, with no persistence. */
export interface TestRedis {
  port: number;
  /** Kills the server (as a crash would) and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits until it answers. */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts redis-server on a free port and waits until it accepts connections. */
export async function startRedis(): Promise<TestRedis> {
  const port = freePort();
  let child: Deno.ChildProcess | undefined;
  const start = async () => {
    child = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await eventually(`redis-server to listen on ${port}`, async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return true;
      } catch {
        return undefined;
      }
    });
  };
  const kill = async () => {
    if (!child) return;
    child.kill("SIGKILL");
    await child.status;
    child = undefined;
  };
  await start();
  return { port, kill, restart: start, [Symbol.asyncDispose]: kill };
}

/**
 * Two chat clients, ana and ben, go through everything chat does: welcome,
 * join notice, renames (a taken one refused), messages both ways, `/who` and
 * `/quit`. They may be on one server or on two that share a bus.
 */
export async function chatConversation(anaPort: number, benPort: number): Promise<void> {
  using ana = await TestClient.connect(anaPort);
  assert.match((await ana.readLine())!, /^\* welcome, guest\d+/);
  using ben = await TestClient.connect(benPort);
  assert.match((await ben.readLine())!, /^\* welcome, guest\d+/);
  assert.match((await ana.readLine())!, /^\* guest\d+ joined$/);

  await ana.send("/nick ana\n");
  assert.equal(await ana.readLine(), "* you are now ana");
  // Across Workers or servers, ana's own join notice may still be on its way
  // when ben arrives; he may hear it late, and that is all right.
  let heard = (await ben.readLine())!;
  if (/^\* guest\d+ joined$/.test(heard)) heard = (await ben.readLine())!;
  assert.match(heard, /^\* guest\d+ is now ana$/);
  await ben.send("/nick ana\n");
  assert.equal(await ben.readLine(), "ERR nick ana is taken");
  await ben.send("/nick ben\r\n");
  assert.equal(await ben.readLine(), "* you are now ben");
  assert.match((await ana.readLine())!, /^\* guest\d+ is now ben$/);

  await ana.send("hola, ben\n");
  assert.equal(await ben.readLine(), "<ana> hola, ben");
  await ben.send("hola\r\nqué tal\n");
  assert.equal(await ana.readLine(), "<ben> hola");
  assert.equal(await ana.readLine(), "<ben> qué tal");

  await ana.send("/who\n");
  assert.match(
    (await ana.readLine())!,
    /^\* online \(2\): ana \(127\.0\.0\.1:\d+\), ben \(127\.0\.0\.1:\d+\)$/,
  );
  await ben.send("/quit\n");
  assert.equal(await ben.readLine(), "* bye");
  assert.equal(await ben.readLine(), null);
  assert.equal(await ana.readLine(), "* ben left");
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

/**
 * Reads a file under /proc through `cat`: Deno asks for `--allow-all` before
 * it lets a program read /proc itself, and the tests run with less.
 *
 * @returns The text, or `undefined` when there is no such file (or no /proc).
 */
export function readProc(path: string): string | undefined {
  try {
    const output = new Deno.Command("cat", { args: [path], stderr: "null" }).outputSync();
    return output.success ? new TextDecoder().decode(output.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether /proc can be read here (Linux). */
export const HAVE_PROC = readProc("/proc/version") !== undefined;

/** A number from /proc/PID/status, e.g. `procStatus(pid, "VmRSS")` (in kB for sizes). */
export function procStatus(pid: number, field: string): number {
  const status = readProc(`/proc/${pid}/status`) ?? "";
  const match = new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** How many descriptors a process has open, from /proc/PID/fd. */
export function openDescriptors(pid: number): number {
  const output = new Deno.Command("ls", { args: ["-1", `/proc/${pid}/fd`] }).outputSync();
  if (!output.success) throw new Error(`cannot list /proc/${pid}/fd`);
  return new TextDecoder().decode(output.stdout).split("\n").filter(Boolean).length;
}

/** How many TCP sockets (listeners and connections) a process holds, from /proc. */
export function tcpSockets(pid: number): number {
  const output = new Deno.Command("bash", {
    args: ["-c", `for f in /proc/${pid}/fd/*; do readlink "$f"; done`],
    stderr: "null",
  }).outputSync();
  const inodes = new Set(
    [...new TextDecoder().decode(output.stdout).matchAll(/^socket:\[(\d+)\]$/gm)].map((m) => m[1]),
  );
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const row of (readProc(table) ?? "").split("\n").slice(1)) {
      const inode = row.trim().split(/\s+/)[9];
      if (inode !== undefined && inodes.has(inode)) count++;
    }
  }
  return count;
}

/**
 * Whether a program is installed and is the one meant, judged by what it
 * prints for `versionArgs` (on either stream).
 */
export function toolInstalled(command: string, versionArgs: string[], expect: RegExp): boolean {
  try {
    const output = new Deno.Command(command, { args: versionArgs, stdin: "null" }).outputSync();
    const decoder = new TextDecoder();
    return expect.test(decoder.decode(output.stdout) + decoder.decode(output.stderr));
  } catch {
    return false;
  }
}
