/**
 * `writeAll` is servidor's `sendall`: a single `write` may accept only part of
 * the bytes it is given, so every write in the project loops here until the
 * last byte is taken or the peer is gone.
 *
 * @module
 */

/**
 * Anything with a `write` that may take fewer bytes than offered, like `Deno.Conn`.
 *
 * @example
 * ```ts
 * import { writeAll, type Writer } from "./write_all.ts";
 *
 * const chunks: Uint8Array[] = [];
 * const collector: Writer = {
 *   write(bytes) {
 *     chunks.push(bytes.slice());
 *     return Promise.resolve(bytes.byteLength);
 *   },
 * };
 * await writeAll(collector, new TextEncoder().encode("hola"));
 * ```
 */
export interface Writer {
  /**
   * Writes some of `bytes` and says how many it took: as a number when it
   * took them at once (a `node:net` socket whose kernel buffer had room),
   * else as a promise, like `Deno.Conn`.
   */
  write(bytes: Uint8Array): number | Promise<number>;
}

/**
 * What knows the name of the peer a write goes to, e.g. a `Connection`: the
 * name is asked for only when an error needs it, so a client that is never
 * refused a write never has its address formatted for one.
 */
export interface Named {
  /** The peer's name, e.g. `127.0.0.1:51234`. */
  readonly peer: string;
}

/** Anything with a synchronous `writeSync`, like `Deno.stderr`. */
export interface SyncWriter {
  writeSync(bytes: Uint8Array): number;
}

/**
 * A write that failed part-way: it names the peer and how far it got.
 *
 * @example
 * ```ts
 * import { writeAll, WriteError } from "./write_all.ts";
 * import assert from "node:assert/strict";
 *
 * const broken = { write: () => Promise.reject(new Deno.errors.BrokenPipe("gone")) };
 * await assert.rejects(writeAll(broken, new Uint8Array(3), "127.0.0.1:5000"), WriteError);
 * ```
 */
export class WriteError extends Error {
  /** Bytes that had been written before the failure. */
  readonly written: number;

  /**
   * Makes the error for a write that failed part-way.
   *
   * @param message Names the peer and the failure.
   * @param written Bytes written before the failure.
   * @param options The original error as `cause`.
   */
  constructor(message: string, written: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "WriteError";
    this.written = written;
  }
}

/**
 * Writes every byte of `bytes` to `writer`, calling `write` as often as it takes.
 *
 * @param writer Where the bytes go.
 * @param bytes What to write; it is not copied, so it must not change until the promise settles.
 * @param peer Named in the error if a write fails, e.g. `"127.0.0.1:51234"`.
 * @returns Resolves once the writer has taken the last byte.
 * @throws {WriteError} When a write fails or takes no bytes; the cause is the original error.
 *
 * @example Write to a writer that takes two bytes a call
 * ```ts
 * import { writeAll } from "./write_all.ts";
 * import assert from "node:assert/strict";
 *
 * const taken: number[] = [];
 * const twoAtATime = {
 *   write(bytes: Uint8Array) {
 *     const n = Math.min(2, bytes.byteLength);
 *     taken.push(...bytes.subarray(0, n));
 *     return Promise.resolve(n);
 *   },
 * };
 * await writeAll(twoAtATime, new Uint8Array([1, 2, 3, 4, 5]));
 * assert.deepEqual(taken, [1, 2, 3, 4, 5]);
 * ```
 */
export function writeAll(writer: Writer, bytes: Uint8Array, peer = "peer"): Promise<void> {
  return writeRest(writer, bytes, peer, undefined);
}

/**
 * {@link writeAll} for the common case of a reply that the writer takes
 * whole and at once: then it returns `undefined`, with no promise and no
 * async function made, which at tens of thousands of replies a second is
 * a good part of a server's own work. Otherwise it returns what `writeAll`
 * would, continuing where the first write left off.
 *
 * @param writer Where the bytes go.
 * @param bytes What to write; it is not copied, so it must not change until a returned promise settles.
 * @param peer Named in the error if a write fails, e.g. `"127.0.0.1:51234"`; or
 *   what knows that name (a `Connection`), asked only if a write fails.
 * @returns `undefined` once every byte is taken, else a promise that resolves then.
 * @throws {WriteError} Never synchronously: a failure rejects the promise returned.
 *
 * @example
 * ```ts
 * import { writeAllNow } from "./write_all.ts";
 * import assert from "node:assert/strict";
 *
 * // A writer with room for everything, like a socket whose kernel buffer is empty.
 * const taken: number[] = [];
 * const roomy = {
 *   write(bytes: Uint8Array): number {
 *     taken.push(...bytes);
 *     return bytes.byteLength;
 *   },
 * };
 * assert.equal(writeAllNow(roomy, new Uint8Array([1, 2, 3])), undefined);
 * assert.deepEqual(taken, [1, 2, 3]);
 * ```
 */
export function writeAllNow(
  writer: Writer,
  bytes: Uint8Array,
  peer: string | Named = "peer",
): Promise<void> | undefined {
  if (bytes.byteLength === 0) return undefined;
  let first: number | Promise<number>;
  try {
    first = writer.write(bytes);
  } catch (error) {
    // Reported as writeAll reports it, by the loop below.
    first = Promise.reject(error);
  }
  if (first === bytes.byteLength) return undefined;
  return writeRest(writer, bytes, peer, first);
}

/**
 * The one loop behind {@link writeAll} and {@link writeAllNow}.
 *
 * @param first What a first write already under way returned, if one is.
 */
async function writeRest(
  writer: Writer,
  bytes: Uint8Array,
  peer: string | Named,
  first: number | Promise<number> | undefined,
): Promise<void> {
  let written = 0;
  let underWay = first;
  while (written < bytes.byteLength) {
    let n: number;
    try {
      n = await (underWay ?? writer.write(written === 0 ? bytes : bytes.subarray(written)));
    } catch (error) {
      throw new WriteError(
        `write to ${nameOf(peer)} failed after ${written} of ${bytes.byteLength} bytes`,
        written,
        { cause: error },
      );
    }
    underWay = undefined;
    if (n <= 0) {
      throw new WriteError(`write to ${nameOf(peer)} took no bytes`, written);
    }
    written += n;
  }
}

/** The peer's name, asked of what knows it only now that an error needs it. */
function nameOf(peer: string | Named): string {
  return typeof peer === "string" ? peer : peer.peer;
}

/**
 * The synchronous twin of {@link writeAll}, for log lines on standard error.
 *
 * @param writer Where the bytes go.
 * @param bytes What to write.
 *
 * @example
 * ```ts
 * import { writeAllSync } from "./write_all.ts";
 *
 * writeAllSync(Deno.stderr, new TextEncoder().encode(""));
 * ```
 */
export function writeAllSync(writer: SyncWriter, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.byteLength) {
    const n = writer.writeSync(bytes.subarray(written));
    if (n <= 0) throw new WriteError("synchronous write took no bytes", written);
    written += n;
  }
}
