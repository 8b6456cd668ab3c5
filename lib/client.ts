/**
 * The seed's client, netcat-style: standard input goes to the server, what
 * the server sends goes to standard output. End of input half-closes the
 * connection (like `nc -N`), so the server can still answer; the client ends
 * when the server closes.
 *
 * @module
 */
import { isDisconnect } from "./errors.ts";
import { writeAll, type Writer } from "./write_all.ts";

/**
 * Where the client connects, and how.
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "./client.ts";
 *
 * const overTls: ClientOptions = { transport: "tls", hostname: "localhost", port: 7000 };
 * const overUnix: ClientOptions = { transport: "unix", path: "/tmp/servidor.sock" };
 * ```
 */
export type ClientOptions =
  /** Plain TCP, IPv4 or IPv6. */
  | { transport?: "tcp"; hostname: string; port: number }
  /** TLS over TCP; `caCerts` (PEM) are trusted besides the system's roots. */
  | { transport: "tls"; hostname: string; port: number; caCerts?: string[] }
  /** A Unix domain socket. */
  | { transport: "unix"; path: string };

/**
 * Anything with a `read` like `Deno.stdin`'s.
 *
 * @example
 * ```ts
 * import type { Reader } from "./client.ts";
 *
 * // A reader that gives one line, then the end.
 * const bytes = new TextEncoder().encode("hola\n");
 * let done = false;
 * const oneLine: Reader = {
 *   read(buffer) {
 *     if (done) return Promise.resolve(null);
 *     done = true;
 *     buffer.set(bytes);
 *     return Promise.resolve(bytes.byteLength);
 *   },
 * };
 * ```
 */
export interface Reader {
  /** Reads into `buffer` and resolves with how many bytes, or `null` at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
}

const BUFFER_SIZE = 64 * 1024;

/**
 * Connects, copies both ways, and resolves once the server has closed.
 *
 * @param options The server's address.
 * @param input Where the bytes to send come from; standard input by default.
 * @param output Where the server's bytes go; standard output by default.
 *
 * @example
 * ```ts
 * import { runClient } from "./client.ts";
 * import { serve } from "./server.ts";
 * import { poll } from "../strategies/poll.ts";
 * import { echo } from "../services/echo.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const stop = new AbortController();
 * const served = serve({ listener, strategy: poll, service: echo, shutdown: stop.signal });
 *
 * const input = new TextEncoder().encode("hola");
 * let sent = false;
 * const received: number[] = [];
 * await runClient(
 *   { hostname: "127.0.0.1", port: listener.addr.port },
 *   { read: (buffer) => sent ? Promise.resolve(null) : (sent = true, buffer.set(input), Promise.resolve(4)) },
 *   { write: (bytes) => (received.push(...bytes), Promise.resolve(bytes.byteLength)) },
 * );
 * stop.abort();
 * await served;
 * assert.equal(new TextDecoder().decode(new Uint8Array(received)), "hola");
 * ```
 */
export async function runClient(
  options: ClientOptions,
  input: Reader = Deno.stdin,
  output: Writer = Deno.stdout,
): Promise<void> {
  const conn = await connectTo(options);
  const sending = sendInput(conn, input);
  try {
    const buffer = new Uint8Array(BUFFER_SIZE);
    for (let n = await readOrEnd(conn, buffer); n !== null; n = await readOrEnd(conn, buffer)) {
      await writeAll(output, buffer.subarray(0, n), "standard output");
    }
  } finally {
    conn.close();
  }
  // Once the server is gone, a pending read of standard input is abandoned.
  sending.catch(() => {});
}

/**
 * Opens a connection over any transport servidor serves.
 *
 * @param options The server's address and transport.
 *
 * @example
 * ```ts
 * import { connectTo } from "./client.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * using conn = await connectTo({ hostname: "127.0.0.1", port: listener.addr.port });
 * (await listener.accept()).close();
 * ```
 */
export function connectTo(options: ClientOptions): Promise<Deno.Conn> {
  switch (options.transport) {
    case "unix":
      return Deno.connect({ transport: "unix", path: options.path });
    case "tls":
      return Deno.connectTls({
        hostname: options.hostname,
        port: options.port,
        caCerts: options.caCerts,
      });
    default:
      return Deno.connect({ hostname: options.hostname, port: options.port });
  }
}

async function sendInput(conn: Deno.Conn, input: Reader): Promise<void> {
  const buffer = new Uint8Array(BUFFER_SIZE);
  try {
    for (let n = await input.read(buffer); n !== null; n = await input.read(buffer)) {
      await writeAll(conn, buffer.subarray(0, n), "server");
    }
    await conn.closeWrite();
  } catch (error) {
    if (!isDisconnect(error)) throw error;
  }
}

async function readOrEnd(conn: Deno.Conn, buffer: Uint8Array): Promise<number | null> {
  try {
    return await conn.read(buffer);
  } catch (error) {
    if (isDisconnect(error)) return null;
    throw error;
  }
}
