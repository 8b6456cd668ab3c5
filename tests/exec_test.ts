/**
 * `--service=exec -- CMD ARGS`: real programs (`cat`, `bc`, `sh -c`) joined
 * to their clients, under every strategy.
 */
import assert from "node:assert/strict";
import type { PeerInfo, Session } from "../lib/service.ts";
import { createExecService } from "../services/exec.ts";
import { startTestServer, TestClient } from "../testing.ts";
import { assertOneLineError, CliServer, runCli } from "./_helpers/cli.ts";
import { ALL_MODES } from "./_helpers/modes.ts";
import { hasCommand } from "./_helpers/tools.ts";

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
    await using server = await startTestServer({ mode, service: "exec", serviceArgs: ["cat"] });
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
      await using server = await startTestServer({
        mode,
        service: "exec",
        serviceArgs: ["bc", "-q"],
      });
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
    await using server = await startTestServer({
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
    await using server = await startTestServer({
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

for (const mode of ALL_MODES) {
  Deno.test(`exec: ${mode} stops every program before the server's stop() resolves`, async () => {
    const server = await startTestServer({
      mode,
      service: "exec",
      // A program that neither reads nor writes: only a signal ends it.
      serviceArgs: ["sh", "-c", "echo $$; exec sleep 1000"],
    });
    using client = await TestClient.connect(server.port);
    const pid = Number(await client.readLine());
    assert.ok(pid > 0);
    await server.stop();
    let alive = true;
    try {
      Deno.kill(pid, "SIGCONT");
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      alive = false;
    }
    if (alive) Deno.kill(pid, "SIGKILL");
    assert.equal(alive, false, `${mode}: program ${pid} outlived the server`);
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
    /^servidor: --service: exec needs permission to run cat: run deno with --allow-run/,
  ],
  [
    ["--service=exec"],
    ["--allow-net", "--allow-run"],
    /^servidor: --service: exec needs a command to run, e.g. cat/,
  ],
  [
    ["--service=echo", "--", "cat"],
    ["--allow-net"],
    /^servidor: --service: echo takes no arguments; only exec does/,
  ],
  [
    ["--service=exec", "--", "servidor-no-such-program"],
    ["--allow-net", "--allow-run", "--allow-env", "--allow-read"],
    /^servidor: --service: exec: no program servidor-no-such-program on PATH/,
  ],
  [
    ["--service=exec", "--", "./README.md"],
    ["--allow-net", "--allow-run", "--allow-env", "--allow-read"],
    /^servidor: --service: exec: \.\/README\.md is not an executable file/,
  ],
];

for (const [args, permissions, message] of EXEC_MISTAKES) {
  Deno.test(`the CLI refuses ${args.join(" ")} (${permissions.join(" ")}) with one line and exit status 2`, async () => {
    assertOneLineError(await runCli(["--port=0", ...args], permissions), 2, message);
  });
}

Deno.test("exec: a program that cannot be started is reported once, with its reason once", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-exec-" });
  const program = `${dir}/vanishing.sh`;
  try {
    await Deno.writeTextFile(program, "#!/bin/sh\ncat\n", { mode: 0o755 });
    await using server = await CliServer.start(
      ["--service=exec", "--", program],
      ["--allow-net", "--allow-read", "--allow-run", "--allow-env"],
    );
    // Found at start, gone by the time a client comes.
    await Deno.remove(program);
    {
      using client = await TestClient.connect(server.port);
      assert.equal(decoder.decode(await client.readAll()), "ERR internal error\r\n");
    }
    const { logged } = await server.stop();
    const failures = logged.filter((line) => line.includes(`cannot run ${program}`));
    assert.equal(failures.length, 1, logged.join("\n"));
    assert.equal(failures[0]!.split("No such file or directory").length, 2, failures[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exec: a command that cannot be started closes its client and the server goes on", async () => {
  // The CLI refuses a program it cannot find at start; this one vanishes later, as it were.
  await using server = await startTestServer({
    mode: "poll",
    service: createExecService("servidor-no-such-program"),
  });
  {
    using client = await TestClient.connect(server.port);
    assert.equal(decoder.decode(await client.readAll()), "ERR internal error\r\n");
  }
  const summary = await server.stop();
  assert.equal(summary.clients, 1);
});

/**
 * A session that takes its time over every send, counting how many are
 * waiting at once, as a slow client's connection would.
 */
class SlowSession implements Session {
  readonly id = 1;
  readonly peer = "127.0.0.1:50000";
  readonly remoteAddr: Deno.Addr = { transport: "tcp", hostname: "127.0.0.1", port: 50000 };
  readonly localAddr: Deno.Addr = { transport: "tcp", hostname: "127.0.0.1", port: 7000 };
  readonly #closing = new AbortController();
  readonly #closed = Promise.withResolvers<void>();
  received = 0;
  sending = 0;
  mostSendingAtOnce = 0;

  get signal(): AbortSignal {
    return this.#closing.signal;
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  async send(data: string | Uint8Array): Promise<void> {
    this.sending++;
    this.mostSendingAtOnce = Math.max(this.mostSendingAtOnce, this.sending);
    // Yield to the event loop, so that a service that did not wait for this
    // send would read more output and send again meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.received += typeof data === "string" ? data.length : data.byteLength;
    this.sending--;
  }

  sendLine(text: string): Promise<void> {
    return this.send(`${text}\r\n`);
  }

  broadcast(): void {}
  setName(): void {}
  who(): Promise<PeerInfo[]> {
    return Promise.resolve([]);
  }

  close(): void {
    this.#closing.abort();
    this.#closed.resolve();
  }
}

Deno.test("exec sends the program's output one chunk at a time, each after the last was taken", async () => {
  const service = createExecService("head", ["-c", String(1024 * 1024), "/dev/zero"]);
  const session = new SlowSession();
  await service.open!(session);
  await session.closed;
  assert.equal(session.received, 1024 * 1024);
  assert.equal(session.mostSendingAtOnce, 1);
});
