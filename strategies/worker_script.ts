/**
 * Where a Worker's script comes from, so that `deno run --allow-net main.ts
 * --mode=workers` needs no `--allow-read`.
 *
 * Deno loads a Worker's module like a dynamic import, which needs read
 * access even for a file `main.ts` imports statically. A Worker started from
 * a `blob:` URL needs none. So each Worker entry is also bundled into one
 * committed JavaScript file (`deno task bundle`, see tools/bundle_workers.ts),
 * imported here as text, which needs no permission either, and started from
 * a `blob:` URL.
 *
 * When the entry's own source file can be read, it is used instead: a change
 * under development runs as written, without a rebuild. The bundle and the
 * source are the same program, because CI and the test suite fail while a
 * bundle is out of date. A compiled binary has no source files unless they
 * were included, so it uses the bundles.
 *
 * @module
 */
import serviceWorkerBundle from "./_bundled/worker_main.js" with { type: "text" };
import reusePortWorkerBundle from "./_bundled/reuseport_worker.js" with { type: "text" };

/** The kinds of Worker servidor starts: a `workers` client's, or a `reuseport` server. */
export type WorkerScript = "service" | "reuseport";

const SOURCES: Record<WorkerScript, URL> = {
  service: new URL("./worker_main.ts", import.meta.url),
  reuseport: new URL("./reuseport_worker.ts", import.meta.url),
};

const BUNDLES: Record<WorkerScript, string> = {
  service: serviceWorkerBundle,
  reuseport: reusePortWorkerBundle,
};

/** One `blob:` URL a kind, made on first use and kept for the life of the process. */
const blobUrls = new Map<WorkerScript, string>();

/**
 * The URL to start a Worker of this kind from: its source file when this
 * process may read it, otherwise its bundle as a `blob:` URL.
 *
 * @param script Which Worker.
 *
 * @example
 * ```ts
 * import { workerScriptUrl } from "./worker_script.ts";
 *
 * const worker = new Worker(workerScriptUrl("service"), { type: "module" });
 * worker.terminate();
 * ```
 */
export function workerScriptUrl(script: WorkerScript): string | URL {
  const source = SOURCES[script];
  if (readable(source)) return source;
  let url = blobUrls.get(script);
  if (url === undefined) {
    url = URL.createObjectURL(new Blob([BUNDLES[script]], { type: "text/javascript" }));
    blobUrls.set(script, url);
  }
  return url;
}

function readable(url: URL): boolean {
  if (url.protocol !== "file:") return false;
  if (Deno.permissions.querySync({ name: "read", path: url }).state !== "granted") return false;
  try {
    return Deno.statSync(url).isFile;
  } catch {
    // Missing (a compiled binary without it) or unreadable: the bundle serves instead.
    return false;
  }
}
