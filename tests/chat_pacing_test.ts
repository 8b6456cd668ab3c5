/**
 * A chat flooder is paced across threads: under `reuseport`, where its
 * readers are served by another Worker, and under `workers`, where each
 * client's service runs in a Worker of its own and the main thread relays.
 * The readers read as fast as they can; the flood outruns them, and must be
 * slowed to their pace rather than drop them or fill the server's memory.
 */
import assert from "node:assert/strict";
import type { TestClient } from "../testing.ts";
import { joinChat } from "./_helpers/chat.ts";
import { CliServer } from "./_helpers/cli.ts";
import { HAVE_PROC, procStatus } from "./_helpers/proc.ts";
import { startRedis } from "./_helpers/redis.ts";
import { hasCommand } from "./_helpers/tools.ts";

const haveRedis = hasCommand("redis-server");
const noRedis = haveRedis ? "" : " (skipped: redis-server is not installed)";

/** Lines in each flood: with {@link FILLER}, about 8 MB, more than the kernel buffers between server and reader. */
const FLOOD_LINES = 16_000;
/** What follows each line's number: long lines, like a pasted file's. */
const FILLER = " " + "lorem ipsum ".repeat(40);
/** Ordinary readers in the room. */
const READERS = 10;
/**
 * How much a reader reads at a time, and how long it waits between reads: a
 * client on a slow link, a few MB/s, slower than the flood. Nothing waits on
 * this for its order: every assertion holds whatever the pace.
 */
const READ_SIZE = 4096;
const READ_PAUSE_MS = 1;
/**
 * The most the server's resident memory may grow, from the room assembled to
 * the peak of the flood. What the paced queues hold is far less (see
 * docs/operations.md, "Limits"); the rest is the runtime's garbage.
 */
const FLOOD_GROWTH_KIB = 64 * 1024;

const encoder = new TextEncoder();

/** The flood, numbered so that a reader can tell a line lost, repeated or out of order. */
function flood(): Uint8Array {
  let text = "";
  for (let i = 0; i < FLOOD_LINES; i++) text += `line ${i}${FILLER}\n`;
  return encoder.encode(`${text}end\n`);
}

/**
 * Reads raw chunks (not line by line through a helper, so that ten readers
 * keep up with several MB) until `<name> end`, and checks that the lines from
 * `name` are the flood's, every one once and in order. Other lines (joins and
 * leaves) may come between them.
 *
 * @returns How many flood lines came.
 */
async function readFlood(conn: Deno.Conn, name: string): Promise<number> {
  const buffer = new Uint8Array(READ_SIZE);
  const decoder = new TextDecoder();
  const prefix = `<${name}> `;
  let partial = "";
  let next = 0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, READ_PAUSE_MS));
    const n = await conn.read(buffer).catch(() => null);
    assert.notEqual(n, null, `a reader was cut off after ${next} flood lines`);
    const lines = (partial + decoder.decode(buffer.subarray(0, n!), { stream: true })).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith(prefix)) continue;
      const text = line.slice(prefix.length, -1);
      if (text === "end") return next;
      assert.equal(
        text,
        `line ${next}${FILLER}`,
        "a flood line was lost, repeated or out of order",
      );
      next++;
    }
  }
}

/**
 * Floods a room of {@link READERS} from `flooder`, named `name`, while every
 * reader reads; checks that each got every line in order and that each
 * server's memory grew less than {@link FLOOD_GROWTH_KIB}.
 */
async function floodAndCheck(
  servers: CliServer[],
  readers: TestClient[],
  name: string,
  send: (bytes: Uint8Array) => Promise<void>,
): Promise<void> {
  const before = servers.map((server) => procStatus(server.pid, "VmRSS"));
  const bytes = flood();
  const [counts] = await Promise.all([
    Promise.all(readers.map((reader) => readFlood(reader.conn, name))),
    send(bytes),
  ]);
  assert.deepEqual(counts, readers.map(() => FLOOD_LINES));
  servers.forEach((server, i) => {
    const growth = procStatus(server.pid, "VmHWM") - before[i]!;
    console.log(`flood of ${bytes.byteLength} bytes to ${READERS} readers: RSS grew ${growth} KiB`);
    assert.ok(growth < FLOOD_GROWTH_KIB, `RSS grew ${growth} KiB`);
  });
}

/** Waits until every reader has heard `name` join, so that /who and the flood follow it. */
async function heardJoin(readers: TestClient[], name: string): Promise<void> {
  for (const reader of readers) {
    for (;;) {
      const line = await reader.readLine();
      assert.notEqual(line, null);
      if (line === `* ${name} joined`) break;
    }
  }
}

Deno.test({
  name:
    "reuseport: a flooder on one Worker is slowed to the pace of readers on another; none is dropped, all get every line in order, memory stays bounded",
  ignore: !HAVE_PROC,
  async fn() {
    await using server = await CliServer.start([
      "--service=chat",
      "--mode=reuseport",
      "--threads=2",
    ]);
    // Worker 1 numbers its clients 1, 3, 5 …, Worker 2 numbers them 2, 4, 6 …; the
    // kernel picks by the client's port, so connect (a bounded number of times)
    // until Worker 1 has the flooder and then Worker 2 every reader. The others leave.
    // A reader's hub lists it before its welcome is sent, so the welcomed hear the flood.
    const readers: TestClient[] = [];
    let flooder: { client: TestClient; guest: number } | undefined;
    const extras: TestClient[] = [];
    try {
      for (let attempt = 0; attempt < 200 && readers.length < READERS; attempt++) {
        const joined = await joinChat(server.port);
        if (!flooder && joined.guest % 2 === 1) flooder = joined;
        else if (flooder && joined.guest % 2 === 0) readers.push(joined.client);
        else extras.push(joined.client);
      }
      for (const extra of extras) extra.close();
      assert.ok(flooder && readers.length === READERS, "200 clients did not reach both Workers");
      const name = `guest${flooder.guest}`;
      await floodAndCheck([server], readers, name, (bytes) => flooder!.client.send(bytes));
      // The flooder was slowed, not cut off.
      await flooder.client.send("still here\n");
      for (const reader of readers) {
        for (;;) {
          const line = await reader.readLine();
          assert.notEqual(line, null);
          if (line === `<${name}> still here`) break;
        }
      }
    } finally {
      for (const reader of readers) reader.close();
      flooder?.client.close();
    }
  },
});

// A Worker, or a child process, per client: the room lives on the main thread either way.
for (const mode of ["workers", "processes"] as const) {
  Deno.test({
    name:
      `${mode}: a flooder pasting through nc -N is slowed to its readers' pace; none is dropped, all get every line in order, memory stays bounded`,
    ignore: !HAVE_PROC,
    async fn() {
      // Over node:net (plain TCP's default) every read of the flood leaves a
      // 64 KiB buffer for V8 to collect once about 64 MiB of them pile up
      // (see backpressure_test.ts): garbage that would hide what this bound is
      // for, the paced queues. Deno.Conn reads into one buffer per client.
      await using server = await CliServer.start([
        "--service=chat",
        `--mode=${mode}`,
        "--tcp-api=deno",
      ]);
      const readers: TestClient[] = [];
      try {
        for (let i = 0; i < READERS; i++) readers.push((await joinChat(server.port)).client);
        const nc = new Deno.Command("nc", {
          args: ["-N", "127.0.0.1", String(server.port)],
          stdin: "piped",
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        const output = new Response(nc.stdout).text();
        const writer = nc.stdin.getWriter();
        // The flooder's join is the first notice the last reader hears; the others heard later readers first.
        const joined = (await readers.at(-1)!.readLine())!;
        const [, name] = /^\* (guest\d+) joined$/.exec(joined)!;
        await heardJoin(readers.slice(0, -1), name!);
        await floodAndCheck([server], readers, name!, async (bytes) => {
          await writer.write(bytes);
          await writer.close();
        });
        // nc -N sent its end of input after the flood; the server closed, and nc exited cleanly.
        assert.equal((await nc.status).code, 0);
        assert.match(await output, /^\* welcome, guest\d+;/);
      } finally {
        for (const reader of readers) reader.close();
      }
    },
  });
}

Deno.test({
  name:
    `redis: a flooder on one server is slowed to the pace of readers on another process; none is dropped, all get every line in order${noRedis}`,
  ignore: !HAVE_PROC || !haveRedis,
  async fn() {
    await using redis = await startRedis();
    const bus = `--bus=redis://127.0.0.1:${redis.port}`;
    await using one = await CliServer.start(["--service=chat", "--mode=poll", bus]);
    await using two = await CliServer.start(["--service=chat", "--mode=poll", bus]);
    const readers: TestClient[] = [];
    try {
      const { client: flooder } = await joinChat(one.port);
      using _flooder = flooder;
      for (let i = 0; i < READERS; i++) readers.push((await joinChat(two.port)).client);
      // Once the flooder has heard every reader join, its server knows the other is there and
      // counts its credit. Guest numbers are per server, so it takes a name of its own.
      for (let joined = 0; joined < READERS;) {
        const line = await flooder.readLine();
        assert.notEqual(line, null);
        if (/^\* guest\d+ joined$/.test(line!)) joined++;
      }
      await flooder.send("/nick flooder\n");
      for (const reader of readers) {
        for (;;) {
          const line = await reader.readLine();
          assert.notEqual(line, null);
          if (/^\* guest\d+ is now flooder$/.test(line!)) break;
        }
      }
      await floodAndCheck([one, two], readers, "flooder", (bytes) => flooder.send(bytes));
    } finally {
      for (const reader of readers) reader.close();
    }
  },
});
