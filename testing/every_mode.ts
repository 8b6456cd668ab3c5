/**
 * One scripted conversation against a real server under every mode: the
 * promise "write a service once, and it runs unchanged under every strategy",
 * checked.
 *
 * @module
 */
import { describeError } from "../lib/errors.ts";
import type { Service } from "../lib/service.ts";
import { type Mode, MODES } from "../strategies/mod.ts";
import { reusePortProblem } from "../strategies/reuseport.ts";
import { TestClient } from "./client.ts";
import { startTestServer } from "./server.ts";

/**
 * What a script gets besides its first client.
 *
 * @example
 * ```ts
 * import type { ModeContext } from "../testing.ts";
 *
 * async function secondClient({ connect, mode }: ModeContext) {
 *   using other = await connect();
 *   console.log(`a second client under ${mode}`);
 * }
 * ```
 */
export interface ModeContext {
  /** The mode the server runs under this time. */
  readonly mode: Mode;
  /** The server's port on 127.0.0.1. */
  readonly port: number;
  /** Connects another client, closed for you when the script ends. */
  connect(): Promise<TestClient>;
}

/**
 * How {@link checkUnderEveryMode} runs.
 *
 * @example
 * ```ts
 * import type { EveryModeOptions } from "../testing.ts";
 *
 * const quick: EveryModeOptions = { modes: ["poll", "workers"], maxLine: 1024 };
 * ```
 */
export interface EveryModeOptions {
  /** The modes to run under; every mode (`single`, `poll`, `workers`, `processes`, `reuseport`) unless given. */
  modes?: readonly Mode[];
  /** The longest line a line service accepts. */
  maxLine?: number;
  /** The words after `--` for a service made from them (exec). */
  serviceArgs?: string[];
}

/**
 * A script failed under one mode or more; each failure is in {@link failures}.
 *
 * @example
 * ```ts
 * import { ModeFailures } from "../testing.ts";
 * import assert from "node:assert/strict";
 *
 * const failed = new ModeFailures("upper", [{ mode: "workers", error: new Error("no answer") }]);
 * assert.equal(failed.message, "upper failed under workers: no answer");
 * ```
 */
export class ModeFailures extends AggregateError {
  /** Each mode whose run threw, with what it threw. */
  readonly failures: ReadonlyArray<{ mode: Mode; error: unknown }>;

  /**
   * Gathers the failures into one error whose message names each mode.
   *
   * @param service The service's name or module, for the message.
   * @param failures Each mode whose run threw, with what it threw.
   */
  constructor(service: string, failures: ReadonlyArray<{ mode: Mode; error: unknown }>) {
    super(
      failures.map((failure) => failure.error),
      `${service} failed under ${
        failures.map(({ mode, error }) => `${mode}: ${describeError(error)}`).join("; under ")
      }`,
    );
    this.name = "ModeFailures";
    this.failures = failures;
  }
}

/**
 * Runs the same scripted conversation against a real server under each mode,
 * one after another: a fresh server on a free loopback port, a fresh client,
 * then the script. Every mode runs even when one fails.
 *
 * @param service A built-in's name, the path or URL of your service's module
 *   (Workers load it from there), or a built-in service itself.
 * @param script Talks to the server through `client`, and asserts; what it
 *   returns is collected by mode. More clients come from `context.connect()`.
 * @param options Which modes, and limits.
 * @returns What the script returned, by mode.
 * @throws {ModeFailures} When the script threw under any mode, naming each.
 *
 * @example Your own service under every mode
 * ```ts
 * import { checkUnderEveryMode } from "../testing.ts";
 * import assert from "node:assert/strict";
 *
 * await checkUnderEveryMode(new URL("../services/examples/upper.ts", import.meta.url), async (client) => {
 *   await client.send("hola\n/count\n");
 *   assert.equal(await client.readLine(), "HOLA");
 *   assert.equal(await client.readLine(), "2 lines so far");
 * });
 * ```
 *
 * @example Two clients, and a result per mode
 * ```ts
 * import { checkUnderEveryMode } from "../testing.ts";
 * import assert from "node:assert/strict";
 *
 * const greetings = await checkUnderEveryMode("chat", async (ana, { connect }) => {
 *   const welcome = await ana.readLine();
 *   const ben = await connect();
 *   await ben.readLine();
 *   assert.match((await ana.readLine())!, /joined$/);
 *   await ben.send("hola\n");
 *   assert.match((await ana.readLine())!, /^<guest\d+> hola$/);
 *   return welcome;
 * }, { modes: ["poll", "workers"] });
 * assert.match(greetings.workers!, /^\* welcome/);
 * ```
 */
export async function checkUnderEveryMode<T>(
  service: string | URL | Service,
  script: (client: TestClient, context: ModeContext) => Promise<T>,
  options: EveryModeOptions = {},
): Promise<{ [mode in Mode]?: T }> {
  const modes = options.modes ?? MODES;
  const results: { [mode in Mode]?: T } = {};
  const failures: Array<{ mode: Mode; error: unknown }> = [];
  for (const mode of modes) {
    try {
      if (mode === "reuseport") {
        const problem = reusePortProblem();
        if (problem) throw new Error(problem);
      }
      results[mode] = await runOnce(mode, service, script, options);
    } catch (error) {
      failures.push({ mode, error });
    }
  }
  if (failures.length > 0) {
    const name = typeof service === "object" && !(service instanceof URL)
      ? service.name
      : String(service);
    throw new ModeFailures(name, failures);
  }
  return results;
}

async function runOnce<T>(
  mode: Mode,
  service: string | URL | Service,
  script: (client: TestClient, context: ModeContext) => Promise<T>,
  options: EveryModeOptions,
): Promise<T> {
  await using server = await startTestServer({
    mode,
    service,
    maxLine: options.maxLine,
    serviceArgs: options.serviceArgs,
  });
  const clients: TestClient[] = [];
  const connect = async () => {
    const client = await TestClient.connect(server.port);
    clients.push(client);
    return client;
  };
  try {
    return await script(await connect(), { mode, port: server.port, connect });
  } finally {
    for (const client of clients) client.close();
  }
}
