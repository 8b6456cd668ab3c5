/**
 * `daytime` (RFC 867): one line with the date and time, then the server
 * closes. The RFC leaves the format free; this is its suggested one, in UTC
 * so the answer does not depend on the server's time zone.
 *
 * @module
 */
import type { ByteService } from "../lib/service.ts";

const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/**
 * Formats a moment as RFC 867 suggests, e.g. `Tuesday, February 22, 1982 17:37:43-UTC`.
 *
 * @param date The moment to format.
 *
 * @example
 * ```ts
 * import { formatDaytime } from "./daytime.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatDaytime(new Date(Date.UTC(1982, 1, 22, 17, 37, 43))),
 *   "Monday, February 22, 1982 17:37:43-UTC",
 * );
 * ```
 */
export function formatDaytime(date: Date): string {
  const time = date.toISOString().slice(11, 19);
  return `${WEEKDAYS[date.getUTCDay()]}, ${
    MONTHS[date.getUTCMonth()]
  } ${date.getUTCDate()}, ${date.getUTCFullYear()} ${time}-UTC`;
}

/** Answers with the time and closes. */
export const daytime: ByteService = {
  name: "daytime",
  description: "RFC 867: sends the date and time as one line, then closes",
  framing: "bytes",
  async open(session) {
    await session.sendLine(formatDaytime(new Date()));
    session.close();
  },
  data: () => {},
};
