/**
 * The loggers servidor's code writes to, without LogTape: a record goes to
 * whatever back end the thread has set. On every thread that loads
 * `log.ts` (the main thread, a `reuseport` server, a `processes` child) that
 * is LogTape; a `workers` Worker sets one that hands each record to the main
 * thread, which logs it.
 *
 * Why not LogTape everywhere: a Worker is started for every client, and
 * loading LogTape into each one cost about 0.4 MiB of memory a Worker before
 * its first log line, and more once configured (docs/workers.md, "What a
 * Worker costs"), for records that a Worker writes rarely (`exec`'s lines).
 * So the code a Worker loads imports this module, never `log.ts`.
 *
 * @module
 */

/** A record's severity, as LogTape names it. */
export type LogRecordLevel = "debug" | "info" | "warning" | "error";

/**
 * The record level for each level as `--log-level` names it (`warn` is
 * LogTape's `warning`).
 */
export const RECORD_LEVEL = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
} as const satisfies Record<string, LogRecordLevel>;

/** Where a thread's log records go. */
export interface LogBackend {
  /**
   * Writes one record.
   *
   * @param category The logger's category, e.g. `["servidor", "exec"]`.
   * @param level The record's severity.
   * @param message A message template: `{name}` is replaced by that property.
   * @param properties The values the template names, and any more.
   */
  write(
    category: readonly string[],
    level: LogRecordLevel,
    message: string,
    properties: Record<string, unknown>,
  ): void;
  /**
   * Whether a record of this category and level would be written at all.
   *
   * @param category The logger's category.
   * @param level The severity.
   */
  isEnabledFor(category: readonly string[], level: LogRecordLevel): boolean;
}

/** Writes records of one category, each a message template and its properties. */
export interface Logger {
  /** Writes a record at debug. */
  debug(message: string, properties?: Record<string, unknown>): void;
  /** Writes a record at info. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** Writes a record at warning. */
  warn(message: string, properties?: Record<string, unknown>): void;
  /** Writes a record at error. */
  error(message: string, properties?: Record<string, unknown>): void;
  /** Whether a record at `level` would be written, to skip building one that would not. */
  isEnabledFor(level: LogRecordLevel): boolean;
}

/** Until a back end is set, records go nowhere, as LogTape's do before it is configured. */
let backend: LogBackend = { write: () => {}, isEnabledFor: () => false };

/**
 * Sets where this thread's log records go from now on.
 *
 * @param next The back end.
 *
 * @example
 * ```ts
 * import { logger, setLogBackend } from "./logger.ts";
 *
 * const lines: string[] = [];
 * setLogBackend({
 *   write: (category, level, message) => lines.push(`${category.join(".")} ${level} ${message}`),
 *   isEnabledFor: () => true,
 * });
 * logger("example").info("hello");
 * console.log(lines); // ["servidor.example info hello"]
 * ```
 */
export function setLogBackend(next: LogBackend): void {
  backend = next;
}

/**
 * Writes one record to this thread's back end: how a record that another
 * thread wrote is logged here.
 *
 * @param category The logger's category.
 * @param level The record's severity.
 * @param message A message template.
 * @param properties The values the template names.
 */
export function writeLogRecord(
  category: readonly string[],
  level: LogRecordLevel,
  message: string,
  properties: Record<string, unknown>,
): void {
  backend.write(category, level, message, properties);
}

/**
 * The logger for one part of servidor, e.g. `logger("server")`: category
 * `servidor.server`.
 *
 * @param part The category below `servidor`.
 */
export function logger(part: string): Logger {
  const category = ["servidor", part] as const;
  return {
    debug: (message, properties = {}) => backend.write(category, "debug", message, properties),
    info: (message, properties = {}) => backend.write(category, "info", message, properties),
    warn: (message, properties = {}) => backend.write(category, "warning", message, properties),
    error: (message, properties = {}) => backend.write(category, "error", message, properties),
    isEnabledFor: (level) => backend.isEnabledFor(category, level),
  };
}
