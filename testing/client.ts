/**
 * A real client for tests: a socket to a server, read line by line or byte by
 * byte.
 *
 * @module
 */
import { type ClientOptions, connectTo } from "../lib/client.ts";
import { writeAll } from "../lib/write_all.ts";
import { ChunkReader, type ServiceClient } from "./reader.ts";

const encoder = new TextEncoder();
const READ_CHUNK = 64 * 1024;

/**
 * A client that reads whole lines or exact byte counts from a server.
 *
 * @example
 * ```ts
 * import { startTestServer, TestClient } from "../testing.ts";
 * import assert from "node:assert/strict";
 *
 * await using server = await startTestServer({ mode: "poll", service: "reverse" });
 * using client = await TestClient.connect(server.port);
 * await client.send("hola\n");
 * assert.equal(await client.readLine(), "aloh");
 * ```
 */
export class TestClient implements ServiceClient {
  /** The socket, for tests that need its addresses. */
  readonly conn: Deno.Conn;
  readonly #reader: ChunkReader;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.#reader = new ChunkReader(async () => {
      const chunk = new Uint8Array(READ_CHUNK);
      let n: number | null;
      try {
        n = await conn.read(chunk);
      } catch (error) {
        // A reset is the end of the stream as far as a reader can tell.
        if (error instanceof Deno.errors.ConnectionReset) return null;
        throw error;
      }
      return n === null ? null : chunk.subarray(0, n);
    });
  }

  /**
   * Connects over TCP.
   *
   * @param port The server's port.
   * @param hostname The server's address; 127.0.0.1 unless given.
   */
  static async connect(port: number, hostname = "127.0.0.1"): Promise<TestClient> {
    return new TestClient(await Deno.connect({ hostname, port }));
  }

  /**
   * Connects over any transport: TLS, a Unix socket, IPv6.
   *
   * @param options Where and how, as `servidor client` takes them.
   */
  static async connectTo(options: ClientOptions): Promise<TestClient> {
    return new TestClient(await connectTo(options));
  }

  /** Writes text or bytes, all of them. */
  send(data: string | Uint8Array): Promise<void> {
    return writeAll(this.conn, typeof data === "string" ? encoder.encode(data) : data);
  }

  /** The next line without its LF or CRLF, or `null` at end of stream. */
  readLine(): Promise<string | null> {
    return this.#reader.readLine();
  }

  /** Exactly `count` bytes; throws if the stream ends first. */
  readBytes(count: number): Promise<Uint8Array> {
    return this.#reader.readBytes(count);
  }

  /** Everything until the server closes. */
  readAll(): Promise<Uint8Array> {
    return this.#reader.readAll();
  }

  /** Half-closes: the server sees end of input but can still answer. */
  end(): Promise<void> {
    return this.conn.closeWrite();
  }

  /** The socket's name for {@link end}. */
  closeWrite(): Promise<void> {
    return this.end();
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    try {
      this.conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  }

  /** Closes the socket. */
  [Symbol.dispose](): void {
    this.close();
  }
}
