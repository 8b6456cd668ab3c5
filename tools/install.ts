/**
 * `deno task install`: installs the `servidor` command from this checkout,
 * with the permissions every built-in feature needs (the `servidor`
 * permission set in `deno.json`, the same one `deno task compile` uses).
 *
 * It installs with `deno install -g` and then does two things that command
 * does not:
 *
 * - It caches the modules Deno cannot see ahead of time (the Redis bus and
 *   the load generator's Worker), so that every feature works offline once
 *   installed.
 * - It points the installed script at the Deno that ran this task. `deno
 *   install` writes `exec deno …`, which fails on a machine where Deno is
 *   only reached through `npx -y deno@…` and `deno` is on no PATH.
 *
 * The command lands in `$DENO_INSTALL_ROOT/bin` (default `~/.deno/bin`).
 *
 *     npx -y deno@2.9.6 task install
 *     servidor --version
 *
 * @module
 */
import config from "../deno.json" with { type: "json" };

const ROOT = new URL("../", import.meta.url);
const NAME = "servidor";

/** Modules loaded by URL at run time, which `deno install` does not cache. */
const LOADED_LATER = [
  "lib/chat/redis_bus.ts",
  "bench/load_worker.ts",
];

/** `{ net: true, write: ["/tmp"] }` as `--allow-net --allow-write=/tmp`. */
export function permissionFlags(set: Record<string, boolean | string[]>): string[] {
  return Object.entries(set).flatMap(([name, value]) => {
    if (value === true) return [`--allow-${name}`];
    if (Array.isArray(value) && value.length > 0) return [`--allow-${name}=${value.join(",")}`];
    return [];
  });
}

/** Where `deno install -g` puts commands, as Deno itself decides it. */
function binDirectory(): string {
  const root = Deno.env.get("DENO_INSTALL_ROOT") ?? `${Deno.env.get("HOME") ?? ""}/.deno`;
  return `${root.replace(/\/+$/, "")}/bin`;
}

async function deno(args: string[]): Promise<void> {
  const { success, code } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
  }).output();
  if (!success) throw new Error(`deno ${args[0]} failed with exit status ${code}`);
}

/** A POSIX shell-quoted word. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

async function main(): Promise<number> {
  const path = (file: string) => new URL(file, ROOT).pathname;
  const lock = [`--lock=${path("deno.lock")}`, "--frozen"];
  await deno([
    "install",
    "--global",
    "--force",
    `--name=${NAME}`,
    `--config=${path("deno.json")}`,
    // A global install records itself in a lockfile it is given; the installed
    // command runs without one anyway (its copy of deno.json says "lock": false).
    "--no-lock",
    ...permissionFlags(config.permissions.servidor),
    path("main.ts"),
  ]);
  await deno(["install", "--quiet", ...lock, "--entrypoint", ...LOADED_LATER.map(path)]);

  const script = `${binDirectory()}/${NAME}`;
  if (Deno.build.os !== "windows") {
    const text = await Deno.readTextFile(script);
    const pinned = text.replace(/^exec deno /m, `exec ${quote(Deno.execPath())} `);
    if (pinned === text) throw new Error(`${script} does not look like deno install's script`);
    await Deno.writeTextFile(script, pinned);
  }
  console.log(`installed ${script} (servidor ${config.version}, on Deno ${Deno.version.deno})`);
  const onPath = (Deno.env.get("PATH") ?? "").split(":").includes(binDirectory());
  if (!onPath) console.log(`add it to your PATH: export PATH="${binDirectory()}:$PATH"`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(`install: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
