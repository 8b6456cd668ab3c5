/**
 * A server serves the version of a service module it loaded at start: an
 * edit on disk, to the module or to a local module it imports, reaches no
 * new client in any mode unless the server is told to reload.
 */
import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { CliServer } from "./_helpers/cli.ts";

/** A service module and a local import of it, in a directory of their own. */
export interface ServiceFiles {
  dir: string;
  /** The module `--service` names. */
  service: string;
  /** Rewrites both files so that the greeting says `label` (and `word` for the helper). */
  write(label: string, word?: string): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Writes a line service that greets each client with `<word> <label>` and
 * echoes lines; the word comes from a local import, so a version can change
 * in either file.
 */
export async function writeServiceFiles(label: string): Promise<ServiceFiles> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-pin-" });
  const service = `${dir}/greeter.ts`;
  const write = async (label: string, word = "hello") => {
    await Deno.writeTextFile(`${dir}/word.ts`, `export const WORD: string = "${word}";\n`);
    await Deno.writeTextFile(
      service,
      `import { WORD } from "./word.ts";\n` +
        `export default {\n` +
        `  name: "greeter",\n` +
        `  description: "greets with its version, then echoes lines",\n` +
        `  framing: "lines",\n` +
        `  open: (session: { sendLine(text: string): Promise<void> }) => session.sendLine(\`\${WORD} ${label}\`),\n` +
        `  line: (session: { sendLine(text: string): Promise<void> }, line: string) => session.sendLine(line),\n` +
        `};\n`,
    );
  };
  await write(label);
  return {
    dir,
    service,
    write,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Connects and returns the client with the greeting it got. */
async function greeted(port: number): Promise<[TestClient, string | null]> {
  const client = await TestClient.connect(port);
  return [client, await client.readLine()];
}

for (const mode of ["single", "poll", "workers", "reuseport", "processes"] as const) {
  Deno.test(`without --reload-service an edit on disk reaches no new client under ${mode}`, async () => {
    await using files = await writeServiceFiles("v1");
    // No ready Workers: under workers each client gets a Worker started after the edit.
    await using server = await CliServer.start([
      `--mode=${mode}`,
      `--service=${files.service}`,
      "--idle-workers=0",
      "--threads=2",
    ]);
    const [first, greeting] = await greeted(server.port);
    assert.equal(greeting, "hello v1");
    await files.write("v2", "bye");
    if (mode === "single") first.close();
    // Several clients, so that under reuseport both Workers are asked.
    for (let i = 0; i < 4; i++) {
      const [client, later] = await greeted(server.port);
      assert.equal(later, "hello v1", `client ${i + 2}`);
      await client.send("still v1?\n");
      assert.equal(await client.readLine(), "still v1?");
      client.close();
    }
    first.close();
  });
}
