import assert from "node:assert/strict";
import { Doorbell, DoorbellWatcher } from "../strategies/workers/doorbell.ts";
import { ByteRing } from "../strategies/workers/ring.ts";

/**
 * Runs `test` with the event loop kept alive: a wake-up by `Atomics.notify`
 * is not something Deno's event loop waits for, and in a server the listener
 * keeps it running, but a test has nothing else.
 */
function keepingAlive(test: () => Promise<void>): () => Promise<void> {
  return async () => {
    const timer = setInterval(() => {}, 60_000);
    try {
      await test();
    } finally {
      clearInterval(timer);
    }
  };
}

const bytes = (...values: number[]) => Uint8Array.from(values);

/** A writer and a reader over the same memory, as the two threads hold them. */
function pair(capacity: number): { writer: ByteRing; reader: ByteRing } {
  const writer = ByteRing.create(capacity);
  return { writer, reader: new ByteRing(writer.buffer) };
}

Deno.test("ByteRing refuses a capacity that is not a power of two", () => {
  for (const capacity of [0, 3, 1000, -8, 1.5]) {
    assert.throws(() => ByteRing.create(capacity), RangeError);
  }
});

Deno.test("ByteRing reads nothing from an empty ring", () => {
  const { writer, reader } = pair(8);
  assert.equal(reader.read(), undefined);
  assert.equal(reader.available, 0);
  assert.equal(writer.used, 0);
  assert.equal(writer.free, 8);
});

Deno.test("ByteRing takes only what fits when it is full, and the rest once space is released", () => {
  const { writer, reader } = pair(8);
  assert.equal(writer.write(bytes(1, 2, 3, 4, 5, 6)), 6);
  assert.equal(writer.write(bytes(7, 8, 9, 10)), 2);
  assert.equal(writer.free, 0);
  assert.equal(writer.write(bytes(9)), 0);
  assert.deepEqual(reader.read(3), bytes(1, 2, 3));
  // Read but not released: the writer still counts those bytes as taken.
  assert.equal(writer.free, 0);
  reader.release(3);
  assert.equal(writer.free, 3);
  assert.equal(writer.write(bytes(9, 10)), 2);
  assert.deepEqual(reader.read(), bytes(4, 5, 6, 7, 8, 9, 10));
});

Deno.test("ByteRing keeps the order of bytes across the wrap-around, many times over", () => {
  const { writer, reader } = pair(16);
  const received: number[] = [];
  let next = 0;
  // Odd sizes make every write and read straddle the end of the memory sooner or later.
  for (let round = 0; round < 500; round++) {
    const chunk = Uint8Array.from({ length: 1 + (round * 7) % 13 }, (_, i) => (next + i) % 256);
    const n = writer.write(chunk);
    next += n;
    const read = reader.read(1 + (round * 5) % 11);
    if (read) {
      received.push(...read);
      reader.release(read.byteLength);
    }
  }
  for (let read = reader.read(); read; read = reader.read()) received.push(...read);
  assert.equal(received.length, next);
  assert.ok(next > 16 * 100, "the test wrapped around often");
  received.forEach((value, i) => assert.equal(value, i % 256));
});

Deno.test("ByteRing lends bytes in place up to the wrap-around, and the rest on the next call", () => {
  const { writer, reader } = pair(8);
  writer.write(bytes(1, 2, 3, 4, 5, 6));
  reader.release(reader.read(5)!.byteLength);
  writer.write(bytes(7, 8, 9, 10));
  const first = reader.readInPlace()!;
  assert.ok(first.buffer instanceof SharedArrayBuffer, "a view, not a copy");
  assert.deepEqual([...first], [6, 7, 8]);
  assert.deepEqual([...reader.readInPlace()!], [9, 10]);
  assert.equal(reader.readInPlace(), undefined);
  // Until released, the lent bytes cannot be overwritten.
  assert.equal(writer.write(bytes(0, 0, 0, 0)), 3);
  assert.deepEqual([...first], [6, 7, 8]);
});

Deno.test("ByteRing goes on past the 2³² bytes at which its counters wrap", () => {
  const writer = ByteRing.create(16);
  // The counters are the header's words 0 (written) and 16 (released); start
  // both just short of 2³² rather than move four gigabytes through the ring.
  const header = new Int32Array(writer.buffer, 0, 32);
  header[0] = header[16] = -5;
  const reader = new ByteRing(writer.buffer);
  const sent = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
  assert.equal(writer.write(sent), 12);
  assert.equal(writer.used, 12);
  assert.equal(reader.available, 12);
  const read = reader.read()!;
  assert.deepEqual(read, sent);
  reader.release(read.byteLength);
  assert.equal(writer.used, 0);
  assert.equal(header[0], 7, "the written counter wrapped");
});

Deno.test("ByteRing gives the reader what is left after the writer ends, then the end", async () => {
  const { writer, reader } = pair(8);
  writer.write(bytes(1, 2));
  writer.end();
  assert.equal(writer.write(bytes(3)), 0, "nothing is written after the end");
  assert.equal(reader.state, "ended");
  await reader.waitForData(); // Returns at once: there is data, and the ring has ended.
  assert.deepEqual(reader.read(), bytes(1, 2));
  await reader.waitForData(); // Returns at once: the ring has ended.
  assert.equal(reader.read(), undefined);
});

Deno.test(
  "ByteRing wakes a reader waiting for data when bytes are written",
  keepingAlive(async () => {
    const { writer, reader } = pair(8);
    const waiting = reader.waitForData();
    writer.write(bytes(42));
    await waiting;
    assert.deepEqual(reader.read(), bytes(42));
  }),
);

Deno.test(
  "ByteRing wakes a writer waiting for space when the reader releases",
  keepingAlive(async () => {
    const { writer, reader } = pair(4);
    writer.write(bytes(1, 2, 3, 4));
    const waiting = writer.waitForSpace();
    reader.release(reader.read(2)!.byteLength);
    await waiting;
    assert.equal(writer.free, 2);
  }),
);

Deno.test(
  "ByteRing wakes both waiting sides when either aborts, and then takes no more bytes",
  keepingAlive(async () => {
    const { writer, reader } = pair(4);
    const other = pair(4);
    other.writer.write(bytes(1, 2, 3, 4));
    const readerWaits = reader.waitForData();
    const writerWaits = other.writer.waitForSpace();
    reader.abort();
    other.reader.abort();
    await Promise.all([readerWaits, writerWaits]);
    assert.equal(writer.state, "aborted");
    assert.equal(writer.write(bytes(1)), 0);
    assert.equal(other.writer.state, "aborted");
  }),
);

Deno.test("ByteRing carries bytes to a Worker and back, woken with Atomics", async () => {
  const source = `
    self.onmessage = async ({ data: { toWorker, fromWorker, ringModule } }) => {
      const { ByteRing } = await import(ringModule);
      const input = new ByteRing(toWorker);
      const output = new ByteRing(fromWorker);
      for (;;) {
        await input.waitForData();
        const chunk = input.read();
        if (chunk) {
          for (let at = 0; at < chunk.length;) {
            at += output.write(chunk.subarray(at));
            if (at < chunk.length) await output.waitForSpace();
          }
          input.release(chunk.length);
        } else if (input.state !== "open") {
          output.end();
          return;
        }
      }
    };`;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    const toWorker = ByteRing.create(64);
    const fromWorker = ByteRing.create(64);
    worker.postMessage({
      toWorker: toWorker.buffer,
      fromWorker: fromWorker.buffer,
      ringModule: new URL("../strategies/workers/ring.ts", import.meta.url).href,
    });
    // Far more than either ring holds, so both sides wait on each other many times.
    const sent = Uint8Array.from({ length: 10_000 }, (_, i) => i % 251);
    const received: number[] = [];
    const receiving = (async () => {
      for (;;) {
        await fromWorker.waitForData();
        const chunk = fromWorker.read();
        if (chunk) {
          received.push(...chunk);
          fromWorker.release(chunk.length);
        } else if (fromWorker.state !== "open") return;
      }
    })();
    for (let at = 0; at < sent.length;) {
      at += toWorker.write(sent.subarray(at, at + 100));
      await toWorker.waitForSpace();
    }
    toWorker.end();
    await receiving;
    assert.deepEqual(Uint8Array.from(received), sent);
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});

Deno.test("Doorbell.wait() returns at once when the bell rang since the count was seen", async () => {
  const bell = Doorbell.create();
  const seen = bell.rung;
  new Doorbell(bell.buffer).ring();
  await bell.wait(seen);
  assert.equal(bell.rung, seen + 1);
});

Deno.test(
  "Doorbell.wait() is woken by a ring that comes while it waits",
  keepingAlive(async () => {
    const bell = Doorbell.create();
    const waiting = bell.wait(bell.rung);
    bell.ring();
    await waiting;
  }),
);

Deno.test(
  "DoorbellWatcher runs every check on each ring, until each is removed",
  keepingAlive(async () => {
    const watcher = new DoorbellWatcher();
    const calls = { a: 0, b: 0 };
    const { promise: bothRan, resolve } = Promise.withResolvers<void>();
    const removeA = watcher.add(() => calls.a++);
    const removeB = watcher.add(() => {
      if (++calls.b === 1) resolve();
    });
    watcher.bell.ring();
    await bothRan;
    // The first check ran when added, and again with the second after the ring.
    assert.equal(calls.a, 2);
    removeA();
    removeB();
    // Removing the last check rang the bell, so the loop ended: nothing waits past the test.
    const after = { ...calls };
    watcher.bell.ring();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(calls, after);
  }),
);
