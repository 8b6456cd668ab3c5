import assert from "node:assert/strict";
import { type Bus, type BusEvent, MessagePortBus } from "../lib/chat/bus.ts";
import { startTestServer, type TestClient } from "../testing.ts";
import { chatConversation, joinChat } from "./_helpers/chat.ts";

Deno.test("two servers on one MessagePort bus are one chat room: messages, names, /who and leaves", async () => {
  const [portsOne, portsTwo] = MessagePortBus.mesh(2);
  const busOne = new MessagePortBus(portsOne!);
  const busTwo = new MessagePortBus(portsTwo!);
  try {
    await using one = await startTestServer({ mode: "poll", service: "chat", bus: busOne });
    await using two = await startTestServer({ mode: "poll", service: "chat", bus: busTwo });
    await chatConversation(one.port, two.port);
  } finally {
    await busOne.close();
    await busTwo.close();
  }
});

Deno.test("a server that stops says goodbye, and the other forgets its clients", async () => {
  const [portsOne, portsTwo] = MessagePortBus.mesh(2);
  const busOne = new MessagePortBus(portsOne!);
  const busTwo = new MessagePortBus(portsTwo!);
  try {
    await using one = await startTestServer({ mode: "poll", service: "chat", bus: busOne });
    const two = await startTestServer({ mode: "poll", service: "chat", bus: busTwo });
    const { client: ana } = await joinChat(one.port);
    using _ana = ana;
    const { client: ben } = await joinChat(two.port);
    using _ben = ben;
    assert.match((await ana.readLine())!, /joined$/);
    await two.stop();
    assert.equal(await ben.readLine(), "server shutting down");
    assert.equal(await ben.readLine(), null);
    // ben's leave and the goodbye both arrive; /who then lists ana alone.
    assert.match((await ana.readLine())!, /left$/);
    await ana.send("/who\n");
    assert.match((await ana.readLine())!, /^\* online \(1\): guest\d+ /);
  } finally {
    await busOne.close();
    await busTwo.close();
  }
});

Deno.test("a server that starts late learns who is already in the room", async () => {
  const [portsOne, portsTwo] = MessagePortBus.mesh(2);
  const busOne = new MessagePortBus(portsOne!);
  const busTwo = new MessagePortBus(portsTwo!);
  try {
    await using one = await startTestServer({ mode: "poll", service: "chat", bus: busOne });
    const { client: ana } = await joinChat(one.port);
    using _ana = ana;
    await using two = await startTestServer({ mode: "poll", service: "chat", bus: busTwo });
    const { client: ben } = await joinChat(two.port);
    using _ben = ben;
    // ana hears ben join after the late server's hello, so the snapshot it
    // sent in answer is on its way to ben's server ahead of anything ben says.
    assert.match((await ana.readLine())!, /joined$/);
    await ana.send("hola\n");
    assert.match((await ben.readLine())!, /> hola$/);
    await ben.send("/who\n");
    assert.match((await ben.readLine())!, /^\* online \(2\): /);
  } finally {
    await busOne.close();
    await busTwo.close();
  }
});

Deno.test("reuseport spreads clients over its Workers and chat reaches every one of them", async () => {
  await using server = await startTestServer({ mode: "reuseport", service: "chat", threads: 2 });
  // Worker 1 numbers its clients 1, 3, 5 …, Worker 2 numbers them 2, 4, 6 …
  // The kernel picks a Worker by hashing the client's port, so keep
  // connecting (a bounded number of times) until both Workers have one.
  const clients: TestClient[] = [];
  try {
    const parities = new Set<number>();
    for (let attempt = 0; attempt < 64 && parities.size < 2; attempt++) {
      const { client, guest } = await joinChat(server.port);
      clients.push(client);
      parities.add(guest % 2);
    }
    assert.equal(parities.size, 2, "64 clients all landed on one Worker");
    const [first, ...others] = clients;
    // The first client hears every later one join. A Worker publishes a
    // client's membership before its join notice, so once the first client has
    // heard them all, its Worker knows everybody.
    for (const _ of others) assert.match((await first!.readLine())!, /^\* guest\d+ joined$/);
    await first!.send("/who\n");
    assert.match((await first!.readLine())!, new RegExp(`^\\* online \\(${clients.length}\\): `));
    await first!.send("to everyone\n");
    for (const other of others) {
      let heard = (await other.readLine())!;
      while (heard.startsWith("* ")) heard = (await other.readLine())!;
      assert.match(heard, /^<guest\d+> to everyone$/);
    }
  } finally {
    for (const client of clients) client.close();
  }
});

/**
 * A bus whose node can die the way a killed process does: from `sever()` on,
 * nothing it publishes arrives and nothing reaches it, and no goodbye is said.
 * Its heartbeat is short so that silence is noticed within a test.
 */
class SeverableBus implements Bus {
  readonly heartbeatMs = 50;
  readonly #inner: MessagePortBus;
  #severed = false;

  constructor(ports: MessagePort[]) {
    this.#inner = new MessagePortBus(ports);
  }

  get node(): string {
    return this.#inner.node;
  }

  sever(): void {
    this.#severed = true;
  }

  publish(event: BusEvent): void {
    if (!this.#severed) this.#inner.publish(event);
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    return this.#inner.subscribe((event) => {
      if (!this.#severed) listener(event);
    });
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

Deno.test("when a server falls silent without a goodbye, the others' clients hear that its clients left", async () => {
  const [portsOne, portsTwo] = MessagePortBus.mesh(2);
  const busOne = new SeverableBus(portsOne!);
  const busTwo = new SeverableBus(portsTwo!);
  try {
    await using one = await startTestServer({ mode: "poll", service: "chat", bus: busOne });
    await using two = await startTestServer({ mode: "poll", service: "chat", bus: busTwo });
    const { client: ana } = await joinChat(one.port);
    using _ana = ana;
    const { client: ben, guest } = await joinChat(two.port);
    using _ben = ben;
    assert.equal(await ana.readLine(), `* guest${guest} joined`);
    busTwo.sever();
    // No goodbye and no leave come from ben's server: ana's server notices the silence.
    assert.equal(await ana.readLine(), `* guest${guest} left`);
    await ana.send("/who\n");
    assert.match((await ana.readLine())!, /^\* online \(1\): /);
  } finally {
    await busOne.close();
    await busTwo.close();
  }
});
