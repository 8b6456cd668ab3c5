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
 * A client's address is asked only while a rule needs it (a per-address
 * limit, a rate, an allow or deny list): asking makes the socket keep its
 * address as text, bytes per client that ten thousand idle clients feel.
 * A reload that turns such a rule on counts the clients already open, from
 * the servers that hold them (see {@link Admission.countOpenWith}), so the
 * limit is exact from that moment.
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
 * A client as admission sees it: its address as text, e.g. `127.0.0.1` or
 * `::1`, or something that gives it when asked (a connection, whose
 * address is worked out only then).
 */
export type AdmissionClient = string | { readonly host: string };

/**
 * The clients a server holds admitted and not yet released, asked when a
 * reload turns on a rule that counts per address.
 */
export type Census = () => Iterable<AdmissionClient>;

/**
 * Anything that admits and releases connections: an {@link Admission}, or a
 * stand-in for one that lives on another thread (the Workers of
 * `reuseport` ask the main thread's, so that limits hold for the whole
 * server rather than for each Worker).
 */
export interface AdmissionGate {
  /** `undefined` when admitted (and counted), otherwise why not. */
  admit(client: AdmissionClient): Refusal | undefined | Promise<Refusal | undefined>;
  /** Forgets one admitted connection. */
  release(client: AdmissionClient): void;
  /**
   * Registers the clients one server holds, for a reload that starts
   * counting per address; none for a gate that counts elsewhere.
   *
   * @returns A function that unregisters them.
   */
  countOpenWith?(census: Census): () => void;
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
  /** Open connections per address; kept only while {@link #byAddress}. */
  readonly #perAddress = new Map<string, number>();
  /** Whether the rules in force need each client's address. */
  #byAddress: boolean;
  /** Whether every address is counted, needed or not (see {@link countEveryAddress}). */
  #everyAddress = false;
  readonly #censuses = new Set<Census>();
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
    this.#byAddress = needsAddress(rules);
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
    const byAddress = this.#everyAddress || needsAddress(rules);
    if (byAddress && !this.#byAddress) this.#countOpen();
    this.#byAddress = byAddress;
  }

  /**
   * Counts every address from now on, whether a rule needs it or not: for a
   * server whose clients live on other threads, which no census reaches
   * (`reuseport`), and whose addresses come with every admission anyway.
   */
  countEveryAddress(): void {
    if (!this.#byAddress) this.#countOpen();
    this.#byAddress = this.#everyAddress = true;
  }

  /**
   * Registers the clients one server holds admitted, so that a reload that
   * turns on a per-address rule counts them.
   *
   * @param census Lists the server's admitted, unreleased clients.
   * @returns A function that unregisters it, for when the server stops.
   */
  countOpenWith(census: Census): () => void {
    this.#censuses.add(census);
    return () => this.#censuses.delete(census);
  }

  /** Counts per address the clients already open, as their servers list them. */
  #countOpen(): void {
    this.#perAddress.clear();
    for (const census of this.#censuses) {
      for (const client of census()) {
        const key = this.#keyOf(hostOf(client));
        this.#perAddress.set(key, (this.#perAddress.get(key) ?? 0) + 1);
      }
    }
  }

  /** Connections admitted and not yet released. */
  get open(): number {
    return this.#open;
  }

  /**
   * Connections admitted from one address and not yet released, as far as
   * it counts them: only while a rule needs the address.
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
   * @param client The client, or its address as text, e.g. `127.0.0.1` or
   *   `::1`; its address is asked only when a rule needs it.
   * @returns `undefined` when admitted, otherwise why not.
   */
  admit(client: AdmissionClient): Refusal | undefined {
    const { allow = [], deny = [], maxConns = 0, maxPerIp = 0 } = this.#rules;
    if (!this.#byAddress) {
      if (maxConns > 0 && this.#open >= maxConns) return BUSY;
      this.#open++;
      return undefined;
    }
    const host = hostOf(client);
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
   * Forgets one admitted connection.
   *
   * @param client The same client given to {@link admit}.
   */
  release(client: AdmissionClient): void {
    if (!this.#byAddress) {
      if (this.#open > 0) this.#open--;
      return;
    }
    const key = this.#keyOf(hostOf(client));
    const fromHere = this.#perAddress.get(key) ?? 0;
    if (fromHere === 0) return;
    this.#open--;
    if (fromHere === 1) this.#perAddress.delete(key);
    else this.#perAddress.set(key, fromHere - 1);
  }
}

/** Whether `rules` look at a client's address. */
function needsAddress(rules: AdmissionRules): boolean {
  return (rules.maxPerIp ?? 0) > 0 || Boolean(rules.rate) ||
    (rules.allow?.length ?? 0) > 0 || (rules.deny?.length ?? 0) > 0;
}

/**
 * The address of `client`, asked of it only now.
 *
 * @param client A client as {@link AdmissionGate.admit} takes it.
 * @returns Its address as text.
 *
 * @example
 * ```ts
 * import { hostOf } from "./admission.ts";
 *
 * console.log(hostOf("::1"), hostOf({ host: "127.0.0.1" })); // ::1 127.0.0.1
 * ```
 */
export function hostOf(client: AdmissionClient): string {
  return typeof client === "string" ? client : client.host;
}

/** One key per address however it is written, so `::ffff:1.2.3.4` counts as `1.2.3.4`. */
function addressKey(host: string): string {
  const address = parseIp(host);
  return address === undefined ? host : formatIp(address);
}
