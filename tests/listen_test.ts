/**
 * The CLI's transports end to end: what it prints, how it fails, and what it
 * leaves on disk, for TLS, Unix sockets and IPv6.
 */
import assert from "node:assert/strict";
import { makeTestCertificate } from "../lib/test_certificate.ts";
import { startTestServer, TestClient } from "../testing.ts";
import { assertOneLineError, CliServer, runCli } from "./_helpers/cli.ts";
import { startTlsServer } from "./_helpers/tls.ts";
import { hasCommand, hasIpv6Loopback } from "./_helpers/tools.ts";

const HAVE_OPENSSL = hasCommand("openssl");
const HAVE_IPV6 = hasIpv6Loopback();

Deno.test("the CLI refuses a missing TLS key file with one line and exit status 2", async () => {
  await using certificate = HAVE_OPENSSL ? await makeTestCertificate() : undefined;
  const certFile = certificate?.files.certFile ?? "/nonexistent/cert.pem";
  const result = await runCli(
    ["--port=0", `--tls-cert=${certFile}`, "--tls-key=/nonexistent/key.pem"],
    ["--allow-net", "--allow-read"],
  );
  assertOneLineError(
    result,
    2,
    /^servidor: --tls-(cert|key): cannot read \/nonexistent\/\S+: no such file/,
  );
});

Deno.test("the CLI refuses a TLS key it may not read with one line and exit status 2", async () => {
  const result = await runCli(
    ["--port=0", "--tls-cert=/tmp/servidor-cert.pem", "--tls-key=/tmp/servidor-key.pem"],
    ["--allow-net"],
  );
  assertOneLineError(result, 2, /^servidor: --tls-cert: cannot read \S+: no read access/);
});

Deno.test("the CLI refuses a certificate without a key with one line and exit status 2", async () => {
  const result = await runCli(["--port=0", "--tls-cert=cert.pem"]);
  assertOneLineError(result, 2, /^servidor: --tls-cert and --tls-key go together/);
});

Deno.test("the CLI refuses a key file that holds no key with one line and exit status 2", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-tls-" });
  try {
    await Deno.writeTextFile(`${dir}/junk.pem`, "not a certificate\n");
    const result = await runCli(
      ["--port=0", `--tls-cert=${dir}/junk.pem`, `--tls-key=${dir}/junk.pem`],
      ["--allow-net", "--allow-read"],
    );
    assertOneLineError(
      result,
      2,
      /^servidor: --tls-cert: cannot use the TLS certificate and key: /,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: `the client command talks TLS to a server whose certificate it is given with --ca${
    HAVE_OPENSSL ? "" : " (ignored: openssl is not installed)"
  }`,
  ignore: !HAVE_OPENSSL,
  async fn() {
    await using server = await startTlsServer({
      mode: "poll",
      service: "reverse",
    });
    const { certificate } = server;
    const output = await runCli(
      ["client", "--tls", `--ca=${certificate.files.certFile}`, `--port=${server.port}`],
      ["--allow-net", "--allow-read"],
      "hola\n",
    );
    assert.equal(output.code, 0, output.stderr);
    assert.equal(output.stdout, "aloh\r\n");
  },
});

Deno.test({
  name: `the client command refuses a server whose certificate it does not trust${
    HAVE_OPENSSL ? "" : " (ignored: openssl is not installed)"
  }`,
  ignore: !HAVE_OPENSSL,
  async fn() {
    await using server = await startTlsServer({ mode: "poll", service: "reverse" });
    const output = await runCli(
      ["client", "--tls", `--port=${server.port}`],
      ["--allow-net"],
      "hola\n",
    );
    assert.equal(output.code, 1);
    assert.match(
      output.stderr,
      /^servidor: cannot talk to 127\.0\.0\.1:\d+: invalid peer certificate/,
    );
  },
});

Deno.test("a stale socket file left by a killed server is replaced, and a stopped server removes its file", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-unix-" });
  const path = `${dir}/servidor.sock`;
  const permissions = ["--allow-net", "--allow-read", `--allow-write=${dir}`];
  try {
    const killed = await CliServer.start([`--unix=${path}`], permissions);
    assert.equal(killed.address, path);
    // SIGKILL: the server gets no chance to clean up, as when it crashes.
    await killed.stop("SIGKILL");
    assert.ok(Deno.lstatSync(path).isSocket, "a killed server should leave its socket file");

    const server = await CliServer.start([`--unix=${path}`, "--service=reverse"], permissions);
    {
      using client = await TestClient.connectTo({ transport: "unix", path });
      await client.send("hola\n");
      assert.equal(await client.readLine(), "aloh");
    }
    const { code, logged } = await server.stop();
    assert.equal(code, 0, logged.join("\n"));
    assert.match(logged.join("\n"), /open unix id=1/);
    assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second server's look at a live Unix socket (under --allow-all) is not a client in the first one's log", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-unix-" });
  const path = `${dir}/servidor.sock`;
  const permissions = ["--allow-net", "--allow-read", `--allow-write=${dir}`];
  try {
    const first = await CliServer.start([`--unix=${path}`], permissions);
    // Deno lets a program read /proc/net/unix only under --allow-all; with less,
    // the second server connects to find out, and that shows in the first one's log.
    const second = await runCli([`--unix=${path}`], ["--allow-all"]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /another server is listening on it/);
    // A real client afterwards is logged, so the log would have shown the probe too.
    {
      using client = await TestClient.connectTo({ transport: "unix", path });
      await client.send("hola\n");
      assert.equal(await client.readLine(), "hola");
    }
    await first.waitForLog(/close unix id=/);
    const { logged } = await first.stop();
    const opened = logged.filter((line) => / open unix id=/.test(line));
    assert.equal(opened.length, 1, logged.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a socket file that a live server answers on is refused with one line and exit status 1", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-unix-" });
  const path = `${dir}/servidor.sock`;
  try {
    await using _live = await startTestServer({
      mode: "poll",
      service: "echo",
      listen: { transport: "unix", path },
    });
    const result = await runCli(
      [`--unix=${path}`],
      ["--allow-net", "--allow-read", `--allow-write=${dir}`],
    );
    assert.equal(
      result.stderr,
      `servidor: cannot listen on ${path}: another server is listening on it\n`,
    );
    assert.equal(result.code, 1);
    assert.ok(Deno.lstatSync(path).isSocket, "the live server's file must stay");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a path that is not a socket is never removed to make room", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-unix-" });
  const path = `${dir}/precious.txt`;
  try {
    await Deno.writeTextFile(path, "keep me\n");
    const result = await runCli(
      [`--unix=${path}`],
      ["--allow-net", "--allow-read", `--allow-write=${dir}`],
    );
    assert.equal(
      result.stderr,
      `servidor: cannot listen on ${path}: it exists and is not a socket\n`,
    );
    assert.equal(result.code, 1);
    assert.equal(await Deno.readTextFile(path), "keep me\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the client command talks to a Unix socket with --unix", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-unix-" });
  const path = `${dir}/servidor.sock`;
  try {
    await using _server = await startTestServer({
      mode: "poll",
      service: "reverse",
      listen: { transport: "unix", path },
    });
    // Deno asks for net, read and write access to connect to a Unix socket.
    const output = await runCli(
      ["client", `--unix=${path}`],
      ["--allow-net", `--allow-read=${dir}`, `--allow-write=${dir}`],
      "hola\n",
    );
    assert.equal(output.code, 0, output.stderr);
    assert.equal(output.stdout, "aloh\r\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const host of ["::1", "::"]) {
  Deno.test({
    name: `--host ${host} listens on IPv6 and prints the address as [${host}]:PORT${
      HAVE_IPV6 ? "" : " (ignored: this machine has no IPv6 loopback)"
    }`,
    ignore: !HAVE_IPV6,
    async fn() {
      await using server = await CliServer.start(["--host", host, "--port=0", "--service=reverse"]);
      assert.match(server.address, new RegExp(`^\\[${host.replaceAll(":", "\\:")}\\]:\\d+$`));
      const output = await runCli(
        ["client", "--host=::1", `--port=${server.port}`],
        ["--allow-net"],
        "hola\n",
      );
      assert.equal(output.code, 0, output.stderr);
      assert.equal(output.stdout, "aloh\r\n");
      const { logged } = await server.stop();
      assert.match(logged.join("\n"), /open \[::1\]:\d+ id=1/);
    },
  });
}

Deno.test("the CLI refuses --unix without read and write access, with one line and exit status 2", async () => {
  const result = await runCli(["--unix=/tmp/servidor-denied.sock"], ["--allow-net"]);
  assertOneLineError(
    result,
    2,
    /^servidor: --unix: \/tmp\/servidor-denied\.sock needs read and write access to it: run deno with --allow-read --allow-write/,
  );
});

Deno.test("the CLI refuses address rules on a Unix socket, whose clients have no address", async () => {
  const result = await runCli(
    ["--unix=/tmp/servidor-rules.sock", "--allow=127.0.0.0/8", "--max-per-ip=2"],
    ["--allow-net", "--allow-read", "--allow-write=/tmp"],
  );
  assertOneLineError(
    result,
    2,
    /^servidor: --unix cannot be combined with --allow, --max-per-ip: a Unix socket's clients have no address/,
  );
});

const noIpv6 = HAVE_IPV6 ? "" : " (ignored: this machine has no ::1)";

Deno.test({
  name:
    `--host=:: is dual stack: an IPv4 client is served and logged as the IPv4 address it is${noIpv6}`,
  ignore: !HAVE_IPV6,
  async fn() {
    await using server = await CliServer.start(["--host=::"]);
    using client = await TestClient.connect(server.port, "127.0.0.1");
    await client.send("hola\n");
    assert.equal(await client.readLine(), "hola");
    const open = await server.waitForLog(/ open \S+ id=/);
    assert.match(open, / open 127\.0\.0\.1:\d+ id=1$/);
  },
});

Deno.test({
  name: `--ipv6-only turns IPv4 clients away and serves IPv6 ones${noIpv6}`,
  ignore: !HAVE_IPV6,
  async fn() {
    await using server = await CliServer.start(["--host=::", "--ipv6-only"]);
    {
      using turnedAway = await TestClient.connect(server.port, "127.0.0.1");
      assert.equal(await turnedAway.readLine(), null);
    }
    await server.waitForLog(/refused 127\.0\.0\.1:\d+: this server takes IPv6 clients only/);
    using client = await TestClient.connect(server.port, "::1");
    await client.send("hola\n");
    assert.equal(await client.readLine(), "hola");
    // The IPv4 client was never a client: the first one served is id 1.
    assert.match(await server.waitForLog(/ open \S+ id=/), / open \[::1\]:\d+ id=1$/);
  },
});

Deno.test("--ipv6-only with an IPv4 --host is refused in one line, exit status 2", async () => {
  assertOneLineError(
    await runCli(["--host=127.0.0.1", "--ipv6-only"]),
    2,
    /^servidor: --ipv6-only needs an IPv6 --host such as ::, not 127\.0\.0\.1/,
  );
});
