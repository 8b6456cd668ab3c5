import assert from "node:assert/strict";
import {
  AddressRateLimiter,
  parseRate,
  RateSyntaxError,
  TokenBucket,
} from "../lib/token_bucket.ts";

/** A clock that moves only when the test says so. */
function testClock() {
  let now = 0;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

Deno.test("TokenBucket allows a burst of N, then refuses until time refills it", () => {
  const clock = testClock();
  const bucket = new TokenBucket({ count: 3, seconds: 1 }, clock.now);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [
    true,
    true,
    true,
    false,
  ]);
  clock.advance(333);
  assert.equal(bucket.take(), false, "333 ms at 3/s refill just under one token");
  clock.advance(1);
  assert.equal(bucket.take(), true, "one token after a third of a second at 3/s");
  assert.equal(bucket.take(), false);
});

Deno.test("TokenBucket never holds more than its capacity however long it waits", () => {
  const clock = testClock();
  const bucket = new TokenBucket({ count: 2, seconds: 10 }, clock.now);
  bucket.take();
  clock.advance(3_600_000);
  assert.equal(bucket.tokens, 2);
  assert.ok(bucket.full);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [true, true, false]);
});

Deno.test("AddressRateLimiter trips at the configured rate per address and recovers", () => {
  const clock = testClock();
  const limiter = new AddressRateLimiter({ count: 2, seconds: 60 }, clock.now);
  assert.equal(limiter.allow("127.0.0.2"), true);
  assert.equal(limiter.allow("127.0.0.2"), true);
  assert.equal(limiter.allow("127.0.0.2"), false, "the third connection within a minute trips");
  assert.equal(limiter.allow("127.0.0.3"), true, "another address has its own bucket");
  clock.advance(30_000);
  assert.equal(limiter.allow("127.0.0.2"), true, "half a minute at 2/60 refills one");
  assert.equal(limiter.allow("127.0.0.2"), false);
  clock.advance(60_000);
  assert.equal(limiter.allow("127.0.0.2"), true);
  assert.equal(limiter.allow("127.0.0.2"), true);
});

Deno.test("AddressRateLimiter forgets addresses whose buckets have refilled", () => {
  const clock = testClock();
  const limiter = new AddressRateLimiter({ count: 1, seconds: 1 }, clock.now);
  for (let i = 0; i < 2000; i++) limiter.allow(`10.0.${i >> 8}.${i & 255}`);
  assert.equal(limiter.tracked, 2000);
  clock.advance(1000);
  // The next new address past the sweep threshold drops every full bucket.
  for (let i = 0; i < 2000; i++) limiter.allow(`10.1.${i >> 8}.${i & 255}`);
  assert.ok(limiter.tracked <= 2000, `still tracking ${limiter.tracked}`);
});

Deno.test("parseRate() reads N/SECONDS and rejects anything else", () => {
  assert.deepEqual(parseRate("10/1"), { count: 10, seconds: 1 });
  assert.deepEqual(parseRate("5/0.5"), { count: 5, seconds: 0.5 });
  for (const bad of ["", "10", "0/1", "10/0", "-1/1", "a/b", "1/1/1", "1.5/1"]) {
    assert.throws(() => parseRate(bad), RateSyntaxError, bad);
  }
});
