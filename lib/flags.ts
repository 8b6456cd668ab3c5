/**
 * Flag parsing and validation for the CLI, on `parseArgs` from `node:util`.
 * Every mistake becomes a {@link UsageError} with a one-line message, which
 * `main.ts` prints before exiting with status 2.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { Cidr, CidrError, parseIp } from "./cidr.ts";
import { parseRate, type Rate, RateSyntaxError } from "./token_bucket.ts";

/** A mistake in the command line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** What `parseArgs` gives back for a set of options, as plain values. */
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses `args` strictly: unknown flags, missing values and stray words are errors.
 *
 * @param args The command line after the command name.
 * @param options The flags this command takes.
 * @throws {UsageError} With a one-line message.
 */
export function parseFlags(args: string[], options: Options): FlagValues {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as FlagValues;
  } catch (error) {
    throw new UsageError(shortParseError(error));
  }
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
 * A flag's value that must be one of a fixed list.
 *
 * @param flag The flag's name, for the message.
 * @param value What was given.
 * @param allowed The accepted values.
 */
export function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`invalid --${flag} "${value}": expected one of ${allowed.join(", ")}`);
}

/**
 * A flag's value that must be a whole number within bounds.
 *
 * @param flag The flag's name, for the message.
 * @param value What was given.
 * @param min The smallest accepted value.
 * @param max The largest accepted value.
 */
export function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const number = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new UsageError(
      `invalid --${flag} "${value}": expected a whole number from ${min} to ${max}`,
    );
  }
  return number;
}

/**
 * A flag's value that must be a TCP port.
 *
 * @param flag The flag's name, for the message.
 * @param value What was given.
 */
export function port(flag: string, value: string): number {
  return wholeNumber(flag, value, 0, 65535);
}

/**
 * A flag's value in seconds, whole or decimal, within bounds; returned in
 * milliseconds, which is what timers take.
 *
 * @param flag The flag's name, for the message.
 * @param value What was given, e.g. `5` or `0.25`.
 * @param max The largest accepted value, in seconds.
 * @returns The duration in milliseconds.
 *
 * @example
 * ```ts
 * import { seconds } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(seconds("grace", "0.25", 3600), 250);
 * assert.throws(() => seconds("grace", "-1", 3600), /invalid --grace "-1"/);
 * ```
 */
export function seconds(flag: string, value: string, max: number): number {
  const number = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(number >= 0 && number <= max)) {
    throw new UsageError(
      `invalid --${flag} "${value}": expected seconds from 0 to ${max}, e.g. 5 or 0.5`,
    );
  }
  // A duration too short for a millisecond timer is the shortest one, not 0, which means "never".
  return number > 0 ? Math.max(1, Math.round(number * 1000)) : 0;
}

/**
 * A flag's value in seconds that must be more than 0, e.g. an interval.
 *
 * @param flag The flag's name, for the message.
 * @param value What was given, e.g. `5` or `0.5`.
 * @param max The largest accepted value, in seconds.
 * @returns The duration in milliseconds, at least 1.
 */
export function positiveSeconds(flag: string, value: string, max: number): number {
  const ms = seconds(flag, value, max);
  if (ms === 0) {
    throw new UsageError(
      `invalid --${flag} "${value}": expected seconds above 0, up to ${max}, e.g. 5 or 0.5`,
    );
  }
  return ms;
}

/**
 * A flag's value that names a host: a name, or an address that must then be
 * a valid one. `256.1.1.1` looks like an address and is not, so it is a
 * usage error here rather than a failed lookup when listening.
 *
 * @param flag The flag's name, for the message.
 * @param value What was given, e.g. `127.0.0.1`, `::1` or `localhost`.
 * @returns The value as given.
 *
 * @example
 * ```ts
 * import { host } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(host("host", "localhost"), "localhost");
 * assert.throws(() => host("host", "256.1.1.1"), /invalid --host "256.1.1.1"/);
 * ```
 */
export function host(flag: string, value: string): string {
  const looksLikeAddress = /^[\d.]+$/.test(value) || value.includes(":");
  if (
    value === "" || (looksLikeAddress && parseIp(value.replace(/^\[(.*)\]$/, "$1")) === undefined)
  ) {
    throw new UsageError(
      `invalid --${flag} "${value}": expected a host name or an IPv4 or IPv6 address`,
    );
  }
  return value;
}

/**
 * A repeatable flag's values, each an IPv4 or IPv6 CIDR block or address.
 *
 * @param flag The flag's name, for the message.
 * @param values What was given, in order; `undefined` when the flag was absent.
 */
export function cidrList(flag: string, values: string[] | undefined): Cidr[] {
  return (values ?? []).map((value) => {
    try {
      return Cidr.parse(value);
    } catch (error) {
      if (error instanceof CidrError) throw new UsageError(`invalid --${flag}: ${error.message}`);
      throw error;
    }
  });
}

/**
 * A flag's value that must be a rate, `N/SECONDS`.
 *
 * @param flag The flag's name, for the message.
 * @param value What was given, e.g. `10/1`.
 */
export function rate(flag: string, value: string): Rate {
  try {
    return parseRate(value);
  } catch (error) {
    if (error instanceof RateSyntaxError) {
      throw new UsageError(`invalid --${flag} ${error.message}`);
    }
    throw error;
  }
}
