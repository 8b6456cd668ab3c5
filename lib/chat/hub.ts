/**
 * The registry of a server's clients, owned by the thread that owns their
 * sockets: it carries broadcasts between them and answers "who is here".
 * Under `workers` the clients' services live in different Workers, but their
 * sockets all live here, so one hub serves every strategy.
 *
 * A hub can also be one node of a larger room: given a {@link Bus}, it
 * publishes its own clients' broadcasts, joins, leaves and renames, and keeps
 * a copy of every other node's clients from what it hears, so `who()` stays a
 * local, synchronous answer. That is how the Workers of `reuseport`, and
 * servers on different machines (over Redis), share one chat room.
 *
 * @module
 */
import { type Bus, type BusEvent, localBus } from "./bus.ts";
import { Acknowledgements, Credit } from "./credit.ts";
import type { Connection } from "../connection.ts";
import { logger } from "../log.ts";
import type { PeerInfo, Service } from "../service.ts";

/**
 * How far a client may fall behind on broadcasts before it is dropped, in
 * bytes as {@link Connection.queuedCost} counts them (each queued write costs
 * its bytes and its bookkeeping). The server must not buffer without end for
 * a client that never reads. With senders paced (below) a client that keeps
 * reading never gets here.
 */
export const MAX_BROADCAST_BACKLOG = 1024 * 1024;

/**
 * A broadcast that leaves a recipient this far behind makes its sender wait
 * until that recipient has written what it had queued: the sender's reads
 * pause, so one client pasting a file is slowed to the pace of the room
 * instead of the room's readers being dropped or the server's memory filling.
 */
export const PAUSE_BACKLOG = 64 * 1024;

/**
 * How long a sender waits for a recipient that has fallen
 * {@link PAUSE_BACKLOG} behind. One that has not caught up by then is not
 * keeping up: it is dropped as a slow reader, and the room carries on.
 */
export const SLOW_READER_MS = 5_000;

/**
 * How long a sender waits for another node to acknowledge its broadcasts
 * (`credit.ts`). A live node holds its acknowledgements back only while its
 * clients catch up, and drops those that have not after
 * {@link SLOW_READER_MS}; one silent for twice that is not coming back (a
 * Worker that died), and its room is no longer waited for.
 */
export const CREDIT_TIMEOUT_MS = 2 * SLOW_READER_MS;

/** A node not heard from for this many heartbeats is taken for dead. */
const MISSED_HEARTBEATS = 3;

const log = logger("hub");
const encoder = new TextEncoder();

/** What this hub knows of another node. */
interface RemoteNode {
  peers: Map<number, PeerInfo>;
  heardAt: number;
  /** This node's broadcasts on their way to that node, unacknowledged. */
  credit: Credit;
}

/**
 * The clients of one server, and, through a bus, of every server in the room.
 *
 * @example
 * ```ts
 * import { Hub } from "./hub.ts";
 * import assert from "node:assert/strict";
 *
 * const hub = new Hub();
 * assert.deepEqual(hub.who(), []);
 * hub.close();
 * ```
 */
export class Hub {
  /**
   * This node's clients by id, the connection itself rather than an entry
   * object each: at ten thousand clients an object per client is ten
   * thousand for the garbage collector to walk.
   */
  readonly #members = new Map<number, Connection>();
  /** The names clients chose; the others are `guestID`, made only when someone asks. */
  readonly #names = new Map<number, string>();
  readonly #bus: Bus;
  readonly #remote = new Map<string, RemoteNode>();
  readonly #unsubscribe: () => void;
  readonly #heartbeat: ReturnType<typeof setInterval> | undefined;
  /** Other nodes' broadcasts delivered here, acknowledged unless this node's clients are behind. */
  readonly #acknowledgements: Acknowledgements<string>;
  #closed = false;

  readonly #departed: ((peer: PeerInfo) => string) | undefined;

  /**
   * Makes a hub, alone or as one node of a room.
   *
   * @param bus How this hub reaches the others; by default it is alone.
   * @param departed What this server's clients are told of each client of a
   *   node that fell silent (the service's `departed`); by default nothing.
   */
  constructor(bus: Bus = localBus, departed?: (peer: PeerInfo) => string) {
    this.#bus = bus;
    this.#departed = departed;
    this.#acknowledgements = new Acknowledgements((to, bytes) => {
      this.#publish({ type: "ack", node: bus.node, to, bytes });
    });
    this.#unsubscribe = bus.subscribe((event) => this.#hear(event));
    if (bus === localBus) return;
    bus.publish({ type: "hello", node: bus.node });
    const period = bus.heartbeatMs;
    if (period !== undefined) {
      this.#heartbeat = setInterval(() => this.#beat(period), period);
    }
  }

  /**
   * Adds a client under a default name, unless its service has no use for
   * the room: a service that declares `handlersOnly` hears nothing from
   * other clients and never asks `who()` (`ServiceHooks.handlersOnly`), so
   * its clients stay out, with no entry each for a room that cannot concern
   * them (echo, at ten thousand clients).
   *
   * @param connection The client.
   * @param service The service it is served by.
   */
  join(connection: Connection, service: Service): void {
    if (service.handlersOnly === true) return;
    this.#members.set(connection.id, connection);
    // A hub alone tells no one: at ten thousand clients, an event built for
    // nobody is ten thousand objects and formatted addresses for nothing.
    if (this.#bus === localBus) return;
    this.#publish({ type: "join", node: this.#bus.node, peer: this.#describe(connection) });
  }

  /** Removes a client; safe to call more than once. */
  leave(id: number): void {
    this.#names.delete(id);
    if (!this.#members.delete(id) || this.#bus === localBus) return;
    this.#publish({ type: "leave", node: this.#bus.node, id });
  }

  /** Changes the name `who()` reports for a client. */
  rename(id: number, name: string): void {
    if (!this.#members.has(id)) return;
    this.#names.set(id, name);
    this.#publish({ type: "rename", node: this.#bus.node, id, name });
  }

  /** Every client: this server's in the order they joined, then the other nodes'. */
  who(): PeerInfo[] {
    const remote = [...this.#remote.values()].flatMap((node) => [...node.peers.values()]);
    return [...this.#describeMembers(), ...remote];
  }

  /**
   * Queues bytes to every client but the sender, here and on every other
   * node. It returns at once unless the room is behind: a client of this
   * node is now {@link PAUSE_BACKLOG} behind, or another node has not
   * acknowledged a whole window of this node's broadcasts (its clients are
   * behind). Then the promise resolves once those clients have caught up, or
   * have been dropped as slow readers after {@link SLOW_READER_MS}, and the
   * other nodes have acknowledged (or stayed silent for
   * {@link CREDIT_TIMEOUT_MS}). A sender that awaits it reads no faster than
   * its room, on every node.
   *
   * @param fromId The sender's connection id.
   * @param bytes Shared by every recipient, so the caller must not reuse them.
   */
  broadcast(fromId: number, bytes: Uint8Array): Promise<void> | undefined {
    const behind = this.#deliver(fromId, bytes);
    if (this.#bus === localBus) return behind.length > 0 ? this.#waitFor(behind) : undefined;
    this.#publish({ type: "broadcast", node: this.#bus.node, bytes });
    const waits: Promise<void>[] = [];
    if (behind.length > 0) waits.push(this.#waitFor(behind));
    const exhausted: [string, Credit][] = [];
    for (const [node, { credit }] of this.#remote) {
      credit.spend(bytes.byteLength);
      if (credit.exhausted) exhausted.push([node, credit]);
    }
    if (exhausted.length > 0) waits.push(this.#waitForCredit(exhausted));
    if (waits.length < 2) return waits[0];
    return Promise.all(waits).then(() => {});
  }

  /**
   * Resolves once every client of this node now {@link PAUSE_BACKLOG} behind
   * has caught up or been dropped; `undefined` when none is behind.
   */
  caughtUp(): Promise<void> | undefined {
    const behind = [...this.#members.values()]
      .filter((connection) => !connection.closed && connection.queuedCost > PAUSE_BACKLOG);
    return behind.length > 0 ? this.#waitFor(behind) : undefined;
  }

  /** Waits for other nodes to acknowledge; writes off those silent for {@link CREDIT_TIMEOUT_MS}. */
  async #waitForCredit(exhausted: [string, Credit][]): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, CREDIT_TIMEOUT_MS));
    await Promise.race([Promise.all(exhausted.map(([, credit]) => credit.whenOpen())), late]);
    clearTimeout(timer);
    for (const [node, credit] of exhausted) {
      if (!credit.exhausted) continue;
      log.warn(
        "node {node} acknowledged none of {bytes} broadcast bytes in {seconds} s; not waiting for it",
        {
          node,
          bytes: credit.outstanding,
          seconds: CREDIT_TIMEOUT_MS / 1000,
        },
      );
      credit.forgive();
    }
  }

  /** Waits for clients that fell behind to catch up; drops those that do not in time. */
  async #waitFor(behind: Connection[]): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, SLOW_READER_MS));
    await Promise.race([Promise.all(behind.map((connection) => connection.drain())), late]);
    clearTimeout(timer);
    for (const connection of behind) {
      if (connection.closed || connection.queuedCost <= PAUSE_BACKLOG) continue;
      log.info("dropping {peer}: it read nothing of {backlog} queued bytes in {seconds} s", {
        peer: connection.peer,
        backlog: connection.queuedBytes,
        seconds: SLOW_READER_MS / 1000,
      });
      connection.close();
    }
  }

  /** Tells the other nodes that this one is gone and stops listening. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#publish({ type: "goodbye", node: this.#bus.node });
    this.#unsubscribe();
    this.#acknowledgements.close();
    for (const node of this.#remote.keys()) this.#forget(node);
  }

  /** Forgets a node and lets this node's senders stop waiting for it. */
  #forget(node: string): void {
    this.#remote.get(node)?.credit.forgive();
    this.#remote.delete(node);
    this.#acknowledgements.forget(node);
  }

  #publish(event: BusEvent): void {
    if (!this.#closed || event.type === "goodbye") this.#bus.publish(event);
  }

  /** Queues to every member but the sender; returns those now {@link PAUSE_BACKLOG} behind. */
  #deliver(fromId: number | undefined, bytes: Uint8Array): Connection[] {
    const behind: Connection[] = [];
    for (const connection of this.#members.values()) {
      if (connection.id === fromId || connection.closed) continue;
      if (connection.queuedCost + bytes.byteLength > MAX_BROADCAST_BACKLOG) {
        log.info("dropping {peer}: it fell {backlog} bytes behind on broadcasts", {
          peer: connection.peer,
          backlog: connection.queuedBytes,
        });
        connection.close();
        continue;
      }
      // A failed write closes that connection; the sender has nothing to do about it.
      connection.writeBatched(bytes).catch(() => {});
      if (connection.queuedCost > PAUSE_BACKLOG) behind.push(connection);
    }
    return behind;
  }

  #describe(connection: Connection): PeerInfo {
    const { id } = connection;
    return { id, name: this.#names.get(id) ?? `guest${id}`, peer: connection.peer };
  }

  /** This node's clients as `who()` lists them, in the order they joined. */
  #describeMembers(): PeerInfo[] {
    return [...this.#members.values()].map((connection) => this.#describe(connection));
  }

  #snapshot(): BusEvent {
    const peers = this.#describeMembers();
    return { type: "members", node: this.#bus.node, peers };
  }

  /** Repeats this node's snapshot and forgets the nodes that fell silent. */
  #beat(period: number): void {
    this.#publish(this.#snapshot());
    const deadline = performance.now() - MISSED_HEARTBEATS * period;
    for (const [node, known] of this.#remote) {
      if (known.heardAt >= deadline) continue;
      this.#forget(node);
      log.warn("node {node} fell silent; forgetting its {count} clients", {
        node,
        count: known.peers.size,
      });
      // Its clients never said goodbye, and their server cannot say it for them now.
      if (this.#departed) {
        for (const peer of known.peers.values()) {
          this.#deliver(undefined, encoder.encode(this.#departed(peer)));
        }
      }
    }
  }

  #hear(event: BusEvent): void {
    // Some buses (Redis) hand a node its own events back.
    if (event.node === this.#bus.node || this.#closed) return;
    if (event.type === "goodbye") {
      this.#forget(event.node);
      return;
    }
    let known = this.#remote.get(event.node);
    if (!known) {
      known = { peers: new Map(), heardAt: 0, credit: new Credit() };
      this.#remote.set(event.node, known);
    }
    known.heardAt = performance.now();
    switch (event.type) {
      case "broadcast": {
        // Delivered at once; acknowledged only once no client here is behind,
        // which is what holds the sender back on its own node.
        if (this.#deliver(undefined, event.bytes).length > 0) {
          this.#acknowledgements.holdWhile(() => this.caughtUp());
        }
        this.#acknowledgements.received(event.node, event.bytes.byteLength);
        break;
      }
      case "ack":
        if (event.to === this.#bus.node) known.credit.grant(event.bytes);
        break;
      case "join":
        known.peers.set(event.peer.id, event.peer);
        break;
      case "leave":
        known.peers.delete(event.id);
        break;
      case "rename": {
        const peer = known.peers.get(event.id);
        if (peer) peer.name = event.name;
        break;
      }
      case "hello":
        this.#publish(this.#snapshot());
        break;
      case "members":
        known.peers = new Map(event.peers.map((peer) => [peer.id, peer]));
        break;
    }
  }
}
