/**
 * Which bus a server joins, as a {@link BusSpec} that can cross to a Worker,
 * and the one place that opens it. The Redis client is loaded only here, and
 * only when a Redis bus is asked for, so a server alone never pulls it in.
 *
 * @module
 */
import { type Bus, localBus, MessagePortBus, newNodeName } from "./bus.ts";

/** Which bus a server joins, in a form that can cross to a Worker. */
export type BusSpec =
  | { kind: "local" }
  /** The Workers of one process: this node's ports, from `MessagePortBus.mesh`, transferred. */
  | { kind: "ports"; ports: MessagePort[] }
  | { kind: "redis"; url: string };

/** The Redis bus's module, as {@link openBus} loads it. */
export type RedisBusModule = typeof import("./redis_bus.ts");

/**
 * Opens the bus a {@link BusSpec} names. The Redis client is only loaded
 * when a Redis bus is asked for.
 *
 * @param spec Which bus.
 * @param loadRedis How to get the Redis bus's module. By default it is
 *   loaded from its file on first use; a Worker bundle, which cannot read
 *   files, imports it statically and hands it over instead.
 * @throws When Redis cannot be reached at all.
 */
export async function openBus(
  spec: BusSpec,
  loadRedis: () => Promise<RedisBusModule> = loadRedisBus,
): Promise<Bus> {
  switch (spec.kind) {
    case "local":
      return localBus;
    case "ports":
      return new MessagePortBus(spec.ports);
    case "redis": {
      const { connectRedisBus } = await loadRedis();
      return await connectRedisBus(spec.url, newNodeName());
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
async function loadRedisBus(): Promise<RedisBusModule> {
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
