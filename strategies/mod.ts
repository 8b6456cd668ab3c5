/**
 * The strategies by name, and the modes: each strategy, and `reuseport`.
 *
 * @module
 */
import type { Strategy } from "../lib/strategy.ts";
import { poll } from "./poll.ts";
import { single } from "./single.ts";
import { createProcesses, type ProcessesOptions } from "./processes.ts";
import { createWorkers, type WorkersOptions } from "./workers.ts";

/**
 * Every mode a server can run in.
 *
 * @example
 * ```ts
 * import { MODES } from "./mod.ts";
 *
 * console.log(MODES.join(", ")); // single, poll, workers, processes, reuseport
 * ```
 */
export const MODES = ["single", "poll", "workers", "processes", "reuseport"] as const;
/**
 * One of {@link MODES}.
 *
 * @example
 * ```ts
 * import { type Mode, MODES } from "./mod.ts";
 *
 * const mode: Mode = "poll";
 * console.log(MODES.includes(mode));
 * ```
 */
export type Mode = typeof MODES[number];

/**
 * The modes that are one server with one strategy. `reuseport` is not one:
 * it is a topology of N `poll` servers, reached through `serveMode()`.
 */
export type StrategyName = Exclude<Mode, "reuseport">;

/** What {@link createStrategy} takes besides the name: the bounds of `workers` and `processes`. */
export interface StrategyOptions extends WorkersOptions, ProcessesOptions {
  /**
   * The service as a `processes` child loads it: a built-in name, `exec`, or
   * a module's URL. `processes` needs it; the others load nothing.
   */
  service?: string;
}

/**
 * Makes the strategy for a one-loop mode.
 *
 * @param name `single`, `poll`, `workers` or `processes`.
 * @param options The `workers` and `processes` strategies' bounds; the others have none.
 *
 * @example
 * ```ts
 * import { createStrategy } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(createStrategy("single").sequential, true);
 * assert.equal(createStrategy("poll").sequential, false);
 * ```
 */
export function createStrategy(name: StrategyName, options: StrategyOptions = {}): Strategy {
  switch (name) {
    case "single":
      return single;
    case "poll":
      return poll;
    case "workers":
      return createWorkers(options);
    case "processes":
      if (options.service === undefined) {
        throw new TypeError("processes needs the service its children load, by name or module");
      }
      return createProcesses(options, options.service);
  }
}
