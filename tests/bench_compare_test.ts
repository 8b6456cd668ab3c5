/**
 * A smoke run of the comparison harness, as the docs suggest one, leaves the
 * committed results and `git status` as they were: a partial run writes its
 * report to bench/results/partial/, which git ignores. (That report is left
 * there, where a person's smoke run leaves it.)
 */
import assert from "node:assert/strict";
import { ROOT } from "./_helpers/cli.ts";
import { emptyRow, type Row, type ScenarioResult } from "../bench/compare/measure.ts";
import { rotate, spread, summarise } from "../bench/compare/repeat.ts";

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

/** A one-second run of echo-small with these extra flags; resolves with the partial report's JSON. */
async function quickCompare(...flags: string[]) {
  await run(Deno.execPath(), [
    "task",
    "bench:compare",
    "--quick",
    "--scenario=echo-small",
    "--server=poll",
    ...flags,
  ]);
  return JSON.parse(await Deno.readTextFile(`${ROOT}/bench/results/partial/latest.json`));
}

Deno.test("deno task bench:compare --quick leaves bench/results/ and git status as they were", async () => {
  const committed = () => Deno.readTextFile(`${ROOT}/bench/results/latest.json`);
  const before = {
    status: await run("git", ["status", "--porcelain"]),
    results: await committed(),
  };
  // One scenario against one server keeps it short; any partial run takes the same path.
  const partial = await quickCompare();
  assert.equal(await committed(), before.results);
  assert.equal(await run("git", ["status", "--porcelain"]), before.status);
  assert.equal(partial.durationS, 1);
  // A single run reports as it always did: no rounds.
  assert.equal(partial.repeat, undefined);
  assert.equal(partial.scenarios[0].repeated, undefined);
});

Deno.test("spread() gives the median, the smallest and the largest, and skips missing figures", () => {
  assert.deepEqual(spread([3, null, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, n: 4 });
  assert.equal(spread([null, undefined, NaN]), null);
});

Deno.test("rotate() starts each round one server further on and keeps every server", () => {
  assert.deepEqual(rotate(["a", "b", "c"], 0), ["a", "b", "c"]);
  assert.deepEqual(rotate(["a", "b", "c"], 1), ["b", "c", "a"]);
  assert.deepEqual(rotate(["a", "b", "c"], 4), ["b", "c", "a"]);
  assert.deepEqual(rotate([], 2), []);
});

Deno.test("summarise() takes each ratio within its round, then the median over the rounds", () => {
  const row = (server: string, rps: number | null, peakRssMiB: number): Row => ({
    ...emptyRow({
      id: server,
      name: server,
      group: server === "poll" ? "servidor" : "reference",
      command: "",
      args: [],
      portFrom: "argv",
    }, ""),
    rps,
    peakRssMiB,
  });
  const round = (rows: Row[]): ScenarioResult => ({
    name: "many-10k",
    title: "t",
    baseline: "node-net",
    rows,
  });
  // The rounds list the servers rotated; Node is slow in round 2, and poll failed in round 3.
  const result = summarise([
    round([row("poll", 50, 140), row("node-net", 100, 100)]),
    round([row("node-net", 40, 100), row("poll", 30, 150)]),
    round([row("poll", null, 0), row("node-net", 90, 110)]),
  ]);
  const poll = result.repeated!.servers.find((s) => s.server === "poll")!;
  // Per round 0.5 and 0.75 (round 3 has no rps for poll); not 40 ÷ 90, the ratio of medians.
  assert.deepEqual(poll.ratios["node-net"]!.rps, { median: 0.625, min: 0.5, max: 0.75, n: 2 });
  assert.deepEqual(poll.measures.rps, { median: 40, min: 30, max: 50, n: 2 });
  assert.equal(poll.ratios["c-epoll"], undefined);
  assert.deepEqual(result.rows.map((r) => r.server), ["poll", "node-net"]);
  assert.equal(result.rows[1]!.rps, 90);
  assert.equal(result.repeated!.rounds.length, 3);
  assert.deepEqual(result.repeated!.rounds[1]!.map((r) => r.server), ["poll", "node-net"]);
});

Deno.test("deno task bench:compare --repeat=2 runs every server in each round and reports both rounds", async () => {
  const partial = await quickCompare("--server=c-epoll", "--repeat=2");
  assert.equal(partial.repeat, 2);
  const [scenario] = partial.scenarios;
  assert.equal(scenario.repeated.rounds.length, 2);
  const servers = scenario.rows.map((row: Row) => row.server);
  for (const rows of scenario.repeated.rounds) {
    assert.deepEqual(rows.map((row: Row) => row.server), servers);
  }
  const md = await Deno.readTextFile(`${ROOT}/bench/results/partial/latest.md`);
  assert.match(md, /2 interleaved rounds/);
  if (servers.includes("c-epoll")) assert.match(md, /× C epoll: the median of the ratios/);
});
