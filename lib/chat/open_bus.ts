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
    case "ports":
      return new MessagePortBus(spec.ports);
    case "redis": {
      const { connectRedisBus } = await import("./redis_bus.ts");
      return await connectRedisBus(spec.url, newNodeName());
    }
  }
}
