/**
 * TLS, Unix domain sockets and IPv6, under every strategy, with servidor's
 * own client and with real ones (`openssl s_client`, `socat`).
 */
import assert from "node:assert/strict";
import { startTestServer, TestClient } from "../testing.ts";
import { MODES_BUT_REUSEPORT } from "./_helpers/modes.ts";
import { startTlsServer } from "./_helpers/tls.ts";
import { hasCommand, hasIpv6Loopback, runTool } from "./_helpers/tools.ts";

const encoder = new TextEncoder();
const HAVE_OPENSSL = hasCommand("openssl");
const HAVE_SOCAT = hasCommand("socat");
const HAVE_IPV6 = hasIpv6Loopback();

for (const mode of MODES_BUT_REUSEPORT) {
  Deno.test({
    name: `TLS: ${mode} serves reverse to a Deno TLS client that trusts the test certificate${
      HAVE_OPENSSL ? "" : " (ignored: openssl is not installed to make a certificate)"
    }`,
    ignore: !HAVE_OPENSSL,
    async fn() {
      await using server = await startTlsServer({
        mode,
        service: "reverse",
      });
      const { certificate } = server;
      using client = await TestClient.connectTo({
        transport: "tls",
        hostname: "127.0.0.1",
        port: server.port,
        caCerts: [certificate.cert],
      });
      await client.send("hola\nsin newline");
      assert.equal(await client.readLine(), "aloh");
      await client.closeWrite();
      assert.equal(await client.readLine(), "enilwen nis");
      assert.equal(await client.readLine(), null);
    },
  });

  Deno.test({
    name: `TLS: ${mode} answers socat's OPENSSL address, a real TLS client that half-closes${
      HAVE_OPENSSL && HAVE_SOCAT ? "" : " (ignored: needs openssl and socat)"
    }`,
    ignore: !HAVE_OPENSSL || !HAVE_SOCAT,
    async fn() {
      await using server = await startTlsServer({
        mode,
        service: "reverse",
      });
      const { certificate } = server;
      // -t 30: after our end of input, wait up to 30 s for the server's answer.
      const answer = await runTool("socat", [
        "-t",
        "30",
        "-",
        `OPENSSL:127.0.0.1:${server.port},cafile=${certificate.files.certFile}`,
      ], "hola\nadios");
      assert.equal(answer, "aloh\r\nsoida\r\n");
    },
  });

  Deno.test({
    name: `TLS: ${mode} answers openssl s_client, which verifies the certificate${
      HAVE_OPENSSL ? "" : " (ignored: openssl is not installed)"
    }`,
    ignore: !HAVE_OPENSSL,
    async fn() {
      await using server = await startTlsServer({
        mode,
        service: "reverse",
      });
      const { certificate } = server;
      const sClient = new Deno.Command("openssl", {
        args: [
          "s_client",
          "-quiet",
          "-no_ign_eof",
          "-verify_return_error",
          "-CAfile",
          certificate.files.certFile,
          "-connect",
          `127.0.0.1:${server.port}`,
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = sClient.stdin.getWriter();
      await writer.write(encoder.encode("hola\n"));
      // s_client closes at end of its input without waiting, so read the answer first.
      let received = "";
      for await (const chunk of sClient.stdout.pipeThrough(new TextDecoderStream())) {
        received += chunk;
        if (received.includes("\n")) break;
      }
      await writer.close();
      const status = await sClient.status;
      await sClient.stderr.cancel();
      assert.equal(received, "aloh\r\n");
      assert.equal(status.code, 0);
    },
  });

  Deno.test({
    name: `TLS: ${mode} drops a client that speaks plain text and goes on serving${
      HAVE_OPENSSL ? "" : " (ignored: openssl is not installed)"
    }`,
    ignore: !HAVE_OPENSSL,
    async fn() {
      await using server = await startTlsServer({
        mode,
        service: "echo",
      });
      const { certificate } = server;
      {
        using plain = await TestClient.connect(server.port);
        await plain.send("GET / HTTP/1.0\r\n\r\n");
        // Whatever the server says (a TLS alert at most), it then closes.
        await plain.readAll();
      }
      using client = await TestClient.connectTo({
        transport: "tls",
        hostname: "127.0.0.1",
        port: server.port,
        caCerts: [certificate.cert],
      });
      await client.send("still here\n");
      assert.equal(await client.readLine(), "still here");
    },
  });

  Deno.test(`Unix socket: ${mode} serves echo on a socket file and removes the file when it stops`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "servidor-unix-" });
    try {
      const path = `${dir}/servidor.sock`;
      const server = await startTestServer({
        mode,
        service: "echo",
        listen: { transport: "unix", path },
      });
      try {
        assert.equal(server.address, path);
        assert.ok(Deno.lstatSync(path).isSocket);
        using client = await TestClient.connectTo({ transport: "unix", path });
        await client.send("por el socket\n");
        assert.equal(await client.readLine(), "por el socket");
        await client.closeWrite();
        assert.equal(await client.readLine(), null);
      } finally {
        await server.stop();
      }
      assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test({
    name: `IPv6: ${mode} serves echo on [::1]${
      HAVE_IPV6 ? "" : " (ignored: this machine has no IPv6 loopback)"
    }`,
    ignore: !HAVE_IPV6,
    async fn() {
      await using server = await startTestServer({
        mode,
        service: "echo",
        listen: { transport: "tcp", hostname: "::1", port: 0 },
      });
      assert.equal(server.address, `[::1]:${server.port}`);
      using client = await TestClient.connectTo({ hostname: "::1", port: server.port });
      await client.send("hola v6\n");
      assert.equal(await client.readLine(), "hola v6");
    },
  });
}
