/**
 * The built-in services, by name, and the one way to load a service: by its
 * name, or (for your own) by the URL or path of a module that exports one.
 *
 * @module
 */
import { type Service, serviceProblems } from "../lib/service.ts";
import { chargen } from "./chargen.ts";
import { chat } from "./chat.ts";
import { compute } from "./compute.ts";
import { daytime } from "./daytime.ts";
import { discard } from "./discard.ts";
import { echo } from "./echo.ts";
import { reverse } from "./reverse.ts";

/** Every built-in service, by the name `--service` takes. */
export const SERVICES: Readonly<Record<string, Service>> = Object.freeze({
  echo,
  discard,
  daytime,
  chargen,
  reverse,
  chat,
  compute,
});

/** A service name or module that cannot be used, with the reason. */
export class UnknownServiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownServiceError";
  }
}

/**
 * Finds a built-in service by name, or imports a module's default export.
 *
 * @param specifier A built-in name like `echo`, or a module URL (`file:`, `https:`).
 * @throws {UnknownServiceError} For an unknown name, a module that fails to
 *   load, or one whose default export is not a service.
 */
export async function loadService(specifier: string): Promise<Service> {
  const builtIn = Object.hasOwn(SERVICES, specifier) ? SERVICES[specifier] : undefined;
  if (builtIn) return builtIn;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(specifier)) {
    throw new UnknownServiceError(
      `unknown service "${specifier}"; known services: ${Object.keys(SERVICES).join(", ")}`,
    );
  }
  let module: Record<string, unknown>;
  try {
    module = await import(specifier);
  } catch (error) {
    throw new UnknownServiceError(
      `cannot load service module ${specifier}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const problems = serviceProblems(module.default);
  if (problems.length > 0) {
    throw new UnknownServiceError(
      `${specifier} does not export a valid service as default: it needs ${problems.join(", ")}`,
    );
  }
  return module.default as Service;
}
