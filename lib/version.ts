/**
 * servidor's version, read from `deno.json` so that there is one place to
 * change it: `deno publish`, the CLI's version command and the installed command
 * all agree.
 *
 * @module
 */
import config from "../deno.json" with { type: "json" };

/**
 * The version in `deno.json`, e.g. `0.1.0`.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 */
export const VERSION: string = config.version;
