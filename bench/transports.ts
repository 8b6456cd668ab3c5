/**
 * What a transport costs: for plain TCP on IPv4 and IPv6, TLS and a Unix
 * socket (and for `exec -- cat` against the built-in echo), how many
 * short connections a second one client gets through, and how fast one
 * connection moves bulk bytes, with the server in this process.
 *
 *     deno run -A bench/transports.ts [--mode=poll] [--conns=300] [--mib=64]
 *
 * It makes a throw-away certificate with `openssl` and a socket under /tmp,
 * and every loop is bounded by a count, so it always ends.
 *
 * @module
 */
import { type Flag, parseFlags, valueFlag } from "../cli/flag.ts";
import { oneOf, wholeNumber } from "../cli/parse.ts";
import type { ClientOptions } from "../lib/client.ts";
import { connectTo } from "../lib/client.ts";
import { SettingError } from "../lib/errors.ts";
import { writeAll } from "../lib/write_all.ts";
import { type Mode, MODES } from "../strategies/mod.ts";
import { type ModeSettings, serveMode } from "../strategies/serve_mode.ts";
import { makeTestCertificate } from "../lib/test_certificate.ts";

interface BenchFlags {
  mode: Mode;
  conns: number;
  mib: number;
}
const modeName = oneOf(MODES);
const FLAGS: readonly Flag<BenchFlags>[] = [
  valueFlag({
    name: "mode",
    placeholder: "MODE",
    help: MODES.join(" | "),
    default: "poll",
    parse: modeName,
    set: (flags, value) => void (flags.mode = value),
  }),
  valueFlag({
    name: "conns",
    placeholder: "N",
    help: "connections in a row",
    default: "300",
    parse: wholeNumber(1, 100_000),
    set: (flags, value) => void (flags.conns = value),
  }),
  valueFlag({
    name: "mib",
    placeholder: "MIB",
    help: "bytes through one connection, in MiB",
    default: "64",
    parse: wholeNumber(1, 4096),
    set: (flags, value) => void (flags.mib = value),
  }),
];
const { mode, conns, mib } = parseFlags<BenchFlags>(Deno.args, FLAGS, {
  mode: "poll",
  conns: 300,
  mib: 64,
});

// The throw-away certificate the tests use too, made by openssl in a fresh directory under /tmp.
await using certificate = await makeTestCertificate();
const { certFile, keyFile } = certificate.files;
const caCerts = [certificate.cert];
const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "servidor-bench-" });

/** One transport and service: the server's settings for it, and how a client reaches it. */
interface Case extends Pick<ModeSettings, "listen" | "service" | "serviceArgs"> {
  name: string;
  connect: (port: number) => ClientOptions;
}

const CASES: Case[] = [
  {
    name: "TCP 127.0.0.1, echo",
    listen: { transport: "tcp", hostname: "127.0.0.1", port: 0 },
    connect: (port) => ({ hostname: "127.0.0.1", port }),
    service: "echo",
  },
  {
    name: "TCP [::1], echo",
    listen: { transport: "tcp", hostname: "::1", port: 0 },
    connect: (port) => ({ hostname: "::1", port }),
    service: "echo",
  },
  {
    name: "TLS 127.0.0.1, echo",
    listen: { transport: "tls", hostname: "127.0.0.1", port: 0, certFile, keyFile },
    connect: (port) => ({ transport: "tls", hostname: "127.0.0.1", port, caCerts }),
    service: "echo",
  },
  {
    name: "Unix socket, echo",
    listen: { transport: "unix", path: `${dir}/servidor.sock` },
    connect: () => ({ transport: "unix", path: `${dir}/servidor.sock` }),
    service: "echo",
  },
  {
    name: "TCP 127.0.0.1, exec -- cat",
    listen: { transport: "tcp", hostname: "127.0.0.1", port: 0 },
    connect: (port) => ({ hostname: "127.0.0.1", port }),
    service: "exec",
    serviceArgs: ["cat"],
  },
];

/** Connect, one line there and back, half-close, read to the end: `count` times in a row. */
async function connectionsPerSecond(options: ClientOptions, count: number): Promise<number> {
  const line = new TextEncoder().encode("ping\n");
  const buffer = new Uint8Array(1024);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const conn = await connectTo(options);
    await writeAll(conn, line);
    await conn.closeWrite();
    while ((await conn.read(buffer)) !== null);
    conn.close();
  }
  return count / ((performance.now() - started) / 1000);
}

/** Sends `bytes` through one connection while reading the echo; MiB/s. */
async function throughput(options: ClientOptions, bytes: number): Promise<number> {
  const conn = await connectTo(options);
  const chunk = new Uint8Array(64 * 1024);
  const started = performance.now();
  const reading = (async () => {
    const buffer = new Uint8Array(256 * 1024);
    let got = 0;
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) got += n;
    return got;
  })();
  for (let sent = 0; sent < bytes; sent += chunk.byteLength) await writeAll(conn, chunk);
  await conn.closeWrite();
  const got = await reading;
  conn.close();
  if (got !== bytes) throw new Error(`echoed ${got} of ${bytes} bytes`);
  return bytes / (1024 * 1024) / ((performance.now() - started) / 1000);
}

console.log(`mode=${mode}, ${conns} connections in a row, ${mib} MiB through one connection\n`);
console.log("| transport, service | connections/s | MiB/s |");
console.log("| --- | ---: | ---: |");
try {
  for (const benchCase of CASES) {
    const stop = new AbortController();
    const { name: _, connect: __, ...settings } = benchCase;
    let server;
    try {
      server = await serveMode({ ...settings, mode }, { shutdown: stop.signal });
    } catch (error) {
      // reuseport, for one, serves plain TCP only.
      if (!(error instanceof SettingError)) throw error;
      console.log(`| ${benchCase.name} | n/a: ${error.message} | |`);
      continue;
    }
    const port = server.addr.transport === "tcp" ? server.addr.port : 0;
    try {
      const rate = await connectionsPerSecond(benchCase.connect(port), conns);
      const speed = await throughput(benchCase.connect(port), mib * 1024 * 1024);
      console.log(`| ${benchCase.name} | ${rate.toFixed(0)} | ${speed.toFixed(0)} |`);
    } finally {
      stop.abort();
      await server.finished;
    }
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
