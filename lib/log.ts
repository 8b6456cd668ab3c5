/**
 * Logging set-up, done once per thread, with LogTape. Every log line goes to
 * standard error so that standard output stays free for data (the `client`
 * command's). The loggers themselves are in `logger.ts`, which does not load
 * LogTape: loading this module makes LogTape their back end.
 *
 * @module
 */
import {
  configureSync,
  getLogger,
  getTextFormatter,
  jsonLinesFormatter,
  type LogLevel,
  type LogRecord,
  resetSync,
} from "@logtape/logtape";
import { type LogRecordLevel, RECORD_LEVEL, setLogBackend } from "./logger.ts";
import { writeAllSync } from "./write_all.ts";

export { type Logger, logger } from "./logger.ts";

/**
 * Whether each category logs at each level, by the category's array (one
 * per `logger()`), until logging is configured again. LogTape answers by
 * walking its loggers, and the server asks once a connection, whether to
 * format its open and close lines: a few microseconds each, ten thousand
 * times in a connect storm.
 */
const enabled = new Map<readonly string[], Partial<Record<LogRecordLevel, boolean>>>();

// Every thread that loads this module logs through LogTape; a `workers`
// Worker, which does not load it, hands its records to the main thread (see
// logger.ts for why).
setLogBackend({
  write: (category, level, message, properties) => getLogger(category)[level](message, properties),
  isEnabledFor: (category, level) => {
    let levels = enabled.get(category);
    if (!levels) enabled.set(category, levels = {});
    return levels[level] ??= getLogger(category).isEnabledFor(level);
  },
});

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

const LOGTAPE_LEVEL: Record<LogLevelName, LogLevel> = RECORD_LEVEL;

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
  enabled.clear();
  configureSync({
    sinks: { stderr: stderrSink },
    loggers: [
      { category: ["servidor"], lowestLevel: LOGTAPE_LEVEL[settings.level], sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/**
 * One of the lines that mark a server's life (`listening on …`, `stopped: …`),
 * in the chosen format. They are written whatever the level, since scripts
 * and people wait for them: as the bare message in text, and as one JSON
 * object shaped like every other JSON log record otherwise.
 *
 * @param format The log format.
 * @param message The line as text, e.g. `listening on 127.0.0.1:7000 mode=poll`.
 * @param properties The same facts as fields, for a machine to read.
 * @returns The line, without its newline.
 *
 * @example
 * ```ts
 * import { announcement } from "./log.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(announcement("text", "stopped: 0 clients served", { clients: 0 }), "stopped: 0 clients served");
 * const record = JSON.parse(announcement("json", "stopped: 0 clients served", { clients: 0 }));
 * assert.equal(record.message, "stopped: 0 clients served");
 * assert.deepEqual(record.properties, { clients: 0 });
 * ```
 */
export function announcement(
  format: LogFormat,
  message: string,
  properties: Record<string, string | number>,
): string {
  if (format === "text") return message;
  return JSON.stringify({
    "@timestamp": new Date().toISOString(),
    level: "INFO",
    message,
    logger: "servidor",
    properties,
  });
}

/**
 * A count and its noun, singular for one: `1 client`, `2 clients`.
 *
 * @param count How many.
 * @param noun The singular noun; the plural adds an `s`.
 *
 * @example
 * ```ts
 * import { counted } from "./log.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(counted(1, "client"), "1 client");
 * assert.equal(counted(0, "client"), "0 clients");
 * ```
 */
export function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
