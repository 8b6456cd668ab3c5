/**
 * What keeps a `workers` Worker light: the committed bundle it starts from
 * loads neither LogTape nor, when it starts, any `node:` module (Deno's Node
 * compatibility layer costs about 2 MiB a Worker, LogTape about 0.4 MiB and
 * more once configured; see docs/workers.md, "What a Worker costs").
 */
import assert from "node:assert/strict";

const BUNDLE = new URL("../strategies/_bundled/worker_main.js", import.meta.url);

Deno.test("a workers Worker's bundle has no LogTape: its log records go to the main thread", async () => {
  const bundle = await Deno.readTextFile(BUNDLE);
  assert.ok(!bundle.includes("@logtape/"), "LogTape is in strategies/_bundled/worker_main.js");
});

Deno.test("a workers Worker's bundle imports no node: module when it starts", async () => {
  const bundle = await Deno.readTextFile(BUNDLE);
  const staticImports = [...bundle.matchAll(/\bfrom\s+["'](node:[^"']+)["']/g)].map((m) => m[1]);
  assert.deepEqual(staticImports, []);
  // compute loads node:crypto with its first request, so only a Worker that hashes pays for it.
  const lazyImports = [...bundle.matchAll(/\bimport\(\s*["'](node:[^"']+)["']/g)].map((m) => m[1]);
  assert.deepEqual(lazyImports, ["node:crypto"]);
});
