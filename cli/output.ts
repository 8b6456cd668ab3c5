/**
 * What the CLI prints: whole lines, written synchronously so that they come
 * out in order and before the process exits.
 *
 * @module
 */
import { type SyncWriter, writeAllSync } from "../lib/write_all.ts";

const encoder = new TextEncoder();

/**
 * Writes one line.
 *
 * @param writer `Deno.stdout` or `Deno.stderr`.
 * @param text The line, without its newline.
 */
export function printLine(writer: SyncWriter, text: string): void {
  writeAllSync(writer, encoder.encode(`${text}\n`));
}

/**
 * Writes an error as servidor's one-line message on standard error.
 *
 * @param message What went wrong, and what to do about it.
 */
export function printError(message: string): void {
  printLine(Deno.stderr, `servidor: ${message}`);
}
