/**
 * The credit that paces broadcasts across threads (`lib/chat/credit.ts`), on
 * its own and inside a hub whose bus is played by the test.
 */
import assert from "node:assert/strict";
import type { Bus, BusEvent } from "../lib/chat/bus.ts";
import { ACK_EVERY, Acknowledgements, Credit, CREDIT_WINDOW } from "../lib/chat/credit.ts";
import { Hub } from "../lib/chat/hub.ts";

/** A bus the test speaks for: it records what the hub publishes and hands it what others "say". */
class ScriptedBus implements Bus {
  readonly node = "here";
  readonly published: BusEvent[] = [];
  #listener: ((event: BusEvent) => void) | undefined;

  publish(event: BusEvent): void {
    this.published.push(event);
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    this.#listener = listener;
    return () => this.#listener = undefined;
  }

  /** Another node says something. */
  say(event: BusEvent): void {
    this.#listener?.(event);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Whether a promise has settled once every reaction already queued has run:
 * a macrotask runs only after the microtask queue is empty, so this is
 * ordering, not timing.
 */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  // A macrotask: every microtask queued before it has run by then.
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

Deno.test("Credit makes a sender wait once a window is outstanding, and wakes it when acknowledged or forgiven", async () => {
  const credit = new Credit();
  credit.spend(CREDIT_WINDOW - 1);
  assert.ok(!credit.exhausted);
  credit.spend(1);
  assert.ok(credit.exhausted);
  const open = credit.whenOpen();
  credit.grant(1);
  assert.ok(await settled(open));
  credit.spend(CREDIT_WINDOW);
  const again = credit.whenOpen();
  assert.ok(!(await settled(again)));
  credit.forgive();
  assert.ok(await settled(again));
  assert.equal(credit.outstanding, 0);
  // A late acknowledgement for what was forgiven never makes credit negative.
  credit.grant(CREDIT_WINDOW);
  assert.equal(credit.outstanding, 0);
});

Deno.test("Acknowledgements go out every ACK_EVERY bytes, and are held while clients are behind, then sent all at once", async () => {
  const sent: [string, number][] = [];
  const acks = new Acknowledgements<string>((to, bytes) => sent.push([to, bytes]));
  acks.received("a", ACK_EVERY - 1);
  assert.deepEqual(sent, []);
  acks.received("a", 1);
  assert.deepEqual(sent, [["a", ACK_EVERY]]);

  let behind: PromiseWithResolvers<void> | undefined = Promise.withResolvers<void>();
  const firstWait = behind.promise;
  acks.holdWhile(() => behind?.promise);
  acks.received("a", ACK_EVERY);
  acks.received("b", 3);
  assert.equal(sent.length, 1);
  // Caught up, but someone else fell behind meanwhile: still held.
  const second = Promise.withResolvers<void>();
  const stillBehind = behind;
  behind = second;
  stillBehind.resolve();
  // The hold's own reaction was queued before this await, so it has run.
  await firstWait;
  assert.equal(sent.length, 1);
  behind = undefined;
  second.resolve();
  await second.promise;
  assert.deepEqual(sent.slice(1), [["a", ACK_EVERY], ["b", 3]]);
  acks.close();
  acks.received("a", ACK_EVERY);
  assert.equal(sent.length, 3);
});

Deno.test("a hub's sender waits for another node's acknowledgement once a window is outstanding, and not for a node that left", async () => {
  const bus = new ScriptedBus();
  const hub = new Hub(bus);
  try {
    bus.say({ type: "hello", node: "there" });
    const line = new Uint8Array(CREDIT_WINDOW / 2);
    assert.equal(hub.broadcast(1, line), undefined);
    const waiting = hub.broadcast(1, line);
    assert.ok(waiting, "a whole window outstanding makes the sender wait");
    assert.ok(!(await settled(waiting)));
    bus.say({ type: "ack", node: "there", to: "elsewhere", bytes: CREDIT_WINDOW });
    assert.ok(!(await settled(waiting)), "an acknowledgement for another node is not this one's");
    bus.say({ type: "ack", node: "there", to: "here", bytes: ACK_EVERY });
    assert.ok(await settled(waiting));

    const again = hub.broadcast(1, new Uint8Array(CREDIT_WINDOW))!;
    assert.ok(!(await settled(again)));
    bus.say({ type: "goodbye", node: "there" });
    assert.ok(await settled(again), "a node that left is not waited for");
  } finally {
    hub.close();
  }
});

Deno.test("a hub acknowledges another node's broadcasts every ACK_EVERY bytes it delivers", () => {
  const bus = new ScriptedBus();
  const hub = new Hub(bus);
  try {
    const line = new Uint8Array(ACK_EVERY / 2);
    bus.say({ type: "broadcast", node: "there", bytes: line });
    assert.deepEqual(bus.published.filter((event) => event.type === "ack"), []);
    bus.say({ type: "broadcast", node: "there", bytes: line });
    assert.deepEqual(bus.published.filter((event) => event.type === "ack"), [
      { type: "ack", node: "here", to: "there", bytes: ACK_EVERY },
    ]);
  } finally {
    hub.close();
  }
});
