/**
 * Logging set-up, done once per thread. Every log line goes to standard error
 * so that standard output stays free for data (the `client` command's).
 *
 * @module
 */
import {
  configureSync,
  getLogger,
  getTextFormatter,
  jsonLinesFormatter,
  type Logger,
  type LogLevel,
  type LogRecord,
  resetSync,
} from "@logtape/logtape";
import { writeAllSync } from "./write_all.ts";

/**
 * The log levels, most verbose first.
 *
 * @example
 * ```ts
 * import { LOG_LEVELS } from "./log.ts";
 *
 * console.log(LOG_LEVELS.join(" | ")); // debug | info | warn | error
 * ```
 */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/**
 * One of {@link LOG_LEVELS}.
 *
 * @example
 * ```ts
 * import type { LogLevelName } from "./log.ts";
 *
 * const level: LogLevelName = "debug";
 * ```
 */
export type LogLevelName = typeof LOG_LEVELS[number];
/**
 * The log formats.
 *
 * @example
 * ```ts
 * import { LOG_FORMATS } from "./log.ts";
 *
 * console.log(LOG_FORMATS.join(" | ")); // text | json
 * ```
 */
export const LOG_FORMATS = ["text", "json"] as const;
/**
 * One of {@link LOG_FORMATS}.
 *
 * @example
 * ```ts
 * import type { LogFormat } from "./log.ts";
 *
 * const format: LogFormat = "json";
 * ```
 */
export type LogFormat = typeof LOG_FORMATS[number];

/**
 * How a thread's logging is set up.
 *
 * @example
 * ```ts
 * import { configureLogging, type LogSettings } from "./log.ts";
 *
 * const quiet: LogSettings = { level: "warn", format: "json" };
 * configureLogging(quiet);
 * ```
 */
export interface LogSettings {
  /** The least severe level written. */
  level: LogLevelName;
  /** Human-readable text, or one JSON object a line. */
  format: LogFormat;
}

const LOGTAPE_LEVEL: Record<LogLevelName, LogLevel> = {
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
};

const encoder = new TextEncoder();

/**
 * Sends servidor's logs to standard error at `level` and above, as text or as
 * one JSON object a line. Calling it again replaces the earlier set-up.
 *
 * @param settings The level and format.
 */
export function configureLogging(settings: LogSettings): void {
  const format = settings.format === "json"
    ? jsonLinesFormatter
    : getTextFormatter({ timestamp: "rfc3339", category: ".", value: "bare" });
  const stderrSink = (record: LogRecord): void => {
    writeAllSync(Deno.stderr, encoder.encode(format(record)));
  };
  resetSync();
  configureSync({
    sinks: { stderr: stderrSink },
    loggers: [
      { category: ["servidor"], lowestLevel: LOGTAPE_LEVEL[settings.level], sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/**
 * The logger for one part of servidor, e.g. `logger("server")`.
 *
 * @param part The category below `servidor`.
 */
export function logger(part: string): Logger {
  return getLogger(["servidor", part]);
}
