/**
 * The bus that joins the hubs of several servers into one room: every hub
 * publishes what happens to its own clients (a broadcast, a join, a leave, a
 * rename) and hears what happens on the others. A bus only carries events;
 * what they mean is the hub's business ({@link Hub} in `hub.ts`).
 *
 * Three buses exist: {@link localBus} (one server alone, the default, which
 * carries nothing), {@link MessagePortBus} (the Workers of one process,
 * for the Workers of a `reuseport` server) and the Redis bus in `redis_bus.ts`
 * (servers on different machines). `open_bus.ts` picks one from a `BusSpec`.
 *
 * @module
 */
import type { PeerInfo } from "../service.ts";

/** What one hub tells the others. Every event names the node it comes from. */
export type BusEvent =
  /** These bytes go to every client of every other node. */
  | { type: "broadcast"; node: string; bytes: Uint8Array }
  /** A client arrived. Its id is only unique together with its node. */
  | { type: "join"; node: string; peer: PeerInfo }
  /** A client left. */
  | { type: "leave"; node: string; id: number }
  /** A client changed its name. */
  | { type: "rename"; node: string; id: number; name: string }
  /** A node (re)started: the others answer with a `members` snapshot. */
  | { type: "hello"; node: string }
  /** Every client of one node, replacing what was known about it. */
  | { type: "members"; node: string; peers: PeerInfo[] }
  /**
   * `bytes` more of node `to`'s broadcasts were delivered to this node's
   * clients, which are not behind (see `credit.ts`); other nodes ignore it.
   */
  | { type: "ack"; node: string; to: string; bytes: number }
  /** A node stopped: forget its clients. */
  | { type: "goodbye"; node: string };

/** Publish/subscribe of {@link BusEvent}s between the nodes of one room. */
export interface Bus {
  /** This node's name, unique among the nodes of the room. */
  readonly node: string;
  /**
   * How often a node repeats its `members` snapshot, in milliseconds, on a
   * bus where a node can vanish without saying goodbye (a killed process).
   * A node not heard from for three periods is forgotten. Absent where nodes
   * cannot vanish alone (the Workers of one process).
   */
  readonly heartbeatMs?: number;
  /** Sends an event to every other node; in order, without waiting. */
  publish(event: BusEvent): void;
  /**
   * Calls `listener` for every event from another node, in the order each
   * node published them.
   *
   * @returns A function that stops the calls.
   */
  subscribe(listener: (event: BusEvent) => void): () => void;
  /** Lets go of the bus's resources (channels, connections). */
  close(): Promise<void>;
}

/**
 * A new node name: random, so that restarted and parallel nodes never share one.
 *
 * @example
 * ```ts
 * import { newNodeName } from "./bus.ts";
 * import assert from "node:assert/strict";
 *
 * assert.notEqual(newNodeName(), newNodeName());
 * ```
 */
export function newNodeName(): string {
  return crypto.randomUUID().slice(0, 8);
}

/** The bus of a server alone: nothing to publish to, nothing to hear. */
export const localBus: Bus = {
  node: "local",
  publish() {},
  subscribe() {
    return () => {};
  },
  close() {
    return Promise.resolve();
  },
};

/**
 * A bus between the Workers of one process: one `MessagePort` to every other
 * node, made by {@link MessagePortBus.mesh} and handed to each Worker.
 *
 * Why not `BroadcastChannel`, which needs no wiring: Deno's keeps 256
 * messages per receiver and silently drops the oldest when a receiver falls
 * further behind, so a burst of chat lost lines and joins between Workers
 * with nothing logged. A `MessagePort` queues without loss and delivers in
 * the order posted, which is what "every line reaches every member exactly
 * once, in order" needs. Events that arrive before the hub subscribes wait in
 * the port: a port only starts delivering once a listener is set.
 *
 * @example Two nodes in one thread hear each other
 * ```ts
 * import { type BusEvent, MessagePortBus } from "./bus.ts";
 * import assert from "node:assert/strict";
 *
 * const [portsOne, portsTwo] = MessagePortBus.mesh(2);
 * const one = new MessagePortBus(portsOne!);
 * const two = new MessagePortBus(portsTwo!);
 * const heard = new Promise<BusEvent>((resolve) => two.subscribe(resolve));
 * one.publish({ type: "hello", node: one.node });
 * assert.deepEqual(await heard, { type: "hello", node: one.node });
 * await one.close();
 * await two.close();
 * ```
 */
export class MessagePortBus implements Bus {
  readonly node: string = newNodeName();
  readonly #ports: readonly MessagePort[];
  readonly #listeners = new Set<(event: BusEvent) => void>();

  /**
   * The ports of every node in a room of `count`: entry `i` holds node `i`'s
   * ports, one to each other node.
   *
   * @param count How many nodes.
   */
  static mesh(count: number): MessagePort[][] {
    const ports: MessagePort[][] = Array.from({ length: count }, () => []);
    for (let i = 0; i < count; i++) {
      for (let j = i + 1; j < count; j++) {
        const { port1, port2 } = new MessageChannel();
        ports[i]!.push(port1);
        ports[j]!.push(port2);
      }
    }
    return ports;
  }

  /**
   * Joins a room through this node's ports.
   *
   * @param ports One per other node, from {@link MessagePortBus.mesh}.
   */
  constructor(ports: readonly MessagePort[]) {
    this.#ports = ports;
  }

  publish(event: BusEvent): void {
    for (const port of this.#ports) port.postMessage(event);
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    this.#listeners.add(listener);
    // Setting `onmessage` starts the ports; until then they keep what arrives.
    for (const port of this.#ports) {
      port.onmessage ??= (message: MessageEvent<BusEvent>) => {
        for (const each of this.#listeners) each(message.data);
      };
    }
    return () => this.#listeners.delete(listener);
  }

  close(): Promise<void> {
    this.#listeners.clear();
    for (const port of this.#ports) port.close();
    return Promise.resolve();
  }
}
