import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { assertOneLineError, CliServer, MAIN, runCli } from "./_helpers/cli.ts";

const decoder = new TextDecoder();

const BAD_FLAGS: Array<[string[], RegExp]> = [
  [["--mode=bogus"], /^servidor: invalid --mode "bogus": expected one of single, poll, workers/],
  [
    ["--service=nope"],
    /^servidor: --service: unknown service "nope"; known services: echo, discard, daytime/,
  ],
  [["--port=70000"], /^servidor: invalid --port "70000": expected a whole number from 0 to 65535/],
  [["--port=-1"], /^servidor: invalid --port "-1"/],
  [["--frobnicate"], /^servidor: unknown flag --frobnicate/],
  [["--max-line=0"], /^servidor: invalid --max-line "0"/],
  [
    ["--log-level=loud"],
    /^servidor: invalid --log-level "loud": expected one of debug, info, warn, error/,
  ],
  [["serve", "extra"], /^servidor: unexpected argument "extra"/],
  [["client", "--port=x"], /^servidor: invalid --port "x"/],
  [
    ["--bus=nats://x:1"],
    /^servidor: invalid --bus "nats:\/\/x:1": expected local or redis:\/\/HOST:PORT/,
  ],
  [["--threads=0"], /^servidor: invalid --threads "0": expected a whole number from 1/],
];

for (const [args, message] of BAD_FLAGS) {
  Deno.test(`the CLI rejects ${args.join(" ")} with one line and exit status 2`, async () => {
    assertOneLineError(await runCli(args), 2, message);
  });
}

Deno.test("the CLI refuses --mode=reuseport without --unstable-net, with one line and exit status 2", async () => {
  // deno.json turns the unstable network APIs on; run as if it were not there.
  assertOneLineError(
    await runCli(["--mode=reuseport", "--port=0"], [
      "--no-config",
      "--import-map=deno.json",
      "--allow-net",
      "--allow-read",
    ]),
    2,
    /^servidor: --mode: reuseport needs .* run deno with --unstable-net/,
  );
});

Deno.test("the CLI says in one line that Redis cannot be reached and exits with status 1", async () => {
  // A port that was free a moment ago: nothing answers there.
  const { port } = (() => {
    using probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return probe.addr;
  })();
  assertOneLineError(
    await runCli(["--port=0", `--bus=redis://127.0.0.1:${port}`], [
      "--allow-net",
      "--allow-env",
      "--allow-read",
    ]),
    1,
    new RegExp(`^servidor: cannot reach Redis at redis://127.0.0.1:${port}: `),
  );
});

Deno.test("the CLI says the address is in use and exits with status 1", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { code, stderr } = await runCli([`--port=${taken.addr.port}`]);
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `servidor: cannot listen on 127.0.0.1:${taken.addr.port}: address already in use\n`,
  );
});

Deno.test("--help lists every mode and service and exits 0", async () => {
  const { code, stdout } = await runCli(["--help"]);
  assert.equal(code, 0);
  const words = ["single", "poll", "workers", "reuseport", "echo", "chargen", "chat", "compute"];
  for (const word of [...words, "--threads", "--proxy-protocol", "--bus"]) {
    assert.ok(stdout.includes(word), `--help does not mention ${word}`);
  }
});

for (const mode of ["single", "poll", "workers", "reuseport"]) {
  Deno.test(`the CLI serves echo under ${mode}, then stops on SIGTERM with a summary and status 0`, async () => {
    await using server = await CliServer.start(
      [`--mode=${mode}`, "--log-format=json"],
      ["--unstable-net", "--allow-net", "--allow-read"],
    );
    // Under --log-format=json the lifecycle lines are JSON records like every other.
    const first = JSON.parse(server.listening);
    assert.equal(first.level, "INFO");
    const listening = /^listening on 127\.0\.0\.1:(\d+) mode=(\w+) service=echo pid=(\d+)$/
      .exec(first.message);
    assert.ok(listening, `unexpected first line: ${server.listening}`);
    assert.equal(listening[2], mode);
    assert.equal(Number(listening[3]), server.pid);
    assert.deepEqual(first.properties, {
      address: `127.0.0.1:${listening[1]}`,
      mode,
      service: "echo",
      pid: server.pid,
    });

    using client = await TestClient.connect(server.port);
    await client.send("hola\n");
    assert.equal(await client.readLine(), "hola");
    await client.closeWrite();
    assert.equal(await client.readLine(), null);

    await server.waitForLog(/"close/);
    const { code, logged } = await server.stop();
    assert.equal(code, 0);
    const stopped = JSON.parse(logged.at(-1)!);
    assert.equal(stopped.message, "stopped: 1 client served, 5 bytes in, 5 bytes out");
    assert.deepEqual(stopped.properties, { clients: 1, bytesIn: 5, bytesOut: 5 });
    const closeRecord = JSON.parse(logged.find((line) => line.includes('"close'))!);
    assert.equal(closeRecord.level, "INFO");
    assert.equal(closeRecord.properties.bytesIn, 5);
    assert.equal(closeRecord.properties.bytesOut, 5);
  });
}

Deno.test("the client command sends standard input and prints the reply until the server closes", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-check", "--allow-net", MAIN, "client", `--port=${listener.addr.port}`],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("ping\n"));
  await writer.close();

  // A reverse-ish server: read to end of input, answer, close.
  const conn = await listener.accept();
  const received: number[] = [];
  const buffer = new Uint8Array(1024);
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
    received.push(...buffer.subarray(0, n));
  }
  assert.equal(decoder.decode(Uint8Array.from(received)), "ping\n");
  await conn.write(new TextEncoder().encode("pong\n"));
  conn.close();

  const output = await child.output();
  assert.equal(output.code, 0);
  assert.equal(decoder.decode(output.stdout), "pong\n");
});
