/**
 * The test helpers, split by concern into `tests/_helpers/`: `cli.ts` (the CLI
 * in a process of its own), `tools.ts` (real programs the tests drive),
 * `tls.ts`, `redis.ts`, `chat.ts`, `proc.ts` and `modes.ts`. The server and
 * client come from the testing kit, `../testing.ts`. Import from those
 * files; this one only keeps branches written before the split compiling.
 *
 * @module
 */
export * from "./_helpers/chat.ts";
export * from "./_helpers/cli.ts";
export * from "./_helpers/modes.ts";
export * from "./_helpers/proc.ts";
export * from "./_helpers/redis.ts";
export * from "./_helpers/tls.ts";
export * from "./_helpers/tools.ts";
export { makeTestCertificate, type TestCertificate } from "../lib/test_certificate.ts";
export {
  startTestServer as startServer,
  TestClient,
  type TestServer,
  type TestServerOptions,
} from "../testing.ts";
