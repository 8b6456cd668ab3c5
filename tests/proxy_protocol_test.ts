import assert from "node:assert/strict";
import { Admission } from "../lib/admission.ts";
import { Cidr } from "../lib/cidr.ts";
import { Connection } from "../lib/connection.ts";
import {
  acceptProxyHeader,
  formatIpv6,
  parseProxyHeader,
  ProxyProtocolError,
  V1_MAX_LENGTH,
} from "../lib/proxy_protocol.ts";
import { startTestServer, TestClient } from "../testing.ts";
import { CliServer } from "./_helpers/cli.ts";

function hex(text: string): Uint8Array {
  return new Uint8Array(text.match(/../g)!.map((byte) => parseInt(byte, 16)));
}

const encoder = new TextEncoder();

// Captured from HAProxy 2.6 (`send-proxy` / `send-proxy-v2`), each followed by
// the client's own first bytes, "hola\n".
const HAPROXY_V1_TCP4 = encoder.encode("PROXY TCP4 127.0.0.1 127.0.0.1 49400 47757\r\nhola\n");
const HAPROXY_V1_TCP6 = encoder.encode("PROXY TCP6 ::1 ::1 45782 43909\r\nhola\n");
const HAPROXY_V2_TCP4 = hex(
  "0d0a0d0a000d0a515549540a2111000c7f0000017f00000192c88557686f6c610a",
);
const HAPROXY_V2_TCP6 = hex(
  "0d0a0d0a000d0a515549540a21210024" + "00000000000000000000000000000001".repeat(2) +
    "bc7c9033686f6c610a",
);
/** What HAProxy's health checks send with `send-proxy-v2`: LOCAL, no address. */
const HAPROXY_V2_HEALTH_CHECK = hex("0d0a0d0a000d0a515549540a20000000");

Deno.test("parseProxyHeader() reads HAProxy's v1 TCP4 header and where the client's bytes start", () => {
  assert.deepEqual(parseProxyHeader(HAPROXY_V1_TCP4), {
    version: 1,
    command: "proxy",
    length: HAPROXY_V1_TCP4.byteLength - 5,
    source: "127.0.0.1:49400",
  });
});

Deno.test("parseProxyHeader() reads HAProxy's v1 TCP6 header", () => {
  assert.deepEqual(parseProxyHeader(HAPROXY_V1_TCP6), {
    version: 1,
    command: "proxy",
    length: HAPROXY_V1_TCP6.byteLength - 5,
    source: "[::1]:45782",
  });
});

Deno.test("parseProxyHeader() reads HAProxy's v2 IPv4 header", () => {
  assert.deepEqual(parseProxyHeader(HAPROXY_V2_TCP4), {
    version: 2,
    command: "proxy",
    length: 28,
    source: "127.0.0.1:37576",
  });
});

Deno.test("parseProxyHeader() reads HAProxy's v2 IPv6 header", () => {
  assert.deepEqual(parseProxyHeader(HAPROXY_V2_TCP6), {
    version: 2,
    command: "proxy",
    length: 52,
    source: "[::1]:48252",
  });
});

Deno.test("parseProxyHeader() reads a v2 LOCAL header as the proxy's own connection", () => {
  assert.deepEqual(parseProxyHeader(HAPROXY_V2_HEALTH_CHECK), {
    version: 2,
    command: "local",
    length: 16,
    source: undefined,
  });
});

Deno.test("parseProxyHeader() reads v1 UNKNOWN as a header without an address", () => {
  assert.deepEqual(parseProxyHeader(encoder.encode("PROXY UNKNOWN\r\n")), {
    version: 1,
    command: "proxy",
    length: 15,
    source: undefined,
  });
});

Deno.test("parseProxyHeader() waits for more bytes at every cut of a valid header", () => {
  for (const header of [HAPROXY_V1_TCP4, HAPROXY_V2_TCP4, HAPROXY_V2_TCP6]) {
    const length = parseProxyHeader(header)!.length;
    for (let cut = 0; cut < length; cut++) {
      assert.equal(parseProxyHeader(header.subarray(0, cut)), undefined, `cut at ${cut}`);
    }
  }
});

const INVALID: Array<[string, Uint8Array]> = [
  ["plain text", encoder.encode("hola\n")],
  ["an HTTP request", encoder.encode("GET / HTTP/1.1\r\n")],
  ["an unknown v1 protocol", encoder.encode("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n")],
  ["a v1 address out of range", encoder.encode("PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n")],
  [
    "a v1 IPv4 address with leading zeros",
    encoder.encode("PROXY TCP4 010.001.001.001 1.2.3.4 1 2\r\n"),
  ],
  ["a v1 IPv6 address of colons alone", encoder.encode("PROXY TCP6 :::::::: ::1 1 2\r\n")],
  ["a v1 TCP6 header naming an IPv4 address", encoder.encode("PROXY TCP6 1.2.3.4 ::1 1 2\r\n")],
  ["a v1 port out of range", encoder.encode("PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n")],
  ["a v1 line ending in LF alone", encoder.encode("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n")],
  ["a v1 line with no end", encoder.encode("PROXY TCP4 " + "1".repeat(V1_MAX_LENGTH))],
  ["a v2 header of version 3", hex("0d0a0d0a000d0a515549540a3111000c7f0000017f00000192c88557")],
  ["a v2 header claiming 64 KiB", hex("0d0a0d0a000d0a515549540a2111ffff")],
  ["a v2 IPv4 header too short for its addresses", hex("0d0a0d0a000d0a515549540a21110004ffffffff")],
];

for (const [what, bytes] of INVALID) {
  Deno.test(`parseProxyHeader() refuses ${what}`, () => {
    assert.throws(() => parseProxyHeader(bytes), ProxyProtocolError);
  });
}

Deno.test("formatIpv6() shortens the longest run of zeros and only runs of two or more", () => {
  const address = hex("20010db8000000000001000000000001");
  assert.equal(formatIpv6(address), "2001:db8::1:0:0:1");
  assert.equal(formatIpv6(hex("20010db8000100010001000100010001")), "2001:db8:1:1:1:1:1:1");
  assert.equal(formatIpv6(new Uint8Array(16)), "::");
});

Deno.test("with --proxy-protocol, /who shows the client the v1 header names", async () => {
  await using server = await startTestServer({
    mode: "poll",
    service: "chat",
    proxyProtocol: true,
  });
  using client = await TestClient.connect(server.port);
  await client.send("PROXY TCP4 192.0.2.7 127.0.0.1 51234 7000\r\n/who\n");
  assert.match((await client.readLine())!, /^\* welcome/);
  assert.match((await client.readLine())!, /^\* online \(1\): guest\d+ \(192\.0\.2\.7:51234\)$/);
});

Deno.test("with --proxy-protocol, a header split across many writes still works, then echo carries on", async () => {
  await using server = await startTestServer({
    mode: "poll",
    service: "echo",
    proxyProtocol: true,
  });
  using client = await TestClient.connect(server.port);
  for (const byte of HAPROXY_V2_TCP6) {
    await client.send(new Uint8Array([byte]));
  }
  assert.deepEqual(await client.readBytes(5), encoder.encode("hola\n"));
});

for (const mode of ["single", "poll", "workers"] as const) {
  Deno.test(`with --proxy-protocol, a client without a header is refused under ${mode}`, async () => {
    await using server = await startTestServer({ mode, service: "echo", proxyProtocol: true });
    using client = await TestClient.connect(server.port);
    await client.send("hola\n");
    assert.deepEqual(await client.readAll(), new Uint8Array(0));
  });
}

Deno.test("with --proxy-protocol, a health check's LOCAL header is never served as a client", async () => {
  await using server = await startTestServer({
    mode: "poll",
    service: "chat",
    proxyProtocol: true,
  });
  using member = await TestClient.connect(server.port);
  await member.send(HAPROXY_V1_TCP4.subarray(0, HAPROXY_V1_TCP4.byteLength - 5));
  assert.match((await member.readLine())!, /^\* welcome/);
  {
    using check = await TestClient.connect(server.port);
    await check.send(HAPROXY_V2_HEALTH_CHECK);
    await check.closeWrite();
    assert.deepEqual(await check.readAll(), new Uint8Array(0));
  }
  // Had the check joined, its join would come before this answer.
  await member.send("/who\n");
  assert.match((await member.readLine())!, /^\* online \(1\): guest\d+ \(127\.0\.0\.1:49400\)$/);
});

Deno.test("with --proxy-protocol, a LOCAL connection that sends bytes is served with its own address", async () => {
  await using server = await startTestServer({
    mode: "poll",
    service: "echo",
    proxyProtocol: true,
  });
  using client = await TestClient.connect(server.port);
  await client.send(HAPROXY_V2_HEALTH_CHECK);
  await client.send("ping\n");
  assert.equal(await client.readLine(), "ping");
});

Deno.test("acceptProxyHeader() refuses a client that stays silent past the time limit", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using client = await TestClient.connect(listener.addr.port);
  const connection = new Connection(await listener.accept(), 1);
  assert.equal(await acceptProxyHeader(connection, 10), false);
  assert.equal(connection.closed, true);
  assert.deepEqual(await client.readAll(), new Uint8Array(0));
});

Deno.test("acceptProxyHeader() presents the connection as the client and hands back the bytes after the header", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  using client = await TestClient.connect(listener.addr.port);
  const connection = new Connection(await listener.accept(), 1);
  try {
    await client.send(HAPROXY_V2_TCP4);
    assert.equal(await acceptProxyHeader(connection), true);
    assert.equal(connection.peer, "127.0.0.1:37576");
    assert.deepEqual(await connection.read(), encoder.encode("hola\n"));
  } finally {
    connection.close();
  }
});

Deno.test("the CLI with --proxy-protocol logs the refusal of a client that sends no header", async () => {
  await using server = await CliServer.start(["--proxy-protocol"], ["--allow-net"]);
  using client = await TestClient.connect(server.port);
  await client.send("GET / HTTP/1.0\r\n\r\n");
  assert.deepEqual(await client.readAll(), new Uint8Array(0));
  const address = `127.0.0.1:${(client.conn.localAddr as Deno.NetAddr).port}`;
  await server.waitForLog(new RegExp(`refused ${address.replaceAll(".", "\\.")}: no PROXY header`));
  assert.equal((await server.stop()).code, 0);
});

for (
  const header of [
    "PROXY TCP4 010.001.001.001 127.0.0.1 1 2\r\n",
    "PROXY TCP6 :::::::: ::1 1 2\r\n",
    "PROXY TCP6 ::ffff:10.1.1.1 ::1 1 2\r\n",
    "PROXY TCP4 10.0.0.1 127.0.0.1 1 2\r\n",
  ]
) {
  Deno.test(`with --proxy-protocol and --deny=10.0.0.0/8, ${header.trim()} is never served`, async () => {
    await using server = await startTestServer({
      mode: "poll",
      service: "chat",
      proxyProtocol: true,
      rules: { deny: [Cidr.parse("10.0.0.0/8"), Cidr.parse("::/0")] },
    });
    using client = await TestClient.connect(server.port);
    await client.send(header);
    // Half-closed, so that a client wrongly served is answered and let go instead of waiting.
    await client.closeWrite();
    // chat greets every client it serves; a refused one hears nothing.
    assert.deepEqual(await client.readAll(), new Uint8Array(0));
  });
}

Deno.test("admission refuses an address it cannot judge when it has rules, and admits one when it has none", () => {
  const ruled = new Admission({ deny: [Cidr.parse("10.0.0.0/8")] });
  assert.equal(ruled.admit("010.001.001.001")?.reason, "denied");
  assert.equal(ruled.admit("::::::::")?.reason, "denied");
  assert.equal(ruled.admit("192.0.2.1"), undefined);
  assert.equal(new Admission({}).admit("/tmp/servidor.sock"), undefined);
});

Deno.test("a v1 header's addresses come out in the one form admission and the logs use", () => {
  const header = parseProxyHeader(encoder.encode("PROXY TCP6 2001:DB8:0:0::1 ::1 1 2\r\n"));
  assert.equal(header?.source, "[2001:db8::1]:1");
  const mapped = parseProxyHeader(encoder.encode("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n"));
  assert.equal(mapped?.source, "192.0.2.1:1");
});
