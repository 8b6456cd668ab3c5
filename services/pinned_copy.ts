/**
 * A pinned service module as another process can load it. A `blob:` URL
 * names memory of the process that made it, so a `processes` child cannot
 * import the main process's pinned copy; it is sent the texts instead and
 * makes blob URLs of its own from them. This file imports nothing from Node,
 * so a child that loads it does not pay for Deno's Node compatibility layer.
 *
 * @module
 */

/** A pinned module's texts, in the order that lets another process load them. */
export interface PinnedSources {
  /**
   * The module's `file:` URL. A child may still read near it: servidor's own
   * modules and non-script files are imported by `file:` URL, not pinned.
   */
  readonly file: string;
  /**
   * Each pinned file, its imports before it and the module itself last: the
   * `blob:` URL the pinning process gave it, its media type, and its text,
   * which names its pinned imports by those URLs.
   */
  readonly modules: readonly PinnedText[];
}

/** One pinned file. */
export interface PinnedText {
  readonly url: string;
  readonly type: string;
  readonly text: string;
}

/**
 * Makes this process's own `blob:` URLs for a pinned module sent from
 * another process, each import's URL rewritten to the copy made here.
 *
 * @param sources What {@link PinnedSources} the other process sent.
 * @returns The URL that imports the module, at exactly the version pinned.
 *
 * @example
 * ```ts
 * import { loadablePinnedCopy } from "./pinned_copy.ts";
 * import assert from "node:assert/strict";
 *
 * const word = "blob:null/1";
 * const url = loadablePinnedCopy({
 *   file: "file:///srv/greeter.ts",
 *   modules: [
 *     { url: word, type: "text/javascript", text: 'export const WORD = "hola";' },
 *     { url: "blob:null/2", type: "text/javascript", text: `export { WORD } from "${word}";` },
 *   ],
 * });
 * assert.equal((await import(url)).WORD, "hola");
 * ```
 */
export function loadablePinnedCopy(sources: PinnedSources): string {
  const ours = new Map<string, string>();
  let entry = "";
  for (const { url, type, text } of sources.modules) {
    let local = text;
    for (const [theirs, mine] of ours) local = local.replaceAll(theirs, mine);
    entry = URL.createObjectURL(new Blob([local], { type }));
    ours.set(url, entry);
  }
  return entry;
}
