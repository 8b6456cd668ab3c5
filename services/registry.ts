/**
 * The built-in services, by name, and loading a service by its name, by the
 * name of a service made from command-line words (`exec`), or by the URL of
 * a module. This is all a Worker needs, so it imports nothing from Node:
 * pinning local modules and turning paths into URLs happen on the main
 * thread, in `mod.ts`, which re-exports everything here.
 *
 * @module
 */
import { oneLine, SettingError } from "../lib/errors.ts";
import { type Service, serviceProblems } from "../lib/service.ts";
import { createExecService, programProblem } from "./exec.ts";
import { chargen } from "./chargen.ts";
import { chat } from "./chat.ts";
import { compute } from "./compute.ts";
import { daytime } from "./daytime.ts";
import { discard } from "./discard.ts";
import { echo } from "./echo.ts";
import { reverse } from "./reverse.ts";

/**
 * Every built-in service, by name.
 *
 * @example
 * ```ts
 * import { SERVICES } from "./mod.ts";
 *
 * for (const service of Object.values(SERVICES)) console.log(service.name, service.description);
 * ```
 */
export const SERVICES: Readonly<Record<string, Service>> = Object.freeze({
  echo,
  discard,
  daytime,
  chargen,
  reverse,
  chat,
  compute,
});

/**
 * Makes a service from arguments (exec's command and its own arguments).
 *
 * @param args The words; a factory throws {@link UnknownServiceError} when they do not fit.
 *
 * @example
 * ```ts
 * import type { ServiceFactory } from "./mod.ts";
 * import { createExecService, programProblem } from "./exec.ts";
 *
 * const fromWords: ServiceFactory = ([command = "cat", ...args]) => createExecService(command, args);
 * ```
 */
export type ServiceFactory = (args: readonly string[]) => Service;

/**
 * Services made from arguments (exec's command), by name.
 *
 * @example
 * ```ts
 * import { SERVICE_FACTORIES } from "./mod.ts";
 *
 * console.log(Object.keys(SERVICE_FACTORIES)); // ["exec"]
 * ```
 */
export const SERVICE_FACTORIES: Readonly<Record<string, ServiceFactory>> = Object.freeze({
  exec: (args: readonly string[]) => {
    const [command, ...rest] = args;
    if (command === undefined) {
      throw new UnknownServiceError("exec needs a command to run, e.g. cat");
    }
    if (Deno.permissions.querySync({ name: "run", command }).state !== "granted") {
      throw new UnknownServiceError(
        `exec needs permission to run ${command}: run deno with --allow-run`,
      );
    }
    // A program that cannot be found would fail every client; say so now, once.
    const problem = programProblem(command);
    if (problem !== undefined) throw new UnknownServiceError(`exec: ${problem}`);
    return createExecService(command, rest);
  },
});

/**
 * Every service name, built-ins first.
 *
 * @example
 * ```ts
 * import { SERVICE_NAMES } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(SERVICE_NAMES.includes("echo") && SERVICE_NAMES.includes("exec"));
 * ```
 */
export const SERVICE_NAMES: readonly string[] = [
  ...Object.keys(SERVICES),
  ...Object.keys(SERVICE_FACTORIES),
];

/**
 * A service name or module that cannot be used, with the reason.
 *
 * @example
 * ```ts
 * import { loadService, UnknownServiceError } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(loadService("nope"), UnknownServiceError);
 * ```
 */
export class UnknownServiceError extends SettingError {
  /**
   * Makes the error.
   *
   * @param message One sentence naming the service and what is wrong.
   */
  constructor(message: string) {
    super("service", message);
    this.name = "UnknownServiceError";
  }
}

/**
 * A URL's scheme, as in `file:` or `https:`.
 *
 * @example
 * ```ts
 * import { HAS_SCHEME } from "./registry.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(HAS_SCHEME.test("file:///srv/upper.ts") && !HAS_SCHEME.test("echo"));
 * ```
 */
export const HAS_SCHEME: RegExp = /^[a-z][a-z0-9+.-]*:/i;

/**
 * Finds a built-in service by name, makes one from command-line words, or
 * imports a module's default export.
 *
 * @param specifier A built-in name like `echo`, `exec`, or a module URL
 *   (`file:`, `https:`); see {@link serviceSpecifier} for paths.
 * @param args The service's arguments; only a service made from them takes any.
 * @throws {UnknownServiceError} For an unknown name, a module that fails to
 *   load, or one whose default export is not a service.
 *
 * @example
 * ```ts
 * import { loadService } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal((await loadService("echo")).framing, "bytes");
 * ```
 */
export async function loadService(
  specifier: string,
  args: readonly string[] = [],
): Promise<Service> {
  const factory = Object.hasOwn(SERVICE_FACTORIES, specifier)
    ? SERVICE_FACTORIES[specifier]
    : undefined;
  if (factory) return factory(args);
  if (args.length > 0) {
    throw new UnknownServiceError(
      `${specifier} takes no arguments; only ${Object.keys(SERVICE_FACTORIES).join(", ")} does`,
    );
  }
  const builtIn = Object.hasOwn(SERVICES, specifier) ? SERVICES[specifier] : undefined;
  if (builtIn) return builtIn;
  if (!HAS_SCHEME.test(specifier)) {
    throw new UnknownServiceError(
      `unknown service "${specifier}"; known services: ${
        SERVICE_NAMES.join(", ")
      }, or the path of your own module`,
    );
  }
  requireReadAccess(new URL(specifier));
  return await importService(specifier, specifier);
}
/**
 * Reading a local module needs read access, which a Worker needs too.
 *
 * @param url The module.
 * @throws {UnknownServiceError} Without read access to a `file:` URL, saying what to run.
 */
export function requireReadAccess(url: URL): void {
  if (
    url.protocol === "file:" &&
    Deno.permissions.querySync({ name: "read", path: url }).state !== "granted"
  ) {
    throw new UnknownServiceError(
      `loading the service module ${url.pathname} needs read access: run deno with --allow-read`,
    );
  }
}

/**
 * Imports a module and checks that its default export is a service.
 *
 * @param url What to import.
 * @param shownAs The module as messages name it.
 * @param explain Rewrites an error's message to name files rather than pinned URLs.
 */
export async function importService(
  url: string,
  shownAs: string,
  explain: (message: string) => string = (message) => message,
): Promise<Service> {
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (error) {
    throw new UnknownServiceError(
      `cannot load service module ${shownAs}: ${
        oneLine(explain(error instanceof Error ? error.message : String(error)))
      }`,
    );
  }
  if (module.default === undefined) {
    const named = Object.keys(module).filter((name) => serviceProblems(module[name]).length === 0);
    throw new UnknownServiceError(
      `${shownAs} has no default export: end it with \`export default ${
        named[0] ?? "yourService"
      };\``,
    );
  }
  const problems = serviceProblems(module.default);
  if (problems.length > 0) {
    throw new UnknownServiceError(
      `${shownAs} does not export a valid service as default: it needs ${problems.join(", ")}`,
    );
  }
  return module.default as Service;
}
