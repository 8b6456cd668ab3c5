/**
 * The version of the service that new clients get. A server started from a
 * module serves the version it loaded; with a reload, a new version takes
 * over for the clients that connect from then on, while every client already
 * connected keeps the version it started with until it leaves.
 *
 * @module
 */
import type { Service } from "./service.ts";

/**
 * One loaded version of a service, and how a Worker loads the same one.
 *
 * @example
 * ```ts
 * import type { ServiceVersion } from "./current_service.ts";
 * import { echo } from "../services/echo.ts";
 *
 * const builtIn: ServiceVersion = { service: echo, specifier: "echo", version: "builtin" };
 * ```
 */
export interface ServiceVersion {
  /** The service, loaded on this thread. */
  readonly service: Service;
  /** What a Worker passes to `loadService` for this exact version: a name or a module URL. */
  readonly specifier: string;
  /** A short hash of the module's text, or `builtin` for the built-in services. */
  readonly version: string;
}

/**
 * The version in force, and who wants to hear when it changes.
 *
 * @example
 * ```ts
 * import { CurrentService } from "./current_service.ts";
 * import { echo } from "../services/echo.ts";
 * import { reverse } from "../services/reverse.ts";
 * import assert from "node:assert/strict";
 *
 * const current = new CurrentService({ service: echo, specifier: "echo", version: "builtin" });
 * const heard: string[] = [];
 * current.subscribe((next) => void heard.push(next.service.name));
 * await current.replace({ service: reverse, specifier: "reverse", version: "builtin" });
 * assert.equal(current.version.service.name, "reverse");
 * assert.deepEqual(heard, ["reverse"]);
 * ```
 */
export class CurrentService {
  #version: ServiceVersion;
  readonly #listeners = new Set<(version: ServiceVersion) => void | Promise<void>>();

  /**
   * Starts with a version in force.
   *
   * @param version The version the server started with.
   */
  constructor(version: ServiceVersion) {
    this.#version = version;
  }

  /** The version the next client gets. */
  get version(): ServiceVersion {
    return this.#version;
  }

  /**
   * Puts another version in force for the clients that connect from now on,
   * and resolves once every listener has taken it up (the Workers of
   * `reuseport` load it), so that "in force" means everywhere.
   *
   * @param version The new version, already loaded and checked.
   */
  async replace(version: ServiceVersion): Promise<void> {
    this.#version = version;
    await Promise.allSettled([...this.#listeners].map(async (listener) => await listener(version)));
  }

  /**
   * Calls `listener` with each new version.
   *
   * @param listener Told of every {@link replace}; `replace` waits for what it returns.
   * @returns A function that stops the calls.
   */
  subscribe(listener: (version: ServiceVersion) => void | Promise<void>): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }
}
