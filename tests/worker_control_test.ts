/**
 * The `workers` strategy's control block (strategies/workers/control.ts): a
 * client opened and finished through shared memory, on one thread and across
 * a real Worker that blocks for it, and an open too long for the block.
 */
import assert from "node:assert/strict";
import { WorkerControl } from "../strategies/workers/control.ts";

Deno.test("WorkerControl carries an open to the Worker's side and counts what it finished", () => {
  const main = WorkerControl.create();
  const worker = new WorkerControl(main.buffer);
  const seen = worker.opened;
  const opening = { type: "open", id: 3, peer: "127.0.0.1:5000", serviceArgs: ["a", "b"] };
  assert.equal(main.open(opening), true);
  assert.notEqual(worker.opened, seen);
  assert.deepEqual(worker.readOpen(), opening);
  assert.equal(main.finished, 0);
  worker.finish();
  worker.finish();
  assert.equal(main.finished, 2);
});

Deno.test("WorkerControl tells the Worker to expect by message an open too long for the block", () => {
  const main = WorkerControl.create();
  const worker = new WorkerControl(main.buffer);
  const seen = worker.opened;
  assert.equal(main.open({ type: "open", serviceArgs: ["x".repeat(10_000)] }), false);
  // The Worker is still woken, and finds nothing to read: the open comes by message.
  assert.notEqual(worker.opened, seen);
  assert.equal(worker.readOpen(), undefined);
  // A later open that fits is read again.
  assert.equal(main.open({ id: 4 }), true);
  assert.deepEqual(worker.readOpen(), { id: 4 });
});

Deno.test("WorkerControl's blocking wait returns at once for an open it has not seen, and times out otherwise", () => {
  const main = WorkerControl.create();
  const worker = new WorkerControl(main.buffer);
  const seen = worker.opened;
  assert.equal(worker.waitForOpenBlocking(seen, 1), false);
  main.open({ id: 1 });
  assert.equal(worker.waitForOpenBlocking(seen, 60_000), true);
});

Deno.test("WorkerControl opens clients on a Worker blocked waiting for them, and hears each finish", async () => {
  // The Worker blocks in Atomics.wait between clients, as a Worker of echo does,
  // finishes each client through the block, and rings a doorbell word after.
  const source = `
    self.onmessage = async ({ data: { control, bell, controlModule } }) => {
      const { WorkerControl } = await import(controlModule);
      const block = new WorkerControl(control);
      const rung = new Int32Array(bell);
      // The count is read before "ready", as worker_main.ts reads it before it
      // finishes: read after, it could already include the first open.
      let seen = block.opened;
      self.postMessage("ready");
      for (let served = 0; served < 3; served++) {
        // Bounded: Worker.terminate() cannot stop a loop that never ends.
        for (let waits = 0; !block.waitForOpenBlocking(seen, 50); waits++) {
          if (waits === 600) throw new Error("no open within 30 s");
        }
        seen = block.opened;
        const opening = block.readOpen();
        if (opening.id !== served) throw new Error("opened out of order: " + opening.id);
        block.finish();
        Atomics.add(rung, 0, 1);
        Atomics.notify(rung, 0);
      }
    };`;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  const failed = new Promise<never>((_, reject) => {
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(event.message));
    };
  });
  try {
    const control = WorkerControl.create();
    const bell = new Int32Array(new SharedArrayBuffer(4));
    const ready = new Promise((resolve) => worker.onmessage = resolve);
    worker.postMessage({
      control: control.buffer,
      bell: bell.buffer,
      controlModule: new URL("../strategies/workers/control.ts", import.meta.url).href,
    });
    await Promise.race([ready, failed]);
    for (let id = 0; id < 3; id++) {
      const rung = Atomics.load(bell, 0);
      assert.equal(control.open({ id }), true);
      const heard = Atomics.waitAsync(bell, 0, rung);
      if (heard.async) await Promise.race([heard.value, failed]);
      assert.equal(control.finished, id + 1);
    }
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});
