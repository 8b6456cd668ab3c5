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
 * current.subscribe((next) => heard.push(next.service.name));
 * current.replace({ service: reverse, specifier: "reverse", version: "builtin" });
 * assert.equal(current.version.service.name, "reverse");
 * assert.deepEqual(heard, ["reverse"]);
 * ```
 */
export class CurrentService {
  #version: ServiceVersion;
  readonly #listeners = new Set<(version: ServiceVersion) => void>();

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
   * Puts another version in force for the clients that connect from now on.
   *
   * @param version The new version, already loaded and checked.
   */
  replace(version: ServiceVersion): void {
    this.#version = version;
    for (const listener of this.#listeners) listener(version);
  }

  /**
   * Calls `listener` with each new version.
   *
   * @param listener Told of every {@link replace}.
   * @returns A function that stops the calls.
   */
  subscribe(listener: (version: ServiceVersion) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
