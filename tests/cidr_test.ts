import assert from "node:assert/strict";
import { Admission } from "../lib/admission.ts";
import { Cidr, CidrError, parseIp } from "../lib/cidr.ts";

Deno.test("parseIp() reads IPv4, IPv6 in every shortening, and refuses what is neither", () => {
  assert.deepEqual(parseIp("0.0.0.0"), { family: 4, value: 0n });
  assert.deepEqual(parseIp("255.255.255.255"), { family: 4, value: 0xffffffffn });
  assert.deepEqual(parseIp("::"), { family: 6, value: 0n });
  assert.deepEqual(parseIp("::1"), { family: 6, value: 1n });
  assert.deepEqual(parseIp("2001:db8::"), { family: 6, value: 0x20010db8n << 96n });
  assert.deepEqual(parseIp("fe80::1%eth0"), { family: 6, value: (0xfe80n << 112n) | 1n });
  assert.deepEqual(parseIp("1:2:3:4:5:6:7:8")?.value, 0x00010002000300040005000600070008n);
  assert.deepEqual(parseIp("::ffff:192.0.2.1"), { family: 4, value: 0xc0000201n });
  for (
    const bad of ["", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "1::2::3", "12345::", "g::1"]
  ) {
    assert.equal(parseIp(bad), undefined, bad);
  }
  assert.equal(parseIp("1:2:3:4:5:6:7:8:9"), undefined);
  assert.equal(parseIp("1:2:3:4:5:6:7::8"), undefined);
});

Deno.test("Cidr matches addresses inside its block and nothing of the other family", () => {
  const ten = Cidr.parse("10.0.0.0/8");
  assert.equal(ten.contains("10.255.0.1"), true);
  assert.equal(ten.contains("11.0.0.1"), false);
  assert.equal(ten.contains("::ffff:10.1.1.1"), true);
  assert.equal(ten.contains("::1"), false);
  assert.equal(ten.contains("not an address"), false);
  const docs = Cidr.parse("2001:db8::/32");
  assert.equal(docs.contains("2001:db8:ffff::1"), true);
  assert.equal(docs.contains("2001:db9::1"), false);
  assert.equal(docs.contains("10.0.0.1"), false);
  assert.equal(Cidr.parse("0.0.0.0/0").contains("203.0.113.9"), true);
  assert.equal(Cidr.parse("::/0").contains("::1"), true);
  assert.equal(Cidr.parse("::ffff:10.0.0.0/104").contains("10.9.9.9"), true);
  assert.equal(Cidr.parse("127.0.0.1").contains("127.0.0.2"), false);
  assert.equal(Cidr.parse("192.168.1.77/24").toString(), "192.168.1.0/24");
});

Deno.test("Cidr.parse() refuses bad addresses and prefixes with a one-sentence error", () => {
  for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "nope/8", "10.0.0/8"]) {
    assert.throws(() => Cidr.parse(bad), CidrError, bad);
  }
});

Deno.test("Admission lets deny win over allow and refuses addresses outside allow", () => {
  const admission = new Admission({
    allow: [Cidr.parse("127.0.0.0/8"), Cidr.parse("::1")],
    deny: [Cidr.parse("127.0.0.2")],
  });
  assert.equal(admission.admit("127.0.0.1"), undefined);
  assert.equal(admission.admit("::1"), undefined);
  assert.deepEqual(admission.admit("127.0.0.2"), { reason: "denied" });
  assert.deepEqual(admission.admit("192.0.2.1"), { reason: "denied" });
  assert.equal(admission.open, 2);
});

Deno.test("Admission counts per address and in total, and release frees a place", () => {
  const admission = new Admission({ maxConns: 3, maxPerIp: 2 });
  assert.equal(admission.admit("10.0.0.1"), undefined);
  assert.equal(admission.admit("::ffff:10.0.0.1"), undefined);
  assert.equal(admission.admit("10.0.0.1")?.notice, "ERR too many connections from your address");
  assert.equal(admission.admit("10.0.0.2"), undefined);
  assert.equal(admission.admit("10.0.0.3")?.notice, "ERR server busy");
  admission.release("10.0.0.1");
  assert.equal(admission.openFrom("10.0.0.1"), 1);
  assert.equal(admission.admit("10.0.0.3"), undefined);
  // Releasing what was never admitted changes nothing.
  admission.release("192.0.2.9");
  assert.equal(admission.open, 3);
});

Deno.test("Admission keeps its counts when its rules are replaced at run time", () => {
  const admission = new Admission({ maxPerIp: 5 });
  for (let i = 0; i < 3; i++) assert.equal(admission.admit("10.0.0.1"), undefined);
  admission.rules = { maxPerIp: 2 };
  assert.equal(admission.open, 3);
  assert.equal(admission.admit("10.0.0.1")?.reason, "per-ip");
  admission.rules = { deny: [Cidr.parse("10.0.0.0/8")] };
  assert.equal(admission.admit("10.0.0.1")?.reason, "denied");
  admission.rules = { maxConns: 3 };
  assert.equal(admission.open, 3);
  assert.equal(admission.admit("10.0.0.1")?.reason, "busy");
});

Deno.test("Admission asks no address while no rule needs one, and counts the open clients when a rule comes", () => {
  const admission = new Admission({ maxConns: 10 });
  const open: { host: string }[] = [];
  admission.countOpenWith(() => open);
  const asked: string[] = [];
  const client = (host: string) => ({
    get host() {
      asked.push(host);
      return host;
    },
  });
  for (const host of ["10.0.0.1", "10.0.0.1", "10.0.0.2"]) {
    const one = client(host);
    assert.equal(admission.admit(one), undefined);
    open.push(one);
  }
  assert.deepEqual(asked, [], "no rule looks at the address");
  admission.rules = { maxPerIp: 2 };
  assert.equal(admission.openFrom("10.0.0.1"), 2);
  assert.equal(admission.admit("10.0.0.1")?.reason, "per-ip");
  admission.release(open.shift()!);
  assert.equal(admission.openFrom("10.0.0.1"), 1);
  assert.equal(admission.open, 2);
  assert.equal(admission.admit("::ffff:10.0.0.1"), undefined);
});

Deno.test("addresses and blocks print the way people type them", () => {
  const cases: Array<[string, string]> = [
    ["::1", "::1"],
    ["::", "::"],
    ["::1/128", "::1/128"],
    ["2001:db8::/32", "2001:db8::/32"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"],
    ["fe80::1:0:0:1/64", "fe80::/64"],
    ["127.0.0.1", "127.0.0.1"],
    ["10.1.2.3/8", "10.0.0.0/8"],
    ["::ffff:10.0.0.1", "10.0.0.1"],
  ];
  for (const [typed, shown] of cases) assert.equal(String(Cidr.parse(typed)), shown, typed);
});

Deno.test("Admission counts a host under the same key after it has met more hosts than it remembers", () => {
  const admission = new Admission({ maxPerIp: 1 });
  assert.equal(admission.admit("::ffff:10.0.0.1"), undefined);
  // More distinct hosts than the keys it keeps, so the first one's is made again.
  for (let i = 0; i < 5000; i++) {
    assert.equal(admission.admit(`10.1.${i >> 8}.${i & 255}`), undefined);
  }
  assert.equal(admission.admit("10.0.0.1")?.reason, "per-ip");
  admission.release("10.0.0.1");
  assert.equal(admission.openFrom("::ffff:10.0.0.1"), 0);
  assert.equal(admission.open, 5000);
  // Without rules a host that is no address is still counted; with rules it is refused.
  assert.equal(admission.admit("some-unix-peer"), undefined);
  admission.rules = { allow: [Cidr.parse("10.0.0.0/8")] };
  assert.equal(admission.admit("some-other-peer")?.reason, "denied");
});
