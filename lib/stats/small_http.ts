/**
 * A small HTTP/1.1 server for the statistics endpoint: GET and HEAD, one
 * request per connection, answered and closed.
 *
 * It exists because `Deno.serve` could not be made safe for this job: when
 * the process runs out of descriptors, its accept loop rejects with
 * `Http: Too many open files` outside any handler, and the whole server
 * exits; it has no cap on connections and no header timeout either. The
 * statistics are a side door of the service, and no failure of theirs may
 * take the service down, so this loop owns its accepts: it caps how many
 * connections it holds, gives each a deadline for its headers, and waits out
 * a lack of descriptors instead of failing.
 *
 * @module
 */
import { formatAddr } from "../address.ts";
import { describeError, isDisconnect } from "../errors.ts";
import { logger } from "../log.ts";
import { writeAll } from "../write_all.ts";

const log = logger("statistics");

/**
 * Connections held at once. The statistics serve a few scrapers and pages;
 * every connection costs a descriptor, and descriptors belong to the service.
 * The next one is answered 503 and closed.
 */
export const MAX_HTTP_CONNECTIONS = 32;
/** How long a client has to send its request line and headers. */
export const HEADER_TIMEOUT_MS = 5_000;
/** The most a request line and headers may take. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** How long to wait before accepting again after an accept failed (descriptors ran out). */
const ACCEPT_RETRY_MS = 100;

/** One request, as the handler sees it. */
export interface SmallRequest {
  /** `GET`, `HEAD`, or whatever the client sent. */
  method: string;
  /** The path, without the query. */
  path: string;
}

/** What {@link serveSmallHttp} needs. */
export interface SmallHttpOptions {
  /** A bound listener; it is closed when `signal` aborts. */
  listener: Deno.Listener;
  /** Answers one request; a `HEAD` answer's body is not sent. */
  handler: (request: SmallRequest) => Response;
  /** Abort it to stop serving and close every open connection. */
  signal: AbortSignal;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `Host` is `host[:port]`: a name, an IPv4 address or a bracketed IPv6 one. */
const HOST = /^(?:[A-Za-z0-9._~!$&'()*+,;=%-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/;

/**
 * Serves HTTP/1.1 on `listener` until `signal` aborts.
 *
 * @param options The listener, the handler and the stop signal.
 * @returns Resolves once the listener and every connection are closed.
 *
 * @example
 * ```ts
 * import { serveSmallHttp } from "./small_http.ts";
 * import assert from "node:assert/strict";
 *
 * const stop = new AbortController();
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const done = serveSmallHttp({ listener, handler: () => new Response("hi\n"), signal: stop.signal });
 * const response = await fetch(`http://127.0.0.1:${listener.addr.port}/`);
 * assert.equal(await response.text(), "hi\n");
 * stop.abort();
 * await done;
 * ```
 */
export async function serveSmallHttp(options: SmallHttpOptions): Promise<void> {
  const { listener, handler, signal } = options;
  const open = new Set<Deno.Conn>();
  const answering = new Set<Promise<void>>();
  const stop = () => {
    closeQuietly(listener);
    for (const conn of open) closeQuietly(conn);
  };
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  let failing = false;
  try {
    while (!signal.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (signal.aborted || error instanceof Deno.errors.BadResource) break;
        if (isDisconnect(error)) continue;
        // Out of descriptors, most likely: the service's clients hold them. Said once per spell.
        if (!failing) {
          log.warn("statistics: accept failed on {address}: {reason}; retrying", {
            address: formatAddr(listener.addr),
            reason: describeError(error),
          });
        }
        failing = true;
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      failing = false;
      if (open.size >= MAX_HTTP_CONNECTIONS) {
        refuse(conn);
        continue;
      }
      open.add(conn);
      const answer = answer1(conn, handler).finally(() => {
        open.delete(conn);
        closeQuietly(conn);
        answering.delete(answer);
      });
      answering.add(answer);
    }
  } finally {
    signal.removeEventListener("abort", stop);
    stop();
    await Promise.allSettled(answering);
  }
}

/** Past the cap: a short answer, written without waiting, then closed. */
function refuse(conn: Deno.Conn): void {
  const bytes = encoder.encode(
    "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
  );
  writeAll(conn, bytes).catch(() => {}).finally(() => closeQuietly(conn));
}

/** Reads one request and writes its answer; every failure stays in this connection. */
async function answer1(conn: Deno.Conn, handler: (request: SmallRequest) => Response) {
  try {
    const head = await readHead(conn);
    if (head === undefined) return;
    const response = typeof head === "number" ? plain(head) : handle(head, handler);
    const bodyless = typeof head !== "number" && head.method === "HEAD";
    await writeResponse(conn, response, bodyless);
  } catch (error) {
    if (!isDisconnect(error) && !(error instanceof Deno.errors.BadResource)) {
      log.debug("statistics request failed: {reason}", { reason: describeError(error) });
    }
  }
}

function handle(head: SmallRequest, handler: (request: SmallRequest) => Response): Response {
  try {
    return handler(head);
  } catch (error) {
    log.warn("statistics request failed: {reason}", { reason: describeError(error) });
    return plain(500);
  }
}

/**
 * The request line and headers, a status to answer with when they are
 * malformed, or `undefined` when the client left or took too long.
 */
async function readHead(conn: Deno.Conn): Promise<SmallRequest | number | undefined> {
  const buffer = new Uint8Array(MAX_HEADER_BYTES);
  let filled = 0;
  const timer = setTimeout(() => closeQuietly(conn), HEADER_TIMEOUT_MS);
  try {
    for (;;) {
      const text = decoder.decode(buffer.subarray(0, filled));
      const end = text.indexOf("\r\n\r\n");
      if (end !== -1) return parseHead(text.slice(0, end));
      if (filled === buffer.byteLength) return 431;
      let n: number | null;
      try {
        n = await conn.read(buffer.subarray(filled));
      } catch (error) {
        if (error instanceof Deno.errors.BadResource || isDisconnect(error)) return undefined;
        throw error;
      }
      if (n === null) return undefined;
      filled += n;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Parses `METHOD TARGET HTTP/1.x` and the headers; 400 for anything malformed. */
function parseHead(head: string): SmallRequest | number {
  const [requestLine = "", ...headerLines] = head.split("\r\n");
  const match = REQUEST_LINE.exec(requestLine);
  if (!match) return 400;
  const [, method = "", target = "", minor] = match;
  const hosts = headerLines.filter((line) => /^host:/i.test(line))
    .map((line) => line.slice(5).trim());
  // HTTP/1.1 requires exactly one Host, and it must be a host; 1.0 may omit it.
  if (hosts.length > 1 || (minor === "1" && hosts.length === 0)) return 400;
  if (hosts.length === 1 && !HOST.test(hosts[0]!)) return 400;
  let path: string;
  if (target.startsWith("/")) path = target.split("?")[0]!;
  else {
    try {
      path = new URL(target).pathname;
    } catch {
      return 400;
    }
  }
  return { method, path };
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

function plain(status: number): Response {
  return new Response(`${REASONS[status] ?? "error"}\n`.toLowerCase(), { status });
}

async function writeResponse(conn: Deno.Conn, response: Response, bodyless: boolean) {
  const body = new Uint8Array(await response.arrayBuffer());
  let head = `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? "Unknown"}\r\n`;
  for (const [name, value] of response.headers) {
    if (name !== "content-length" && name !== "connection") head += `${name}: ${value}\r\n`;
  }
  head += `content-length: ${body.byteLength}\r\nconnection: close\r\n\r\n`;
  const headBytes = encoder.encode(head);
  const bytes = new Uint8Array(headBytes.byteLength + (bodyless ? 0 : body.byteLength));
  bytes.set(headBytes);
  if (!bodyless) bytes.set(body, headBytes.byteLength);
  await writeAll(conn, bytes);
  // A half-close lets the client read to the end before the socket goes.
  await conn.closeWrite().catch(() => {});
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}
