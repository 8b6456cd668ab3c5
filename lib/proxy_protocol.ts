/**
 * The PROXY protocol (versions 1 and 2), as HAProxy, nginx `stream` and
 * cloud load balancers send it: one header before the client's first byte
 * that says who the client really is. Behind such a proxy every connection
 * comes from the proxy's address; with `proxyProtocol` set, servidor reads the
 * header first, so that logs, `/who` and limits see the real client.
 *
 * The header is trusted, so it must be required only where every connection
 * comes through the proxy: a client that can connect directly could claim any
 * address. A connection without a valid header is refused.
 *
 * Specification: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt
 *
 * @module
 */
import { formatHostPort } from "./address.ts";
import { formatIp, type IpAddress, parseIp } from "./cidr.ts";
import type { Connection } from "./connection.ts";
import { describeError } from "./errors.ts";
import { logger } from "./log.ts";

/** A version 1 header is one text line of at most this many bytes, CRLF included. */
export const V1_MAX_LENGTH = 107;
/**
 * The largest version 2 header accepted. Addresses take at most 216 bytes;
 * the rest is room for the TLVs some load balancers add. A bound keeps a
 * client that claims 64 KiB from making the server buffer it.
 */
export const V2_MAX_LENGTH = 16 + 2048;
/**
 * How long a client may take to send its header. A proxy sends it at once,
 * so a connection still silent after this is not from the proxy.
 */
export const HEADER_TIMEOUT_MS = 5000;

const V1_PREFIX = new TextEncoder().encode("PROXY ");
/** The twelve bytes that open every version 2 header. */
const V2_SIGNATURE = new Uint8Array([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);

/** A header that breaks the protocol; the connection must be refused. */
export class ProxyProtocolError extends Error {
  /**
   * Makes the error.
   *
   * @param message What is wrong with the header, in one line.
   */
  constructor(message: string) {
    super(message);
    this.name = "ProxyProtocolError";
  }
}

/** What a complete header says. */
export interface ProxyHeader {
  /** 1 (text) or 2 (binary). */
  version: 1 | 2;
  /**
   * `proxy` for a relayed client; `local` (v2 only) for a connection the
   * proxy made on its own, such as a health check.
   */
  command: "proxy" | "local";
  /** The header's length in bytes; the client's own bytes follow it. */
  length: number;
  /**
   * The real client as `HOST:PORT`, or `undefined` when the header carries no
   * address (v1 `UNKNOWN`, v2 `LOCAL` such as a proxy's health check, or a
   * Unix socket): then the connection's own address stands.
   */
  source: string | undefined;
}

/**
 * Parses a PROXY header at the start of `bytes`.
 *
 * @param bytes What the connection has sent so far.
 * @returns The header, or `undefined` while the bytes so far are a valid but incomplete start.
 * @throws {ProxyProtocolError} As soon as the bytes cannot be a valid header.
 *
 * @example
 * ```ts
 * import { parseProxyHeader } from "./proxy_protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("PROXY TCP4 192.0.2.7 192.0.2.1 51234 7000\r\nhola\n");
 * assert.deepEqual(parseProxyHeader(bytes), {
 *   version: 1,
 *   command: "proxy",
 *   length: 43,
 *   source: "192.0.2.7:51234",
 * });
 * assert.equal(parseProxyHeader(bytes.subarray(0, 20)), undefined);
 * ```
 */
export function parseProxyHeader(bytes: Uint8Array): ProxyHeader | undefined {
  if (bytes.byteLength === 0) return undefined;
  if (startsLike(bytes, V2_SIGNATURE)) {
    return bytes.byteLength < V2_SIGNATURE.byteLength ? undefined : parseV2(bytes);
  }
  if (startsLike(bytes, V1_PREFIX)) {
    return bytes.byteLength < V1_PREFIX.byteLength ? undefined : parseV1(bytes);
  }
  throw new ProxyProtocolError("no PROXY header: the first bytes are neither v1 nor v2");
}

/** Whether `bytes` and `prefix` agree on their common length. */
function startsLike(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const common = Math.min(bytes.byteLength, prefix.byteLength);
  for (let i = 0; i < common; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function parseV1(bytes: Uint8Array): ProxyHeader | undefined {
  const end = bytes.subarray(0, V1_MAX_LENGTH).indexOf(0x0a);
  if (end === -1) {
    if (bytes.byteLength >= V1_MAX_LENGTH) {
      throw new ProxyProtocolError(`v1 header longer than ${V1_MAX_LENGTH} bytes`);
    }
    return undefined;
  }
  if (bytes[end - 1] !== 0x0d) throw new ProxyProtocolError("v1 header does not end in CRLF");
  const line = new TextDecoder().decode(bytes.subarray(0, end - 1));
  const [, protocol, source, destination, sourcePort, destinationPort, ...extra] = line.split(" ");
  if (protocol === "UNKNOWN") {
    return { version: 1, command: "proxy", length: end + 1, source: undefined };
  }
  if (protocol !== "TCP4" && protocol !== "TCP6") {
    throw new ProxyProtocolError(`v1 header has unknown protocol "${protocol}"`);
  }
  const family = protocol === "TCP4" ? 4 : 6;
  // The same parser as admission's, so that every address a header can name
  // is one that the allow and deny rules can judge.
  const client = ipOf(source, family);
  if (
    extra.length > 0 || client === undefined || ipOf(destination, family) === undefined ||
    !isPort(sourcePort) || !isPort(destinationPort)
  ) {
    throw new ProxyProtocolError(`v1 header is malformed: "${line}"`);
  }
  return {
    version: 1,
    command: "proxy",
    length: end + 1,
    source: formatHostPort(showIp(client), Number(sourcePort)),
  };
}

/** An address as v2 headers and the logs show it: dotted IPv4, or IPv6 as RFC 5952 asks. */
function showIp(address: IpAddress): string {
  if (address.family === 4) return formatIp(address);
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number((address.value >> BigInt(120 - 8 * i)) & 0xffn);
  return formatIpv6(bytes);
}

/**
 * The address `text` names, if it is one of `family` as v1 writes it: dotted
 * IPv4 for TCP4, colon-separated IPv6 for TCP6 (which may map an IPv4 one).
 */
function ipOf(text: string | undefined, family: 4 | 6): IpAddress | undefined {
  if (text === undefined || text.includes(":") !== (family === 6)) return undefined;
  return parseIp(text);
}
function isPort(text: string | undefined): boolean {
  return text !== undefined && /^\d{1,5}$/.test(text) && Number(text) <= 65535;
}

/** v2's command: LOCAL (the proxy's own connection, e.g. a health check) or PROXY. */
const V2_LOCAL = 0x20;
const V2_PROXY = 0x21;
const AF_INET = 0x1;
const AF_INET6 = 0x2;

function parseV2(bytes: Uint8Array): ProxyHeader | undefined {
  if (bytes.byteLength < 16) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const versionCommand = view.getUint8(12);
  if (versionCommand !== V2_LOCAL && versionCommand !== V2_PROXY) {
    throw new ProxyProtocolError(
      `v2 header has version/command 0x${versionCommand.toString(16)}; expected 0x20 or 0x21`,
    );
  }
  const family = view.getUint8(13) >> 4;
  const length = 16 + view.getUint16(14);
  if (length > V2_MAX_LENGTH) {
    throw new ProxyProtocolError(`v2 header of ${length} bytes is over ${V2_MAX_LENGTH}`);
  }
  if (bytes.byteLength < length) return undefined;
  if (versionCommand === V2_LOCAL) {
    return { version: 2, command: "local", length, source: undefined };
  }
  if (family === AF_INET) {
    if (length < 16 + 12) throw new ProxyProtocolError("v2 IPv4 header is too short");
    const address = [...bytes.subarray(16, 20)].join(".");
    const source = formatHostPort(address, view.getUint16(24));
    return { version: 2, command: "proxy", length, source };
  }
  if (family === AF_INET6) {
    if (length < 16 + 36) throw new ProxyProtocolError("v2 IPv6 header is too short");
    const address = formatIpv6(bytes.subarray(16, 32));
    const source = formatHostPort(address, view.getUint16(48));
    return { version: 2, command: "proxy", length, source };
  }
  // Unix sockets and unspecified families carry nothing we can show as HOST:PORT.
  return { version: 2, command: "proxy", length, source: undefined };
}

/**
 * Formats 16 bytes as an IPv6 address the way RFC 5952 asks: lower case, no
 * leading zeros, the longest run of two or more zero groups as `::`.
 *
 * @param bytes The address in network order.
 *
 * @example
 * ```ts
 * import { formatIpv6 } from "./proxy_protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const loopback = new Uint8Array(16);
 * loopback[15] = 1;
 * assert.equal(formatIpv6(loopback), "::1");
 * ```
 */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

const log = logger("proxy");

/**
 * Reads the PROXY header a connection must start with, and from then on
 * presents the connection as the client the header names. The bytes after
 * the header are handed back to the connection for the service to read.
 * A connection that sends no valid header within {@link HEADER_TIMEOUT_MS}
 * is logged and closed. A v2 `LOCAL` connection (the proxy's own) is served
 * only once it sends a byte: HAProxy's health checks send `LOCAL` and close,
 * and they are not clients.
 *
 * @param connection A connection that has not been read yet.
 * @param timeoutMs How long the header may take.
 * @returns Whether the header was valid; if not, the connection is closed.
 */
export async function acceptProxyHeader(
  connection: Connection,
  timeoutMs: number = HEADER_TIMEOUT_MS,
): Promise<boolean> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    connection.close();
  }, timeoutMs);
  let received: Uint8Array = new Uint8Array(0);
  try {
    for (;;) {
      const chunk = await connection.read();
      if (chunk === null) {
        refuse(
          connection,
          timedOut
            ? `no PROXY header within ${timeoutMs} ms`
            : received.byteLength === 0
            ? "closed before sending a PROXY header"
            : "closed in the middle of its PROXY header",
          received.byteLength === 0 && !timedOut,
        );
        return false;
      }
      received = concat(received, chunk);
      const header = parseProxyHeader(received);
      if (!header) continue;
      let rest = received.subarray(header.length);
      if (header.command === "local" && rest.byteLength === 0) {
        // The proxy's own connection: a health check closes without a byte,
        // and must not look like a client (a chat join) every time it runs.
        const first = await connection.read();
        if (first === null) {
          log.debug("{peer}: the proxy's health check", { peer: connection.peer });
          connection.close();
          return false;
        }
        rest = first;
      }
      connection.unread(rest);
      if (header.source !== undefined) connection.setPeer(header.source);
      return true;
    }
  } catch (error) {
    // The accept path must not reject, so a failed read refuses this connection too.
    refuse(connection, describeError(error), false);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Logs a refused connection and closes it. A proxy's health check connects
 * and closes without a byte many times a second, so that case stays at debug.
 */
function refuse(connection: Connection, reason: string, quiet: boolean): void {
  const message = "refused {peer}: {reason}";
  if (quiet) log.debug(message, { peer: connection.peer, reason });
  else log.warn(message, { peer: connection.peer, reason });
  connection.close();
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const joined = new Uint8Array(first.byteLength + second.byteLength);
  joined.set(first);
  joined.set(second, first.byteLength);
  return joined;
}
