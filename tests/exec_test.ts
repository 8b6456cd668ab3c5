/**
 * `--service=exec -- CMD ARGS`: real programs (`cat`, `bc`, `sh -c`) joined
 * to their clients, under every strategy.
 */
import assert from "node:assert/strict";
import { ALL_MODES, CliServer, hasCommand, runCli, startServer, TestClient } from "./_helpers.ts";

const HAVE_BC = hasCommand("bc");
const decoder = new TextDecoder();

/** Resolves once process `pid` has exited; `tail --pid` watches it for us. */
async function processGone(pid: number): Promise<void> {
  const watched = await new Deno.Command("tail", {
    args: [`--pid=${pid}`, "-f", "/dev/null"],
    stdout: "null",
    stderr: "null",
  }).output();
  assert.ok(watched.success);
}

for (const mode of ALL_MODES) {
  Deno.test(`exec: ${mode} joins cat to its client, 4 MiB each way, and closes after cat exits`, async () => {
    await using server = await startServer({ mode, service: "exec", serviceArgs: ["cat"] });
    using client = await TestClient.connect(server.port);
    const payload = new Uint8Array(4 * 1024 * 1024).map((_, i) => i % 251);
    // Read while writing: cat answers as it goes, so a client that only
    // wrote would stall once every buffer between them is full.
    const received = client.readAll();
    await client.send(payload);
    await client.closeWrite();
    assert.deepEqual(await received, payload);
  });

  Deno.test({
    name: `exec: ${mode} serves bc as a calculator${
      HAVE_BC ? "" : " (ignored: bc is not installed; .ci/run installs it)"
    }`,
    ignore: !HAVE_BC,
    async fn() {
      await using server = await startServer({ mode, service: "exec", serviceArgs: ["bc", "-q"] });
      using client = await TestClient.connect(server.port);
      await client.send("2+3\n");
      assert.equal(await client.readLine(), "5");
      await client.send("scale=3; 10/4\n");
      assert.equal(await client.readLine(), "2.500");
      // End of input ends bc, which ends the connection.
      await client.closeWrite();
      assert.equal(await client.readLine(), null);
    },
  });

  Deno.test(`exec: ${mode} gives the program the client's address as ucspi-tcp does, and closes when it exits`, async () => {
    await using server = await startServer({
      mode,
      service: "exec",
      serviceArgs: [
        "sh",
        "-c",
        'echo "$PROTO $TCPREMOTEIP $TCPREMOTEPORT $TCPLOCALIP $TCPLOCALPORT"',
      ],
    });
    using client = await TestClient.connect(server.port);
    const local = client.conn.localAddr as Deno.NetAddr;
    assert.equal(
      await client.readLine(),
      `TCP 127.0.0.1 ${local.port} 127.0.0.1 ${server.port}`,
    );
    // The program exited without our closing anything: the server closes.
    assert.equal(await client.readLine(), null);
  });

  Deno.test(`exec: ${mode} stops the program when its client leaves`, async () => {
    await using server = await startServer({
      mode,
      service: "exec",
      // `exec` keeps the shell's pid; `yes` writes until stopped.
      serviceArgs: ["sh", "-c", "echo $$; exec yes"],
    });
    const client = await TestClient.connect(server.port);
    const pid = Number(await client.readLine());
    assert.ok(pid > 0);
    client.close();
    await processGone(pid);
  });
}

Deno.test("exec logs what the program writes to standard error, under every mode", async () => {
  for (const mode of ALL_MODES) {
    const server = await CliServer.start(
      [
        `--mode=${mode}`,
        "--port=0",
        "--service=exec",
        "--",
        "sh",
        "-c",
        "echo oops >&2; echo done",
      ],
      ["--allow-net", "--allow-read", "--allow-run"],
    );
    {
      using client = await TestClient.connect(server.port);
      assert.equal(await client.readLine(), "done");
      assert.equal(await client.readLine(), null);
    }
    const { code, logged } = await server.stop();
    assert.equal(code, 0);
    assert.ok(
      logged.some((line) => /servidor\.exec: 127\.0\.0\.1:\d+ sh: oops$/.test(line)),
      `${mode}: no stderr line in\n${logged.join("\n")}`,
    );
  }
});

const EXEC_MISTAKES: Array<[string[], string[], RegExp]> = [
  [
    ["--service=exec", "--", "cat"],
    ["--allow-net"],
    /^servidor: --service=exec needs permission to run cat: run deno with --allow-run/,
  ],
  [
    ["--service=exec"],
    ["--allow-net", "--allow-run"],
    /^servidor: --service=exec needs a command after --/,
  ],
  [
    ["--service=echo", "--", "cat"],
    ["--allow-net"],
    /^servidor: --service=echo takes no words after --; only exec does/,
  ],
];

for (const [args, permissions, message] of EXEC_MISTAKES) {
  Deno.test(`the CLI refuses ${args.join(" ")} (${permissions.join(" ")}) with one line and exit status 2`, async () => {
    const { code, stderr } = await runCli(["--port=0", ...args], permissions);
    assert.equal(code, 2, stderr);
    assert.match(stderr, message);
    assert.equal(stderr.trimEnd().split("\n").length, 1);
  });
}

Deno.test("exec: a command that does not exist closes its client and the server goes on", async () => {
  await using server = await startServer({
    mode: "poll",
    service: "exec",
    serviceArgs: ["servidor-no-such-program"],
  });
  {
    using client = await TestClient.connect(server.port);
    assert.equal(decoder.decode(await client.readAll()), "ERR internal error\r\n");
  }
  const summary = await server.stop();
  assert.equal(summary.clients, 1);
});
