/**
 * The floor under `--mode=processes`'s echo: N `deno run` children that echo
 * their standard input to their standard output, driven through
 * `Deno.Command` pipes by one parent, as fast as they go, with no socket and
 * no servidor code in the way. What servidor's `processes` echo adds to this
 * is the client's socket and the framing; see docs/processes.md.
 *
 * ```sh
 * deno run -A bench/pipe_floor.ts        # 50 children, 4 s
 * deno run -A bench/pipe_floor.ts 10
 * ```
 *
 * @module
 */
const SECONDS = 4;
const MESSAGE = new Uint8Array(64);

/** The child: copies standard input to standard output until it ends. */
async function echoChild(): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  for (let n = await Deno.stdin.read(buffer); n !== null; n = await Deno.stdin.read(buffer)) {
    for (let written = 0; written < n;) {
      written += await Deno.stdout.write(buffer.subarray(written, n));
    }
  }
}

/** Starts a child and, once `start` resolves, makes round trips with it until `end`. */
async function drive(start: Promise<number>): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", new URL(import.meta.url).pathname, "--child"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  const roundTrip = async () => {
    await writer.write(MESSAGE);
    for (let got = 0; got < MESSAGE.byteLength;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the child ended");
      got += value.byteLength;
    }
  };
  await roundTrip(); // The child is up.
  const end = await start;
  let count = 0;
  while (performance.now() < end) {
    await roundTrip();
    count++;
  }
  await writer.close();
  reader.releaseLock();
  await child.stdout.cancel();
  await child.status;
  return count;
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") {
    await echoChild();
  } else {
    const children = Number(Deno.args[0] ?? 50);
    const { promise: start, resolve } = Promise.withResolvers<number>();
    const counts = Array.from({ length: children }, () => drive(start));
    // Every child starts first; the clock runs only for the round trips.
    await new Promise((wait) => setTimeout(wait, 3_000));
    resolve(performance.now() + SECONDS * 1000);
    const total = (await Promise.all(counts)).reduce((sum, count) => sum + count, 0);
    console.log(
      `${children} children, 64 B through pipes: ${Math.round(total / SECONDS)} round trips/s`,
    );
  }
}
