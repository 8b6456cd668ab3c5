/**
 * The `workers` pool keeps the Workers recent load needed and lets them go
 * after a quiet period, within `--max-workers`.
 */
import assert from "node:assert/strict";
import { WorkerPool } from "../strategies/workers/pool.ts";
import type { SpawnedWorker } from "../strategies/workers/spawner.ts";
import { eventually } from "./_helpers/tools.ts";

/** Takes `count` Workers from the pool at once, as that many clients arriving together would. */
async function acquireAll(pool: WorkerPool, count: number): Promise<SpawnedWorker[]> {
  const workers = await Promise.all(Array.from({ length: count }, () => pool.acquire()));
  return workers.map((worker) => {
    assert.ok(worker, "the pool lent no Worker");
    return worker;
  });
}

Deno.test("the pool keeps the Workers a burst needed, reuses them, and lets them go after a quiet period", async () => {
  const pool = new WorkerPool({ maxWorkers: 8, idleWorkers: 1, quietMs: 300 });
  try {
    const first = await acquireAll(pool, 4);
    assert.equal(pool.alive, 4);
    for (const worker of first) pool.release(worker, true);
    // Kept ready for the next burst, not cut back to the one of --idle-workers.
    assert.equal(pool.alive, 4);
    const second = await acquireAll(pool, 4);
    assert.deepEqual(new Set(second), new Set(first), "the second burst started Workers anew");
    for (const worker of second) pool.release(worker, true);
    await eventually(
      "the pool to let the unneeded Workers go",
      () => Promise.resolve(pool.alive === 1 ? true : undefined),
    );
  } finally {
    pool.close();
  }
});

Deno.test("the pool starts no more Workers than --max-workers, and makes the next client wait", async () => {
  const pool = new WorkerPool({ maxWorkers: 2, idleWorkers: 10 });
  try {
    await pool.prestart();
    assert.equal(pool.alive, 2);
    const [a] = await acquireAll(pool, 2);
    let third: SpawnedWorker | undefined;
    const waiting = pool.acquire().then((worker) => third = worker);
    assert.equal(pool.waiting, 1);
    assert.equal(third, undefined);
    pool.release(a!, true);
    await waiting;
    assert.equal(third, a);
    assert.equal(pool.alive, 2);
  } finally {
    pool.close();
  }
});
