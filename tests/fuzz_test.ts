/**
 * A seeded property test: random byte streams, cut into chunks at random
 * points, go into each line service; the replies must equal those of a small
 * reference model written apart from the services. Set FUZZ_SEED to replay a
 * run; a failure names its seed.
 */
import { createHash } from "node:crypto";
import { MAX_ROUNDS } from "../services/compute.ts";
import { MODES } from "../strategies/mod.ts";
import { startTestServer, TestClient } from "../testing.ts";

const STREAMS_PER_SERVICE = 12;
const MAX_LINE = 120;
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a tiny, good-enough seeded generator. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    below: (n: number) => Math.floor(next() * n),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}
type Random = ReturnType<typeof generator>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A line body without LF: text, junk bytes (NUL, CR, invalid UTF-8) or both. */
function randomBody(random: Random, words: readonly string[]): Uint8Array {
  const parts: number[] = [];
  const pieces = random.below(4);
  for (let i = 0; i < pieces; i++) {
    if (random.chance(0.6)) {
      parts.push(...encoder.encode(random.pick(words)));
    } else {
      const junk = random.below(8);
      for (let j = 0; j < junk; j++) {
        parts.push(random.pick([0x00, 0x0d, 0x20, 0x41, 0x80, 0xc3, 0xa9, 0xe2, 0xf0, 0xff]));
      }
    }
  }
  return Uint8Array.from(parts.slice(0, MAX_LINE - 1));
}

/**
 * A stream of lines ending in LF or CRLF, perhaps a last one without, and
 * perhaps (as the very last bytes, so that the server reads everything it
 * was sent before it closes) a line one byte over the limit.
 */
function randomStream(random: Random, words: readonly string[], last?: string): Uint8Array {
  const bytes: number[] = [];
  const lines = 1 + random.below(20);
  for (let i = 0; i < lines; i++) {
    bytes.push(...randomBody(random, words), ...(random.chance(0.5) ? [0x0d, 0x0a] : [0x0a]));
  }
  if (last !== undefined) bytes.push(...encoder.encode(last));
  else if (random.chance(0.2)) bytes.push(...Array(MAX_LINE + 1).fill(0x78));
  else if (random.chance(0.3)) {
    bytes.push(...encoder.encode(random.pick(words)).filter((b) => b !== 0x0d));
  }
  return Uint8Array.from(bytes);
}

/** The reference framing: what each line service is given, and whether the stream was cut off. */
function modelLines(stream: Uint8Array): { lines: string[]; tooLong: boolean } {
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const newline = stream.indexOf(0x0a, start);
    const end = newline === -1 ? stream.length : newline;
    let body = stream.subarray(start, end);
    if (body.at(-1) === 0x0d && (newline !== -1 || body.length > MAX_LINE)) {
      body = body.subarray(0, body.length - 1);
    }
    if (body.length > MAX_LINE) return { lines, tooLong: true };
    if (newline === -1) {
      if (body.length > 0) lines.push(decoder.decode(body));
      return { lines, tooLong: false };
    }
    lines.push(decoder.decode(body));
    start = newline + 1;
  }
}

/** Sends the stream in random cuts, half-closes, and returns everything the server said. */
async function converse(port: number, stream: Uint8Array, random: Random) {
  using client = await TestClient.connect(port);
  const localPort = (client.conn.localAddr as Deno.NetAddr).port;
  const replies = client.readAll();
  for (let at = 0; at < stream.length;) {
    const cut = Math.min(stream.length, at + 1 + random.below(40));
    await client.send(stream.slice(at, cut));
    at = cut;
  }
  await client.closeWrite();
  return { replies: decoder.decode(await replies), localPort };
}

const TOO_LONG = `ERR line too long (max ${MAX_LINE} bytes)\r\n`;

function sha256Hex(text: string, rounds: number): string {
  let digest = createHash("sha256").update(text, "utf8").digest("hex");
  for (let i = 1; i < rounds; i++) digest = createHash("sha256").update(digest).digest("hex");
  return digest;
}

interface Model {
  words: readonly string[];
  last?: string;
  /** What of the replies the model speaks for; by default all of them. */
  relevant?(replies: string): string;
  /**
   * Whether each stream needs a server of its own. A chat model knows one
   * client; under reuseport the last stream's client may still be listed, for
   * a moment, by the thread that did not serve it.
   */
  serverPerStream?: boolean;
  expected(lines: string[], localPort: number, replies: string): string;
}

const MODELS: Record<string, Model> = {
  reverse: {
    words: ["hola", "añ🙂", "x y", " ", "\t", "日本"],
    expected: (lines) => lines.map((line) => `${[...line].reverse().join("")}\r\n`).join(""),
  },
  compute: {
    words: ["sha256 1 abc", "sha256 2 ", "sha256 0 x", "sha256", " 3 z", "sha256  1 q", "hola"],
    expected: (lines) =>
      lines.map((line) => {
        const match = /^sha256 +(\d+) (.*)$/.exec(line);
        const rounds = match ? Number(match[1]) : 0;
        return rounds >= 1 && rounds <= MAX_ROUNDS
          ? `${sha256Hex(match![2]!, rounds)}\r\n`
          : `ERR usage: sha256 ROUNDS TEXT (ROUNDS from 1 to ${MAX_ROUNDS})\r\n`;
      }).join(""),
  },
  chat: {
    words: ["/who", "/nick ana", "/nick b b", "/nick ñu_2", "hola", "/", "/x", " ", "/nick"],
    last: "/who\n/quit\n",
    // Notices about other clients may come at any time: under workers a previous
    // stream's client can announce its leaving after the next one joined.
    relevant: (replies) => replies.replace(/^\* \S+ (left|joined)\r\n/gm, ""),
    serverPerStream: true,
    expected(lines, localPort, replies) {
      const id = /^\* welcome, guest(\d+);/.exec(replies)?.[1] ?? "?";
      let nick = `guest${id}`;
      let out = `* welcome, ${nick}; commands: /nick NAME, /who, /quit\r\n`;
      for (const line of lines) {
        if (line.trim() === "") continue;
        if (!line.startsWith("/")) continue; // broadcast, and nobody else is here
        const [command = "", ...rest] = line.trim().split(/\s+/);
        const argument = rest.join(" ");
        if (command === "/nick") {
          if (/^[\p{L}\p{N}_-]{1,32}$/u.test(argument)) {
            nick = argument;
            out += `* you are now ${nick}\r\n`;
          } else {
            out += "ERR usage: /nick NAME (1-32 letters, digits, _ or -)\r\n";
          }
        } else if (command === "/who") {
          out += `* online (1): ${nick} (127.0.0.1:${localPort})\r\n`;
        } else if (command === "/quit") {
          return out + "* bye\r\n";
        } else {
          out += `ERR unknown command ${command}; try /nick NAME, /who, /quit\r\n`;
        }
      }
      return out;
    },
  },
};

for (const mode of MODES) {
  for (const [service, model] of Object.entries(MODELS)) {
    Deno.test(`${service} answers random streams cut at random points as the model does under ${mode}`, async () => {
      const seed = SEED + service.length * 1000 + mode.length;
      const random = generator(seed);
      const start = () => startTestServer({ mode, service, maxLine: MAX_LINE });
      let server = await start();
      try {
        for (let i = 0; i < STREAMS_PER_SERVICE; i++) {
          if (i > 0 && model.serverPerStream) {
            await server.stop();
            server = await start();
          }
          const stream = randomStream(random, model.words, model.last);
          const conversation = await converse(server.port, stream, random);
          const { localPort } = conversation;
          const replies = model.relevant?.(conversation.replies) ?? conversation.replies;
          const { lines, tooLong } = modelLines(stream);
          const expected = model.expected(lines, localPort, replies) + (tooLong ? TOO_LONG : "");
          if (replies !== expected) {
            throw new Error(
              `stream ${i} differs from the model (replay with FUZZ_SEED=${SEED}): ` +
                `sent ${JSON.stringify(decoder.decode(stream))}\n` +
                `expected ${JSON.stringify(expected)}\ngot      ${JSON.stringify(replies)}`,
            );
          }
        }
      } finally {
        await server.stop();
      }
    });
  }
}
