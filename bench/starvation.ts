/**
 * A minimal reproduction of what thousands of clients see from a Deno server
 * that reads with `Deno.Conn`: some clients are served over and over while
 * others wait seconds for their first reply, though every one of them has
 * sent its request (`ss -tn` shows the bytes waiting in their sockets).
 *
 * The same twenty-line echo loop (`starvation/deno_conn_echo.ts`, no servidor
 * code) is run against the same echo through Node's `net` API
 * (`starvation/node_net_echo.mjs`), once under Node and once under Deno,
 * where Deno serves it with its own native TCP handles; then servidor's
 * `poll`, through `node:net` (its default) and with `--tcp-api=deno`. All
 * listen with the same backlog, and `echoload` (bench/echoload.c)
 * opens the connections at a steady pace, so no handshake is dropped and
 * what is left is the runtime's scheduling. Fairness is read from the round
 * trips each connection completed (fewest / median / most) and from the p99
 * of each connection's first round trip.
 *
 * ```sh
 * ulimit -n 20000
 * deno run -A bench/starvation.ts            # 2,000 connections, 3 s warm-up, 5 s measured
 * deno run -A bench/starvation.ts 10000 4 5  # connections, warm-up s, measured s
 * ```
 *
 * @module
 */

import { capture, firstLine, stopAll } from "./compare/processes.ts";
import { RunningServer, type ServerSpec } from "./compare/servers.ts";
import { parseEchoload } from "./compare/echo.ts";

const here = (file: string) => new URL(file, import.meta.url).pathname;

/** servidor's `poll` with echo, as a user starts it, plus `flags`. */
function servidor(id: string, name: string, flags: string[]): ServerSpec {
  return {
    id,
    name,
    group: "servidor",
    command: Deno.execPath(),
    args: [
      "run",
      "--allow-net",
      here("../main.ts"),
      "serve",
      "--mode=poll",
      "--service=echo",
      "--host=127.0.0.1",
      "--port=0",
      "--log-level=error",
      ...flags,
    ],
    portFrom: "stderr",
  };
}

if (import.meta.main) {
  const [conns = 2000, warmUpS = 3, durationS = 5] = Deno.args.map(Number);
  const workDir = await Deno.makeTempDir({ prefix: "servidor-starvation-" });
  try {
    const echoload = `${workDir}/echoload`;
    const built = await capture("gcc", ["-O2", "-o", echoload, here("echoload.c")], 60_000);
    if (!built.ok) throw new Error(`cannot build echoload: ${firstLine(built.stderr)}`);
    const deno = Deno.execPath();
    const specs: ServerSpec[] = [
      {
        id: "deno-conn",
        name: "Deno.Conn loop",
        group: "reference",
        command: deno,
        args: ["run", "--allow-net", here("starvation/deno_conn_echo.ts")],
        portFrom: "argv",
      },
      {
        id: "deno-node-net",
        name: "node:net under Deno",
        group: "reference",
        command: deno,
        args: ["run", "--allow-net", here("starvation/node_net_echo.mjs")],
        portFrom: "argv",
      },
      {
        id: "node-net",
        name: "node:net under Node",
        group: "reference",
        command: "node",
        args: [here("starvation/node_net_echo.mjs")],
        portFrom: "argv",
      },
      servidor("poll", "servidor poll", []),
      servidor("poll-deno-conn", "poll --tcp-api=deno", ["--tcp-api=deno"]),
    ];
    console.log(
      `${conns} connections × 64 B, opened at 4,000 a second, ${warmUpS} s warm-up, ` +
        `${durationS} s measured (${new Date().toISOString()})`,
    );
    console.log(
      "server                 rps   p50 ms   p99 ms  p99÷p50  first p99 ms  round trips/conn min/med/max",
    );
    for (const spec of specs) {
      let server: RunningServer;
      try {
        server = await RunningServer.start(spec);
      } catch (error) {
        console.log(`${spec.name.padEnd(20)} not run: ${firstLine(String(error))}`);
        continue;
      }
      try {
        const out = await capture(echoload, [
          "127.0.0.1",
          String(server.port),
          ...["-c", String(conns), "-s", "64", "-v", "-R", "4000"],
          ...["-w", String(warmUpS), "-d", String(durationS)],
        ], (warmUpS + durationS) * 1000 + 60_000);
        const f = parseEchoload(out.stdout);
        if (f === null) throw new Error(firstLine(out.stderr || out.stdout));
        const ms = (us: number | null) => us === null ? "–" : (us / 1000).toFixed(1);
        console.log(
          `${spec.name.padEnd(20)} ${String(Math.round(f.rps ?? 0)).padStart(6)} ${
            ms(f.p50Us).padStart(8)
          } ${ms(f.p99Us).padStart(8)} ${
            (f.p99Us !== null && f.p50Us ? (f.p99Us / f.p50Us).toFixed(1) : "–").padStart(8)
          } ${ms(f.firstP99Us ?? null).padStart(13)}  ${f.connMin}/${f.connP50}/${f.connMax}`,
        );
      } finally {
        await server.stop();
      }
    }
  } finally {
    await stopAll();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}
