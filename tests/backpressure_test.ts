/**
 * Backpressure, measured from outside: the server runs as its own process
 * and its resident memory is read from /proc. A client that never reads must
 * not make the server buffer what it cannot deliver, and the other clients
 * must go on being served meanwhile. Progress is judged by counts (round
 * trips of another client), never by time.
 */
import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { CliServer } from "./_helpers/cli.ts";
import { CONCURRENT_MODES } from "./_helpers/modes.ts";
import { HAVE_PROC, procStatus } from "./_helpers/proc.ts";

const MiB = 1024 * 1024;
/** What a server that buffered for a non-reading client would reach, and more. */
const PUSHED = 128 * MiB;
/**
 * The growth allowed meanwhile. Over `node:net` (plain TCP's default) every
 * full read is a fresh 64 KiB buffer that V8 frees at its next collection,
 * which its external-memory heuristic starts at about 64 MiB: the probe's
 * 64 MiB of echo leave up to that much garbage behind, though nothing is kept.
 */
const ALLOWED_GROWTH = 96 * MiB;
/** The resident set size of a process, in bytes. */
function residentBytes(pid: number): number {
  return procStatus(pid, "VmRSS") * 1024;
}

/** One megabyte there and back through echo: proof that this client is served. */
async function echoRoundTrip(client: TestClient, payload: Uint8Array): Promise<void> {
  const [, echoed] = await Promise.all([client.send(payload), client.readBytes(payload.length)]);
  assert.equal(echoed[0], payload[0]);
  assert.equal(echoed.at(-1), payload.at(-1));
}

/** Writes `total` bytes with plain `write` calls, counting what the kernel took so far. */
function pushWithoutReading(conn: Deno.Conn, total: number) {
  const progress = { written: 0, done: false, failed: false };
  const chunk = new Uint8Array(4 * MiB).fill(0x61);
  const pushing = (async () => {
    try {
      while (progress.written < total) {
        const left = Math.min(chunk.length, total - progress.written);
        progress.written += await conn.write(chunk.subarray(0, left));
      }
      progress.done = true;
    } catch {
      progress.failed = true; // The test closes this client while its write is pending.
    }
  })();
  return { progress, pushing };
}

const skip = HAVE_PROC ? "" : " (skipped: no /proc to read memory from)";

// processes too, though it is not in CONCURRENT_MODES (whose soak and leak tables start too many children).
for (const mode of [...CONCURRENT_MODES, "processes"]) {
  Deno.test(
    `echo stops reading a client that does not read, and its memory stays bounded, under ${mode}${skip}`,
    {
      ignore: !HAVE_PROC,
    },
    async () => {
      await using server = await CliServer.start([
        `--mode=${mode}`,
        "--service=echo",
        "--log-level=warn",
      ]);
      using probe = await TestClient.connect(server.port);
      const payload = Uint8Array.from({ length: MiB }, (_, i) => i % 251);
      for (let i = 0; i < 4; i++) await echoRoundTrip(probe, payload); // warm up
      const hog = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      // One byte there and back: the hog is served (under workers, its Worker is up) before the baseline.
      await hog.write(new Uint8Array([0x61]));
      assert.equal(await hog.read(new Uint8Array(1)), 1);
      const baseline = residentBytes(server.pid);
      const { progress, pushing } = pushWithoutReading(hog, PUSHED + 16 * MiB);
      let peak = baseline;
      let unchanged = 0;
      let rounds = 0;
      // The probe moves 64 MiB through the server as well; the hog's writes must stall meanwhile.
      for (; rounds < 64 || unchanged < 3; rounds++) {
        assert.ok(rounds < 1000, "the hog's writes never stalled");
        const before = progress.written;
        await echoRoundTrip(probe, payload);
        unchanged = progress.written === before ? unchanged + 1 : 0;
        peak = Math.max(peak, residentBytes(server.pid));
      }
      assert.equal(
        progress.done,
        false,
        "the server took every byte from a client that never read",
      );
      const growth = peak - baseline;
      console.log(
        `${mode}: hog pushed ${(progress.written / MiB).toFixed(1)} MiB before stalling; ` +
          `probe echoed ${rounds} MiB; server RSS grew by ${(growth / MiB).toFixed(1)} MiB`,
      );
      assert.ok(growth < ALLOWED_GROWTH, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
      hog.close();
      await pushing;
    },
  );

  Deno.test(
    `chargen to a client that never reads keeps the server's memory bounded under ${mode}${skip}`,
    {
      ignore: !HAVE_PROC,
    },
    async () => {
      await using server = await CliServer.start([
        `--mode=${mode}`,
        "--service=chargen",
        "--log-level=warn",
      ]);
      const buffer = new Uint8Array(256 * 1024);
      using reader = await TestClient.connect(server.port);
      await reader.readBytes(MiB); // warm up
      using hog = await TestClient.connect(server.port);
      // Proof the hog is connected and being served (its Worker is up): its first bytes.
      await hog.readBytes(74);
      const baseline = residentBytes(server.pid);
      let peak = baseline;
      // The server produces PUSHED bytes for the reader while the hog reads nothing more.
      for (let read = 0; read < PUSHED;) {
        const n = await reader.conn.read(buffer);
        assert.ok(n !== null, "chargen ended");
        read += n;
        if (read % (4 * MiB) < n) peak = Math.max(peak, residentBytes(server.pid));
      }
      peak = Math.max(peak, residentBytes(server.pid));
      const growth = peak - baseline;
      console.log(`${mode}: chargen RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
      assert.ok(growth < ALLOWED_GROWTH, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    },
  );
}
