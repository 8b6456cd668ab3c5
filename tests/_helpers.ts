/**
 * Test helpers: a server on a free loopback port, and a line-aware client.
 * Private to the tests, as the leading underscore says.
 *
 * @module
 */
import type { Bus } from "../lib/bus.ts";
import { serve, type ServeSummary } from "../lib/server.ts";
import type { Service } from "../lib/service.ts";
import type { Strategy } from "../lib/strategy.ts";
import { DEFAULT_MAX_LINE } from "../lib/line_framer.ts";
import assert from "node:assert/strict";
import { writeAll } from "../lib/write_all.ts";
import { loadService } from "../services/mod.ts";
import { createStrategy, type Mode, type StrategyOptions } from "../strategies/mod.ts";
import { serveReusePort } from "../strategies/reuseport.ts";

/** A server started by a test, stopped by `stop()` or `await using`. */
export interface TestServer {
  port: number;
  strategy: Strategy;
  stop(): Promise<ServeSummary>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What a test server runs. */
export interface TestServerOptions extends StrategyOptions {
  mode: Mode;
  service: string | Service;
  maxLine?: number;
  /** Require a PROXY header on every connection. */
  proxyProtocol?: boolean;
  /** Share the chat room with other servers (not with `reuseport`, whose Workers share one). */
  bus?: Bus;
  /** `reuseport`: how many Workers (default 2, so that there is always more than one). */
  threads?: number;
}

/** Starts a server on 127.0.0.1, port 0. */
export async function startServer(options: TestServerOptions): Promise<TestServer> {
  const service = typeof options.service === "string"
    ? await loadService(options.service)
    : options.service;
  const reusePort = options.mode === "reuseport";
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort });
  const port = listener.addr.port;
  const strategy = createStrategy(options.mode, options);
  const stopper = new AbortController();
  let served: Promise<ServeSummary>;
  if (reusePort) {
    if (typeof options.service !== "string") {
      throw new TypeError("reuseport Workers load their service by name; pass a string");
    }
    const { promise: listening, resolve: onListening } = Promise.withResolvers<void>();
    served = serveReusePort({
      listener,
      threads: options.threads ?? 2,
      serviceSpecifier: options.service,
      maxLine: options.maxLine ?? DEFAULT_MAX_LINE,
      log: { level: "warn", format: "text" },
      proxyProtocol: options.proxyProtocol,
      signal: stopper.signal,
      onListening,
    });
    await Promise.race([listening, served]);
  } else {
    served = serve({
      listener,
      strategy,
      service,
      serviceSpecifier: typeof options.service === "string" ? options.service : service.name,
      maxLine: options.maxLine,
      signal: stopper.signal,
      proxyProtocol: options.proxyProtocol,
      bus: options.bus,
    });
  }
  let stopped: Promise<ServeSummary> | undefined;
  const stop = () => {
    stopper.abort();
    return stopped ??= served;
  };
  return {
    port,
    strategy,
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

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<TestClient> {
    return new TestClient(await Deno.connect({ hostname: "127.0.0.1", port }));
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
export const ALL_MODES: readonly Mode[] = ["single", "poll", "workers", "reuseport"];
/** The modes that serve clients at the same time. */
export const CONCURRENT_MODES: readonly Mode[] = ["poll", "workers", "reuseport"];

/** Whether a program is on the PATH, for tests that need Debian's redis-server or haproxy. */
export function haveCommand(name: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
    .outputSync().success;
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

/** A servidor CLI process started by a test, listening. */
export interface CliServer {
  child: Deno.ChildProcess;
  port: number;
  /** The line that said where it listens: `listening on 127.0.0.1:PORT mode=… service=…`. */
  listening: string;
  /** The rest of its standard error, line by line; read it to the end, or the pipe fills. */
  stderr: AsyncGenerator<string>;
}

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/**
 * Runs `main.ts` with `flags` (give it `--port=0`) and resolves once it says
 * where it listens. Log lines before that one are skipped.
 *
 * @param flags The CLI's flags.
 * @param permissions Deno's flags, e.g. `--allow-net`.
 */
export async function spawnServidor(flags: string[], permissions: string[]): Promise<CliServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-check", ...permissions, MAIN, ...flags],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stderr = lines(child.stderr);
  for (let line = await stderr.next(); !line.done; line = await stderr.next()) {
    const listening = /^listening on 127\.0\.0\.1:(\d+) /.exec(line.value);
    if (listening) return { child, port: Number(listening[1]), listening: line.value, stderr };
  }
  await child.status;
  throw new Error(`servidor ${flags.join(" ")} ended before it listened`);
}

/** Reads a child's stderr line by line. */
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
  assert.match((await ben.readLine())!, /^\* guest\d+ is now ana$/);
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
