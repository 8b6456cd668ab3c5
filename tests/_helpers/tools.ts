/**
 * Real programs that the tests drive or stand up (nc, socat, python3,
 * haproxy): whether they are here, running one to the end, an interactive
 * `nc`, a free port to give them, and waiting until they have acted.
 *
 * @module
 */
import assert from "node:assert/strict";
import { lines } from "./cli.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Whether a program is on `PATH`, for tests that drive real clients. */
export function hasCommand(name: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
    .outputSync().success;
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

/** Whether this machine can listen on `::1`. */
export function hasIpv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
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
