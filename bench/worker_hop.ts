/**
 * The floor under the `workers` strategy: how many round trips per second
 * can cross between the main thread and N Workers, with no sockets at all,
 * each carrying 64 bytes there and back, by each of the ways a hop can be
 * made:
 *
 * - `post`: `postMessage` with a transferred buffer each way, as `workers`
 *   did before its rings;
 * - `ring-async`: a ring in shared memory each way (`strategies/workers/ring.ts`),
 *   woken with `Atomics.notify`, waited on with `Atomics.waitAsync` on both
 *   sides, the main thread on one doorbell for all Workers
 *   (`strategies/workers/doorbell.ts`) — what `workers` does now;
 * - `ring-blocking`: the same rings, but the Worker blocks in `Atomics.wait`,
 *   which leaves its event loop standing still while it waits (see
 *   docs/workers.md for why `workers` does not do that).
 *
 * An echo under `workers` costs at least one such round trip per request, so
 * its requests/s cannot exceed the figure of the hop it uses.
 *
 *     deno run --allow-read bench/worker_hop.ts [workers=50] [seconds=3] [hop=all]
 *
 * @module
 */
import { DoorbellWatcher } from "../strategies/workers/doorbell.ts";
import { ByteRing } from "../strategies/workers/ring.ts";

/** The ways across, as the command line names them. */
export const HOPS = ["post", "ring-async", "ring-blocking"] as const;
/** One of {@link HOPS}. */
export type Hop = typeof HOPS[number];

const SIZE = 64;
const RING_BYTES = 4096;

const WORKER_SOURCE = `
let rings;
self.onmessage = async (event) => {
  const message = event.data;
  if (message.type === "data") {
    const bytes = message.bytes;
    self.postMessage({ type: "send", bytes }, [bytes.buffer]);
    return;
  }
  // A ring hop: echo from one ring into the other until the input ends.
  const { ByteRing } = await import(message.ringModule);
  const { Doorbell } = await import(message.doorbellModule);
  const doorbell = new Doorbell(message.doorbell);
  const input = new ByteRing(message.input);
  const output = new ByteRing(message.output, () => doorbell.ring());
  self.postMessage({ type: "ready" });
  for (;;) {
    const chunk = input.readInPlace();
    if (chunk) {
      output.write(chunk);
      input.release(chunk.byteLength);
    } else if (input.state !== "open") {
      return;
    } else if (message.blocking) {
      input.waitForDataBlocking(1000);
    } else {
      await input.waitForData();
    }
  }
};`;

/**
 * Round trips per second between this thread and `workers` Workers for `seconds`.
 *
 * @param workers How many Workers, each with its own round trips in flight, one at a time.
 * @param seconds How long to count, after one round trip each to warm up.
 * @param hop Which way across.
 * @returns Round trips per second, all Workers together.
 */
export async function measureWorkerHop(
  workers: number,
  seconds: number,
  hop: Hop = "post",
): Promise<number> {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const pool = Array.from({ length: workers }, () => new Worker(url, { type: "module" }));
  const doorbell = new DoorbellWatcher();
  let roundTrips = 0;
  try {
    const pingers = await Promise.all(
      pool.map((worker) => hop === "post" ? postPinger(worker) : ringPinger(worker, hop, doorbell)),
    );
    // One round trip first, so start-up is not counted.
    await Promise.all(pingers.map((ping) => ping()));
    const end = performance.now() + seconds * 1000;
    await Promise.all(pingers.map(async (ping) => {
      while (performance.now() < end) {
        await ping();
        roundTrips++;
      }
    }));
    for (const ping of pingers) ping.stop();
  } finally {
    for (const worker of pool) worker.terminate();
    URL.revokeObjectURL(url);
  }
  return roundTrips / seconds;
}

type Pinger = (() => Promise<void>) & { stop(): void };

function postPinger(worker: Worker): Pinger {
  const ping = () => {
    const { promise, resolve } = Promise.withResolvers<void>();
    worker.onmessage = () => resolve();
    const bytes = new Uint8Array(SIZE);
    worker.postMessage({ type: "data", bytes }, [bytes.buffer]);
    return promise;
  };
  return Object.assign(ping, { stop() {} });
}

async function ringPinger(worker: Worker, hop: Hop, doorbell: DoorbellWatcher): Promise<Pinger> {
  const input = ByteRing.create(RING_BYTES);
  const output = ByteRing.create(RING_BYTES);
  const { promise: ready, resolve } = Promise.withResolvers<void>();
  worker.onmessage = () => resolve();
  worker.postMessage({
    type: "ring",
    input: input.buffer,
    output: output.buffer,
    doorbell: doorbell.bell.buffer,
    blocking: hop === "ring-blocking",
    ringModule: new URL("../strategies/workers/ring.ts", import.meta.url).href,
    doorbellModule: new URL("../strategies/workers/doorbell.ts", import.meta.url).href,
  });
  await ready;
  const request = new Uint8Array(SIZE);
  let awaited = 0;
  let replied: (() => void) | undefined;
  // As in the strategy: the main thread looks at every ring when the one bell rings.
  const stop = doorbell.add(() => {
    for (let reply = output.readInPlace(); reply; reply = output.readInPlace()) {
      awaited -= reply.byteLength;
      output.release(reply.byteLength);
    }
    if (awaited === 0) replied?.();
  });
  const ping = () => {
    const { promise, resolve } = Promise.withResolvers<void>();
    replied = resolve;
    awaited += SIZE;
    input.write(request);
    return promise;
  };
  return Object.assign(ping, {
    stop: () => {
      stop();
      input.end();
    },
  });
}

if (import.meta.main) {
  const workers = Number(Deno.args[0] ?? 50);
  const seconds = Number(Deno.args[1] ?? 3);
  const wanted = Deno.args[2] ?? "all";
  const hops = wanted === "all" ? HOPS : HOPS.filter((hop) => hop === wanted);
  if (hops.length === 0) {
    console.error(`worker_hop: unknown hop ${wanted}; known: all, ${HOPS.join(", ")}`);
    Deno.exit(2);
  }
  for (const hop of hops) {
    const rate = await measureWorkerHop(workers, seconds, hop);
    console.log(`worker-hop hop=${hop} workers=${workers} round_trips_per_s=${Math.round(rate)}`);
  }
}
