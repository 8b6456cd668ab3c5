/**
 * Chat under hostile load: a burst through every `reuseport` Worker, `/who`
 * while clients come and go, a flooder, and names chosen to deceive.
 */
import assert from "node:assert/strict";
import { startTestServer, TestClient } from "../testing.ts";
import { CliServer } from "./_helpers/cli.ts";
import { HAVE_PROC, procStatus } from "./_helpers/proc.ts";

/**
 * The most the server may hold at its peak while one client floods a room of
 * ten: the runtime's own ~100 MB, and the paced queues. Unpaced, the same
 * flood of short lines took it past 4 GB.
 */
const FLOOD_PEAK_RSS_KIB = 300 * 1024;

/** A chat client with a 4 KiB receive buffer that reads its welcome, prints it, and then reads nothing. */
const SLEEPER = `
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
welcome = b""
while b"\\n" not in welcome:
    welcome += s.recv(1)
sys.stdout.write(welcome.decode())
sys.stdout.flush()
os.close(1)
sys.stdin.read()
`;

/** Reads lines until one matches `last`, and returns the ones that match `keep`. */
async function readUntil(client: TestClient, last: RegExp, keep: RegExp): Promise<string[]> {
  const kept: string[] = [];
  for (;;) {
    const line = await client.readLine();
    assert.notEqual(line, null, `the stream ended before a line matching ${last}`);
    if (keep.test(line!)) kept.push(line!);
    if (last.test(line!)) return kept;
  }
}

Deno.test("reuseport: every chat line reaches every member of every Worker once, in order, and /who is exact", async () => {
  const MEMBERS = 24;
  const LINES = 2000;
  await using server = await startTestServer({ mode: "reuseport", service: "chat", threads: 4 });
  const clients: TestClient[] = [];
  try {
    for (let i = 0; i < MEMBERS; i++) {
      const client = await TestClient.connect(server.port);
      clients.push(client);
      assert.match((await client.readLine())!, /^\* welcome, guest\d+;/);
    }
    const [first, ...others] = clients as [TestClient, ...TestClient[]];
    // Each join is known to the hub before its notice is sent, so the notices say when /who is complete.
    for (let joined = 0; joined < MEMBERS - 1; joined++) {
      await readUntil(first, /^\* guest\d+ joined$/, /joined/);
    }
    await first.send("/who\n");
    const who = await readUntil(first, /^\* online /, /^\* online /);
    assert.match(who[0]!, new RegExp(`^\\* online \\(${MEMBERS}\\): `));

    const burst = Array.from({ length: LINES }, (_, i) => `line ${i}\n`).join("") + "end\n";
    await first.send(burst);
    const expected = Array.from({ length: LINES }, (_, i) => `line ${i}`);
    await Promise.all(others.map(async (client) => {
      const got = await readUntil(client, /> end$/, /> line \d+$/);
      assert.deepEqual(got.map((line) => line.replace(/^<guest\d+> /, "")), expected);
    }));

    for (const client of others) client.close();
    for (let left = 0; left < MEMBERS - 1; left++) {
      await readUntil(first, /^\* guest\d+ left$/, /left/);
    }
    await first.send("/who\n");
    const alone = await readUntil(first, /^\* online /, /^\* online /);
    assert.match(alone[0]!, /^\* online \(1\): /);
  } finally {
    for (const client of clients) client.close();
  }
});

/** Reads raw chunks until `marker` ends the stream so far; returns how many lines came, or -1 if cut off first. */
async function countLinesUntil(conn: Deno.Conn, marker: string): Promise<number> {
  const buffer = new Uint8Array(256 * 1024);
  const tail = new TextEncoder().encode(marker);
  let lines = 0;
  let last = new Uint8Array(0);
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) return -1;
    const chunk = buffer.subarray(0, n);
    for (const byte of chunk) if (byte === 0x0a) lines++;
    const joined = new Uint8Array(last.byteLength + n);
    joined.set(last);
    joined.set(chunk, last.byteLength);
    last = joined.slice(Math.max(0, joined.byteLength - tail.byteLength));
    if (last.every((byte, i) => byte === tail[i]) && last.byteLength === tail.byteLength) {
      return lines;
    }
  }
}

Deno.test({
  name:
    "a chat flooder is slowed to the room's pace: readers who keep up get every line, and memory stays bounded",
  ignore: !HAVE_PROC,
  async fn() {
    const READERS = 10;
    const LINES = 100_000;
    await using server = await CliServer.start(["--service=chat", "--mode=poll"]);
    const readers: TestClient[] = [];
    try {
      for (let i = 0; i < READERS; i++) {
        const reader = await TestClient.connect(server.port);
        readers.push(reader);
        assert.match((await reader.readLine())!, /^\* welcome/);
      }
      using flooder = await TestClient.connect(server.port);
      const [, name] = /^\* welcome, (guest\d+);/.exec((await flooder.readLine())!)!;
      // Once every reader has heard the flooder join, what follows is the flood alone.
      for (const reader of readers) {
        await readUntil(reader, new RegExp(`^\\* ${name} joined$`), /^$/);
      }
      const flood = "0123456789\n".repeat(LINES) + "end\n";
      const [counts] = await Promise.all([
        Promise.all(readers.map((reader) => countLinesUntil(reader.conn, "> end\r\n"))),
        flooder.send(flood),
      ]);
      assert.deepEqual(counts, readers.map(() => LINES + 1));
      const peakKiB = procStatus(server.pid, "VmHWM");
      console.log(`flood of ${flood.length} bytes to ${READERS} readers: peak RSS ${peakKiB} KiB`);
      assert.ok(peakKiB < FLOOD_PEAK_RSS_KIB, `peak RSS ${peakKiB} KiB`);
      // The flooder was slowed, not cut off.
      await flooder.send("/who\n");
      assert.match((await flooder.readLine())!, new RegExp(`^\\* online \\(${READERS + 1}\\)`));
    } finally {
      for (const reader of readers) reader.close();
    }
  },
});

Deno.test("a chat member that never reads is dropped as a slow reader, and the room carries on", async () => {
  // Long lines, so that filling the sleeper's socket buffers takes few of them.
  await using server = await CliServer.start([
    "--service=chat",
    "--mode=poll",
    "--max-line=1048576",
  ]);
  using reader = await TestClient.connect(server.port);
  assert.match((await reader.readLine())!, /^\* welcome/);
  // The sleeper is Python, for the one thing Deno cannot do: a small receive buffer, so that
  // little fills it. It reads its welcome, then nothing, until its standard input closes.
  const sleeper = new Deno.Command("python3", {
    args: ["-c", SLEEPER, String(server.port)],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const welcome = new TextDecoder().decode(await new Response(sleeper.stdout).arrayBuffer());
  const [sleeperName] = /guest\d+/.exec(welcome)!;
  try {
    using flooder = await TestClient.connect(server.port);
    const [, name] = /^\* welcome, (guest\d+);/.exec((await flooder.readLine())!)!;
    await readUntil(reader, new RegExp(`^\\* ${name} joined$`), /^$/);
    const line = "x".repeat(512 * 1024);
    const dropped = server.waitForLog(new RegExp(`dropping .*read nothing`));
    let gone = false;
    dropped.then(() => gone = true);
    // The sleeper's "left" may come before the next line or after it, as the server's reads fall.
    let left: string | undefined;
    // One 512 KiB line at a time until the sleeper's socket buffers fill and it is dropped: bounded by 200 MiB.
    for (let round = 0; round < 400 && !gone; round++) {
      // Sent and read at once: the server reads the flooder only as fast as the reader reads.
      const [lines] = await Promise.all([
        readUntil(reader, /^</, /^<| left$/),
        flooder.send(`${line}\n`),
      ]);
      left ??= lines.find((heard) => heard.endsWith(" left"));
      assert.equal(lines.at(-1)!.length, `<${name}> `.length + line.length);
    }
    await dropped;
    left ??= (await readUntil(reader, / left$/, / left$/))[0];
    assert.match(left!, new RegExp(`^\\* ${sleeperName} left$`));
    await flooder.send("/who\n");
    assert.match((await readUntil(flooder, /^\* online /, /^\* online /))[0]!, /^\* online \(2\)/);
  } finally {
    await sleeper.stdin.close();
    await sleeper.status;
  }
});

Deno.test("chat names cannot be spoofed: guest names are kept, case does not make a new name, control characters are shown, not obeyed", async () => {
  await using server = await startTestServer({ mode: "poll", service: "chat" });
  using ana = await TestClient.connect(server.port);
  const [, anaName] = /^\* welcome, (guest\d+);/.exec((await ana.readLine())!)!;
  using ben = await TestClient.connect(server.port);
  assert.match((await ben.readLine())!, /^\* welcome/);
  assert.match((await ana.readLine())!, / joined$/);
  // The name the next client will get, and one with another case of Ana's own default.
  const next = Number(anaName!.slice(5)) + 5;
  await ana.send(`/nick guest${next}\n`);
  assert.equal(await ana.readLine(), `ERR nick guest${next} is kept for a guest; choose another`);
  await ana.send(`/nick ${anaName!.toUpperCase()}\n`);
  assert.equal(await ana.readLine(), `* you are now ${anaName!.toUpperCase()}`);
  await ana.send("/nick Ana\n");
  assert.equal(await ana.readLine(), "* you are now Ana");
  await ben.send("/nick aNA\n");
  assert.equal(
    await readUntil(ben, /^ERR|^\* you/, /^ERR|^\* you/).then((l) => l[0]),
    "ERR nick aNA is taken",
  );
  await ana.send("hi\r<ben> I owe ana 100 euros\x1b[2K\x1b[1A\x07\x7f\u009b\ttab\n");
  const relayed = await readUntil(ben, /^<Ana> /, /^<Ana> /);
  assert.equal(relayed[0], "<Ana> hi^M<ben> I owe ana 100 euros^[[2K^[[1A^G^?\ufffd\ttab");
});
