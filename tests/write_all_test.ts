import assert from "node:assert/strict";
import { writeAll, WriteError } from "../lib/write_all.ts";

/** A writer that takes between 1 and `most` bytes a call, as a busy socket might. */
function stingyWriter(most: number) {
  const received: number[] = [];
  let calls = 0;
  return {
    received,
    get calls() {
      return calls;
    },
    write(bytes: Uint8Array): Promise<number> {
      calls++;
      const n = 1 + (calls * 7919) % Math.min(most, bytes.byteLength);
      received.push(...bytes.subarray(0, n));
      return Promise.resolve(n);
    },
  };
}

for (const most of [1, 2, 3, 17, 1000]) {
  Deno.test(`writeAll() writes every byte in order when the writer takes 1 to ${most} bytes a call`, async () => {
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) % 256);
    const writer = stingyWriter(most);
    await writeAll(writer, bytes);
    assert.deepEqual(Uint8Array.from(writer.received), bytes);
    if (most === 1) assert.equal(writer.calls, 5000);
  });
}

Deno.test("writeAll() names the peer and the progress when a write fails", async () => {
  let calls = 0;
  const failing = {
    write(bytes: Uint8Array): Promise<number> {
      if (++calls > 2) return Promise.reject(new Deno.errors.BrokenPipe("gone"));
      return Promise.resolve(Math.min(10, bytes.byteLength));
    },
  };
  await assert.rejects(writeAll(failing, new Uint8Array(100), "10.0.0.9:4000"), (error) => {
    assert.ok(error instanceof WriteError);
    assert.equal(error.written, 20);
    assert.match(error.message, /10\.0\.0\.9:4000 failed after 20 of 100 bytes/);
    assert.ok(error.cause instanceof Deno.errors.BrokenPipe);
    return true;
  });
});

Deno.test("writeAll() refuses a writer that takes no bytes instead of looping forever", async () => {
  const stuck = { write: () => Promise.resolve(0) };
  await assert.rejects(writeAll(stuck, new Uint8Array(5)), WriteError);
});

Deno.test("writeAll() delivers 8 MiB byte for byte to a client that reads slowly over a real socket", async () => {
  const size = 8 * 1024 * 1024;
  const pattern = Uint8Array.from({ length: size }, (_, i) => (i * 131 + (i >> 12)) % 251);
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const server = await listener.accept();
  let partialWrites = 0;
  const countingWriter = {
    async write(bytes: Uint8Array): Promise<number> {
      const n = await server.write(bytes);
      if (n < bytes.byteLength) partialWrites++;
      return n;
    },
  };
  const writing = writeAll(countingWriter, pattern).finally(() => server.close());

  // Small reads keep the client behind the writer, so the socket buffers fill.
  const received = new Uint8Array(size);
  const small = new Uint8Array(997);
  let offset = 0;
  for (let n = await client.read(small); n !== null; n = await client.read(small)) {
    received.set(small.subarray(0, n), offset);
    offset += n;
  }
  client.close();
  await writing;
  assert.equal(offset, size);
  assert.ok(received.every((byte, i) => byte === pattern[i]), "bytes differ");
  assert.ok(partialWrites > 0, "the kernel took every write whole; the test proved nothing");
});
