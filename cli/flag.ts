/**
 * One flag table per command: each entry says how its flag is written,
 * explained and read, and where its value goes. The same table generates the
 * `--help` text and the `parseArgs` spec, so a flag cannot be documented and
 * parsed differently, and adding a flag is adding one entry.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** A mistake in the command line; `main.ts` prints it in one line and exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Thrown by a flag's parser for text it does not accept. The table adds the
 * flag's name: `invalid --port "x": expected a whole number from 0 to 65535`.
 */
export class InvalidValue extends Error {
  /**
   * @param reason Why, e.g. `expected a whole number from 0 to 65535`.
   * @param quoteValue Whether the message repeats the value (a reason that names it already does not).
   */
  constructor(reason: string, readonly quoteValue: boolean = true) {
    super(reason);
    this.name = "InvalidValue";
  }
}

/**
 * The message for a value that a parser refused.
 *
 * @param name The flag's name, without dashes.
 * @param text What was given.
 * @param error What the parser threw.
 */
export function invalidMessage(name: string, text: string, error: InvalidValue): string {
  return error.quoteValue
    ? `invalid --${name} "${text}": ${error.message}`
    : `invalid --${name}: ${error.message}`;
}

/** What `parseArgs` gives back for one flag. */
type RawValue = string | boolean | (string | boolean)[] | undefined;

/** One entry of a flag table, with its value's type erased; make one with {@link valueFlag} and friends. */
export interface Flag<Target> {
  /** The name, without dashes: `max-conns`. */
  readonly name: string;
  /** A one-letter alias, e.g. `h`. */
  readonly short?: string;
  /** What the value looks like in `--help` (`N`, `FILE`); absent for a switch. */
  readonly placeholder?: string;
  /** Whether the flag may be repeated. */
  readonly multiple: boolean;
  /** The line in `--help`; `\n` starts a continuation line. */
  readonly help: string;
  /** The value used when the flag is absent, as it would be typed. */
  readonly default?: string;
  /**
   * Which setting this flag gives, as `lib/` and `services/` name it in a
   * `SettingError`: the CLI then says which flag was at fault.
   */
  readonly setting?: string;
  /** Reads what `parseArgs` found (or the default) into `target`. */
  apply(target: Target, raw: RawValue): void;
}

/** What {@link valueFlag} takes. */
export interface ValueFlagSpec<Target, Value> {
  name: string;
  placeholder: string;
  help: string;
  default?: string;
  /** Shown after the default in `--help`, e.g. `0 = no limit`. */
  defaultNote?: string;
  setting?: string;
  /** Reads the text; throws {@link InvalidValue} for text it does not accept. */
  parse: (text: string) => Value;
  /** Puts the value where it belongs. */
  set(target: Target, value: NoInfer<Value>): void;
}

/**
 * A flag with one value, `--name=VALUE`.
 *
 * @param spec Its name, help, default, parser and destination.
 */
export function valueFlag<Target, Value>(spec: ValueFlagSpec<Target, Value>): Flag<Target> {
  return {
    name: spec.name,
    placeholder: spec.placeholder,
    multiple: false,
    help: withDefault(spec.help, spec.default, spec.defaultNote),
    default: spec.default,
    setting: spec.setting,
    apply(target, raw) {
      const text = typeof raw === "string" ? raw : spec.default;
      if (text !== undefined) spec.set(target, parseText(spec.name, text, spec.parse));
    },
  };
}

/** What {@link listFlag} takes. */
export interface ListFlagSpec<Target, Value> {
  name: string;
  placeholder: string;
  help: string;
  parse(text: string): Value;
  set(target: Target, values: NoInfer<Value>[]): void;
}

/**
 * A repeatable flag, `--name=A --name=B`; absent, it gives nothing.
 *
 * @param spec Its name, help, parser of one value and destination.
 */
export function listFlag<Target, Value>(spec: ListFlagSpec<Target, Value>): Flag<Target> {
  return {
    name: spec.name,
    placeholder: spec.placeholder,
    multiple: true,
    help: spec.help,
    apply(target, raw) {
      if (!Array.isArray(raw)) return;
      const texts = raw.filter((item) => typeof item === "string");
      spec.set(target, texts.map((text) => parseText(spec.name, text, spec.parse)));
    },
  };
}

/** What {@link switchFlag} takes. */
export interface SwitchFlagSpec<Target> {
  name: string;
  short?: string;
  help: string;
  setting?: string;
  set(target: Target, on: boolean): void;
}

/**
 * A flag without a value, `--name`; absent, it is off.
 *
 * @param spec Its name, help and destination.
 */
export function switchFlag<Target>(spec: SwitchFlagSpec<Target>): Flag<Target> {
  return {
    name: spec.name,
    short: spec.short,
    multiple: false,
    help: spec.help,
    setting: spec.setting,
    apply(target, raw) {
      spec.set(target, raw === true);
    },
  };
}

/** `--help` (or `-h`), the last entry of every command's table. */
export function helpFlag<Target extends { help: boolean }>(): Flag<Target> {
  return switchFlag({
    name: "help",
    short: "h",
    help: "show this help",
    set: (line, on) => void (line.help = on),
  });
}

function withDefault(help: string, value: string | undefined, note: string | undefined): string {
  if (value === undefined) return help;
  const [first = "", ...rest] = help.split("\n");
  return [`${first} (default ${value}${note ? `, ${note}` : ""})`, ...rest].join("\n");
}

function parseText<Value>(name: string, text: string, parse: (text: string) => Value): Value {
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof InvalidValue) throw new UsageError(invalidMessage(name, text, error));
    throw error;
  }
}

/**
 * Parses `args` strictly against a table and applies every flag, given or
 * defaulted, to `target`: unknown flags, missing values and stray words are
 * errors.
 *
 * @param args The command line after the command name.
 * @param table The command's flags.
 * @param target Where the values go.
 * @throws {UsageError} With a one-line message.
 */
export function parseFlags<Target>(
  args: string[],
  table: readonly Flag<Target>[],
  target: Target,
): Target {
  let values: Record<string, RawValue>;
  try {
    values = parseArgs({
      args,
      options: Object.fromEntries(table.map((flag) => [flag.name, parseSpec(flag)])),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(shortParseError(error));
  }
  for (const flag of table) flag.apply(target, values[flag.name]);
  return target;
}

function parseSpec<Target>(flag: Flag<Target>) {
  return {
    type: flag.placeholder === undefined ? "boolean" as const : "string" as const,
    multiple: flag.multiple,
    ...(flag.short === undefined ? {} : { short: flag.short }),
  };
}

/** `parseArgs` explains at length; the first sentence is the useful part. */
function shortParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown flag ${unknown[1]}`;
  const unexpected = /Unexpected argument '([^']+)'/.exec(message);
  if (unexpected) return `unexpected argument "${unexpected[1]}"`;
  return message.split(/\. /)[0]!.replace(/\.$/, "");
}

/**
 * The flags' part of `--help`: one line per flag, its help aligned in a column.
 *
 * @param table The command's flags.
 * @param width The column where help starts.
 */
export function flagHelp<Target>(table: readonly Flag<Target>[], width = 21): string {
  return table.map((flag) => {
    const short = flag.short === undefined ? "" : `-${flag.short}, `;
    const written = `  ${short}--${flag.name}${
      flag.placeholder === undefined ? "" : `=${flag.placeholder}`
    }`;
    const [first = "", ...rest] = flag.help.split("\n");
    const lead = written.length < width - 1 ? written.padEnd(width) : `${written}  `;
    return [lead + first, ...rest.map((line) => " ".repeat(width) + line)].join("\n");
  }).join("\n");
}

/**
 * The flag that gives a setting, for a message about that setting.
 *
 * @param table The command's flags.
 * @param setting The setting's name in a `SettingError`.
 */
export function flagForSetting<Target>(
  table: readonly Flag<Target>[],
  setting: string,
): string | undefined {
  return table.find((flag) => flag.setting === setting)?.name;
}
