/**
 * `echo` (RFC 862): every byte the client sends comes back unchanged.
 *
 * @module
 */
import type { ByteService } from "../lib/service.ts";

/**
 * Sends back what it receives.
 *
 * @example
 * ```ts
 * import { echo } from "./echo.ts";
 * import { createStrategy, serve } from "../mod.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const stop = new AbortController();
 * const served = serve({ listener, strategy: createStrategy("poll"), service: echo, shutdown: stop.signal });
 * stop.abort();
 * await served;
 * ```
 */
export const echo: ByteService = {
  name: "echo",
  description: "RFC 862: sends back every byte it receives",
  framing: "bytes",
  handlersOnly: true,
  data: (session, chunk) => session.send(chunk),
};
