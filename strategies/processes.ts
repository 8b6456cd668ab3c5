/**
 * `processes`: a child process per client, the fork-per-client server of
 * tcpserver and xinetd. A `Deno.Conn` cannot move into another process, so
 * the main process keeps the socket and carries the bytes over the child's
 * standard input and output (see `processes/shuttle.ts`); chat's room stays
 * in the main process, and the child reaches it by control messages.
 *
 * What it buys over `workers`: a handler stuck past the handler timeout is
 * killed with SIGKILL and its process is gone, CPU and memory with it.
 * Deno (2.9.6) cannot stop a Worker that is running a JavaScript loop. What
 * it costs: a process start per client (tens of milliseconds, tens of MiB),
 * and Deno's `--allow-run`.
 *
 * At most `maxProcesses` children run at once; the next client waits,
 * connected but unread, until one has exited.
 *
 * @module
 */
import type { Connection } from "../lib/connection.ts";
import type { LogSettings } from "../lib/log.ts";
import { logger } from "../lib/log.ts";
import type { ServerContext, Strategy } from "../lib/strategy.ts";
import { childCommand } from "./processes/command.ts";
import { serveThroughProcess } from "./processes/shuttle.ts";
import { DEFAULT_HANDLER_TIMEOUT_MS } from "./workers.ts";
import { pinnedSources } from "../services/pinned_module.ts";

/**
 * The bound on children alive at once unless the options say otherwise. A
 * child costs some 30 MiB, so the default stays within a couple of GiB.
 */
export const DEFAULT_MAX_PROCESSES = 64;

/** How the `processes` strategy is tuned: settings no other strategy has. */
export interface ProcessesOptions {
  /** Children alive at once; each serves one client. */
  maxProcesses?: number;
  /**
   * Kill a child that has left its client's input unanswered this long (a
   * stuck handler); 0 never. Default {@link DEFAULT_HANDLER_TIMEOUT_MS}.
   */
  handlerTimeoutMs?: number;
  /** How each child logs. */
  log?: LogSettings;
}

/** A strategy that also says how many children run and how many clients wait. */
export interface ProcessesStrategy extends Strategy {
  /** Clients accepted and waiting for a child. */
  readonly waiting: number;
  /** Children alive. */
  readonly alive: number;
}

/** What a client gets when no child can be started for it. */
const NO_PROCESS_NOTICE = "ERR server busy";

const log = logger("processes");

/**
 * Why this process cannot start children, if it cannot: Deno's permission
 * to run its own executable, which a compiled binary has by its settings.
 *
 * @returns The reason with the remedy, or `undefined` when children can be started.
 *
 * @example
 * ```ts
 * import { processesProblem } from "./processes.ts";
 *
 * const problem = processesProblem();
 * if (problem) console.log(problem);
 * ```
 */
export function processesProblem(): string | undefined {
  const command = Deno.execPath();
  if (Deno.permissions.querySync({ name: "run", command }).state === "granted") return undefined;
  return "processes starts a process per client and needs --allow-run: " +
    "run deno run --allow-net --allow-run main.ts --mode=processes";
}

/**
 * Makes a `processes` strategy.
 *
 * @param options The bound, the handler timeout and the children's logging.
 * @param service The service as a child loads it: a built-in name, `exec`, or
 *   a module's URL. A module pinned in this process is sent to each child as
 *   its texts (`services/pinned_copy.ts`), since a `blob:` URL means nothing
 *   to another process.
 */
export function createProcesses(options: ProcessesOptions, service: string): ProcessesStrategy {
  const maxProcesses = options.maxProcesses ?? DEFAULT_MAX_PROCESSES;
  const tuning = {
    log: options.log ?? { level: "warn", format: "text" } satisfies LogSettings,
    handlerTimeoutMs: options.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS,
    service,
  };
  let alive = 0;
  const waiters: (() => void)[] = [];
  /** Children whose clients are done, until they have exited (or been killed). */
  const exiting = new Set<Promise<void>>();
  const release = () => {
    alive--;
    waiters.shift()?.();
  };
  /** Resolves with whether a child may be started; `false` once the server stops. */
  const acquire = async (hardStop: AbortSignal): Promise<boolean> => {
    if (alive < maxProcesses) {
      alive++;
      return true;
    }
    const { promise, resolve } = Promise.withResolvers<boolean>();
    const onStop = () => {
      waiters.splice(waiters.indexOf(take), 1);
      resolve(false);
    };
    const take = () => {
      hardStop.removeEventListener("abort", onStop);
      alive++;
      resolve(true);
    };
    if (hardStop.aborted) return false;
    waiters.push(take);
    hardStop.addEventListener("abort", onStop, { once: true });
    return await promise;
  };

  return {
    name: "processes",
    sequential: false,
    get waiting() {
      return waiters.length;
    },
    get alive() {
      return alive;
    },
    async handle(connection: Connection, context: ServerContext): Promise<void> {
      if (!await acquire(context.hardStop)) {
        connection.close();
        return;
      }
      // The child's slot is free once it is gone, which may be after its client is.
      let releaseOnExit: Promise<void> | undefined;
      try {
        if (connection.closed) return;
        // A pinned module (the version this client gets, after any reload) goes as its texts.
        const pinned = pinnedSources(context.serviceSpecifier);
        const childService = pinned?.file ?? service;
        const { command, args } = childCommand(childService, context.serviceArgs);
        let child: Deno.ChildProcess;
        try {
          child = new Deno.Command(command, {
            args: [...args],
            stdin: "piped",
            stdout: "piped",
            stderr: "inherit",
          }).spawn();
        } catch (error) {
          // Out of processes or descriptors: this client is refused, the server goes on.
          log.warn("cannot start a process for {peer}: {reason}", {
            peer: connection.peer,
            reason: error instanceof Error ? error.message : String(error),
          });
          await connection.closeWithLine(NO_PROCESS_NOTICE);
          return;
        }
        const { gone } = await serveThroughProcess(child, connection, context, {
          ...tuning,
          service: childService,
          pinned,
        });
        releaseOnExit = gone.finally(() => {
          exiting.delete(releaseOnExit!);
          release();
        });
        exiting.add(releaseOnExit);
      } finally {
        if (!releaseOnExit) release();
      }
    },
    async close(): Promise<void> {
      await Promise.all(exiting);
    },
  };
}
