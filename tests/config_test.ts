import assert from "node:assert/strict";
import { Admission } from "../lib/admission.ts";
import { Cidr } from "../lib/cidr.ts";
import {
  applyConfig,
  ConfigError,
  ConfigReloader,
  describeChanges,
  type ReloadableSettings,
} from "../cli/config.ts";

const BASE: ReloadableSettings = {
  rules: { maxConns: 100, maxPerIp: 0, allow: [], deny: [] },
  idleTimeoutMs: 0,
};

Deno.test("applyConfig() lays the file's keys over the command line's and keeps the rest", () => {
  const settings = applyConfig(
    BASE,
    JSON.stringify({ deny: ["10.0.0.0/8", "::1"], "max-per-ip": 3, "idle-timeout": 1.5 }),
  );
  assert.equal(settings.rules.maxConns, 100);
  assert.equal(settings.rules.maxPerIp, 3);
  assert.deepEqual(settings.rules.deny?.map(String), ["10.0.0.0/8", "::1"]);
  assert.equal(settings.idleTimeoutMs, 1500);
  assert.deepEqual(applyConfig(BASE, "{}"), BASE);
});

Deno.test("applyConfig() reads a rate, and null turns the command line's rate off", () => {
  const limited = { ...BASE, rules: { ...BASE.rules, rate: { count: 5, seconds: 1 } } };
  assert.deepEqual(applyConfig(BASE, '{"rate": "10/60"}').rules.rate, { count: 10, seconds: 60 });
  assert.equal(applyConfig(limited, '{"rate": null}').rules.rate, undefined);
  assert.deepEqual(applyConfig(limited, "{}").rules.rate, { count: 5, seconds: 1 });
});

const BAD_FILES: Array<[string, RegExp]> = [
  ["{", /^not valid JSON: /],
  ["[]", /^expected a JSON object of settings$/],
  ['{"max_conns": 1}', /^unknown key "max_conns"; known keys: allow, deny, max-conns/],
  ['{"deny": "10.0.0.0/8"}', /^invalid --deny: expected a list of CIDR blocks as strings$/],
  ['{"deny": ["10.0.0.0/33"]}', /^invalid --deny: "10.0.0.0\/33" has a prefix length outside/],
  ['{"max-conns": -1}', /^invalid --max-conns "-1"/],
  ['{"max-conns": "10"}', /^invalid --max-conns: expected a number$/],
  ['{"idle-timeout": -2}', /^invalid --idle-timeout "-2"/],
  ['{"rate": "fast"}', /^invalid --rate "fast": expected N\/SECONDS/],
];

for (const [text, message] of BAD_FILES) {
  Deno.test(`applyConfig() rejects ${text} with its reason`, () => {
    assert.throws(() => applyConfig(BASE, text), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, message);
      return true;
    });
  });
}

Deno.test("describeChanges() names each setting that changed, old and new", () => {
  const after = applyConfig(BASE, '{"deny": ["127.0.0.2"], "rate": "3/1", "max-conns": 100}');
  assert.deepEqual(describeChanges(BASE, after), [
    "deny: none -> 127.0.0.2",
    "rate: none -> 3/1",
  ]);
  assert.deepEqual(describeChanges(after, after), []);
});

Deno.test("ConfigReloader applies a good file to new admissions and keeps the old settings for a bad one", async () => {
  const path = await Deno.makeTempFile({ prefix: "servidor_config_", suffix: ".json" });
  try {
    const admission = new Admission(BASE.rules);
    const reloader = new ConfigReloader({ path, base: BASE, current: BASE, admission });
    assert.equal(admission.admit("127.0.0.2"), undefined);

    await Deno.writeTextFile(path, JSON.stringify({ deny: ["127.0.0.2/32"], "idle-timeout": 7 }));
    assert.equal(await reloader.reload(), true);
    assert.equal(admission.admit("127.0.0.2")?.reason, "denied");
    assert.equal(admission.admit("127.0.0.3"), undefined);
    assert.equal(admission.open, 2, "the connection admitted before the reload still counts");
    assert.equal(reloader.idleTimeoutMs(), 7000);

    await Deno.writeTextFile(path, '{"deny": ["not an address"]}');
    assert.equal(await reloader.reload(), false);
    assert.equal(admission.admit("127.0.0.2")?.reason, "denied", "the old deny list stays");
    assert.equal(reloader.idleTimeoutMs(), 7000);

    await Deno.remove(path);
    assert.equal(await reloader.reload(), false, "a missing file is rejected too");
    assert.deepEqual(reloader.settings.rules.deny, [Cidr.parse("127.0.0.2/32")]);
  } finally {
    await Deno.remove(path).catch(() => {});
  }
});

/** A clock that moves only when the test says so. */
function testClock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

Deno.test("Admission refuses connections over the rate with ERR rate limited, and they recover", () => {
  const clock = testClock();
  const admission = new Admission({ rate: { count: 2, seconds: 10 } }, clock.now);
  assert.equal(admission.admit("127.0.0.1"), undefined);
  assert.equal(admission.admit("127.0.0.1"), undefined);
  const refusal = admission.admit("127.0.0.1");
  assert.equal(refusal?.reason, "rate");
  assert.equal(refusal?.notice, "ERR rate limited");
  assert.equal(admission.admit("::ffff:127.0.0.2"), undefined, "another address has its own");
  clock.advance(5000);
  assert.equal(admission.admit("127.0.0.1"), undefined, "5 s at 2/10 s refills one");
  assert.equal(admission.admit("127.0.0.1")?.reason, "rate");
});

Deno.test("Admission keeps its rate buckets across a reload with the same rate, and resets them for a new one", () => {
  const clock = testClock();
  const admission = new Admission({ rate: { count: 1, seconds: 60 } }, clock.now);
  assert.equal(admission.admit("127.0.0.1"), undefined);
  admission.rules = { rate: { count: 1, seconds: 60 }, maxConns: 5 };
  assert.equal(admission.admit("127.0.0.1")?.reason, "rate", "a reload is no way around the rate");
  admission.rules = { rate: { count: 2, seconds: 60 } };
  assert.equal(admission.admit("127.0.0.1"), undefined);
  admission.rules = {};
  for (let i = 0; i < 10; i++) assert.equal(admission.admit("127.0.0.1"), undefined);
});
