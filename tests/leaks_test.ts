/**
 * Resource leaks, measured from outside: after thousands of connections that
 * close or reset, the server process holds the descriptors and threads it
 * held before. The server runs as its own process so that /proc shows only
 * its resources; "afterwards" is reached by counting round trips of a probe
 * client, never by waiting on a clock.
 */
import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { CliServer } from "./_helpers/cli.ts";
import { CONCURRENT_MODES } from "./_helpers/modes.ts";
import { HAVE_PROC, openDescriptors, procStatus, tcpSockets } from "./_helpers/proc.ts";
import { toolInstalled } from "./_helpers/tools.ts";

/**
 * Descriptors beyond the baseline that are not counted as a leak. Connections
 * are counted exactly (as TCP sockets); the rest of a process's descriptors
 * move a little with the Workers a pool has started and retired (each has an
 * event loop of its own), which is not per connection and does not grow.
 */
const DESCRIPTOR_SLACK = 8;
const CLOSE_CYCLES = 5_000;
const RESET_CYCLES = 1_000;
const AT_ONCE = 50;

const HAVE_PYTHON = toolInstalled("python3", ["--version"], /Python 3/);

/** Connects and closes, `AT_ONCE` at a time; each client is served one byte first. */
async function connectAndClose(port: number, cycles: number): Promise<void> {
  for (let done = 0; done < cycles; done += AT_ONCE) {
    await Promise.all(Array.from({ length: Math.min(AT_ONCE, cycles - done) }, async () => {
      using client = await TestClient.connect(port);
      await client.send("x");
      await client.readBytes(1);
    }));
  }
}

/**
 * Python closes with SO_LINGER 0, which resets the connection instead of
 * ending it. With `served`, it first waits for the echo of its first bytes, so
 * the reset hits a connection the service is using; without, it resets at once,
 * often before the server has accepted the connection.
 */
const RESET_SCRIPT = `
import socket, struct, sys
port, cycles, served = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "served"
for i in range(cycles):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"unread " * 1000)
    if served:
        assert s.recv(1) == b"u"
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
print("done")
`;

async function resetCycles(port: number, cycles: number, served: boolean): Promise<void> {
  const reset = await new Deno.Command("python3", {
    args: ["-c", RESET_SCRIPT, String(port), String(cycles), served ? "served" : "unserved"],
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(reset.stdout), "done\n");
}

const skip = !HAVE_PROC
  ? " (skipped: no /proc)"
  : !HAVE_PYTHON
  ? " (skipped: python3 is not installed)"
  : "";

for (const mode of CONCURRENT_MODES) {
  Deno.test(
    `${CLOSE_CYCLES} closes and ${RESET_CYCLES} resets leave no descriptor or Worker behind under ${mode}${skip}`,
    {
      ignore: skip !== "",
    },
    async () => {
      // As many ready Workers as clients at once, so the cycles reuse them rather than restart them.
      await using server = await CliServer.start([
        `--mode=${mode}`,
        "--service=echo",
        `--idle-workers=${AT_ONCE}`,
      ]);
      const probe = await TestClient.connect(server.port);
      const roundTrip = async () => {
        await probe.send("p");
        await probe.readBytes(1);
      };
      // Warm up (Workers, buffers, the pool, and whatever the runtime sets up once, on the
      // first reset or the first Worker started past the pool), and let the server finish
      // closing those clients. A leak grows with the cycles below; a one-time cost does not.
      await connectAndClose(server.port, AT_ONCE * 4);
      await resetCycles(server.port, AT_ONCE, true);
      await server.waitForLogCount(/INF.* close 127\.0\.0\.1:/, AT_ONCE * 5);
      await roundTrip();
      const measure = () => ({
        tcp: tcpSockets(server.pid),
        fds: openDescriptors(server.pid),
        threads: procStatus(server.pid, "Threads"),
      });
      const baseline = measure();

      let started = performance.now();
      await connectAndClose(server.port, CLOSE_CYCLES);
      console.log(
        `${mode}: ${CLOSE_CYCLES} closes took ${Math.round(performance.now() - started)} ms`,
      );
      started = performance.now();
      await resetCycles(server.port, RESET_CYCLES, true);
      console.log(
        `${mode}: ${RESET_CYCLES} resets took ${Math.round(performance.now() - started)} ms`,
      );

      // The last resets may still be in flight: give the server probe round trips, not time.
      const settled = (now: typeof baseline) =>
        now.tcp <= baseline.tcp && now.threads <= baseline.threads &&
        now.fds <= baseline.fds + DESCRIPTOR_SLACK;
      let now = measure();
      for (let probes = 0; probes < 200 && !settled(now); probes++) {
        await roundTrip();
        now = measure();
      }
      console.log(`${mode}: baseline ${JSON.stringify(baseline)}, after ${JSON.stringify(now)}`);
      assert.ok(now.tcp <= baseline.tcp, `TCP sockets: ${baseline.tcp} before, ${now.tcp} after`);
      assert.ok(
        now.fds <= baseline.fds + DESCRIPTOR_SLACK,
        `descriptors: ${baseline.fds} before, ${now.fds} after`,
      );
      assert.ok(
        now.threads <= baseline.threads,
        `threads (Workers among them): ${baseline.threads} before, ${now.threads} after`,
      );
      probe.close();
      assert.equal((await server.stop()).code, 0);
    },
  );
}

Deno.test(
  `clients that reset before they are accepted neither stall nor alarm the accept loop${skip}`,
  {
    ignore: skip !== "",
  },
  async () => {
    await using server = await CliServer.start(["--mode=poll", "--service=echo"]);
    await resetCycles(server.port, 300, false);
    const client = await TestClient.connect(server.port);
    await client.send("still accepting");
    assert.equal(new TextDecoder().decode(await client.readBytes(15)), "still accepting");
    client.close();
    assert.equal((await server.stop()).code, 0);
    const alarms = server.log.filter((line) => /\[(ERR|WRN)\]/.test(line));
    assert.deepEqual(alarms, []);
  },
);
