/**
 * The {@link Session} a service gets when it runs on the thread that owns
 * the socket (`single` and `poll`).
 *
 * @module
 */
import type { Connection } from "./connection.ts";
import type { Hub } from "./chat/hub.ts";
import type { PeerInfo, Session } from "./service.ts";

const encoder = new TextEncoder();

/** A session that writes straight to its connection. */
export class ConnectionSession implements Session {
  readonly #connection: Connection;
  readonly #hub: Hub;

  constructor(connection: Connection, hub: Hub) {
    this.#connection = connection;
    this.#hub = hub;
  }

  get id(): number {
    return this.#connection.id;
  }

  get peer(): string {
    return this.#connection.peer;
  }

  get remoteAddr(): Deno.Addr {
    return this.#connection.remoteAddr;
  }

  get localAddr(): Deno.Addr {
    return this.#connection.localAddr;
  }

  get signal(): AbortSignal {
    return this.#connection.signal;
  }

  send(data: string | Uint8Array): Promise<void> {
    return this.#connection.write(typeof data === "string" ? encoder.encode(data) : data);
  }

  sendLine(text: string): Promise<void> {
    return this.send(`${text}\r\n`);
  }

  broadcast(data: string | Uint8Array): Promise<void> | undefined {
    // Recipients write later, after the caller may have reused its buffer.
    return this.#hub.broadcast(
      this.id,
      typeof data === "string" ? encoder.encode(data) : data.slice(),
    );
  }

  setName(name: string): void {
    this.#hub.rename(this.id, name);
  }

  who(): Promise<PeerInfo[]> {
    return Promise.resolve(this.#hub.who());
  }

  close(): void {
    void this.#connection.closeAfterWrites();
  }
}
