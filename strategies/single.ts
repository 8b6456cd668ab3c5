/**
 * `single`: one client at a time. The accept loop waits for each client to
 * leave before it accepts the next, so the others wait in the kernel's listen
 * backlog, connected but unanswered. It is the seed's first server: the
 * simplest correct one, and the baseline the others are measured against.
 *
 * @module
 */
import { handleConnection } from "../lib/handle_connection.ts";
import type { Strategy } from "../lib/strategy.ts";

/** Serves one client at a time on the main thread. */
export const single: Strategy = {
  name: "single",
  sequential: true,
  handle: handleConnection,
};
