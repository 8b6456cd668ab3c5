/**
 * A smoke run of the comparison harness, as the docs suggest one, leaves the
 * committed results and `git status` as they were: a partial run writes its
 * report to bench/results/partial/, which git ignores. (That report is left
 * there, where a person's smoke run leaves it.)
 */
import assert from "node:assert/strict";
import { ROOT } from "./_helpers/cli.ts";

const decoder = new TextDecoder();

async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const said = decoder.decode(output.stdout);
  assert.ok(output.success, `${command} ${args.join(" ")}: ${decoder.decode(output.stderr)}`);
  return said;
}

Deno.test("deno task bench:compare --quick leaves bench/results/ and git status as they were", async () => {
  const committed = () => Deno.readTextFile(`${ROOT}/bench/results/latest.json`);
  const before = {
    status: await run("git", ["status", "--porcelain"]),
    results: await committed(),
  };
  // One scenario against one server keeps it short; any partial run takes the same path.
  await run(Deno.execPath(), [
    "task",
    "bench:compare",
    "--quick",
    "--scenario=echo-small",
    "--server=poll",
  ]);
  assert.equal(await committed(), before.results);
  assert.equal(await run("git", ["status", "--porcelain"]), before.status);
  const partial = JSON.parse(await Deno.readTextFile(`${ROOT}/bench/results/partial/latest.json`));
  assert.equal(partial.durationS, 1);
});
