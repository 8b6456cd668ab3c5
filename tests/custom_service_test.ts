/**
 * Your own service as a module: the README's example, `upper.ts`, from the
 * command line under every strategy, and the errors for modules that cannot
 * be used. Its own tests, in memory and under every mode through the testing
 * kit, are `services/examples/upper_test.ts`, the file docs/services.md shows.
 */
import assert from "node:assert/strict";
import { serviceSpecifier } from "../services/mod.ts";
import { type ServiceClient, TestClient } from "../testing.ts";
import { assertOneLineError, CliServer, ROOT, runCli } from "./_helpers/cli.ts";
import { ALL_MODES } from "./_helpers/modes.ts";

/** The path the README runs, relative to the repository's root. */
const EXAMPLE = "./services/examples/upper.ts";

/** Talks to `upper` and checks its answers, in memory or on the wire. */
async function assertUpper(client: ServiceClient): Promise<void> {
  await client.send("hola mundo\n/count\n");
  assert.equal(await client.readLine(), "HOLA MUNDO");
  assert.equal(await client.readLine(), "2 lines so far");
  await client.end();
  assert.equal(await client.readLine(), null);
}

for (const mode of ALL_MODES) {
  Deno.test(`your own service: the CLI runs --service=${EXAMPLE} under ${mode}`, async () => {
    await using server = await CliServer.start([
      `--mode=${mode}`,
      "--port=0",
      `--service=${EXAMPLE}`,
    ]);
    assert.match(server.address, /^127\.0\.0\.1:\d+$/);
    using client = await TestClient.connect(server.port);
    await assertUpper(client);
  });
}

const MODULE_MISTAKES: Array<[string, string[], RegExp]> = [
  [
    "./tests/fixtures/not_a_service.ts",
    ["--allow-net", "--allow-read"],
    /^servidor: --service: file:\/\/\S+\/tests\/fixtures\/not_a_service\.ts does not export a valid service as default: it needs a string `description`, `framing` set to "bytes" or "lines"/,
  ],
  [
    "./tests/fixtures/no_default_service.ts",
    ["--allow-net", "--allow-read"],
    /^servidor: --service: file:\/\/\S+\/tests\/fixtures\/no_default_service\.ts has no default export: end it with `export default shout;`/,
  ],
  [
    "./tests/fixtures/no_such_service.ts",
    ["--allow-net", "--allow-read"],
    /^servidor: --service: cannot load service module file:\/\/\S+no_such_service\.ts: /,
  ],
  [
    EXAMPLE,
    ["--allow-net"],
    /^servidor: --service: loading the service module \S+\/services\/examples\/upper\.ts needs read access: run deno with --allow-read/,
  ],
];

for (const [path, permissions, message] of MODULE_MISTAKES) {
  Deno.test(`the CLI refuses --service=${path} (${permissions.join(" ")}) with one line and exit status 2`, async () => {
    assertOneLineError(await runCli(["--port=0", `--service=${path}`], permissions), 2, message);
  });
}

Deno.test("serviceSpecifier() keeps names and URLs and turns paths into file URLs", () => {
  assert.equal(serviceSpecifier("chat", "/srv"), "chat");
  assert.equal(serviceSpecifier("exec", "/srv"), "exec");
  assert.equal(serviceSpecifier("https://example.com/s.ts", "/srv"), "https://example.com/s.ts");
  assert.equal(serviceSpecifier("my_service.ts", "/srv"), "file:///srv/my_service.ts");
  assert.equal(serviceSpecifier("../x/y.js", "/srv/a"), "file:///srv/x/y.js");
  assert.equal(serviceSpecifier("/opt/s p.ts", "/srv"), "file:///opt/s%20p.ts");
});

Deno.test("the README shows upper.ts exactly as the file has it", async () => {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const file = await Deno.readTextFile(`${ROOT}/services/examples/upper.ts`);
  const code = file.slice(file.indexOf("import type"));
  assert.ok(readme.includes(`\`\`\`ts\n${code}\`\`\``), "README's upper.ts differs from the file");
});

Deno.test("docs/services.md shows upper_test.ts exactly as the file has it", async () => {
  const page = await Deno.readTextFile(`${ROOT}/docs/services.md`);
  const file = await Deno.readTextFile(`${ROOT}/services/examples/upper_test.ts`);
  const code = file.slice(file.indexOf("import assert"));
  assert.ok(page.includes(`\`\`\`ts\n${code}\`\`\``), "docs/services.md's upper_test.ts differs");
});
