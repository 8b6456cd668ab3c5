/**
 * The systemd unit in docs/systemd.md is one systemd accepts, and gives the
 * server's graceful stop the time it needs.
 */
import assert from "node:assert/strict";
import { hasCommand } from "./_helpers/tools.ts";

const HAVE_SYSTEMD_ANALYZE = hasCommand("systemd-analyze");
const PAGE = new URL("../docs/systemd.md", import.meta.url);

/** The page's ```ini block. */
async function documentedUnit(): Promise<string> {
  const page = await Deno.readTextFile(PAGE);
  const unit = /```ini\n([\s\S]*?)```/.exec(page)?.[1];
  assert.ok(unit, "docs/systemd.md has no ```ini block");
  return unit;
}

/** A directive's value, e.g. `setting(unit, "TimeoutStopSec")`. */
function setting(unit: string, name: string): string {
  const value = new RegExp(`^${name}=(.*)$`, "m").exec(unit)?.[1];
  assert.ok(value !== undefined, `the unit has no ${name}=`);
  return value;
}

Deno.test("the documented unit reloads with SIGHUP, stops with SIGTERM, and waits longer than --grace", async () => {
  const unit = await documentedUnit();
  assert.equal(setting(unit, "ExecReload"), "kill -HUP $MAINPID");
  assert.equal(setting(unit, "KillSignal"), "SIGTERM");
  const grace = Number(/--grace=(\d+)/.exec(setting(unit, "ExecStart"))?.[1]);
  assert.ok(grace > 0, "ExecStart gives --grace");
  assert.ok(Number(setting(unit, "TimeoutStopSec")) > grace, "TimeoutStopSec is above --grace");
  const pidFile = /--pid-file=(\S+)/.exec(setting(unit, "ExecStart"))?.[1];
  assert.equal(setting(unit, "PIDFile"), pidFile);
});

Deno.test({
  name: `systemd-analyze verify accepts the documented unit${
    HAVE_SYSTEMD_ANALYZE
      ? ""
      : " (skipped: systemd-analyze is not installed; Debian's systemd has it)"
  }`,
  ignore: !HAVE_SYSTEMD_ANALYZE,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-systemd-" });
    try {
      // verify checks that ExecStart's program exists; the documented one is installed
      // only on the server, so a stand-in takes its place.
      const program = `${dir}/servidor`;
      await Deno.writeTextFile(program, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      const unit = (await documentedUnit()).replace(
        /^ExecStart=\S+/m,
        `ExecStart=${program}`,
      );
      const file = `${dir}/servidor.service`;
      await Deno.writeTextFile(file, unit);
      const { code, stdout, stderr } = await new Deno.Command("systemd-analyze", {
        args: ["verify", file],
        env: { SYSTEMD_LOG_COLOR: "0" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
      assert.equal(code, 0, said);
      // Complaints about this unit name its file; others (no running systemd) do not matter.
      const aboutUnit = said.split("\n").filter((line) => line.includes("servidor.service"));
      assert.deepEqual(aboutUnit, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
