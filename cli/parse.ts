/**
 * Parsers for flag values. Each reads one value's text and throws
 * {@link InvalidValue} with the reason; the flag table adds the flag's name.
 *
 * @module
 */
import { Cidr, CidrError, parseIp } from "../lib/cidr.ts";
import { parseRate, type Rate, RateSyntaxError } from "../lib/token_bucket.ts";
import { InvalidValue } from "./flag.ts";

/**
 * A parser for a value that must be one of a fixed list.
 *
 * @param allowed The accepted values.
 *
 * @example
 * ```ts
 * import { oneOf } from "./parse.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(oneOf(["a", "b"] as const)("b"), "b");
 * assert.throws(() => oneOf(["a", "b"] as const)("c"), /expected one of a, b/);
 * ```
 */
export function oneOf<List extends readonly string[]>(
  allowed: List,
): (text: string) => List[number] {
  return (text) => {
    const found = allowed.find((value) => value === text);
    if (found === undefined) throw new InvalidValue(`expected one of ${allowed.join(", ")}`);
    return found;
  };
}

/**
 * A parser for a whole number within bounds.
 *
 * @param min The smallest accepted value.
 * @param max The largest accepted value.
 */
export function wholeNumber(min: number, max: number): (text: string) => number {
  return (text) => {
    const number = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(number) || number < min || number > max) {
      throw new InvalidValue(`expected a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

/** A TCP port, 0 to 65535. */
export const port: (text: string) => number = wholeNumber(0, 65535);

/**
 * A parser for seconds, whole or decimal, within bounds; it gives
 * milliseconds, which is what timers take.
 *
 * @param max The largest accepted value, in seconds.
 *
 * @example
 * ```ts
 * import { seconds } from "./parse.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(seconds(3600)("0.25"), 250);
 * assert.throws(() => seconds(3600)("-1"), /expected seconds from 0 to 3600/);
 * ```
 */
export function seconds(max: number): (text: string) => number {
  return (text) => {
    const number = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
    if (!(number >= 0 && number <= max)) {
      throw new InvalidValue(`expected seconds from 0 to ${max}, e.g. 5 or 0.5`);
    }
    // A duration too short for a millisecond timer is the shortest one, not 0, which means "never".
    return number > 0 ? Math.max(1, Math.round(number * 1000)) : 0;
  };
}

/**
 * A parser for seconds that must be more than 0, e.g. an interval; it gives
 * milliseconds, at least 1.
 *
 * @param max The largest accepted value, in seconds.
 */
export function positiveSeconds(max: number): (text: string) => number {
  const anySeconds = seconds(max);
  return (text) => {
    const ms = anySeconds(text);
    if (ms === 0) throw new InvalidValue(`expected seconds above 0, up to ${max}, e.g. 5 or 0.5`);
    return ms;
  };
}

/**
 * A host: a name, or an address that must then be a valid one. `256.1.1.1`
 * looks like an address and is not, so it is refused here rather than
 * failing a lookup when listening.
 *
 * @param text E.g. `127.0.0.1`, `::1` or `localhost`.
 *
 * @example
 * ```ts
 * import { host } from "./parse.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(host("localhost"), "localhost");
 * assert.throws(() => host("256.1.1.1"), /expected a host name or an IPv4 or IPv6 address/);
 * ```
 */
export function host(text: string): string {
  const looksLikeAddress = /^[\d.]+$/.test(text) || text.includes(":");
  if (
    text === "" || (looksLikeAddress && parseIp(text.replace(/^\[(.*)\]$/, "$1")) === undefined)
  ) {
    throw new InvalidValue("expected a host name or an IPv4 or IPv6 address");
  }
  return text;
}

/**
 * An IPv4 or IPv6 CIDR block or address.
 *
 * @param text E.g. `10.0.0.0/8` or `::1`.
 */
export function cidr(text: string): Cidr {
  try {
    return Cidr.parse(text);
  } catch (error) {
    if (error instanceof CidrError) throw new InvalidValue(error.message, false);
    throw error;
  }
}

/**
 * A rate, `N/SECONDS`.
 *
 * @param text E.g. `10/1`.
 */
export function rate(text: string): Rate {
  try {
    return parseRate(text);
  } catch (error) {
    if (error instanceof RateSyntaxError) throw new InvalidValue(error.reason);
    throw error;
  }
}

/**
 * Any text; for flags whose value is checked where it is used (a file, a host).
 *
 * @param text What was given.
 */
export function text(text: string): string {
  return text;
}
