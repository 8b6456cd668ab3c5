/**
 * The registry of a server's clients, owned by the main thread: it carries
 * broadcasts between them and answers "who is here". Under `workers` the
 * clients' services live in different Workers, but their sockets all live
 * here, so one hub serves every strategy.
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import { logger } from "./log.ts";
import type { PeerInfo } from "./service.ts";

/**
 * How far a client may fall behind on broadcasts before it is dropped. A
 * chat message must not wait for the slowest reader, and the server must not
 * buffer without end for one that never reads.
 */
export const MAX_BROADCAST_BACKLOG = 1024 * 1024;

const log = logger("hub");

interface Member {
  connection: Connection;
  name: string;
}

/**
 * The clients of one server.
 *
 * @example
 * ```ts
 * import { Hub } from "./hub.ts";
 * import assert from "node:assert/strict";
 *
 * const hub = new Hub();
 * assert.deepEqual(hub.who(), []);
 * ```
 */
export class Hub {
  readonly #members = new Map<number, Member>();

  /** Adds a client under a default name. */
  join(connection: Connection): void {
    this.#members.set(connection.id, { connection, name: `guest${connection.id}` });
  }

  /** Removes a client; safe to call more than once. */
  leave(id: number): void {
    this.#members.delete(id);
  }

  /** Changes the name `who()` reports for a client. */
  rename(id: number, name: string): void {
    const member = this.#members.get(id);
    if (member) member.name = name;
  }

  /** Every client, in the order they joined. */
  who(): PeerInfo[] {
    return [...this.#members.values()].map(({ connection, name }) => ({
      id: connection.id,
      name,
      peer: connection.peer,
    }));
  }

  /**
   * Queues bytes to every client but the sender, without waiting for them.
   *
   * @param fromId The sender's connection id.
   * @param bytes Shared by every recipient, so the caller must not reuse them.
   */
  broadcast(fromId: number, bytes: Uint8Array): void {
    for (const { connection } of this.#members.values()) {
      if (connection.id === fromId || connection.closed) continue;
      if (connection.queuedBytes + bytes.byteLength > MAX_BROADCAST_BACKLOG) {
        log.info("dropping {peer}: it fell {backlog} bytes behind on broadcasts", {
          peer: connection.peer,
          backlog: connection.queuedBytes,
        });
        connection.close();
        continue;
      }
      // A failed write closes that connection; the sender has nothing to do about it.
      connection.write(bytes).catch(() => {});
    }
  }
}
