/**
 * Address formatting and validation, shared by the CLI, logs and sessions.
 *
 * @module
 */

/** An IPv4 client of a dual-stack (`::`) listener, as the socket names it. */
const IPV4_MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/**
 * Whether an address is an IPv4 one written in IPv6 form (`::ffff:10.0.0.1`),
 * which is how a listener on `::` sees its IPv4 clients.
 *
 * @param hostname An address as a socket reports it.
 *
 * @example
 * ```ts
 * import { isIpv4Mapped } from "./address.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isIpv4Mapped("::ffff:127.0.0.1"), true);
 * assert.equal(isIpv4Mapped("::1"), false);
 * ```
 */
export function isIpv4Mapped(hostname: string): boolean {
  return IPV4_MAPPED.test(hostname);
}

/**
 * Formats a host and port the way people type them: `127.0.0.1:7000`,
 * `[::1]:7000`, and an IPv4 client of a dual-stack listener as the IPv4
 * address it is (`127.0.0.1:50000`, not `[::ffff:127.0.0.1]:50000`).
 *
 * @param hostname An IPv4 or IPv6 address, or a name.
 * @param port The port.
 *
 * @example
 * ```ts
 * import { formatHostPort } from "./address.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatHostPort("::1", 7000), "[::1]:7000");
 * assert.equal(formatHostPort("::ffff:10.0.0.1", 7000), "10.0.0.1:7000");
 * ```
 */
export function formatHostPort(hostname: string, port: number): string {
  const host = hostname.replace(IPV4_MAPPED, "$1");
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Formats any `Deno.Addr` for logs: `HOST:PORT`, or the path of a Unix socket.
 *
 * @param addr A listener's or connection's address.
 */
export function formatAddr(addr: Deno.Addr): string {
  switch (addr.transport) {
    case "tcp":
    case "udp":
      return formatHostPort(addr.hostname, addr.port);
    case "unix":
    case "unixpacket":
      return addr.path || "unix";
    default:
      return "unknown";
  }
}
