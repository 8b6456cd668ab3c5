/**
 * Running servidor's CLI as its users do, in a process of its own: to the
 * end (`runCli`), or as a server that a test talks to and reads the log of
 * (`CliServer`).
 *
 * @module
 */
import assert from "node:assert/strict";

const decoder = new TextDecoder();

/** main.ts, for tests that run the CLI. */
export const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** The repository's root, where CLI tests run so that README paths work. */
export const ROOT = new URL("../..", import.meta.url).pathname;

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

/** `--port=0` first, so that a server listens on a free port unless told otherwise. */
function portUnlessGiven(args: string[]): string[] {
  return args.some((arg) => arg.startsWith("--port") || arg.startsWith("--unix"))
    ? []
    : ["--port=0"];
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
   * another), with `permissions`, and resolves once it listens. By default
   * it may read, and under `--mode=processes` it may start its children.
   */
  static start(
    args: string[],
    permissions: string[] = [
      "--unstable-net",
      "--allow-net",
      "--allow-read",
      ...(args.includes("--mode=processes") ? ["--allow-run"] : []),
    ],
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
      // The line is text, or a JSON record with the same message under --log-format=json.
      listening = /^(?:listening on (\S+) mode=.*|\{.*"message":"listening on ([^\s"]+) mode=.*)$/m
        .exec(text);
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
      (listening[1] ?? listening[2])!,
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
