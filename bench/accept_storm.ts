/**
 * A minimal reproduction of what a crowd of new clients meets while a Deno
 * `node:net` server is busy with the ones it has: under load Deno polls the
 * listener seldom, the kernel's accept queue fills, and the handshakes that
 * follow are dropped (`nstat -az TcpExtListenOverflows` counts them) and
 * retried by the clients 1, 3 and 7 s later.
 *
 * No servidor code: Node's `net` echo (`accept_storm/node_net_echo.mjs`) run
 * by Deno, the same echo re-armed every 10 ms as servidor does
 * (`lib/node_tcp.ts`), the same echo under Node, and an echo over
 * `Deno.listen` (`starvation/deno_conn_echo.ts`), all with the same
 * 4,096-slot backlog. echoload (bench/echoload.c) opens 10,000 connections,
 * at 4,000 a second (`ramp`, the `many-10k` scenario of bench:compare) or
 * all at once (`storm`), each sending 64 B and waiting for the echo before
 * sending again, so that the clients already in keep the server busy while
 * the others connect.
 *
 * ```sh
 * ulimit -n 20000
 * deno run -A bench/accept_storm.ts          # ramp: 10,000 at 4,000 a second, 4 s warm-up, 3 s measured
 * deno run -A bench/accept_storm.ts storm    # 10,000 at once, 2 s warm-up, 3 s measured
 * ```
 *
 * Per server it prints the handshakes dropped meanwhile (machine-wide, so
 * another process's storm would count too), how many of the 10,000
 * connections completed a first round trip at all, the p99 of those first
 * round trips, the round trips per connection (fewest / median / most)
 * while measured, how many clients the server accepted (one more than
 * echoload's: the harness's probe that the port listens) and the longest
 * wait between two accepts. docs/scale.md ("The connect storm") has runs
 * and the reason, from Deno's source.
 *
 * @module
 */

import { capture, firstLine, stopAll } from "./compare/processes.ts";
import { RunningServer, type ServerSpec } from "./compare/servers.ts";
import { parseEchoload } from "./compare/echo.ts";
import { listenOverflows, tooFewDescriptors } from "./compare/many.ts";

const here = (file: string) => new URL(file, import.meta.url).pathname;

/** The two ways the clients come: at echoload's steady pace, or all at once. */
const SCENARIOS = {
  ramp: { rampArgs: ["-R", "4000"], warmUpS: 4 },
  storm: { rampArgs: [], warmUpS: 2 },
} as const;

const CONNS = 10_000;
const MEASURED_S = 3;

function servers(): ServerSpec[] {
  const deno = Deno.execPath();
  const nodeNet = here("accept_storm/node_net_echo.mjs");
  const reference = (id: string, name: string, command: string, args: string[]): ServerSpec => ({
    id,
    name,
    group: "reference",
    command,
    args,
    portFrom: "argv",
  });
  return [
    reference("deno-node-net", "node:net under Deno", deno, ["run", "-A", nodeNet]),
    reference("deno-node-net-rearm", "… re-armed / 10 ms", deno, ["run", "-A", nodeNet, "10"]),
    reference("node-net", "node:net under Node", "node", [nodeNet]),
    reference("deno-conn", "Deno.listen", deno, [
      "run",
      "--allow-net",
      here("starvation/deno_conn_echo.ts"),
      "4096",
    ]),
  ];
}

if (import.meta.main) {
  const name = Deno.args[0] ?? "ramp";
  if (name !== "ramp" && name !== "storm") {
    console.error(`accept_storm: unknown scenario "${name}": expected ramp or storm`);
    Deno.exit(2);
  }
  const scenario = SCENARIOS[name];
  const tooFew = await tooFewDescriptors(CONNS);
  if (tooFew) {
    console.error(`accept_storm: ${tooFew}`);
    Deno.exit(1);
  }
  const workDir = await Deno.makeTempDir({ prefix: "servidor-accept-storm-" });
  try {
    const echoload = `${workDir}/echoload`;
    const built = await capture("gcc", ["-O2", "-o", echoload, here("echoload.c")], 60_000);
    if (!built.ok) throw new Error(`cannot build echoload: ${firstLine(built.stderr)}`);
    console.log(
      `${name}: ${CONNS} connections × 64 B, ${
        name === "ramp" ? "opened at 4,000 a second" : "opened at once"
      }, backlog 4,096, ${scenario.warmUpS} s warm-up, ${MEASURED_S} s measured ` +
        `(${new Date().toISOString()})`,
    );
    console.log(
      "server                 overflows  first round trip done  first p99 ms  " +
        "round trips min/med/max  server: accepted, longest gap ms",
    );
    for (const spec of servers()) {
      let server: RunningServer;
      try {
        server = await RunningServer.start(spec);
      } catch (error) {
        console.log(`${spec.name.padEnd(20)} not run: ${firstLine(String(error))}`);
        continue;
      }
      let line: string;
      try {
        const before = await listenOverflows();
        const out = await capture(echoload, [
          "127.0.0.1",
          String(server.port),
          ...["-c", String(CONNS), "-s", "64", "-v", ...scenario.rampArgs],
          ...["-w", String(scenario.warmUpS), "-d", String(MEASURED_S)],
        ], (scenario.warmUpS + MEASURED_S) * 1000 + 60_000);
        const after = await listenOverflows();
        const f = parseEchoload(out.stdout);
        if (f === null) throw new Error(firstLine(out.stderr || out.stdout));
        const overflows = before === null || after === null ? "–" : String(after - before);
        line = `${spec.name.padEnd(20)} ${overflows.padStart(10)} ${
          String(f.firstDone ?? "–").padStart(22)
        } ${
          (f.firstP99Us === null || f.firstP99Us === undefined ? "–" : String(
            Math.round(f.firstP99Us / 1000),
          )).padStart(13)
        }  ${`${f.connMin}/${f.connP50}/${f.connMax}`.padStart(23)}`;
      } finally {
        await server.stop();
      }
      // The server says on SIGTERM how many it accepted and how long it left the listener.
      const said = /accepted=(\d+) longest_gap_ms=(\d+)/.exec(server.stderrTail);
      console.log(`${line}  ${said ? `${said[1]}, ${said[2]}` : "–"}`);
    }
  } finally {
    await stopAll();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}
