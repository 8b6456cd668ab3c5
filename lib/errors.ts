/**
 * Errors that belong to the close path. A peer that leaves mid-read or
 * mid-write is ordinary for a server, so these are the only errors swallowed,
 * and they are recognised by class, never by message. A service's own
 * failure is logged the same way by every strategy, from here.
 *
 * @module
 */
import { logger } from "./logger.ts";

const log = logger("connection");

/**
 * The line a client gets when its service fails (throws, or is stopped for
 * running too long) before the connection is closed. It names no cause: the
 * cause is in the server's log, not the client's business.
 */
export const INTERNAL_ERROR_NOTICE = "ERR internal error";

/** Raised when a session sends after its connection has closed. */
export class ConnectionClosedError extends Error {
  constructor(peer: string) {
    super(`connection to ${peer} is closed`);
    this.name = "ConnectionClosedError";
  }
}

/** The error classes that mean "the other side went away" or "we closed it". */
const DISCONNECT_CLASSES = [
  Deno.errors.BadResource,
  Deno.errors.BrokenPipe,
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.NotConnected,
  Deno.errors.Interrupted,
  Deno.errors.UnexpectedEof,
  ConnectionClosedError,
];

/**
 * Tells whether an error only means that a connection is gone, looking
 * through `cause` chains such as the one {@link WriteError} builds.
 *
 * @param error Anything caught.
 * @returns `true` for close-path errors.
 *
 * @example
 * ```ts
 * import { isDisconnect } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isDisconnect(new Deno.errors.ConnectionReset("reset")), true);
 * assert.equal(isDisconnect(new TypeError("bug")), false);
 * ```
 */
export function isDisconnect(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; depth++) {
    if (DISCONNECT_CLASSES.some((errorClass) => current instanceof errorClass)) return true;
    current = current.cause;
  }
  return false;
}

/** An error's message with its causes, on one line, for logs. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current !== undefined && depth < 8; depth++) {
    if (current instanceof Error) {
      parts.push(current.message);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(": ");
}

/**
 * A setting that cannot be used: a certificate file that cannot be read, a
 * service module that does not load. Its message names the thing (the file,
 * the address, the module), never how it was given; {@link SettingError.setting}
 * says which setting it is, so that a front end can add its own name for it
 * (the CLI, its flag), the way a server module never sees its command line.
 *
 * @example
 * ```ts
 * import { SettingError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new SettingError("certFile", "cannot read cert.pem: no such file");
 * assert.equal(error.setting, "certFile");
 * ```
 */
export class SettingError extends Error {
  /**
   * Makes the error.
   *
   * @param setting The setting's name, e.g. `certFile`, `service`, `mode`.
   * @param message One sentence naming the thing and what is wrong with it.
   * @param options The cause, if any.
   */
  constructor(readonly setting: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SettingError";
  }
}

/**
 * Logs a service's failure: the reason at warn, the stack at debug. Shared by
 * every strategy, whether the error was caught on the socket's thread or in a
 * Worker.
 *
 * @param peer The client whose service failed.
 * @param reason One line, from `describeError`.
 * @param stack The stack trace, or the reason when there is none.
 */
export function logServiceFailure(peer: string, reason: string, stack: string): void {
  log.warn("service failed for {peer}: {reason}", { peer, reason });
  log.debug("stack for {peer}: {stack}", { peer, stack });
}

/** An error's stack, or its description when it has none. */
export function errorStack(error: unknown): string {
  return error instanceof Error ? error.stack ?? error.message : String(error);
}

/**
 * One line from a message that may span several: its first line, and, when
 * Deno listed the causes below it (`0: …`, `1: …`), the last and most
 * specific cause. An operator reads one line; the chain is for debuggers.
 *
 * @param message E.g. the message of a failed remote `import()`.
 *
 * @example
 * ```ts
 * import { oneLine } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const message = "Import 'http://h/x.ts' failed.\n    0: error sending request\n    1: Connection refused";
 * assert.equal(oneLine(message), "Import 'http://h/x.ts' failed: Connection refused");
 * ```
 */
export function oneLine(message: string): string {
  const lines = message.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  const first = lines[0] ?? "";
  const causes = lines.filter((line) => /^\d+: /.test(line));
  const last = causes.at(-1)?.replace(/^\d+: /, "");
  return last === undefined ? first : `${first.replace(/\.$/, "")}: ${last}`;
}
