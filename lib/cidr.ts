/**
 * IP addresses and CIDR blocks, IPv4 and IPv6, for deciding who may connect.
 * Addresses are held as one `bigint` each, so matching a block is one mask
 * and one comparison. An IPv4 client seen through a dual-stack IPv6 socket
 * (`::ffff:10.0.0.1`) is treated as the IPv4 address it is.
 *
 * @module
 */

/**
 * An IPv4 or IPv6 address as a number.
 *
 * @example
 * ```ts
 * import { type IpAddress, parseIp } from "./cidr.ts";
 * import assert from "node:assert/strict";
 *
 * const loopback: IpAddress | undefined = parseIp("127.0.0.1");
 * assert.equal(loopback?.family, 4);
 * ```
 */
export interface IpAddress {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The address's bits: 32 of them for IPv4, 128 for IPv6. */
  readonly value: bigint;
}

/**
 * A CIDR block that cannot be parsed; its message is one sentence for the CLI.
 *
 * @example
 * ```ts
 * import { Cidr, CidrError } from "./cidr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => Cidr.parse("10.0.0.0/33"), CidrError);
 * ```
 */
export class CidrError extends Error {
  /**
   * Makes the error.
   *
   * @param message One sentence naming the block and what is wrong with it.
   */
  constructor(message: string) {
    super(message);
    this.name = "CidrError";
  }
}

const IPV4_MAPPED_PREFIX = 0xffffn << 32n;

/**
 * Parses a textual IPv4 or IPv6 address; an IPv6 zone (`%eth0`) is ignored.
 *
 * @param text E.g. `127.0.0.1`, `::1`, `::ffff:10.0.0.1`.
 * @returns The address, or `undefined` when `text` is not one. IPv4-mapped
 *   IPv6 addresses come back as IPv4.
 *
 * @example
 * ```ts
 * import { parseIp } from "./cidr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseIp("10.0.0.1"), { family: 4, value: 0x0a000001n });
 * assert.deepEqual(parseIp("::ffff:10.0.0.1"), { family: 4, value: 0x0a000001n });
 * assert.equal(parseIp("::1")?.family, 6);
 * assert.equal(parseIp("256.0.0.1"), undefined);
 * ```
 */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(text.replace(/%.*$/, ""));
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === IPV4_MAPPED_PREFIX >> 32n) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Leading zeros are refused: some tools read them as octal.
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? "");
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? "") : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

/** Colon-separated hex groups; the last may be a dotted IPv4 address (two groups). */
function parseGroups(text: string): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (const [index, part] of parts.entries()) {
    if (index === parts.length - 1 && part.includes(".")) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (/^[0-9a-f]{1,4}$/i.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

/**
 * A block of addresses such as `10.0.0.0/8` or `2001:db8::/32`. A bare
 * address is a block of one.
 *
 * @example
 * ```ts
 * import { Cidr } from "./cidr.ts";
 * import assert from "node:assert/strict";
 *
 * const lan = Cidr.parse("192.168.0.0/16");
 * assert.equal(lan.contains("192.168.7.9"), true);
 * assert.equal(lan.contains("10.0.0.1"), false);
 * assert.equal(Cidr.parse("::1").contains("::1"), true);
 * ```
 */
export class Cidr {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** The network's address, host bits cleared. */
  readonly network: bigint;
  /** The number of leading bits that must match. */
  readonly prefix: number;
  readonly #mask: bigint;
  /** Whether the block was written as a bare address, and so prints as one. */
  readonly #bare: boolean;

  private constructor(family: 4 | 6, network: bigint, prefix: number, bare: boolean) {
    const bits = family === 4 ? 32 : 128;
    this.family = family;
    this.#mask = ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
    this.network = network & this.#mask;
    this.prefix = prefix;
    this.#bare = bare;
  }

  /**
   * Parses `ADDRESS/PREFIX` or a bare `ADDRESS`.
   *
   * @param text E.g. `10.0.0.0/8`, `::1/128`, `127.0.0.1`.
   * @throws {CidrError} When the address or prefix is not valid.
   */
  static parse(text: string): Cidr {
    const slash = text.indexOf("/");
    const addressText = slash === -1 ? text : text.slice(0, slash);
    const address = parseIp(addressText);
    if (address === undefined || addressText.includes("%")) {
      throw new CidrError(`"${text}" is not an IPv4 or IPv6 address or CIDR block`);
    }
    // `::ffff:10.0.0.0/104` is written in IPv6 bits but parses as IPv4.
    const written = addressText.includes(":") ? 6 : 4;
    const bits = written === 4 ? 32 : 128;
    const prefixText = slash === -1 ? String(bits) : text.slice(slash + 1);
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!(prefix >= 0 && prefix <= bits)) {
      throw new CidrError(`"${text}" has a prefix length outside 0 to ${bits}`);
    }
    const bare = slash === -1;
    if (written === 6 && address.family === 4) {
      return new Cidr(4, address.value, Math.max(0, prefix - 96), bare);
    }
    return new Cidr(address.family, address.value, prefix, bare);
  }

  /**
   * Tells whether an address lies in this block. Addresses of the other
   * family, and text that is not an address, never do.
   *
   * @param address Text such as a peer's hostname, or a parsed address.
   */
  contains(address: string | IpAddress): boolean {
    const parsed = typeof address === "string" ? parseIp(address) : address;
    if (parsed === undefined || parsed.family !== this.family) return false;
    return (parsed.value & this.#mask) === this.network;
  }

  /**
   * The block the way it was typed, host bits cleared: `10.0.0.0/8`, and a
   * bare address as the address alone (`::1`, not `::1/128`).
   */
  toString(): string {
    const address = formatIp({ family: this.family, value: this.network });
    return this.#bare ? address : `${address}/${this.prefix}`;
  }
}

/**
 * Formats an address the way people type it: dotted quad for IPv4; for IPv6
 * lower-case groups without leading zeros, the longest run of zero groups
 * shortened to `::` (RFC 5952).
 *
 * @example
 * ```ts
 * import { formatIp, parseIp } from "./cidr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatIp(parseIp("::1")!), "::1");
 * assert.equal(formatIp(parseIp("2001:DB8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
 * assert.equal(formatIp(parseIp("10.0.0.1")!), "10.0.0.1");
 * ```
 */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((address.value >> shift) & 0xffn)).join(".");
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    groups.push(Number((address.value >> shift) & 0xffffn));
  }
  // The longest run of two or more zero groups, the first of equals.
  let runStart = -1;
  let runLength = 1;
  for (let start = 0; start < groups.length;) {
    let end = start;
    while (end < groups.length && groups[end] === 0) end++;
    if (end - start > runLength) [runStart, runLength] = [start, end - start];
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (runStart === -1) return hex.join(":");
  return `${hex.slice(0, runStart).join(":")}::${hex.slice(runStart + runLength).join(":")}`;
}
