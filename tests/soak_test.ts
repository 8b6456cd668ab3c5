/**
 * A bounded soak: many clients, each sending numbered messages in bursts
 * while it reads, must each get back exactly its own bytes, in order: none
 * lost, duplicated or reordered. Bounded by counts; the time limit only keeps
 * a broken build from hanging CI, it asserts nothing about speed.
 */
import assert from "node:assert/strict";
import { startTestServer, TestClient } from "../testing.ts";
import { CONCURRENT_MODES } from "./_helpers/modes.ts";

const CLIENTS = 200;
const MESSAGES = 2_000;
const PER_WRITE = 50;
/** A safety cap, not a performance assertion. */
const CAP_MS = 60_000;

const encoder = new TextEncoder();

/** Client `id`'s messages, `first` to `first + count - 1`, as one buffer. */
function messages(id: number, first: number, count: number): Uint8Array {
  let text = "";
  for (let seq = first; seq < first + count; seq++) text += `client ${id} message ${seq}\n`;
  return encoder.encode(text);
}

async function soakClient(port: number, id: number): Promise<void> {
  using client = await TestClient.connect(port);
  const sent: Uint8Array[] = [];
  const sending = (async () => {
    for (let seq = 0; seq < MESSAGES; seq += PER_WRITE) {
      const burst = messages(id, seq, Math.min(PER_WRITE, MESSAGES - seq));
      sent.push(burst);
      await client.send(burst);
    }
  })();
  const total = messages(id, 0, MESSAGES).byteLength;
  const received = await client.readBytes(total);
  await sending;
  const expected = new Uint8Array(total);
  let offset = 0;
  for (const burst of sent) {
    expected.set(burst, offset);
    offset += burst.byteLength;
  }
  if (!received.every((byte, i) => byte === expected[i])) {
    const at = received.findIndex((byte, i) => byte !== expected[i]);
    const context = (bytes: Uint8Array) => new TextDecoder().decode(bytes.slice(at, at + 40));
    assert.fail(
      `client ${id}: byte ${at} differs: got "${context(received)}", sent "${context(expected)}"`,
    );
  }
  await client.closeWrite();
  assert.equal((await client.readAll()).byteLength, 0, `client ${id} got bytes it never sent`);
}

for (const mode of CONCURRENT_MODES) {
  Deno.test(`${CLIENTS} clients × ${MESSAGES} messages through echo lose, duplicate and reorder nothing under ${mode}`, async () => {
    await using server = await startTestServer({ mode, service: "echo" });
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cap = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the soak passed its ${CAP_MS} ms safety cap`)),
        CAP_MS,
      );
    });
    try {
      await Promise.race([
        Promise.all(Array.from({ length: CLIENTS }, (_, id) => soakClient(server.port, id))),
        cap,
      ]);
    } finally {
      clearTimeout(timer);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`${mode}: ${CLIENTS * MESSAGES} messages in ${seconds.toFixed(1)} s`);
  });
}
