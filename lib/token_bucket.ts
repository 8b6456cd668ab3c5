/**
 * Rate limits: a token bucket, and one bucket per client address for
 * A rate of `N/SECONDS`. A client may open N connections at once and then one
 * more every SECONDS/N seconds; the clock is injectable so tests need no sleeps.
 *
 * @module
 */

/** A clock in milliseconds, like `performance.now`. */
export type Clock = () => number;

/** A rate: `count` events per `seconds`. */
export interface Rate {
  /** Events allowed per period, and the burst allowed at once. */
  count: number;
  /** The period, in seconds. */
  seconds: number;
}

/** Thrown by {@link parseRate} for text that is not `N/SECONDS`. */
export class RateSyntaxError extends Error {
  /** What a rate looks like, without the text that was given. */
  readonly reason = "expected N/SECONDS, e.g. 10/1 or 100/60, with N at least 1";

  constructor(text: string) {
    super();
    this.message = `"${text}": ${this.reason}`;
    this.name = "RateSyntaxError";
  }
}

/**
 * Reads a rate written as `N/SECONDS`.
 *
 * @param text E.g. `"10/1"` (ten a second) or `"5/0.5"`.
 * @throws {RateSyntaxError} When it is not a positive whole count over a positive period.
 *
 * @example
 * ```ts
 * import { parseRate } from "./token_bucket.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseRate("100/60"), { count: 100, seconds: 60 });
 * ```
 */
export function parseRate(text: string): Rate {
  const match = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(text.trim());
  const count = match ? Number(match[1]) : NaN;
  const seconds = match ? Number(match[2]) : NaN;
  if (!Number.isSafeInteger(count) || count < 1 || !(seconds > 0) || !Number.isFinite(seconds)) {
    throw new RateSyntaxError(text);
  }
  return { count, seconds };
}

/**
 * Formats a rate the way {@link parseRate} reads it.
 *
 * @param rate The rate.
 */
export function formatRate(rate: Rate): string {
  return `${rate.count}/${rate.seconds}`;
}

/** A bucket of `capacity` tokens that refills continuously at a fixed rate. */
export class TokenBucket {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #now: Clock;
  #tokens: number;
  #updatedAt: number;

  /**
   * Starts full.
   *
   * @param rate `count` tokens per `seconds`; `count` is also the capacity.
   * @param now The clock; `performance.now` unless a test injects one.
   */
  constructor(rate: Rate, now: Clock = () => performance.now()) {
    this.#capacity = rate.count;
    this.#perMs = rate.count / (rate.seconds * 1000);
    this.#now = now;
    this.#tokens = rate.count;
    this.#updatedAt = now();
  }

  /** Tokens available now, fractions included. */
  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Whether the bucket is full again, so forgetting it changes nothing. */
  get full(): boolean {
    return this.tokens >= this.#capacity;
  }

  /**
   * Takes one token if there is one.
   *
   * @returns `true` when the event is within the rate.
   */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed * this.#perMs);
    this.#updatedAt = now;
  }
}

/** Buckets at which the per-address map is first swept of buckets that are full again. */
const FIRST_SWEEP_AT = 1024;

/**
 * One token bucket per client address. Buckets that have refilled are
 * forgotten, so the map holds only addresses seen recently: its memory
 * follows the clients that are busy now, not every client ever seen.
 */
export class AddressRateLimiter {
  readonly #rate: Rate;
  readonly #now: Clock;
  readonly #buckets = new Map<string, TokenBucket>();
  #sweepAt = FIRST_SWEEP_AT;

  /**
   * Tracks no address yet.
   *
   * @param rate Connections allowed per address.
   * @param now The clock; `performance.now` unless a test injects one.
   */
  constructor(rate: Rate, now: Clock = () => performance.now()) {
    this.#rate = rate;
    this.#now = now;
  }

  /** The rate every address gets. */
  get rate(): Rate {
    return this.#rate;
  }

  /** Addresses with a bucket that is not yet full again. */
  get tracked(): number {
    return this.#buckets.size;
  }

  /**
   * Counts one connection from `address`.
   *
   * @param address The client's address without its port.
   * @returns `true` when it is within the rate.
   */
  allow(address: string): boolean {
    let bucket = this.#buckets.get(address);
    if (!bucket) {
      if (this.#buckets.size >= this.#sweepAt) this.#sweep();
      bucket = new TokenBucket(this.#rate, this.#now);
      this.#buckets.set(address, bucket);
    }
    return bucket.take();
  }

  #sweep(): void {
    for (const [address, bucket] of this.#buckets) {
      if (bucket.full) this.#buckets.delete(address);
    }
    this.#sweepAt = Math.max(FIRST_SWEEP_AT, this.#buckets.size * 2);
  }
}
