/**
 * A service module pinned at the version read from disk: its text, and the
 * text of the local modules it imports, are read once and served from
 * memory as `blob:` URLs. Importing the snapshot on the main thread and in
 * every Worker yields exactly that version, whatever happens to the files
 * afterwards, so a server serves the version it loaded until it is told to
 * load another (a reload of the service).
 *
 * Which imports are pinned: local script files (`./helpers.ts`), followed
 * recursively. servidor's own modules (`../servidor/mod.ts`) are not: they are
 * the server's code, not the service's, and they load from disk as before.
 * Remote and package imports (`npm:`, `https:`) are left as they are, and so is
 * the back edge of an import cycle among local files.
 *
 * @module
 */
import { dirname, relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { PinnedSources, PinnedText } from "./pinned_copy.ts";

/** A module's text, pinned. */
export interface PinnedModule {
  /** A `blob:` URL that imports this exact version, on any thread of this process. */
  readonly url: string;
  /**
   * A short hash of the text: the first 8 hex digits of SHA-256 over the
   * module's text, then each pinned import's path and text. For a module
   * with no local imports it is the start of `sha256sum` of the file.
   */
  readonly version: string;
  /** The files read, the module first: what to watch for a new version. */
  readonly files: readonly string[];
  /** The module's path, for messages. */
  readonly path: string;
  /** Turns the `blob:` URLs in an error message back into the files they hold. */
  explain(message: string): string;
}

/**
 * The package root: servidor's own modules live below it, in these places.
 * A bundled copy started from a `blob:` URL (a Worker under `--allow-net`
 * alone, see strategies/worker_script.ts) has no root; it never pins.
 */
const ROOT: URL | undefined = URL.canParse("../", import.meta.url)
  ? new URL("../", import.meta.url)
  : undefined;
const OWN_FOLDERS = ["lib/", "strategies/", "services/", "cli/", "bench/", "testing/"];
const OWN_FILES = ["mod.ts", "testing.ts", "main.ts"];
/** Examples under services/ are users' code, the kind this pins. */
const USER_FOLDERS = ["services/examples/"];

/** Script files, by extension, with the media type Deno takes them as. */
const MEDIA_TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".mts": "application/typescript",
  ".cts": "application/typescript",
  ".tsx": "text/tsx",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".cjs": "text/javascript",
  ".jsx": "text/jsx",
};

/**
 * Module specifiers in static imports and re-exports (`from "x"`), bare
 * imports (`import "x"`) and dynamic imports of a literal (`import("x")`).
 * A pattern, not a parser: a specifier in a comment or a string may match,
 * which costs at most one more file read.
 */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"'\n]+)\1/g;

/**
 * Reads a module and its local imports and pins them.
 *
 * @param url The module's `file:` URL.
 * @throws When a file cannot be read: the error says which.
 *
 * @example
 * ```ts
 * import { pinModule } from "./pinned_module.ts";
 * import assert from "node:assert/strict";
 *
 * const pinned = await pinModule(new URL("./examples/upper.ts", import.meta.url));
 * assert.match(pinned.version, /^[0-9a-f]{8}$/);
 * assert.equal((await import(pinned.url)).default.name, "upper");
 * ```
 */
export async function pinModule(url: URL): Promise<PinnedModule> {
  const pinner = new Pinner();
  const blob = await pinner.pin(url);
  SOURCES.set(blob, { file: url.href, modules: pinner.texts });
  const hash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pinner.hashed.join(""))),
  );
  const version = [...hash.slice(0, 4)].map((byte) => byte.toString(16).padStart(2, "0")).join(
    "",
  );
  const blobs = [...pinner.blobs];
  return {
    url: blob,
    version,
    files: [...pinner.blobs.keys()],
    path: fromFileUrl(url),
    explain(message) {
      let explained = message;
      for (const [path, blobUrl] of blobs) explained = explained.replaceAll(blobUrl, path);
      return explained;
    },
  };
}

/** Every module pinned in this process, by its `blob:` URL, for {@link pinnedSources}. */
const SOURCES = new Map<string, PinnedSources>();

/**
 * The texts behind a pinned module's `blob:` URL, for a process that cannot
 * load that URL (a `processes` child: see `pinned_copy.ts`), or `undefined`
 * when `specifier` is not a module pinned here (a built-in's name, a remote URL).
 *
 * @param specifier What a Worker would load: a built-in name or a module URL.
 */
export function pinnedSources(specifier: string): PinnedSources | undefined {
  return SOURCES.get(specifier);
}

/** One pinning: the files read so far and their `blob:` URLs. */
class Pinner {
  /** Path → blob URL, in the order the files were finished. */
  readonly blobs = new Map<string, string>();
  /** The same files' texts as pinned, in the same order: each after its imports. */
  readonly texts: PinnedText[] = [];
  /** The texts that make up the version, in the order they were read. */
  readonly hashed: string[] = [];
  readonly #inProgress = new Set<string>();
  #entry: string | undefined;

  async pin(url: URL): Promise<string> {
    const path = fromFileUrl(url);
    const done = this.blobs.get(path);
    if (done) return done;
    this.#entry ??= path;
    this.#inProgress.add(path);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      throw new Error(`cannot read ${path}: ${error instanceof Error ? error.message : error}`);
    }
    this.hashed.push(
      path === this.#entry ? text : `\n${relative(dirname(this.#entry), path)}\n${text}`,
    );
    const replacements = new Map<string, string>();
    for (const match of text.matchAll(SPECIFIER)) {
      const specifier = match[2]!;
      if (replacements.has(specifier)) continue;
      const replacement = await this.#resolve(specifier, url);
      if (replacement !== undefined) replacements.set(specifier, replacement);
    }
    const rewritten = replacements.size === 0 ? text : text.replace(
      SPECIFIER,
      (whole, quote: string, specifier: string) => {
        const replacement = replacements.get(specifier);
        return replacement === undefined
          ? whole
          : whole.replace(`${quote}${specifier}${quote}`, `${quote}${replacement}${quote}`);
      },
    );
    const type = MEDIA_TYPES[extension(path)] ?? "application/typescript";
    const blob = URL.createObjectURL(new Blob([rewritten], { type }));
    this.#inProgress.delete(path);
    this.blobs.set(path, blob);
    this.texts.push({ url: blob, type, text: rewritten });
    return blob;
  }

  /**
   * What a specifier becomes in the pinned text: a local script's blob URL,
   * an absolute `file:` URL for any other local file (a `blob:` module has
   * no directory to resolve a relative one against), or `undefined` to leave
   * it alone.
   */
  async #resolve(specifier: string, base: URL): Promise<string | undefined> {
    const local = specifier.startsWith("./") || specifier.startsWith("../") ||
      specifier.startsWith("/") || specifier.startsWith("file:");
    if (!local) return undefined;
    const target = new URL(specifier, base);
    if (target.protocol !== "file:") return undefined;
    const path = fromFileUrl(target);
    if (
      isServidorOwn(target) || !(extension(path) in MEDIA_TYPES) || this.#inProgress.has(path)
    ) {
      return target.href;
    }
    try {
      await Deno.stat(path);
    } catch {
      // Not there: the import fails when the module loads, with Deno's own message.
      return target.href;
    }
    return await this.pin(target);
  }
}

function extension(path: string): string {
  const dot = path.lastIndexOf(".");
  return dot === -1 ? "" : path.slice(dot);
}

/** Whether a module is part of servidor itself rather than of a service. */
function isServidorOwn(url: URL): boolean {
  if (!ROOT || !url.href.startsWith(ROOT.href)) return false;
  const inside = url.href.slice(ROOT.href.length);
  if (USER_FOLDERS.some((folder) => inside.startsWith(folder))) return false;
  return OWN_FILES.includes(inside) || OWN_FOLDERS.some((folder) => inside.startsWith(folder));
}
