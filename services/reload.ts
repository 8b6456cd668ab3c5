/**
 * Reloading a service: a service module replaced while the server runs, as
 * Erlang/OTP swaps code under live connections. The module and the local
 * modules it imports are watched; on a change, or when asked (SIGHUP), the
 * new text is pinned, loaded and checked, and only then put in force for the
 * clients that connect from then on. Clients already connected keep the
 * version they started with until they leave. A version that fails to load,
 * or is not a service, is refused with the file and the reason in the log,
 * and the version in force stays.
 *
 * @module
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CurrentService } from "../lib/current_service.ts";
import { describeError } from "../lib/errors.ts";
import { logger } from "../lib/log.ts";
import { type LoadedService, loadServiceVersion } from "./mod.ts";

const log = logger("service");

/**
 * How long the files must stay quiet after a change before the new version
 * is read. An editor's save is several events (truncate, write, rename);
 * reading after the first would find a half-written file.
 */
const SETTLE_MS = 100;

/**
 * Keeps the version new clients get up to date with a module on disk.
 *
 * @example
 * ```ts
 * import { loadServiceVersion } from "./mod.ts";
 * import { ServiceReloader } from "./reload.ts";
 * import assert from "node:assert/strict";
 *
 * const specifier = new URL("./examples/upper.ts", import.meta.url).href;
 * const reloader = new ServiceReloader(specifier, await loadServiceVersion(specifier));
 * // Nothing changed on disk: the version in force stays.
 * assert.equal(await reloader.reload("asked"), false);
 * assert.equal(reloader.current.version.service.name, "upper");
 * ```
 */
export class ServiceReloader {
  /** The version each new client gets; give it to `serve()` or `serveReusePort()`. */
  readonly current: CurrentService;
  readonly #specifier: string;
  readonly #path: string;
  #files: readonly string[];
  #reloading: Promise<boolean> = Promise.resolve(false);
  #rewatch: (() => void) | undefined;

  /**
   * Starts from the version the server loaded.
   *
   * @param specifier The module's `file:` URL, read again on each reload.
   * @param loaded The version loaded at start.
   */
  constructor(specifier: string, loaded: LoadedService) {
    this.#specifier = specifier;
    this.#path = fileURLToPath(specifier);
    this.#files = loaded.files;
    this.current = new CurrentService(loaded);
  }

  /**
   * Reads the module again and, if it changed and is a valid service, puts
   * the new version in force. Reloads run one after another.
   *
   * @param why What asked for it, for the log: `SIGHUP`, `a change on disk`.
   * @returns Whether a new version is now in force.
   */
  reload(why: string): Promise<boolean> {
    this.#reloading = this.#reloading.then(() => this.#reload(why));
    return this.#reloading;
  }

  async #reload(why: string): Promise<boolean> {
    const old = this.current.version.version;
    let loaded: LoadedService;
    try {
      loaded = await loadServiceVersion(this.#specifier);
    } catch (error) {
      log.warn("service {path} ({why}) refused, version {old} stays: {reason}", {
        path: this.#path,
        why,
        old,
        reason: describeError(error),
      });
      return false;
    }
    if (loaded.version === old) {
      log.info("service {path} ({why}) unchanged at version {old}", {
        path: this.#path,
        why,
        old,
      });
      return false;
    }
    const watchedBefore = this.#files.join("\n");
    this.#files = loaded.files;
    await this.current.replace(loaded);
    log.info("service {path} ({why}) version {old} -> {version}: new clients get {version}", {
      path: this.#path,
      why,
      old,
      version: loaded.version,
    });
    // A version that imports other local files is watched through those.
    if (loaded.files.join("\n") !== watchedBefore) this.#rewatch?.();
    return true;
  }

  /**
   * Watches the module and its local imports until `signal` aborts, and
   * reloads once the files have been quiet for a moment after a change.
   * Directories are watched rather than files, so a file replaced by a
   * rename (as many editors save) is still seen.
   *
   * @param signal Aborted when the server stops.
   */
  watch(signal: AbortSignal): void {
    let watcher: Deno.FsWatcher | undefined;
    let settle: ReturnType<typeof setTimeout> | undefined;
    const start = () => {
      const files = new Set(this.#files);
      const directories = [...new Set(this.#files.map((file) => dirname(file)))];
      try {
        watcher = Deno.watchFs(directories, { recursive: false });
      } catch (error) {
        log.error("cannot watch {path} for changes: {reason}", {
          path: this.#path,
          reason: describeError(error),
        });
        return;
      }
      const current = watcher;
      void (async () => {
        try {
          for await (const event of current) {
            if (event.kind === "access" || !event.paths.some((path) => files.has(path))) continue;
            clearTimeout(settle);
            settle = setTimeout(() => void this.reload("changed on disk"), SETTLE_MS);
          }
        } catch (error) {
          if (error instanceof Deno.errors.BadResource) return;
          log.error("watching {path} for changes failed: {reason}", {
            path: this.#path,
            reason: describeError(error),
          });
        }
      })();
    };
    const stop = () => {
      clearTimeout(settle);
      try {
        watcher?.close();
      } catch (error) {
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
    };
    this.#rewatch = () => {
      stop();
      if (!signal.aborted) start();
    };
    if (signal.aborted) return;
    signal.addEventListener("abort", () => {
      this.#rewatch = undefined;
      stop();
    }, { once: true });
    start();
  }
}
