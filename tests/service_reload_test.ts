/**
 * `--reload-service`: a chat module edited while clients are connected. New
 * clients get the new version, connected ones keep theirs and still talk to
 * everyone; a broken version is refused and the one in force stays.
 */
import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { assertOneLineError, CliServer, runCli } from "./_helpers/cli.ts";

/**
 * A small chat module whose version shows: it greets with `welcome LABEL`
 * and tags every line it passes on with `[LABEL]`, so a line tells which
 * version served its sender.
 */
function chatModule(label: string): string {
  return `import type { LineService } from "${new URL("../mod.ts", import.meta.url).href}";

const room: LineService = {
  name: "room",
  description: "a chat room that says its version",
  framing: "lines",
  open: (session) => session.sendLine("welcome ${label}"),
  line(session, line) {
    session.broadcast(\`[${label}] <\${session.id}> \${line}\\r\\n\`);
  },
};

export default room;
`;
}

/** A temporary directory with the chat module in it; removed on dispose. */
async function chatFile(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-reload-" });
  const path = `${dir}/room.ts`;
  await Deno.writeTextFile(path, chatModule("v1"));
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Connects and checks the greeting. */
async function join(port: number, label: string): Promise<TestClient> {
  const client = await TestClient.connect(port);
  assert.equal(await client.readLine(), `welcome ${label}`);
  return client;
}

/** `from` says `text`; every one of `to` hears it, tagged with the version that serves `from`. */
async function says(from: TestClient, text: string, to: TestClient[], label: string) {
  await from.send(`${text}\n`);
  for (const client of to) {
    assert.match((await client.readLine())!, new RegExp(`^\\[${label}\\] <\\d+> ${text}$`));
  }
}

/** Waits for the reload line and returns the old and new versions. */
async function reloaded(server: CliServer, why: string): Promise<[string, string]> {
  const [, old, version] = await server.waitForMatch(
    new RegExp(
      `service \\S+room\\.ts \\(${why}\\) version ([0-9a-f]{8}) -> ([0-9a-f]{8}): new clients get`,
    ),
  );
  return [old!, version!];
}

for (const mode of ["poll", "workers", "reuseport", "processes"] as const) {
  Deno.test(`--reload-service under ${mode}: a new client gets the edited chat, the two connected keep theirs and all three talk`, async () => {
    await using file = await chatFile();
    await using server = await CliServer.start([
      `--mode=${mode}`,
      `--service=${file.path}`,
      "--reload-service",
      "--threads=2",
      "--stats-port=0",
    ]);
    const [, statsPort] = await server.waitForMatch(/^statistics on http:\/\/[^:]+:(\d+)\//);
    using ana = await join(server.port, "v1");
    using ben = await join(server.port, "v1");
    await says(ana, "hola", [ben], "v1");

    await Deno.writeTextFile(file.path, chatModule("v2"));
    const [v1, v2] = await reloaded(server, "changed on disk");
    assert.notEqual(v1, v2);

    using cat = await join(server.port, "v2");
    await server.waitForLog(new RegExp(`open 127\\.0\\.0\\.1:\\d+ id=\\d+ service_version=${v2}`));
    await says(ana, "uno", [ben, cat], "v1");
    await says(cat, "dos", [ana, ben], "v2");
    await says(ben, "tres", [ana, cat], "v1");

    const metrics = await (await fetch(`http://127.0.0.1:${statsPort}/metrics`)).text();
    assert.match(metrics, new RegExp(`^servidor_info\\{.*service_version="${v2}"\\} 1$`, "m"));
  });
}

Deno.test("--reload-service refuses a broken version with the file and the reason, and the version in force stays", async () => {
  await using file = await chatFile();
  await using server = await CliServer.start([
    "--mode=workers",
    `--service=${file.path}`,
    "--reload-service",
  ]);
  using ana = await join(server.port, "v1");
  await Deno.writeTextFile(file.path, chatModule("v2").replace("framing:", "framing: 42, oops:"));
  const refused = await server.waitForLog(/refused, version [0-9a-f]{8} stays/);
  assert.ok(refused.includes(file.path), refused);
  assert.match(refused, /does not export a valid service as default: it needs `framing`/);

  await Deno.writeTextFile(file.path, "export default {{ not TypeScript");
  const unparsable = await server.waitForLog(/refused, version [0-9a-f]{8} stays: cannot load/);
  assert.ok(unparsable.includes(file.path), unparsable);

  // The version in force is still v1, for new clients and old.
  using ben = await join(server.port, "v1");
  await says(ben, "sigo", [ana], "v1");
});

Deno.test("--reload-service reloads on SIGHUP, and says so when nothing changed", async () => {
  await using file = await chatFile();
  await using server = await CliServer.start([`--service=${file.path}`, "--reload-service"]);
  server.child.kill("SIGHUP");
  await server.waitForLog(/service \S+room\.ts \(SIGHUP\) unchanged at version [0-9a-f]{8}/);
  using ana = await join(server.port, "v1");
  await says(ana, "nadie", [], "v1");
});

Deno.test("--reload-service with a built-in is refused with one line and status 2", async () => {
  assertOneLineError(
    await runCli(["--port=0", "--service=chat", "--reload-service"]),
    2,
    /^servidor: --reload-service reloads a module of your own: give --service the path of one, not chat/,
  );
});
