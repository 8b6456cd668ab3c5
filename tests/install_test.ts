/**
 * `deno task install` as a user runs it: the task installs `servidor` into a
 * temporary `DENO_INSTALL_ROOT`, and the installed command prints its version
 * and serves a real client.
 */
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { TestClient } from "../testing.ts";
import { CliServer, ROOT } from "./_helpers/cli.ts";
import { runTool, toolInstalled } from "./_helpers/tools.ts";

const HAVE_NC = toolInstalled("nc", ["-h"], /OpenBSD netcat/);
/** Whether this process may run a command without network (`unshare -n`, as root on Linux). */
const OFFLINE = (() => {
  try {
    return new Deno.Command("unshare", { args: ["-n", "true"], stderr: "null" }).outputSync()
      .success;
  } catch {
    return false; // no unshare here
  }
})();

Deno.test(
  `deno task install${
    OFFLINE ? ", offline," : ""
  } makes a servidor command that prints its version and serves nc under workers`,
  async () => {
    const installRoot = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-install-" });
    try {
      // In a network namespace of its own, where one can be made, the install has no network
      // at all: it works offline, from the checkout and Deno's cache.
      const [program, ...args] = [
        ...(OFFLINE ? ["unshare", "-n"] : []),
        Deno.execPath(),
        "task",
        "install",
      ];
      const installed = await new Deno.Command(program!, {
        args,
        cwd: ROOT,
        env: { DENO_INSTALL_ROOT: installRoot, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(installed.stdout);
      assert.ok(installed.success, new TextDecoder().decode(installed.stderr));
      const servidor = `${installRoot}/bin/servidor`;
      assert.match(said, new RegExp(`^installed ${servidor} \\(servidor ${config.version},`));

      assert.equal(await runTool(servidor, ["--version"]), `servidor ${config.version}\n`);

      await using server = await CliServer.startProgram(servidor, [
        "--mode=workers",
        "--port=0",
        "--service=reverse",
      ]);
      if (HAVE_NC) {
        const output = await runTool("nc", ["-N", "127.0.0.1", String(server.port)], "hola\n");
        assert.equal(output, "aloh\r\n");
      } else {
        console.warn("install_test: nc is not installed; a TestClient stands in for it");
        using client = await TestClient.connect(server.port);
        await client.send("hola\n");
        assert.equal(await client.readLine(), "aloh");
      }
    } finally {
      await Deno.remove(installRoot, { recursive: true });
    }
  },
);
