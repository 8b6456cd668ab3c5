/**
 * The commands people are given run as typed: `--mode=workers` and
 * `--mode=reuseport` under `--allow-net` alone, and the Worker bundles that
 * make that possible are up to date.
 */
import assert from "node:assert/strict";
import { BUNDLES, staleBundles } from "../tools/bundle_workers.ts";
import { TestClient } from "../testing.ts";
import { netcatChat } from "./_helpers/chat.ts";
import { CliServer } from "./_helpers/cli.ts";
import { eventually, hasCommand } from "./_helpers/tools.ts";

/** What each built-in service answers to one small request. */
const PROBES: Record<string, (client: TestClient) => Promise<void>> = {
  echo: async (client) => {
    await client.send("hola\n");
    assert.equal(await client.readLine(), "hola");
  },
  reverse: async (client) => {
    await client.send("hola\n");
    assert.equal(await client.readLine(), "aloh");
  },
  daytime: async (client) => {
    assert.match((await client.readLine())!, /\d{4}/);
  },
  chargen: async (client) => {
    assert.equal((await client.readBytes(74)).byteLength, 74);
  },
  discard: async (client) => {
    await client.send("into the void\n");
    await client.closeWrite();
    assert.equal((await client.readAll()).byteLength, 0);
  },
  chat: async (client) => {
    assert.match((await client.readLine())!, /^\* welcome, guest\d+/);
  },
  compute: async (client) => {
    await client.send("sha256 1 abc\n");
    assert.equal(
      await client.readLine(),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  },
};

for (const [service, probe] of Object.entries(PROBES)) {
  Deno.test(`--mode=workers --service=${service} serves under --allow-net alone`, async () => {
    await using server = await CliServer.start(
      ["--mode=workers", `--service=${service}`, "--idle-workers=1"],
      ["--allow-net"],
    );
    using client = await TestClient.connect(server.port);
    await probe(client);
  });
}

Deno.test("--mode=workers --service=exec serves under --allow-net and --allow-run alone", async () => {
  await using server = await CliServer.start(
    ["--mode=workers", "--service=exec", "--idle-workers=1", "--", "cat"],
    ["--allow-net", "--allow-run"],
  );
  using client = await TestClient.connect(server.port);
  await PROBES.echo!(client);
});

Deno.test("--mode=reuseport serves under --allow-net alone", async () => {
  await using server = await CliServer.start(
    ["--mode=reuseport", "--threads=2"],
    ["--allow-net"],
  );
  using client = await TestClient.connect(server.port);
  await PROBES.echo!(client);
});

/** The port the typed command listens on, since it names none. */
const DEFAULT_PORT = 7000;

function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) return false;
    throw error;
  }
}

Deno.test({
  name:
    "`deno run --allow-net main.ts --mode=workers --service=chat`, exactly, lets two nc clients chat",
  ignore: !hasCommand("nc"),
  async fn() {
    // The command names no port, so it takes 7000; another test run on this
    // machine may hold it for a moment, and then this one waits its turn.
    const server = await eventually(
      `port ${DEFAULT_PORT} to be free for the typed command`,
      () =>
        portIsFree(DEFAULT_PORT)
          ? CliServer.startProgram(Deno.execPath(), [
            "run",
            "--allow-net",
            "main.ts",
            "--mode=workers",
            "--service=chat",
          ]).catch((error) => {
            if (/address already in use/i.test(String(error))) return undefined;
            throw error;
          })
          : Promise.resolve(undefined),
      300,
    );
    await using _server = server;
    assert.equal(server.port, DEFAULT_PORT);
    assert.match(server.listening, /mode=workers/);

    await netcatChat(DEFAULT_PORT);
  },
});

Deno.test("the committed Worker bundles are what `deno task bundle` makes from the sources", async () => {
  const stale = await staleBundles();
  assert.deepEqual(stale, [], `${stale.join(", ")} out of date: run deno task bundle`);
});

Deno.test("the committed Worker bundles name no path of the machine that built them", async () => {
  // A path into the Deno cache differs from clone to clone, and would make
  // `deno task bundle --check` fail on every machine but the one that built it.
  for (const { output } of BUNDLES) {
    const text = await Deno.readTextFile(new URL(`../${output}`, import.meta.url));
    assert.doesNotMatch(text, /registry\.npmjs\.org|\.cache\/deno/, `${output} holds a cache path`);
  }
});
