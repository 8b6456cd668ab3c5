/**
 * Address formatting and validation, shared by the CLI, logs and sessions.
 *
 * @module
 */

/**
 * Formats a host and port the way people type them: `127.0.0.1:7000`, `[::1]:7000`.
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
 * ```
 */
export function formatHostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
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
