/**
 * A daemon's PID file: the process id, in a file a supervisor or a script
 * reads to signal the server (`kill -HUP $(cat servidor.pid)`).
 *
 * It is written once the server listens, so a script that waits for the
 * file finds a server that takes clients, and it is removed when the server
 * stops, so that it never names a process that is gone, or a different one
 * that was given the same id later.
 *
 * @module
 */
import { describeError } from "./errors.ts";

/**
 * The PID file cannot be written; the message is one sentence naming the file.
 *
 * @example
 * ```ts
 * import { PidFile, PidFileError } from "./pid_file.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => PidFile.write("/no/such/directory/servidor.pid"), PidFileError);
 * ```
 */
export class PidFileError extends Error {
  /**
   * Makes the error.
   *
   * @param message One sentence naming the file and the reason.
   * @param options The underlying error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PidFileError";
  }
}

/**
 * This process's PID file, from {@link PidFile.write} until {@link PidFile.remove}.
 *
 * @example
 * ```ts
 * import { PidFile } from "./pid_file.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = Deno.makeTempDirSync();
 * {
 *   using pidFile = PidFile.write(`${dir}/servidor.pid`);
 *   assert.equal(Deno.readTextFileSync(pidFile.path), `${Deno.pid}\n`);
 * }
 * assert.throws(() => Deno.statSync(`${dir}/servidor.pid`), Deno.errors.NotFound);
 * Deno.removeSync(dir);
 * ```
 */
export class PidFile implements Disposable {
  /** Where the file is. */
  readonly path: string;
  #removed = false;

  private constructor(path: string) {
    this.path = path;
  }

  /**
   * Writes this process's id and a newline to `path`, replacing any file
   * there. The file is written beside its final name and renamed into place,
   * so a reader never sees it half written.
   *
   * @param path The file.
   * @throws {PidFileError} When it cannot be written.
   */
  static write(path: string): PidFile {
    const partial = `${path}.${Deno.pid}.partial`;
    try {
      Deno.writeTextFileSync(partial, `${Deno.pid}\n`);
      Deno.renameSync(partial, path);
    } catch (error) {
      try {
        Deno.removeSync(partial);
      } catch {
        // Nothing was written, or it cannot be removed either; the first error says why.
      }
      throw new PidFileError(`cannot write the PID file ${path}: ${reason(error)}`, {
        cause: error,
      });
    }
    return new PidFile(path);
  }

  /**
   * Removes the file if it still names this process: a second server that
   * was started with the same path owns it now. Safe to call more than once;
   * it never throws, because it runs while the process is on its way out.
   */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    try {
      if (Deno.readTextFileSync(this.path).trim() === String(Deno.pid)) Deno.removeSync(this.path);
    } catch {
      // Already gone, or no longer ours to read: either way there is nothing to undo.
    }
  }

  /** Removes the file; see {@link PidFile.remove}. */
  [Symbol.dispose](): void {
    this.remove();
  }
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "its directory does not exist";
  if (error instanceof Deno.errors.NotCapable) {
    return "no write access to it (run deno with --allow-write)";
  }
  return describeError(error);
}
