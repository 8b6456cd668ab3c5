/**
 * Who may connect: address rules (`allow`, `deny`), a per-address rate
 * (`rate`) and connection caps (`maxConns`, `maxPerIp`), checked
 * once per accepted connection, before any strategy or service sees it.
 *
 * The rules and the counts are kept apart on purpose: {@link Admission.rules}
 * can be replaced while the server runs (a reload), and the clients already
 * connected stay connected and stay counted; the new rules apply from the
 * next connection on.
 *
 * @module
 */
import { type Cidr, formatIp, parseIp } from "./cidr.ts";
import { AddressRateLimiter, type Clock, type Rate } from "./token_bucket.ts";

/**
 * Connections served at once unless the rules say otherwise. Each costs
 * a descriptor and buffers; refusing past this keeps a flood from exhausting
 * the process's descriptors, which would stop even `accept` from working.
 *
 * @example
 * ```ts
 * import { Admission, DEFAULT_MAX_CONNS } from "./admission.ts";
 *
 * const admission = new Admission({ maxConns: DEFAULT_MAX_CONNS });
 * ```
 */
export const DEFAULT_MAX_CONNS = 10_000;

/** How many hosts' keys an {@link Admission} remembers before it starts over. */
const REMEMBERED_HOSTS = 4096;

/**
 * What decides who may connect. A limit of 0 means no limit.
 *
 * @example
 * ```ts
 * import { Admission, type AdmissionRules } from "./admission.ts";
 * import { Cidr } from "./cidr.ts";
 *
 * const rules: AdmissionRules = { maxConns: 100, maxPerIp: 4, allow: [Cidr.parse("127.0.0.0/8")] };
 * const admission = new Admission(rules);
 * ```
 */
export interface AdmissionRules {
  /** Open connections at most, across all clients; 0 for no limit. */
  readonly maxConns?: number;
  /** Open connections at most from one address; 0 for no limit. */
  readonly maxPerIp?: number;
  /** When not empty, only these blocks may connect. */
  readonly allow?: readonly Cidr[];
  /** These blocks may never connect, even if allowed. */
  readonly deny?: readonly Cidr[];
  /** New connections allowed per address, as a token bucket; none for no limit. */
  readonly rate?: Rate;
}

/** Every reason for a refusal, in the order they are checked. */
export const REFUSAL_REASONS = ["denied", "rate", "busy", "per-ip"] as const;
/** One of {@link REFUSAL_REASONS}. */
export type RefusalReason = typeof REFUSAL_REASONS[number];

/**
 * Why a connection was refused, and what (if anything) the client is told.
 *
 * @example
 * ```ts
 * import { Admission, type Refusal } from "./admission.ts";
 *
 * const admission = new Admission({ maxConns: 1 });
 * admission.admit("127.0.0.1");
 * const refusal: Refusal | undefined = admission.admit("127.0.0.1");
 * console.log(refusal?.reason); // "busy"
 * ```
 */
export interface Refusal {
  /** A short word for logs and statistics: one of {@link REFUSAL_REASONS}. */
  readonly reason: RefusalReason;
  /**
   * The line the client gets before it is closed, without its CRLF; none for
   * a denied address, which learns nothing about the server.
   */
  readonly notice?: string;
}

/**
 * Anything that admits and releases connections: an {@link Admission}, or a
 * stand-in for one that lives on another thread (the Workers of
 * `reuseport` ask the main thread's, so that limits hold for the whole
 * server rather than for each Worker).
 */
export interface AdmissionGate {
  /** `undefined` when admitted (and counted), otherwise why not. */
  admit(host: string): Refusal | undefined | Promise<Refusal | undefined>;
  /** Forgets one admitted connection from `host`. */
  release(host: string): void;
}

const BUSY: Refusal = { reason: "busy", notice: "ERR server busy" };
const PER_IP: Refusal = { reason: "per-ip", notice: "ERR too many connections from your address" };
const DENIED: Refusal = { reason: "denied" };
const RATE: Refusal = { reason: "rate", notice: "ERR rate limited" };

/**
 * Admission control for one server: it holds the current rules and counts
 * open connections, in total and per address.
 *
 * @example
 * ```ts
 * import { Admission } from "./admission.ts";
 * import { Cidr } from "./cidr.ts";
 * import assert from "node:assert/strict";
 *
 * const admission = new Admission({ maxPerIp: 1, deny: [Cidr.parse("10.0.0.0/8")] });
 * assert.equal(admission.admit("127.0.0.1"), undefined);
 * assert.equal(admission.admit("127.0.0.1")?.reason, "per-ip");
 * assert.equal(admission.admit("10.1.2.3")?.reason, "denied");
 * admission.release("127.0.0.1");
 * assert.equal(admission.open, 0);
 * ```
 */
export class Admission implements AdmissionGate {
  #rules: AdmissionRules;
  #open = 0;
  readonly #perAddress = new Map<string, number>();
  readonly #now: Clock;
  #limiter: AddressRateLimiter | undefined;
  /**
   * Each host's key, as {@link addressKey} makes it, for the hosts seen
   * lately: parsing an address takes microseconds, twice a connection (at
   * admission and at release), and most connections come from hosts that
   * came before.
   */
  readonly #keys = new Map<string, string>();

  /**
   * Makes an admission with its first rules.
   *
   * @param rules The first rules; replace them later with {@link rules}.
   * @param now The rate limit's clock; `performance.now` unless a test injects one.
   */
  constructor(rules: AdmissionRules = {}, now: Clock = () => performance.now()) {
    this.#rules = rules;
    this.#now = now;
    this.#limiter = rules.rate ? new AddressRateLimiter(rules.rate, now) : undefined;
  }

  /** The rules in force. */
  get rules(): AdmissionRules {
    return this.#rules;
  }

  /**
   * Replaces the rules. Connections already admitted are kept and counted;
   * only connections accepted from now on meet the new rules.
   */
  set rules(rules: AdmissionRules) {
    this.#rules = rules;
    // An unchanged rate keeps its buckets, so a reload is no way around it.
    const before = this.#limiter?.rate;
    const after = rules.rate;
    if (before?.count !== after?.count || before?.seconds !== after?.seconds) {
      this.#limiter = after ? new AddressRateLimiter(after, this.#now) : undefined;
    }
  }

  /** Connections admitted and not yet released. */
  get open(): number {
    return this.#open;
  }

  /**
   * Connections admitted from one address and not yet released.
   *
   * @param host The address as text.
   */
  openFrom(host: string): number {
    return this.#perAddress.get(addressKey(host)) ?? 0;
  }

  /**
   * Decides whether a new connection from `host` may be served, and counts it
   * when it may. Every admitted connection must later be {@link release}d.
   *
   * @param host The client's address as text, e.g. `127.0.0.1` or `::1`.
   * @returns `undefined` when admitted, otherwise why not.
   */
  admit(host: string): Refusal | undefined {
    const { allow = [], deny = [], maxConns = 0, maxPerIp = 0 } = this.#rules;
    if (allow.length > 0 || deny.length > 0) {
      const address = parseIp(host);
      // An address the rules cannot judge must not slip past them: with rules, it is refused.
      if (address === undefined) return DENIED;
      const listed = (blocks: readonly Cidr[]) => blocks.some((block) => block.contains(address));
      if (listed(deny) || (allow.length > 0 && !listed(allow))) return DENIED;
    }
    const key = this.#keyOf(host);
    // Every attempt that is not denied counts against the rate, even one refused as busy.
    if (this.#limiter && !this.#limiter.allow(key)) return RATE;
    if (maxConns > 0 && this.#open >= maxConns) return BUSY;
    const fromHere = this.#perAddress.get(key) ?? 0;
    if (maxPerIp > 0 && fromHere >= maxPerIp) return PER_IP;
    this.#open++;
    this.#perAddress.set(key, fromHere + 1);
    return undefined;
  }

  /** The key `host` is counted under; see {@link #keys}. */
  #keyOf(host: string): string {
    let key = this.#keys.get(host);
    if (key === undefined) {
      // Bounded: a server that meets many addresses forgets them all now and then.
      if (this.#keys.size >= REMEMBERED_HOSTS) this.#keys.clear();
      key = addressKey(host);
      this.#keys.set(host, key);
    }
    return key;
  }

  /**
   * Forgets one admitted connection from `host`.
   *
   * @param host The same text given to {@link admit}.
   */
  release(host: string): void {
    const key = this.#keyOf(host);
    const fromHere = this.#perAddress.get(key) ?? 0;
    if (fromHere === 0) return;
    this.#open--;
    if (fromHere === 1) this.#perAddress.delete(key);
    else this.#perAddress.set(key, fromHere - 1);
  }
}

/** One key per address however it is written, so `::ffff:1.2.3.4` counts as `1.2.3.4`. */
function addressKey(host: string): string {
  const address = parseIp(host);
  return address === undefined ? host : formatIp(address);
}
