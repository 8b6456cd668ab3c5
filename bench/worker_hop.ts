/**
 * The floor under the `workers` strategy: how many message round trips per
 * second Deno's `postMessage` carries between the main thread and N Workers,
 * each message a transferred 64-byte buffer, with no sockets at all. An echo
 * under `workers` costs at least one such round trip per request, so its
 * requests/s cannot exceed this figure.
 *
 *     deno run --allow-read bench/worker_hop.ts [workers=50] [seconds=3]
 *
 * @module
 */

const WORKER_SOURCE = `self.onmessage = (event) => {
  const bytes = event.data.bytes;
  self.postMessage({ type: "send", bytes }, [bytes.buffer]);
};`;

/** Round trips per second between this thread and `workers` Workers for `seconds`. */
export async function measureWorkerHop(workers: number, seconds: number): Promise<number> {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const pool = Array.from({ length: workers }, () => new Worker(url, { type: "module" }));
  let roundTrips = 0;
  try {
    // One round trip first, so start-up is not counted.
    await Promise.all(pool.map((worker) => ping(worker)));
    const end = performance.now() + seconds * 1000;
    await Promise.all(pool.map(async (worker) => {
      while (performance.now() < end) {
        await ping(worker);
        roundTrips++;
      }
    }));
  } finally {
    for (const worker of pool) worker.terminate();
    URL.revokeObjectURL(url);
  }
  return roundTrips / seconds;
}

function ping(worker: Worker): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  worker.onmessage = () => resolve();
  const bytes = new Uint8Array(64);
  worker.postMessage({ type: "data", bytes }, [bytes.buffer]);
  return promise;
}

if (import.meta.main) {
  const workers = Number(Deno.args[0] ?? 50);
  const seconds = Number(Deno.args[1] ?? 3);
  const rate = await measureWorkerHop(workers, seconds);
  console.log(`worker-hop workers=${workers} round_trips_per_s=${Math.round(rate)}`);
}
