/**
 * `reverse`: answers each line with its characters in reverse order.
 *
 * @module
 */
import type { LineService } from "../lib/service.ts";

/**
 * Reverses a line by Unicode code point, so that characters outside the
 * Basic Multilingual Plane survive.
 *
 * @example
 * ```ts
 * import { reverseText } from "./reverse.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(reverseText("hola"), "aloh");
 * ```
 */
export function reverseText(text: string): string {
  return Array.from(text).reverse().join("");
}

/** Answers each line reversed. */
export const reverse: LineService = {
  name: "reverse",
  description: "answers each line with its characters reversed",
  framing: "lines",
  line: (session, line) => session.sendLine(reverseText(line)),
};
