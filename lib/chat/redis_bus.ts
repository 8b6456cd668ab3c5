/**
 * A {@link Bus} over Redis pub/sub, for servers on different machines: every
 * node publishes its events on one channel and subscribes to it. Redis keeps
 * the order of one connection's publishes, so each node's clients hear a
 * sender's messages in the order they were sent.
 *
 * Redis keeps nothing here: membership lives in the hubs, which repeat their
 * snapshot every {@link HEARTBEAT_MS}, so a node that was killed is forgotten
 * after three silent periods and one that reconnects is complete again after
 * one. When Redis goes away the client reconnects with a growing delay and
 * says so in the log; what is published meanwhile waits in the client's queue.
 *
 * @module
 */
import { Buffer } from "node:buffer";
// Named here rather than in deno.json's imports: every package there is
// downloaded by `deno task` before any task runs, and serving without Redis
// should not fetch a Redis client (see docs/install.md).
// deno-lint-ignore no-import-prefix
import { createClient } from "npm:redis@^5.12.1";
import { describeError } from "../errors.ts";
import { logger } from "../log.ts";
import type { Bus, BusEvent } from "./bus.ts";

/** The channel every node of a room publishes on and listens to. */
export const CHANNEL = "servidor:chat";
/** How often a node repeats its members over Redis; see {@link Bus.heartbeatMs}. */
export const HEARTBEAT_MS = 1000;
/** The first reconnection waits this long; each next one twice as long … */
const FIRST_RETRY_MS = 100;
/** … up to this. */
const MAX_RETRY_MS = 5000;

const log = logger("redis");

/** A {@link BusEvent} as JSON: bytes travel as base64. */
type WireEvent = Omit<BusEvent, "bytes"> & { bytes?: string };

function toWire(event: BusEvent): string {
  if (event.type !== "broadcast") return JSON.stringify(event);
  return JSON.stringify({ ...event, bytes: Buffer.from(event.bytes).toString("base64") });
}

function fromWire(text: string): BusEvent {
  const wire = JSON.parse(text) as WireEvent;
  if (wire.type !== "broadcast") return wire as BusEvent;
  return { ...wire, bytes: new Uint8Array(Buffer.from(wire.bytes ?? "", "base64")) } as BusEvent;
}

/** A Redis client that logs its losses and reconnects with backoff once it has connected. */
function redisClient(url: string, role: string) {
  let everConnected = false;
  const client = createClient({
    url,
    socket: {
      reconnectStrategy: (retries: number, cause: Error) => {
        // At start-up a wrong address should fail at once, not retry forever.
        if (!everConnected) return false;
        const delay = Math.min(FIRST_RETRY_MS * 2 ** retries, MAX_RETRY_MS);
        log.warn("lost Redis at {url} ({role}): {reason}; reconnecting in {delay} ms", {
          url,
          role,
          reason: describeError(cause),
          delay,
        });
        return delay;
      },
    },
  });
  // The reconnect strategy reports losses; without a listener an error would end the process.
  client.on("error", (error: Error) => {
    log.debug("{role}: {reason}", { role, reason: describeError(error) });
  });
  client.on("ready", () => {
    if (everConnected) log.info("reconnected to Redis at {url} ({role})", { url, role });
    everConnected = true;
  });
  return client;
}

/**
 * Connects to Redis and subscribes to the room's channel.
 *
 * @param url `redis://HOST:PORT`.
 * @param node This node's name, unique in the room (see `newNodeName()` in `bus.ts`).
 * @param channel The room; every node of it must use the same.
 * @throws When Redis cannot be reached at start-up.
 */
export async function connectRedisBus(
  url: string,
  node: string,
  channel: string = CHANNEL,
): Promise<Bus> {
  const publisher = redisClient(url, "publisher");
  const subscriber = redisClient(url, "subscriber");
  const listeners = new Set<(event: BusEvent) => void>();
  try {
    await publisher.connect();
    await subscriber.connect();
    await subscriber.subscribe(channel, (message: string) => {
      let event: BusEvent;
      try {
        event = fromWire(message);
      } catch (error) {
        log.warn("ignoring a message on {channel} that is not servidor's: {reason}", {
          channel,
          reason: describeError(error),
        });
        return;
      }
      for (const listener of listeners) listener(event);
    });
  } catch (error) {
    for (const client of [publisher, subscriber]) if (client.isOpen) client.destroy();
    throw new Error(`cannot reach Redis at ${url}: ${describeError(error)}`);
  }
  log.info("joined the room {channel} on Redis at {url}", { channel, url });
  return {
    node,
    heartbeatMs: HEARTBEAT_MS,
    publish(event: BusEvent): void {
      publisher.publish(channel, toWire(event)).catch((error: unknown) => {
        log.warn("could not publish to Redis: {reason}", { reason: describeError(error) });
      });
    },
    subscribe(listener: (event: BusEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close(): Promise<void> {
      listeners.clear();
      // `close()` lets queued commands (the hub's goodbye) go out first.
      await Promise.allSettled([publisher.close(), subscriber.close()]);
    },
  };
}
