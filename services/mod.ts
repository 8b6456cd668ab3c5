/**
 * The built-in services, by name, and the one way to load a service: by its
 * name, by the name of a service made from command-line words (`exec`), or
 * (for your own) by the URL of a module whose default export is one. A local
 * module is pinned here, on the main thread; what a Worker needs to load a
 * service lives in `registry.ts`, re-exported here.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ServiceVersion } from "../lib/current_service.ts";
import { oneLine } from "../lib/errors.ts";
import { pinModule, type PinnedModule } from "./pinned_module.ts";
import {
  HAS_SCHEME,
  importService,
  loadService,
  requireReadAccess,
  UnknownServiceError,
} from "./registry.ts";

export {
  loadService,
  SERVICE_FACTORIES,
  SERVICE_NAMES,
  type ServiceFactory,
  SERVICES,
  UnknownServiceError,
} from "./registry.ts";

/**
 * Turns what a person typed as a service into what {@link loadService}
 * takes, the same on the main thread and in a Worker: a name stays a name,
 * a URL stays a URL, and a file path (`./my_service.ts`, `/srv/x.ts`, anything
 * with a slash or a script's extension) becomes an absolute `file:` URL.
 *
 * @param value The flag's value.
 * @param cwd The directory a relative path starts from.
 *
 * @example
 * ```ts
 * import { serviceSpecifier } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(serviceSpecifier("echo", "/srv"), "echo");
 * assert.equal(serviceSpecifier("./upper.ts", "/srv"), "file:///srv/upper.ts");
 * ```
 */
export function serviceSpecifier(value: string, cwd: string = Deno.cwd()): string {
  if (HAS_SCHEME.test(value) && !isAbsolute(value)) return value;
  if (!isAbsolute(value) && !value.includes("/") && !SCRIPT_EXTENSION.test(value)) return value;
  return pathToFileURL(resolve(cwd, value)).href;
}

/** What a module file's name ends in. */
const SCRIPT_EXTENSION = /\.[cm]?[jt]sx?$/;

/**
 * A loaded version of a service, pinned when it came from a local module.
 *
 * @example
 * ```ts
 * import type { LoadedService } from "./mod.ts";
 *
 * function describe(loaded: LoadedService): string {
 *   return `${loaded.service.name} version ${loaded.version}, from ${loaded.files.length} files`;
 * }
 * ```
 */
export interface LoadedService extends ServiceVersion {
  /** The files this version was read from, the module first; none for a built-in. */
  readonly files: readonly string[];
}

/**
 * Loads a service as {@link loadService} does, and pins a local module: its
 * text and its local imports are read once, and `specifier` in the result
 * loads that exact text in any Worker, whatever happens to the files later.
 *
 * @param specifier As {@link loadService} takes it.
 * @param args The service's arguments; only a service made from them takes any.
 * @throws {UnknownServiceError} As {@link loadService} does, naming the module's file.
 *
 * @example
 * ```ts
 * import { loadServiceVersion } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const upper = await loadServiceVersion(new URL("./examples/upper.ts", import.meta.url).href);
 * assert.match(upper.version, /^[0-9a-f]{8}$/);
 * assert.match(upper.specifier, /^blob:/);
 * assert.equal((await loadServiceVersion("echo")).version, "builtin");
 * ```
 */
export async function loadServiceVersion(
  specifier: string,
  args: readonly string[] = [],
): Promise<LoadedService> {
  if (!specifier.startsWith("file:") || args.length > 0) {
    const service = await loadService(specifier, args);
    // A remote module is fetched once per process and cached by Deno: as pinned as it gets.
    const version = HAS_SCHEME.test(specifier) ? "remote" : "builtin";
    return { service, specifier, version, files: [] };
  }
  const url = new URL(specifier);
  requireReadAccess(url);
  let pinned: PinnedModule;
  try {
    pinned = await pinModule(url);
  } catch (error) {
    throw new UnknownServiceError(
      `cannot load service module ${specifier}: ${
        oneLine(error instanceof Error ? error.message : String(error))
      }`,
    );
  }
  const service = await importService(pinned.url, specifier, pinned.explain);
  return { service, specifier: pinned.url, version: pinned.version, files: pinned.files };
}
