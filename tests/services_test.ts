import assert from "node:assert/strict";
import { chargenLine } from "../services/chargen.ts";
import { loadHashing, sha256Rounds } from "../services/compute.ts";
import { chat } from "../services/chat.ts";
import { reverse } from "../services/reverse.ts";
import { echo } from "../services/echo.ts";
import { serve } from "../lib/server.ts";
import type { ServerContext, Strategy } from "../lib/strategy.ts";
import { poll } from "../strategies/poll.ts";
import {
  checkUnderEveryMode,
  openTestSession,
  type ServiceClient,
  TestClient,
} from "../testing.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One client's conversation with a service, the same under every strategy. */
const CONVERSATIONS: Record<string, (client: ServiceClient) => Promise<void>> = {
  async echo(client) {
    await client.send("hello\n");
    assert.equal(decoder.decode(await client.readBytes(6)), "hello\n");
    const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);
    await client.send(everyByte);
    assert.deepEqual(await client.readBytes(256), everyByte);
    await client.end();
    assert.equal((await client.readAll()).byteLength, 0);
  },
  async discard(client) {
    await client.send("nothing comes back\n");
    await client.end();
    assert.equal((await client.readAll()).byteLength, 0);
  },
  async daytime(client) {
    const all = decoder.decode(await client.readAll());
    assert.match(all, /^[A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, \d{4} \d\d:\d\d:\d\d-UTC\r\n$/);
  },
  async chargen(client) {
    const lines = decoder.decode(await client.readBytes(74 * 200));
    const expected = Array.from({ length: 200 }, (_, i) => chargenLine(i)).join("");
    assert.equal(lines, expected);
  },
  async reverse(client) {
    await client.send("hola\r\nmun");
    await client.send("do\nañ🙂b\n");
    assert.equal(await client.readLine(), "aloh");
    assert.equal(await client.readLine(), "odnum");
    assert.equal(await client.readLine(), "b🙂ña");
  },
  async chat(client) {
    assert.match((await client.readLine())!, /^\* welcome, guest\d+; commands:/);
    await client.send("/nick ana\n");
    assert.equal(await client.readLine(), "* you are now ana");
    await client.send("/who\n");
    assert.match((await client.readLine())!, /^\* online \(1\): ana \(127\.0\.0\.1:\d+\)$/);
    await client.send("/nope\n");
    assert.match((await client.readLine())!, /^ERR unknown command \/nope/);
    await client.send("/quit\n");
    assert.equal(await client.readLine(), "* bye");
    assert.equal(await client.readLine(), null);
  },
  async compute(client) {
    await client.send("sha256 1 abc\n");
    assert.equal(
      await client.readLine(),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    await client.send("sha256 0 abc\nsha256 x y\nsha256 1000 servidor\n");
    assert.match((await client.readLine())!, /^ERR usage: sha256 ROUNDS TEXT/);
    assert.match((await client.readLine())!, /^ERR usage: sha256 ROUNDS TEXT/);
    assert.equal(await client.readLine(), sha256Rounds(1000, "servidor"));
  },
};

for (const [service, converse] of Object.entries(CONVERSATIONS)) {
  Deno.test(`${service} answers a client correctly under every mode`, async () => {
    await checkUnderEveryMode(service, converse);
  });
}

// The same conversations with no socket at all, for the services that need no Worker to show it.
for (const service of [reverse, chat]) {
  Deno.test(`${service.name} answers an in-memory client as it answers one on the wire`, async () => {
    await using client = openTestSession(service);
    await CONVERSATIONS[service.name]!(client);
  });
}

Deno.test("chat carries lines, renames, /who and leaving between two in-memory clients", async () => {
  await using ana = openTestSession(chat);
  assert.match((await ana.readLine())!, /^\* welcome, guest1;/);
  await using ben = openTestSession(chat, { hub: ana.hub });
  assert.match((await ben.readLine())!, /^\* welcome, guest2;/);
  assert.equal(await ana.readLine(), "* guest2 joined");

  await ana.send("/nick ana\n");
  assert.equal(await ana.readLine(), "* you are now ana");
  assert.equal(await ben.readLine(), "* guest1 is now ana");
  await ben.send("/nick ana\n");
  assert.equal(await ben.readLine(), "ERR nick ana is taken");
  await ben.send("hola, ana\n");
  assert.equal(await ana.readLine(), "<guest2> hola, ana");
  await ben.send("/who\n");
  assert.equal(
    await ben.readLine(),
    "* online (2): ana (127.0.0.1:40001), guest2 (127.0.0.1:40002)",
  );
  await ben.close();
  assert.equal(await ana.readLine(), "* guest2 left");
  await ana.send("/quit\n");
  assert.equal(await ana.readLine(), "* bye");
  assert.equal(await ana.readLine(), null);
});

await loadHashing();

Deno.test("sha256Rounds() hashes the hex digest again on each round", () => {
  const once = sha256Rounds(1, "abc");
  const twice = sha256Rounds(2, "abc");
  assert.equal(twice, sha256Rounds(1, once));
});

Deno.test("chargenLine() rotates the printable characters one place per line", () => {
  assert.equal(
    chargenLine(0).slice(0, 72),
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg",
  );
  assert.equal(chargenLine(94).slice(0, 2), "~ ");
  assert.equal(chargenLine(95), chargenLine(0));
  assert.equal(encoder.encode(chargenLine(3)).byteLength, 74);
});

Deno.test("a handlersOnly service's clients stay out of the room, any other service's are in it", async () => {
  for (const handlersOnly of [true, false]) {
    let context: ServerContext | undefined;
    // poll, with a look at the context it is given, whose hub is the room.
    const watching: Strategy = {
      ...poll,
      start: (given) => {
        context = given;
        return Promise.resolve();
      },
    };
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const stop = new AbortController();
    const served = serve({
      listener,
      strategy: watching,
      service: { ...echo, handlersOnly },
      shutdown: stop.signal,
      graceMs: 0,
    });
    try {
      using client = await TestClient.connect(listener.addr.port);
      await client.send("hola\n");
      assert.equal(await client.readLine(), "hola");
      const inRoom = context!.hub.who().map((peer) => peer.id);
      assert.equal(inRoom.length, handlersOnly ? 0 : 1, `handlersOnly: ${handlersOnly}`);
    } finally {
      stop.abort();
      await served;
    }
  }
});
