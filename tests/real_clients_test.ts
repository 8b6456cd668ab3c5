/**
 * servidor driven by clients it did not write: OpenBSD netcat, socat and
 * Python's socket module, against the CLI in its own process. `.ci/run`
 * installs them; where one is missing its tests are skipped with the reason
 * in their names.
 */
import assert from "node:assert/strict";
import { MODES } from "../strategies/mod.ts";
import { TestClient } from "../testing.ts";
import { CliServer } from "./_helpers/cli.ts";
import { netcatChat } from "./_helpers/chat.ts";
import { CONCURRENT_MODES } from "./_helpers/modes.ts";
import { runTool, toolInstalled } from "./_helpers/tools.ts";

const decoder = new TextDecoder();

const HAVE_NC = toolInstalled("nc", ["-h"], /OpenBSD netcat/);
const HAVE_SOCAT = toolInstalled("socat", ["-V"], /socat version/);
const HAVE_PYTHON = toolInstalled("python3", ["--version"], /Python 3/);
const missing = (have: boolean, tool: string) => have ? "" : ` (skipped: ${tool} is not installed)`;

for (const mode of MODES) {
  Deno.test(`nc -N echoes every line and ends under ${mode}${missing(HAVE_NC, "nc")}`, {
    ignore: !HAVE_NC,
  }, async () => {
    await using server = await CliServer.start([`--mode=${mode}`, "--service=echo"]);
    const input = "hola\nmundo\nlast line without newline";
    assert.equal(await runTool("nc", ["-N", "127.0.0.1", String(server.port)], input), input);
  });

  Deno.test(
    `nc -N gets a reply to a last line without a newline from reverse under ${mode}${
      missing(HAVE_NC, "nc")
    }`,
    { ignore: !HAVE_NC },
    async () => {
      await using server = await CliServer.start([`--mode=${mode}`, "--service=reverse"]);
      const output = await runTool("nc", ["-N", "127.0.0.1", String(server.port)], "abc\nxyz");
      assert.equal(output, "cba\r\nzyx\r\n");
    },
  );

  Deno.test(`socat reads daytime under ${mode}${missing(HAVE_SOCAT, "socat")}`, {
    ignore: !HAVE_SOCAT,
  }, async () => {
    await using server = await CliServer.start([`--mode=${mode}`, "--service=daytime"]);
    const output = await runTool("socat", ["-u", `TCP:127.0.0.1:${server.port}`, "STDOUT"]);
    assert.match(output, /^[A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, \d{4} \d\d:\d\d:\d\d-UTC\r\n$/);
  });

  Deno.test(
    `socat's crlf lines, telnet style, are answered without stray CRs under ${mode}${
      missing(HAVE_SOCAT, "socat")
    }`,
    { ignore: !HAVE_SOCAT },
    async () => {
      await using server = await CliServer.start([`--mode=${mode}`, "--service=reverse"]);
      // crlf turns each LF into CRLF on the way out, and CRLF back into LF on the way in.
      const output = await runTool(
        "socat",
        ["-", `TCP:127.0.0.1:${server.port},crlf,shut-down`],
        "hola\nsin fin\n",
      );
      assert.equal(output, "aloh\nnif nis\n");
    },
  );

  Deno.test(
    `Python's socket sends CRLF lines, half-closes, and gets every answer under ${mode}${
      missing(HAVE_PYTHON, "python3")
    }`,
    { ignore: !HAVE_PYTHON },
    async () => {
      await using server = await CliServer.start([`--mode=${mode}`, "--service=reverse"]);
      const script = `
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"hola\\r\\nqu\\xc3\\xa9 tal\\r\\nend")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
sys.stdout.write(repr(data))
`;
      const output = await runTool("python3", ["-c", script, String(server.port)]);
      assert.equal(output, String.raw`b'aloh\r\nlat \xc3\xa9uq\r\ndne\r\n'`);
    },
  );

  Deno.test(
    `Python's half-close gets every byte of a megabyte echoed back under ${mode}${
      missing(HAVE_PYTHON, "python3")
    }`,
    { ignore: !HAVE_PYTHON },
    async () => {
      await using server = await CliServer.start([`--mode=${mode}`, "--service=echo"]);
      const script = `
import socket, sys, threading, hashlib
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
payload = bytes(range(256)) * 4096
def send():
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
sender = threading.Thread(target=send)
sender.start()
received = bytearray()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    received += chunk
sender.join()
print(len(received), received == payload)
`;
      assert.equal(await runTool("python3", ["-c", script, String(server.port)]), "1048576 True\n");
    },
  );

  Deno.test(
    `a client that resets mid-write is dropped, logged at debug, and nothing else breaks, under ${mode}${
      missing(HAVE_PYTHON, "python3")
    }`,
    { ignore: !HAVE_PYTHON },
    async () => {
      await using server = await CliServer.start([
        `--mode=${mode}`,
        "--service=chargen",
        "--log-level=debug",
      ]);
      // SO_LINGER with a zero timeout makes close() send RST instead of FIN.
      const script = `
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
got = 0
while got < 200000:
    got += len(s.recv(65536))
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("reset")
`;
      assert.equal(await runTool("python3", ["-c", script, String(server.port)]), "reset\n");
      await server.waitForLog(/DBG.*went away/);
      await server.waitForLog(/INF.*close 127\.0\.0\.1:\d+ id=\d+ /);
      using next = await TestClient.connect(server.port);
      assert.equal(decoder.decode(await next.readBytes(5)), ` !"#$`);
      next.close();
      const status = await server.stop();
      assert.equal(status.code, 0);
      assert.ok(
        !server.log.some((line) => /uncaught|unhandled|panic/i.test(line)),
        server.log.join("\n"),
      );
    },
  );
}

for (const mode of CONCURRENT_MODES) {
  Deno.test(`two nc clients chat under ${mode}${missing(HAVE_NC, "nc")}`, {
    ignore: !HAVE_NC,
  }, async () => {
    await using server = await CliServer.start([`--mode=${mode}`, "--service=chat"]);
    await netcatChat(server.port);
  });
}
