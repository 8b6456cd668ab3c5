/**
 * servidor run the way a supervisor runs a daemon: it says its PID, keeps a
 * PID file exactly while it listens, and exits promptly when told to stop.
 */
import assert from "node:assert/strict";
import { CliServer } from "./_helpers/cli.ts";

Deno.test("--pid-file holds the PID once the server listens, and is gone after it stops", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-pid-" });
  try {
    const path = `${dir}/servidor.pid`;
    const server = await CliServer.start(
      [`--pid-file=${path}`],
      ["--allow-net", "--allow-read", `--allow-write=${dir}`],
    );
    // The file is written before the listening line, which says the same PID.
    assert.equal(await Deno.readTextFile(path), `${server.pid}\n`);
    assert.match(server.listening, new RegExp(` pid=${server.pid}$`));
    const { code } = await server.stop("SIGTERM");
    assert.equal(code, 0);
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    // Nothing else is left beside it (no half-written file).
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--pid-file in a directory that does not exist is refused in one line, exit status 1", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-pid-" });
  await Deno.remove(dir);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-check", "-A", "main.ts", "--port=0", `--pid-file=${dir}/servidor.pid`],
    cwd: new URL("..", import.meta.url),
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
  const { code, stderr } = await child.output();
  assert.equal(code, 1);
  assert.equal(
    new TextDecoder().decode(stderr),
    `servidor: cannot write the PID file ${dir}/servidor.pid: its directory does not exist\n`,
  );
});

/** Starts a server, interrupts it and measures from its `stopped:` line to its exit. */
async function summaryToExitMs(): Promise<number> {
  const server = await CliServer.start([]);
  server.child.kill("SIGINT");
  await server.waitForLog(/^stopped: 0 clients served/);
  const summaryAt = performance.now();
  const { code } = await server.child.status;
  const exitedAt = performance.now();
  await server.exited();
  assert.equal(code, 0);
  return exitedAt - summaryAt;
}

Deno.test("after SIGINT with no clients the process exits within 200 ms of its summary line", async () => {
  // The best of three runs: one slow run on a loaded machine says nothing,
  // but a server that waits on a timer or a handle before exiting is slow every time.
  const runs = [await summaryToExitMs(), await summaryToExitMs(), await summaryToExitMs()];
  const best = Math.min(...runs);
  assert.ok(best < 200, `summary line to exit took ${runs.map(Math.round).join(", ")} ms`);
});
