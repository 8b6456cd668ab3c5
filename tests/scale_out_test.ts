/**
 * Many machines, on loopback: two servidor processes behind one HAProxy
 * (`mode tcp`, `balance roundrobin`, `send-proxy-v2`), sharing chat through
 * one Redis. Needs Debian's `haproxy` and `redis-server`; skips without them.
 */
import assert from "node:assert/strict";
import { TestClient } from "../testing.ts";
import { CliServer } from "./_helpers/cli.ts";
import { startRedis, type TestRedis } from "./_helpers/redis.ts";
import { eventually, freePort, hasCommand } from "./_helpers/tools.ts";

const missing = ["haproxy", "redis-server"].filter((name) => !hasCommand(name));
const skipped = missing.length ? ` (skipped: ${missing.join(" and ")} not installed)` : "";
if (missing.length) console.warn(`scale_out_test: ${missing.join(", ")} missing; skipping`);

/** One servidor process and the JSON log records it has written so far. */
class Instance {
  readonly #server: CliServer;

  private constructor(server: CliServer) {
    this.#server = server;
  }

  static async start(redis: TestRedis): Promise<Instance> {
    return new Instance(
      await CliServer.start([
        "--service=chat",
        "--proxy-protocol",
        `--bus=redis://127.0.0.1:${redis.port}`,
        "--log-format=json",
      ], ["--allow-net", "--allow-read", "--allow-env"]),
    );
  }

  get port(): number {
    return this.#server.port;
  }

  /** The real client addresses this instance logged as opened. */
  get opened(): string[] {
    return this.#server.log.filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { message: string; properties: Record<string, unknown> })
      .filter((record) => record.message.startsWith("open "))
      .map((record) => String(record.properties.peer));
  }

  async kill(): Promise<void> {
    await this.#server.stop("SIGKILL");
  }
}

/** The example configuration of docs/scaling_out.md, on ports chosen for the test. */
function haproxyConfig(frontend: number, backends: number[]): string {
  return `global
  maxconn 256

defaults
  mode tcp
  timeout connect 1s
  timeout client 1m
  timeout server 1m
  timeout check 1s
  retries 3
  option redispatch

frontend chat
  bind 127.0.0.1:${frontend}
  default_backend servidor

backend servidor
  balance roundrobin
${
    backends.map((port, i) =>
      `  server s${i + 1} 127.0.0.1:${port} send-proxy-v2 check inter 100ms fall 1 rise 1`
    ).join("\n")
  }
`;
}

async function startHaproxy(dir: string, backends: number[]) {
  const port = freePort();
  const config = `${dir}/haproxy.cfg`;
  await Deno.writeTextFile(config, haproxyConfig(port, backends));
  const child = new Deno.Command("haproxy", {
    args: ["-f", config, "-db"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    port,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

/** A chat client through the proxy, with the address the servers should see. */
interface Member {
  client: TestClient;
  address: string;
  nick: string;
}

/** Connects through the proxy until a server welcomes the client. */
function join(port: number, nick: string): Promise<Member> {
  return eventually(`${nick} to be welcomed through HAProxy`, async () => {
    let client: TestClient;
    try {
      client = await TestClient.connect(port);
    } catch {
      return undefined;
    }
    const welcome = await client.readLine();
    if (!welcome?.startsWith("* welcome")) {
      client.close();
      return undefined;
    }
    await client.send(`/nick ${nick}\n`);
    assert.equal(
      await nextLine(client, (line) => line.startsWith("* you are")),
      `* you are now ${nick}`,
    );
    return { client, address: `127.0.0.1:${(client.conn.localAddr as Deno.NetAddr).port}`, nick };
  });
}

/** The next line that `wanted` accepts, skipping others (join and rename notices). */
async function nextLine(client: TestClient, wanted: (line: string) => boolean): Promise<string> {
  for (let line = await client.readLine(); line !== null; line = await client.readLine()) {
    if (wanted(line)) return line;
  }
  throw new Error("the server closed the connection");
}

/**
 * Every member says three numbered lines and then `done`; every member reads
 * until it has heard `done` from all the others, and must have heard each
 * one's three lines exactly once and in order before it.
 */
async function everyoneHearsEveryoneOnce(members: Member[]): Promise<void> {
  await Promise.all(members.map((member) =>
    member.client.send(
      `${member.nick} 1\n${member.nick} 2\n${member.nick} 3\ndone\n`,
    )
  ));
  await Promise.all(members.map(async (listener) => {
    const heard = new Map<string, string[]>();
    const others = members.filter((member) => member !== listener);
    while (others.some((other) => heard.get(other.nick)?.at(-1) !== "done")) {
      const line = await nextLine(listener.client, (line) => line.startsWith("<"));
      const [, nick, text] = /^<([^>]+)> (.*)$/.exec(line)!;
      heard.set(nick!, [...heard.get(nick!) ?? [], text!]);
    }
    for (const other of others) {
      const n = other.nick;
      assert.deepEqual(
        heard.get(n),
        [`${n} 1`, `${n} 2`, `${n} 3`, "done"],
        `${listener.nick} heard`,
      );
    }
    assert.equal(heard.size, others.length, `${listener.nick} heard from itself`);
  }));
}

Deno.test({
  name:
    `two instances behind HAProxy with Redis: one room, real addresses, and a survivor${skipped}`,
  ignore: missing.length > 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "servidor-scale-out-" });
    await using redis = await startRedis();
    const instances = [await Instance.start(redis), await Instance.start(redis)];
    const members: Member[] = [];
    try {
      const [first, second] = instances as [Instance, Instance];
      await using proxy = await startHaproxy(dir, [first.port, second.port]);
      for (const nick of ["ana", "ben", "cai", "dov"]) members.push(await join(proxy.port, nick));

      // Round robin put clients on both instances, and each logged the real
      // client address from the PROXY header, not HAProxy's.
      const addresses = members.map((member) => member.address);
      const landed = await eventually("both instances to log their clients", () => {
        const found = instances.map((instance) =>
          instance.opened.filter((peer) => addresses.includes(peer))
        );
        return Promise.resolve(
          found[0]!.length + found[1]!.length === members.length ? found : undefined,
        );
      });
      assert.ok(landed[0]!.length > 0 && landed[1]!.length > 0, `all on one: ${landed}`);

      await everyoneHearsEveryoneOnce(members);

      // /who on any instance lists everybody, by the addresses they really have.
      const [ana] = members as [Member];
      await ana.client.send("/who\n");
      const who = await nextLine(ana.client, (line) => line.startsWith("* online"));
      assert.equal(who.match(/\((\d+)\)/)![1], String(members.length));
      for (const { nick, address } of members) assert.ok(who.includes(`${nick} (${address})`), who);

      // Kill the first instance: its clients are cut off, the others chat on.
      await first.kill();
      const cut = members.filter((member) => landed[0]!.includes(member.address));
      const survivors = members.filter((member) => !cut.includes(member));
      for (const member of cut) {
        await member.client.readAll();
        member.client.close();
      }

      // The dead instance cannot say that its clients left; once it has been
      // silent for three heartbeats, the survivor says it for them.
      await Promise.all(survivors.map(async (survivor) => {
        const expected = new Set(cut.map((member) => `* ${member.nick} left`));
        while (expected.size > 0) {
          expected.delete(await nextLine(survivor.client, (line) => expected.has(line)));
        }
      }));

      // New clients reach the survivor, once HAProxy has seen the first one fail.
      const late = await join(proxy.port, "eve");
      members.push(late);
      await eventually(
        "the survivor to log the new client",
        () => Promise.resolve(second.opened.includes(late.address) || undefined),
      );
      await everyoneHearsEveryoneOnce([...survivors, late]);

      // Without heartbeats from the dead instance, its clients leave /who.
      await eventually("the dead instance's clients to leave /who", async () => {
        await late.client.send("/who\n");
        const list = await nextLine(late.client, (line) => line.startsWith("* online"));
        return list.startsWith(`* online (${survivors.length + 1})`) ? list : undefined;
      });
    } finally {
      for (const member of members) member.client.close();
      for (const instance of instances) await instance.kill();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
