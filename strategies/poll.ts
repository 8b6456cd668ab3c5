/**
 * `poll`: one event loop serves every client at once, the select-style
 * server. Each connection gets its own async read loop on the main thread;
 * Deno's runtime multiplexes them over epoll, so nothing blocks and no thread
 * is spent per client. A CPU-bound request, though, stalls every client.
 *
 * @module
 */
import { handleConnection, handleConnectionThen } from "../lib/handle_connection.ts";
import type { Strategy } from "../lib/strategy.ts";

/** Serves every client concurrently on the main thread's event loop. */
export const poll: Strategy = {
  name: "poll",
  sequential: false,
  handle: handleConnection,
  handleThen: handleConnectionThen,
};
