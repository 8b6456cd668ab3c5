/**
 * The `--bus` flag's value: which bus a server's chat joins.
 *
 * @module
 */
import type { BusSpec } from "../lib/chat/open_bus.ts";
import { InvalidValue } from "./flag.ts";

/**
 * Reads `local` (alone), or `redis://HOST:PORT` for a room shared through Redis.
 *
 * @param value What was given.
 * @throws {InvalidValue} For anything else.
 *
 * @example
 * ```ts
 * import { busSpec } from "./bus.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(busSpec("redis://127.0.0.1:6379"), {
 *   kind: "redis",
 *   url: "redis://127.0.0.1:6379",
 * });
 * ```
 */
export function busSpec(value: string): BusSpec {
  if (value === "local") return { kind: "local" };
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== "redis:" || url.hostname === "") {
    throw new InvalidValue("expected local or redis://HOST:PORT");
  }
  return { kind: "redis", url: value };
}
