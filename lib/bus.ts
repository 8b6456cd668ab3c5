/**
 * The bus that joins the hubs of several servers into one room: every hub
 * publishes what happens to its own clients (a broadcast, a join, a leave, a
 * rename) and hears what happens on the others. A bus only carries events;
 * what they mean is the hub's business ({@link Hub} in `hub.ts`).
 *
 * Three buses exist: {@link localBus} (one server alone, the default, which
 * carries nothing), {@link BroadcastChannelBus} (the Workers of one process,
 * for `--mode=reuseport`) and the Redis bus in `redis_bus.ts` (servers on
 * different machines, for `--bus=redis://…`).
 *
 * @module
 */
import { UsageError } from "./flags.ts";
import type { PeerInfo } from "./service.ts";

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

/** The `BroadcastChannel` name every `reuseport` Worker of one process joins. */
export const DEFAULT_CHANNEL = "servidor-bus";

/**
 * A bus between the Workers of one process. `BroadcastChannel` delivers to
 * every other holder of the same name in the process, in the order each one
 * posted, and structured cloning carries the bytes as they are.
 *
 * @example Two nodes in one thread hear each other
 * ```ts
 * import { BroadcastChannelBus, type BusEvent } from "./bus.ts";
 * import assert from "node:assert/strict";
 *
 * const one = new BroadcastChannelBus("doc-example");
 * const two = new BroadcastChannelBus("doc-example");
 * const heard = new Promise<BusEvent>((resolve) => two.subscribe(resolve));
 * one.publish({ type: "hello", node: one.node });
 * assert.deepEqual(await heard, { type: "hello", node: one.node });
 * await one.close();
 * await two.close();
 * ```
 */
export class BroadcastChannelBus implements Bus {
  readonly node: string = newNodeName();
  readonly #channel: BroadcastChannel;
  readonly #listeners = new Set<(event: BusEvent) => void>();

  /**
   * Joins the room of every bus on the same channel in this process.
   *
   * @param name The channel's name; the nodes of one room share it.
   */
  constructor(name: string = DEFAULT_CHANNEL) {
    this.#channel = new BroadcastChannel(name);
    this.#channel.onmessage = (message: MessageEvent<BusEvent>) => {
      for (const listener of this.#listeners) listener(message.data);
    };
  }

  publish(event: BusEvent): void {
    this.#channel.postMessage(event);
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): Promise<void> {
    this.#listeners.clear();
    this.#channel.close();
    return Promise.resolve();
  }
}

/** Which bus a server joins, in a form that can cross to a Worker. */
export type BusSpec =
  | { kind: "local" }
  | { kind: "channel"; name: string }
  | { kind: "redis"; url: string };

/**
 * Opens the bus a {@link BusSpec} names. The Redis client is only loaded
 * when a Redis bus is asked for.
 *
 * @param spec Which bus.
 * @throws When Redis cannot be reached at all.
 */
export async function openBus(spec: BusSpec): Promise<Bus> {
  switch (spec.kind) {
    case "local":
      return localBus;
    case "channel":
      return new BroadcastChannelBus(spec.name);
    case "redis": {
      const { connectRedisBus } = await loadRedisBus();
      return await connectRedisBus(spec.url);
    }
  }
}

/**
 * Loads the Redis bus, and with it the Redis client (about 4 MB of npm
 * packages), only when a server asks for it. The specifier is computed on
 * purpose: Deno follows a literal `import("./redis_bus.ts")` ahead of time and
 * would download the client on every first run, even for an echo server.
 * Deno loads a module it did not see ahead of time only with read access to
 * it, so a refusal is turned into one sentence saying so.
 */
async function loadRedisBus(): Promise<typeof import("./redis_bus.ts")> {
  const specifier = new URL("./redis_bus.ts", import.meta.url).href;
  try {
    return await import(specifier);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    throw new Error(
      `the Redis bus needs read access to load ${specifier}: run deno with --allow-read`,
      { cause: error },
    );
  }
}

/**
 * Reads `--bus`: `local` (alone), or `redis://HOST:PORT` for a room shared
 * through Redis.
 *
 * @param value What was given.
 * @throws {UsageError} For anything else, in one line.
 *
 * @example
 * ```ts
 * import { parseBusFlag } from "./bus.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseBusFlag("redis://127.0.0.1:6379"), {
 *   kind: "redis",
 *   url: "redis://127.0.0.1:6379",
 * });
 * ```
 */
export function parseBusFlag(value: string): BusSpec {
  if (value === "local") return { kind: "local" };
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== "redis:" || url.hostname === "") {
    throw new UsageError(`invalid --bus "${value}": expected local or redis://HOST:PORT`);
  }
  return { kind: "redis", url: value };
}
