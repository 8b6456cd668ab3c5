/**
 * A testing kit for people who write services, like oak's `testing` or
 * Deno's `@std/testing`: drive a service with no socket at all, or run one
 * scripted conversation against a real server under every mode.
 *
 * ```ts
 * import { checkUnderEveryMode, openTestSession } from "./testing.ts";
 * import { reverse } from "./services/reverse.ts";
 * import assert from "node:assert/strict";
 *
 * // In memory: no socket, no port, instant.
 * await using client = openTestSession(reverse);
 * await client.send("hola\n");
 * assert.equal(await client.readLine(), "aloh");
 *
 * // On the wire, under single, poll, workers, processes and reuseport.
 * await checkUnderEveryMode("reverse", async (client) => {
 *   await client.send("hola\n");
 *   assert.equal(await client.readLine(), "aloh");
 * });
 * ```
 *
 * See docs/services.md for a complete test file to copy.
 *
 * @module
 */
export { openTestSession, type TestSession, type TestSessionOptions } from "./testing/session.ts";
export {
  checkUnderEveryMode,
  type EveryModeOptions,
  type ModeContext,
  ModeFailures,
} from "./testing/every_mode.ts";
export { TestClient } from "./testing/client.ts";
export { ChunkReader, type ServiceClient } from "./testing/reader.ts";
export { startTestServer, type TestServer, type TestServerOptions } from "./testing/server.ts";
