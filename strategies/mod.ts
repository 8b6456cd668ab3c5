/**
 * The strategies by the name `--mode` takes.
 *
 * @module
 */
import type { LogSettings } from "../lib/log.ts";
import type { Strategy } from "../lib/strategy.ts";
import { poll } from "./poll.ts";
import { single } from "./single.ts";
import { createWorkers } from "./workers.ts";

/**
 * The names `--mode` accepts.
 *
 * @example
 * ```ts
 * import { MODES } from "./mod.ts";
 *
 * console.log(MODES.join(", ")); // single, poll, workers, reuseport
 * ```
 */
export const MODES = ["single", "poll", "workers", "reuseport"] as const;
/**
 * One of {@link MODES}.
 *
 * @example
 * ```ts
 * import { createStrategy, type Mode } from "./mod.ts";
 *
 * const mode: Mode = "poll";
 * const strategy = createStrategy(mode);
 * ```
 */
export type Mode = typeof MODES[number];

/**
 * What any strategy may be tuned with.
 *
 * @example
 * ```ts
 * import { createStrategy, type StrategyOptions } from "./mod.ts";
 *
 * const options: StrategyOptions = { maxWorkers: 8, idleWorkers: 2 };
 * const workers = createStrategy("workers", options);
 * await workers.close?.();
 * ```
 */
export interface StrategyOptions {
  /** `workers`: Workers alive at once. */
  maxWorkers?: number;
  /** `workers`: ready Workers kept between clients. */
  idleWorkers?: number;
  /** `workers`: how each Worker logs. */
  log?: LogSettings;
}

/**
 * Makes the strategy for a mode. `reuseport` runs `poll` in each of its
 * Workers, each with its own listener; the Workers themselves are started by
 * `serveReusePort()` in `reuseport.ts` instead of `serve()`.
 *
 * @param mode One of {@link MODES}.
 * @param options Knobs for the strategies that have them.
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
export function createStrategy(mode: Mode, options: StrategyOptions = {}): Strategy {
  switch (mode) {
    case "single":
      return single;
    case "poll":
      return poll;
    case "workers":
      return createWorkers(options);
    case "reuseport":
      return poll;
  }
}
