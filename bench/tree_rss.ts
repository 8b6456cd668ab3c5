/**
 * What a server holds in memory with N clients connected, counting every
 * process it started: under `processes` each client has a child of its
 * own, which `bench:compare`'s peak RSS (the server process's VmHWM) does
 * not see. Each mode runs as a user types it (`deno run main.ts
 * --mode=MODE --service=echo`); N clients connect, each makes one round
 * trip and stays, and then the memory of the server and of all its
 * descendants is added up from /proc (Linux only): RSS, and PSS, which counts
 * the pages the children share (Deno's code) once rather than once a child.
 *
 * ```sh
 * deno run -A bench/tree_rss.ts               # 50 clients; reading /proc needs -A
 * deno run -A bench/tree_rss.ts 20 processes
 * ```
 *
 * @module
 */
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const MIB = 1024;
const encoder = new TextEncoder();

/** The process and every descendant, from /proc/PID/task/TID/children. */
function tree(pid: number): number[] {
  const found = [pid];
  for (let i = 0; i < found.length; i++) {
    const current = found[i]!;
    let tasks: string[] = [];
    try {
      tasks = [...Deno.readDirSync(`/proc/${current}/task`)].map((entry) => entry.name);
    } catch {
      continue;
    }
    for (const task of tasks) {
      try {
        const children = Deno.readTextFileSync(`/proc/${current}/task/${task}/children`);
        found.push(...children.split(" ").filter(Boolean).map(Number));
      } catch {
        // The task ended while we looked.
      }
    }
  }
  return found;
}

/**
 * A process's resident set in KiB (RSS), and its proportional share of it
 * (PSS: a page shared by N processes, such as Deno's own code, counts 1/N
 * in each), or 0 once it is gone. Added up over processes, RSS counts the
 * shared pages once a process and PSS once in all.
 */
function memoryKiB(pid: number): { rss: number; pss: number } {
  try {
    const rollup = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
    const field = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? 0);
    return { rss: field("Rss"), pss: field("Pss") };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/** Starts a server, connects `count` clients, and resolves with its tree's RSS. */
async function measure(mode: string, count: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      ...(mode === "processes" ? ["--allow-run"] : []),
      MAIN,
      `--mode=${mode}`,
      "--service=echo",
      "--port=0",
      "--log-level=error",
      `--max-workers=${count}`,
      `--max-processes=${count}`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const conns: Deno.TcpConn[] = [];
  const reader = child.stderr.getReader();
  try {
    let text = "";
    let port: string | undefined;
    while (port === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${mode} did not start: ${text}`);
      text += new TextDecoder().decode(value);
      port = /listening on 127\.0\.0\.1:(\d+)/.exec(text)?.[1];
    }
    const buffer = new Uint8Array(64);
    for (let i = 0; i < count; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
      conns.push(conn);
      await conn.write(encoder.encode("ping\n"));
      let got = 0;
      while (got < 5) got += (await conn.read(buffer)) ?? 5;
    }
    const pids = tree(child.pid);
    const memory = pids.map(memoryKiB);
    const rssMiB = memory.reduce((sum, { rss }) => sum + rss, 0) / MIB;
    const pssMiB = memory.reduce((sum, { pss }) => sum + pss, 0) / MIB;
    return { mode, clients: count, processes: pids.length, rssMiB, pssMiB };
  } finally {
    for (const conn of conns) conn.close();
    reader.releaseLock();
    child.kill("SIGTERM");
    await child.status;
    await child.stderr.cancel().catch(() => {});
  }
}

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? 50);
  const modes = Deno.args.length > 1 ? Deno.args.slice(1) : ["poll", "workers", "processes"];
  console.log(
    "| mode | clients | processes | RSS, added up (MiB) | PSS, added up (MiB) | PSS per client |",
  );
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const mode of modes) {
    const { clients, processes, rssMiB, pssMiB } = await measure(mode, count);
    console.log(
      `| ${mode} | ${clients} | ${processes} | ${rssMiB.toFixed(0)} | ${pssMiB.toFixed(0)} | ${
        (pssMiB / clients).toFixed(1)
      } |`,
    );
  }
}
