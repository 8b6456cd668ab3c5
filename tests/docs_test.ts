/**
 * The README and the manual in docs/ stay true to the tree: every relative
 * link leads to a file that exists (and to a heading that exists, when it
 * names one), the README stays short enough to onboard, and its Layout table
 * names every file in lib/, folder by folder, and no file that is not there.
 */
import assert from "node:assert/strict";
/** The repository's root, without a trailing slash. */
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

const README = "README.md";
/** The README onboards; the manual lives in docs/. Past this it is turning into a manual again. */
const README_MAX_LINES = 300;

/** Every Markdown page that the link check covers, relative to the repository's root. */
function pages(): string[] {
  const docs = [...Deno.readDirSync(`${ROOT}/docs`)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => `docs/${entry.name}`)
    .sort();
  return [README, ...docs];
}

/** A page's text with fenced code blocks blanked out: a link in a code sample is not a link. */
function prose(text: string): string {
  let fenced = false;
  return text.split("\n").map((line) => {
    if (line.trimStart().startsWith("```")) {
      fenced = !fenced;
      return "";
    }
    return fenced ? "" : line;
  }).join("\n");
}

/** The targets of `[text](target)` and `![alt](target)` links, without a title. */
function linkTargets(text: string): string[] {
  const withoutInlineCode = prose(text).replace(/`[^`\n]*`/g, "");
  return [...withoutInlineCode.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) =>
    m[1]!
  );
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(text).split("\n")) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading === null) continue;
    const slug = heading[1]!.trim().toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Every broken relative link of one page, as "page: target (why)". */
function brokenLinks(page: string): string[] {
  const text = Deno.readTextFileSync(`${ROOT}/${page}`);
  const broken: string[] = [];
  for (const target of linkTargets(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: and the like
    const [path = "", anchor] = target.split("#", 2);
    const base = new URL(page, `file://${ROOT}/`);
    const file = path === "" ? base : new URL(path, base);
    if (!exists(file.pathname)) {
      broken.push(`${page}: ${target} (no such file)`);
      continue;
    }
    if (anchor !== undefined && file.pathname.endsWith(".md")) {
      if (!anchors(Deno.readTextFileSync(file.pathname)).has(anchor)) {
        broken.push(`${page}: ${target} (no such heading)`);
      }
    }
  }
  return broken;
}

/** The README's Layout table: each path in a first cell, and the rest of its rows. */
function layoutRows(): Map<string, string> {
  const text = Deno.readTextFileSync(`${ROOT}/${README}`);
  const start = text.indexOf("\n### Layout\n");
  assert.ok(start >= 0, "README.md has a `### Layout` section");
  const rows = new Map<string, string>();
  for (const line of text.slice(start).split("\n").slice(2)) {
    if (line.startsWith("#")) break;
    const cells = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line);
    // A folder may take several rows, one for each of its concerns.
    if (cells !== null) rows.set(cells[1]!, (rows.get(cells[1]!) ?? "") + cells[2]!);
  }
  return rows;
}

/** Every file under lib/, as its folder (`lib/`, `lib/stats/`, …) and its name. */
function libFiles(): { folder: string; name: string }[] {
  const files: { folder: string; name: string }[] = [];
  const walk = (folder: string) => {
    for (const entry of Deno.readDirSync(`${ROOT}/${folder}`)) {
      if (entry.isDirectory) walk(`${folder}${entry.name}/`);
      else if (entry.isFile) files.push({ folder, name: entry.name });
    }
  };
  walk("lib/");
  return files.sort((a, b) => (a.folder + a.name).localeCompare(b.folder + b.name));
}

Deno.test("every relative link in README.md and docs/ leads to a file and heading that exist", () => {
  const broken = pages().flatMap(brokenLinks);
  assert.deepEqual(broken, [], `broken links:\n${broken.join("\n")}`);
});

Deno.test("the link check finds links, and would notice a missing file or heading", () => {
  assert.ok(linkTargets(Deno.readTextFileSync(`${ROOT}/${README}`)).length > 10);
  assert.deepEqual(linkTargets("[a](x.md) `[b](y.md)`\n```\n[c](z.md)\n```\n![d](e.svg)"), [
    "x.md",
    "e.svg",
  ]);
  assert.ok(anchors("## Every core: `--mode=reuseport`").has("every-core---modereuseport"));
  assert.ok(anchors("## Limits and failure behaviour").has("limits-and-failure-behaviour"));
});

Deno.test(`README.md is at most ${README_MAX_LINES} lines: the manual lives in docs/`, () => {
  const lines = Deno.readTextFileSync(`${ROOT}/${README}`).trimEnd().split("\n").length;
  assert.ok(
    lines <= README_MAX_LINES,
    `README.md has ${lines} lines; move detail to a page in docs/ and link it`,
  );
});

Deno.test("the README's Layout table names every file in lib/, in its folder's rows", () => {
  const rows = layoutRows();
  const missing = libFiles()
    .filter(({ folder, name }) => !(rows.get(folder) ?? "").includes(`\`${name}\``))
    .map(({ folder, name }) =>
      rows.has(folder)
        ? `${folder}${name}: add \`${name}\` to a \`${folder}\` row of README.md's Layout table`
        : `${folder}${name}: add a \`${folder}\` row to README.md's Layout table`
    );
  assert.deepEqual(missing, [], missing.join("\n"));
});

Deno.test("every file the README's Layout table names in a lib/ row exists there", () => {
  const missing = [...layoutRows()]
    .filter(([folder]) => folder.startsWith("lib/"))
    .flatMap(([folder, text]) =>
      [...text.matchAll(/`([\w.-]+\.ts)`/g)].map((m) => `${folder}${m[1]}`)
    )
    .filter((path) => !exists(`${ROOT}/${path}`));
  assert.deepEqual(
    missing,
    [],
    `the Layout table names files that do not exist: ${missing.join(", ")}`,
  );
});

Deno.test("every path in the README's Layout table exists", () => {
  const missing = [...layoutRows().keys()].filter((path) => !exists(`${ROOT}/${path}`));
  assert.deepEqual(missing, [], `Layout rows for paths that do not exist: ${missing.join(", ")}`);
});
