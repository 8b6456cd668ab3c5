/**
 * `deno task compile` builds one binary. `deno compile` needs a runtime
 * (`denort`) that it downloads, which is unreachable where these tests run;
 * with `DENORT_BIN` pointing at one, this test builds the binary with the
 * task's own flags and serves clients with it under every mode.
 */
import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { CliServer, ROOT } from "./_helpers/cli.ts";
import { ALL_MODES } from "./_helpers/modes.ts";

const DENORT_BIN = Deno.env.get("DENORT_BIN");

/** The task's command line, with the binary written to `output` instead of the repository. */
async function compileArgs(output: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const words = String(config.tasks.compile).split(/\s+/);
  assert.equal(words[0], "deno");
  const at = words.indexOf("--output");
  assert.ok(at > 0, "the compile task names its --output");
  words[at + 1] = output;
  return words.slice(1);
}

Deno.test({
  name: `the compiled binary serves reverse under every mode${
    DENORT_BIN
      ? ""
      : " (ignored: DENORT_BIN is not set, and deno compile cannot download denort here)"
  }`,
  ignore: !DENORT_BIN,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-compile-" });
    try {
      const binary = `${dir}/servidor`;
      const built = await new Deno.Command(Deno.execPath(), {
        args: await compileArgs(binary),
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(built.success, new TextDecoder().decode(built.stderr));

      for (const mode of ALL_MODES) {
        const server = await CliServer.startProgram(binary, [
          `--mode=${mode}`,
          "--port=0",
          "--service=reverse",
        ]);
        assert.match(server.address, /^127\.0\.0\.1:\d+$/);
        {
          using client = await TestClient.connect(server.port);
          await client.send("hola\n");
          assert.equal(await client.readLine(), "aloh");
        }
        const { code } = await server.stop();
        assert.equal(code, 0);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
