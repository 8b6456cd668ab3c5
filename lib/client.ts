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

/** Where the client connects. */
export interface ClientOptions {
  hostname: string;
  port: number;
}

/** Anything with a `read` like `Deno.stdin`'s. */
export interface Reader {
  read(buffer: Uint8Array): Promise<number | null>;
}

const BUFFER_SIZE = 64 * 1024;

/**
 * Connects, copies both ways, and resolves once the server has closed.
 *
 * @param options The server's address.
 * @param input Where the bytes to send come from; standard input by default.
 * @param output Where the server's bytes go; standard output by default.
 */
export async function runClient(
  options: ClientOptions,
  input: Reader = Deno.stdin,
  output: Writer = Deno.stdout,
): Promise<void> {
  const conn = await Deno.connect({ hostname: options.hostname, port: options.port });
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

async function sendInput(conn: Deno.TcpConn, input: Reader): Promise<void> {
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
