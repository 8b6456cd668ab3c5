/**
 * `chargen` (RFC 864): streams the rotating pattern of 72-character lines
 * until the client leaves. Each send waits until the client has taken the
 * previous one, so the stream runs exactly as fast as the client reads.
 *
 * @module
 */
import type { ByteService } from "../lib/service.ts";

/** The 95 printable ASCII characters the pattern rotates through. */
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");
const LINE_WIDTH = 72;
/** Lines per send: enough to keep the socket busy, few enough to stay responsive. */
const LINES_PER_SEND = 95;

/**
 * The `index`-th line of the pattern, CRLF included.
 *
 * @param index Any whole number; the pattern repeats every 95 lines.
 *
 * @example
 * ```ts
 * import { chargenLine } from "./chargen.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(chargenLine(0).slice(0, 5), " !\"#$");
 * assert.equal(chargenLine(1).slice(0, 5), "!\"#$%");
 * assert.equal(chargenLine(0).length, 74);
 * ```
 */
export function chargenLine(index: number): string {
  const start = index % PRINTABLE.length;
  const doubled = PRINTABLE + PRINTABLE;
  return `${doubled.slice(start, start + LINE_WIDTH)}\r\n`;
}

/** One full cycle of the pattern, encoded once and sent over and over. */
const CYCLE = new TextEncoder().encode(
  Array.from({ length: LINES_PER_SEND }, (_, i) => chargenLine(i)).join(""),
);

/** Streams the character pattern until the client leaves. */
export const chargen: ByteService = {
  name: "chargen",
  description: "RFC 864: streams 72-character lines for as long as the client reads",
  framing: "bytes",
  async open(session) {
    while (!session.signal.aborted) await session.send(CYCLE);
  },
  data: () => {},
};
