/**
 * Builds the committed Worker bundles, or with `--check` says whether they
 * are up to date.
 *
 * Deno loads a Worker's module the way it loads a dynamic import, which
 * needs read access even for a file `main.ts` could import freely. A Worker
 * started from a `blob:` URL needs none, so each Worker entry is bundled
 * into one JavaScript file, committed under `strategies/_bundled/`, that the
 * strategies import as text and start from a `blob:` URL. That is what lets
 * `deno run --allow-net main.ts --mode=workers` (and the compiled binary)
 * run without `--allow-read`.
 *
 *     deno task bundle          # rebuild strategies/_bundled/*.js
 *     deno task bundle --check  # fail, naming the command, if one is stale
 *
 * @module
 */

/** Each Worker entry and the bundle made from it, relative to the repository. */
export const BUNDLES: ReadonlyArray<{ entry: string; output: string }> = [
  { entry: "strategies/worker_main.ts", output: "strategies/_bundled/worker_main.js" },
  { entry: "strategies/reuseport_worker.ts", output: "strategies/_bundled/reuseport_worker.js" },
  // Not a Worker: a `processes` child, which starts in half the time from one file with no npm to resolve.
  { entry: "strategies/processes/child.ts", output: "strategies/_bundled/process_child.js" },
];

/** The command that rebuilds every bundle, as a stale one's error names it. */
export const REBUILD_COMMAND = "deno task bundle";

const ROOT = new URL("../", import.meta.url);

/**
 * LogTape imports `node:util` for Node, but under Deno it formats values with
 * `Deno.inspect` and never calls it. Any `node:` import makes a Worker load
 * Deno's Node compatibility layer, about 2 MiB of memory per Worker, so the
 * bundle points that one import at `Deno.inspect` instead. If LogTape's code
 * changes, the build fails here rather than silently loading Node again.
 */
const NODE_UTIL_IMPORT = 'import util from "node:util";';
const NODE_UTIL_STAND_IN =
  "const util = { inspect: (value, options) => Deno.inspect(value, options) };";

/**
 * esbuild gives CommonJS code (the Redis client's) a `require` made with
 * Node's `createRequire(import.meta.url)`, which insists on a `file:` URL and
 * throws on the `blob:` URL a Worker runs from. Everything the bundle still
 * requires is one of Node's built-ins, which resolve from any base, so the
 * base becomes the file system's root. {@link OPTIONAL_REQUIRES} are looked
 * for inside a `try` and may be missing; any other require fails the build.
 */
const CREATE_REQUIRE = "__deno_internal_createRequire(import.meta.url)";
const CREATE_REQUIRE_FROM_ROOT = '__deno_internal_createRequire("file:///")';
const OPTIONAL_REQUIRES = ["@opentelemetry/api"];

/** Bundles one entry and returns the text the committed file should hold. */
async function bundle(entry: string): Promise<string> {
  const directory = await Deno.makeTempDir({ prefix: "servidor-bundle-" });
  try {
    const output = `${directory}/bundle.js`;
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform=deno", "--output", output, entry],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) {
      throw new Error(`deno bundle ${entry} failed:\n${new TextDecoder().decode(stderr)}`);
    }
    return normalize(entry, await Deno.readTextFile(output));
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

/**
 * Makes a bundle the same on every machine and says where it came from.
 * esbuild names each inlined module in a comment, and each lazily started
 * CommonJS or ES module in a string key, by its path; an npm package's path
 * runs through this machine's Deno cache (relative to the checkout, in the
 * keys), so both are cut down to `npm:`. Without that, a clone in another
 * folder or with another cache sees every bundle as stale.
 */
function normalize(entry: string, code: string): string {
  let text = code
    .replace(/^\/\/ [^\n]*?\/registry\.npmjs\.org\//gm, "// npm:")
    .replace(/"[^"\n]*?\/registry\.npmjs\.org\//g, '"npm:');
  if (text.includes(NODE_UTIL_IMPORT)) {
    text = text.replace(NODE_UTIL_IMPORT, NODE_UTIL_STAND_IN);
  } else if (text.includes("@logtape/logtape")) {
    throw new Error(`LogTape no longer has "${NODE_UTIL_IMPORT}": revisit tools/bundle_workers.ts`);
  }
  if (text.includes(CREATE_REQUIRE)) {
    for (const [, name] of text.matchAll(/__require\("([^"]*)"\)/g)) {
      if (!name!.startsWith("node:") && !OPTIONAL_REQUIRES.includes(name!)) {
        throw new Error(`${entry}'s bundle requires "${name}", which a blob: Worker cannot load`);
      }
    }
    text = text.replace(CREATE_REQUIRE, CREATE_REQUIRE_FROM_ROOT);
  }
  return `// Generated from ${entry} by \`${REBUILD_COMMAND}\`. Do not edit; on a merge\n` +
    `// conflict, rebuild it. See tools/bundle_workers.ts for why it exists.\n` + text;
}

/**
 * The bundles whose committed text differs from what `deno bundle` makes now.
 *
 * @returns The output paths that are stale or missing.
 */
export async function staleBundles(): Promise<string[]> {
  const stale: string[] = [];
  for (const { entry, output } of BUNDLES) {
    const fresh = await bundle(entry);
    const committed = await Deno.readTextFile(new URL(output, ROOT)).catch(() => undefined);
    if (committed !== fresh) stale.push(output);
  }
  return stale;
}

/** Rebuilds every bundle in place. */
export async function writeBundles(): Promise<void> {
  for (const { entry, output } of BUNDLES) {
    await Deno.writeTextFile(new URL(output, ROOT), await bundle(entry));
  }
}

if (import.meta.main) {
  if (Deno.args.includes("--check")) {
    const stale = await staleBundles();
    if (stale.length > 0) {
      console.error(`${stale.join(", ")} out of date: run ${REBUILD_COMMAND}`);
      Deno.exit(1);
    }
  } else {
    await writeBundles();
  }
}
