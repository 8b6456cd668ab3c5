import assert from "node:assert/strict";
import { LineFramer, LineTooLongError } from "../lib/line_framer.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

Deno.test("LineFramer accepts LF and CRLF and several lines in one read", () => {
  const framer = new LineFramer(100);
  assert.deepEqual(framer.push(bytes("a\nb\r\n\nc")), ["a", "b", ""]);
  assert.deepEqual(framer.push(bytes("\r\n")), ["c"]);
});

Deno.test("LineFramer joins a line split across many reads, even between CR and LF", () => {
  const framer = new LineFramer(100);
  const lines: string[] = [];
  for (const piece of ["he", "l", "lo\r", "\nwor", "ld\r", "\n"]) {
    lines.push(...framer.push(bytes(piece)));
  }
  assert.deepEqual(lines, ["hello", "world"]);
});

Deno.test("LineFramer joins a multi-byte character split across reads", () => {
  const framer = new LineFramer(100);
  const snowman = bytes("☃\n");
  assert.deepEqual(framer.push(snowman.subarray(0, 1)), []);
  assert.deepEqual(framer.push(snowman.subarray(1)), ["☃"]);
});

Deno.test("LineFramer replaces invalid UTF-8 with U+FFFD", () => {
  const framer = new LineFramer(100);
  assert.deepEqual(framer.push(Uint8Array.from([0x61, 0xff, 0x00, 0x62, 0x0a])), [
    "a\ufffd\u0000b",
  ]);
});

Deno.test("LineFramer returns an unterminated last line at the end", () => {
  const framer = new LineFramer(100);
  assert.deepEqual(framer.push(bytes("x\ny")), ["x"]);
  assert.equal(framer.finish(), "y");
  assert.equal(framer.finish(), undefined);
});

Deno.test("LineFramer accepts a line of exactly the limit, CRLF or not", () => {
  const framer = new LineFramer(4);
  assert.deepEqual(framer.push(bytes("abcd\r\nabcd\n")), ["abcd", "abcd"]);
  assert.deepEqual(framer.push(bytes("abcd\r")), []);
  assert.deepEqual(framer.push(bytes("\n")), ["abcd"]);
});

Deno.test("LineFramer refuses a line over the limit without buffering it", () => {
  const framer = new LineFramer(4);
  assert.throws(() => framer.push(bytes("abcde\n")), LineTooLongError);
  const unfinished = new LineFramer(4);
  assert.deepEqual(unfinished.push(bytes("abc")), []);
  assert.throws(() => unfinished.push(bytes("de")), /line too long \(max 4 bytes\)/);
  assert.ok(unfinished.buffered <= 4);
});

Deno.test("LineFramer hands over the lines completed before a line that is too long", () => {
  const framer = new LineFramer(8);
  const chunk = new TextEncoder().encode("one\ntwo\r\n" + "x".repeat(20));
  try {
    framer.push(chunk);
    assert.fail("no LineTooLongError");
  } catch (error) {
    assert.ok(error instanceof LineTooLongError);
    assert.deepEqual(error.linesBefore, ["one", "two"]);
  }
});

Deno.test("LineFramer copies a long line arriving in many reads a bounded number of times, not once per read", () => {
  const LINE = 8 * 1024 * 1024;
  const READ = 16 * 1024;
  const framer = new LineFramer(LINE);
  const chunk = new Uint8Array(READ).fill(0x61);
  // Counts every byte copied into a Uint8Array while the line arrives.
  const set = Uint8Array.prototype.set;
  let copied = 0;
  Uint8Array.prototype.set = function (
    this: Uint8Array,
    source: ArrayLike<number>,
    offset?: number,
  ) {
    copied += source.length;
    return set.call(this, source, offset);
  } as typeof set;
  let lines: string[];
  try {
    for (let read = 0; read < LINE / READ; read++) assert.deepEqual(framer.push(chunk), []);
    lines = framer.push(new Uint8Array([0x0a]));
  } finally {
    Uint8Array.prototype.set = set;
  }
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.length, LINE);
  // Doubling copies each byte about twice; a copy per read would be LINE * reads / 2.
  assert.ok(copied <= 4 * LINE, `copied ${copied} bytes for a line of ${LINE}`);
});
