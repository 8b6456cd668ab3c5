/**
 * `exec`: the inetd service. For each client it runs a program with the
 * program's standard input and output joined to the connection, the way
 * `inetd`, `ncat -e` and ucspi-tcp's `tcpserver` do, so any filter becomes a
 * network service: exec with the arguments `bc -q` is a calculator server.
 *
 * The program learns who called the way ucspi-tcp tells it, through
 * `PROTO`, `TCPREMOTEIP`, `TCPREMOTEPORT`, `TCPLOCALIP` and `TCPLOCALPORT`.
 * What it writes to standard error is logged, a line at a time. Each write
 * waits for the other side to take it, both ways, so neither a client that
 * stops reading nor a program that stops reading makes the server buffer.
 * The program is stopped when its client leaves, and the client is closed
 * once the program has exited and its output has been sent.
 *
 * Unlike the other services, exec is made from the command line: a service
 * is an object chosen by name, so `createExecService` builds one from the
 * words after `--`, and a Worker builds the same one from the same words.
 *
 * @module
 */
import { isDisconnect } from "../lib/errors.ts";
import { logger } from "../lib/logger.ts";
import type { ByteService, Session } from "../lib/service.ts";

const log = logger("exec");

/**
 * How long a program may take to exit after SIGTERM before it gets SIGKILL.
 * Long enough for a program to clean up; short enough that a program that
 * ignores SIGTERM cannot hold a server's shutdown for good.
 */
const KILL_GRACE_MS = 2_000;

/** One client's program. */
interface Running {
  /** Where the client's bytes go; each write resolves once the pipe has taken it. */
  stdin: WritableStreamDefaultWriter<Uint8Array>;
}

/**
 * The environment ucspi-tcp's `tcpserver` gives its programs, from the
 * session's addresses. A Unix socket has no ports, so it gets `PROTO=UNIX` only.
 *
 * @param session The client.
 * @returns The variables to add to the program's environment.
 *
 * @example
 * ```ts
 * import { ucspiEnvironment } from "./exec.ts";
 * import assert from "node:assert/strict";
 *
 * const env = ucspiEnvironment({
 *   remoteAddr: { transport: "tcp", hostname: "::1", port: 50000 },
 *   localAddr: { transport: "tcp", hostname: "::1", port: 7000 },
 * });
 * assert.deepEqual(env, {
 *   PROTO: "TCP",
 *   TCPREMOTEIP: "::1",
 *   TCPREMOTEPORT: "50000",
 *   TCPLOCALIP: "::1",
 *   TCPLOCALPORT: "7000",
 * });
 * ```
 */
export function ucspiEnvironment(
  session: Pick<Session, "remoteAddr" | "localAddr">,
): Record<string, string> {
  const { remoteAddr, localAddr } = session;
  if (remoteAddr.transport !== "tcp" || localAddr.transport !== "tcp") return { PROTO: "UNIX" };
  return {
    PROTO: "TCP",
    TCPREMOTEIP: remoteAddr.hostname,
    TCPREMOTEPORT: String(remoteAddr.port),
    TCPLOCALIP: localAddr.hostname,
    TCPLOCALPORT: String(localAddr.port),
  };
}

/**
 * Why a program cannot be run, found the way a shell finds it: a name with a
 * `/` is a path, any other name is looked for in each directory of `PATH`.
 * Finding it needs read access to `PATH` and to the places looked in; where
 * deno has not been given that, nothing is said, and a program that cannot
 * be started is reported when the first client arrives instead.
 *
 * @param command The program, as it was typed.
 * @returns A phrase saying what is wrong, or `undefined` when it was found
 *   or cannot be looked for.
 *
 * @example
 * ```ts
 * import { programProblem } from "./exec.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(programProblem("servidor-no-such-program"), "no program servidor-no-such-program on PATH");
 * assert.equal(programProblem("sh"), undefined);
 * ```
 */
export function programProblem(command: string): string | undefined {
  const readable = (path: string) =>
    Deno.permissions.querySync({ name: "read", path }).state === "granted";
  const executable = (path: string): boolean | undefined => {
    if (!readable(path)) return undefined;
    try {
      const info = Deno.statSync(path);
      return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
    } catch {
      return false;
    }
  };
  if (command.includes("/")) {
    return executable(command) === false ? `${command} is not an executable file` : undefined;
  }
  if (Deno.permissions.querySync({ name: "env", variable: "PATH" }).state !== "granted") {
    return undefined;
  }
  const directories = (Deno.env.get("PATH") ?? "").split(":").map((dir) => dir || ".");
  let unknown = false;
  for (const directory of directories) {
    const found = executable(`${directory}/${command}`);
    if (found) return undefined;
    if (found === undefined) unknown = true;
  }
  return unknown ? undefined : `no program ${command} on PATH`;
}

/**
 * Makes a service that runs `command` with `args` for each client, its
 * standard input and output joined to the connection. Running programs needs
 * deno's `--allow-run`.
 *
 * @param command The program, found on `PATH` like a shell would.
 * @param args Its arguments.
 * @returns A byte service named `exec`.
 *
 * @example Serve `cat`, which makes exec an echo server
 * ```ts ignore
 * import { createExecService } from "./exec.ts";
 * import { createStrategy, serve } from "../mod.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 7000 });
 * await serve({ listener, strategy: createStrategy("poll"), service: createExecService("cat") });
 * ```
 */
export function createExecService(command: string, args: readonly string[] = []): ByteService {
  const running = new Map<Session, Running>();
  const commandLine = [command, ...args].join(" ");

  return {
    name: "exec",
    description: `runs \`${commandLine}\` for each client, joined to its connection`,
    framing: "bytes",

    async open(session) {
      let child: Deno.ChildProcess;
      try {
        child = new Deno.Command(command, {
          args: [...args],
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
          env: ucspiEnvironment(session),
        }).spawn();
      } catch (error) {
        // The cause carries the reason; logs print an error with its causes.
        throw new Error(`cannot run ${command}`, { cause: error });
      }
      running.set(session, { stdin: child.stdin.getWriter() });
      log.debug("{peer} started {command} pid={pid}", {
        peer: session.peer,
        command: commandLine,
        pid: child.pid,
      });

      const output = child.stdout.getReader();
      const errors = child.stderr.getReader();
      let exited = false;
      let killTimer: ReturnType<typeof setTimeout> | undefined;
      // The client left: stop the program, and stop waiting for its output,
      // which a child of the program could hold open for ever.
      const stop = () => {
        output.cancel().catch(() => {});
        errors.cancel().catch(() => {});
        if (exited) return;
        signalChild(child, "SIGTERM");
        killTimer = setTimeout(() => signalChild(child, "SIGKILL"), KILL_GRACE_MS);
      };
      session.signal.addEventListener("abort", stop, { once: true });
      const status = child.status.then((status) => {
        exited = true;
        clearTimeout(killTimer);
        return status;
      });

      try {
        const logging = logStderr(errors, session.peer, command);
        await sendOutput(output, session);
        await logging;
        const { code, signal } = await status;
        log.debug("{peer} {command} exited code={code} signal={signal}", {
          peer: session.peer,
          command: commandLine,
          code,
          signal,
        });
      } finally {
        session.signal.removeEventListener("abort", stop);
        if (!exited) stop();
        await status;
        // Nothing more can reach the program; a write blocked on it gives up.
        running.get(session)?.stdin.abort().catch(() => {});
        running.delete(session);
        // The program is done: the client gets what was sent, then the close.
        session.close();
      }
    },

    async data(session, chunk) {
      const stdin = running.get(session)?.stdin;
      if (!stdin) return;
      try {
        await stdin.write(chunk);
      } catch (error) {
        // The program closed its input or exited; what the client sends now
        // has nowhere to go, as with a pipe whose reader is gone.
        if (!isDisconnect(error)) throw error;
      }
    },

    async end(session) {
      // End of the client's input is end of the program's input. The
      // connection stays open until the program exits, since `open()` closes it.
      const stdin = running.get(session)?.stdin;
      if (stdin) await stdin.close().catch(() => {});
      await untilAborted(session.signal);
    },
  };
}

/** Sends the program's output to the client, each chunk once the previous one is written. */
async function sendOutput(
  output: ReadableStreamDefaultReader<Uint8Array>,
  session: Session,
): Promise<void> {
  try {
    for (let read = await output.read(); !read.done; read = await output.read()) {
      await session.send(read.value);
    }
  } catch (error) {
    if (!isDisconnect(error)) throw error;
  } finally {
    output.releaseLock();
  }
}

/** Logs what the program writes to standard error, one record a line. */
async function logStderr(
  errors: ReadableStreamDefaultReader<Uint8Array>,
  peer: string,
  command: string,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  const emit = (line: string) => log.info("{peer} {command}: {line}", { peer, command, line });
  try {
    for (let read = await errors.read(); !read.done; read = await errors.read()) {
      pending += decoder.decode(read.value, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) emit(line);
    }
  } finally {
    errors.releaseLock();
  }
  pending += decoder.decode();
  if (pending !== "") emit(pending);
}

/** Signals a child that may have exited meanwhile. */
function signalChild(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch (error) {
    // Deno throws a TypeError once the child has already exited.
    if (!(error instanceof TypeError)) throw error;
  }
}

/** Resolves when `signal` aborts. */
function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}
