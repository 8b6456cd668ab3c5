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

/** The levels `--log-level` accepts, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevelName = typeof LOG_LEVELS[number];
/** The formats `--log-format` accepts. */
export const LOG_FORMATS = ["text", "json"] as const;
/** One of {@link LOG_FORMATS}. */
export type LogFormat = typeof LOG_FORMATS[number];

/** How a thread's logging is set up. */
export interface LogSettings {
  level: LogLevelName;
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
