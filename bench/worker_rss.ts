/**
 * What a `workers` Worker costs in memory: the process's RSS grown by N
 * Workers, divided by N, for a bare Worker (one line of JavaScript: the
 * floor Deno sets) and for servidor's service Worker started from its
 * committed bundle, as `deno run --allow-net main.ts --mode=workers` starts
 * it. Each Worker is counted once it says it has loaded its modules.
 *
 * ```sh
 * deno run --allow-read --allow-run bench/worker_rss.ts      # 50 Workers of each kind
 * deno run --allow-read --allow-run bench/worker_rss.ts 20
 * ```
 *
 * The figures are RSS, so a busy machine's page reclaim moves them a little;
 * the difference between the two kinds is the part servidor's code is
 * responsible for. Each kind is measured in a process of its own, since
 * memory that terminated Workers gave back is reused by the next ones.
 *
 * @module
 */
import serviceBundle from "../strategies/_bundled/worker_main.js" with { type: "text" };

const MIB = 1024 * 1024;

/** Starts `count` Workers from `url`, one after another, and says how much RSS each added. */
async function rssPerWorker(url: string, count: number): Promise<number> {
  const before = Deno.memoryUsage().rss;
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(url, { type: "module" });
      workers.push(worker);
      await new Promise<void>((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (event) => {
          event.preventDefault();
          reject(new Error(event.message));
        };
      });
    }
    return (Deno.memoryUsage().rss - before) / count;
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

function blobUrl(source: string): string {
  return URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
}

const KINDS: Record<string, () => string> = {
  bare: () => blobUrl('postMessage({ type: "ready" });'),
  service: () => blobUrl(serviceBundle),
};

/** Measures one kind in a child process of its own; resolves with MiB per Worker. */
async function measureApart(kind: string, count: number): Promise<number> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", new URL(import.meta.url).pathname, `--kind=${kind}`, `${count}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`measuring ${kind} failed: ${new TextDecoder().decode(stderr)}`);
  return Number(new TextDecoder().decode(stdout).trim()) / MIB;
}

if (import.meta.main) {
  const kind = Deno.args.find((arg) => arg.startsWith("--kind="))?.slice("--kind=".length);
  const count = Number(Deno.args.find((arg) => !arg.startsWith("--")) ?? 50);
  if (!Number.isInteger(count) || count < 1 || (kind !== undefined && !(kind in KINDS))) {
    console.error("usage: deno run --allow-read --allow-run bench/worker_rss.ts [WORKERS]");
    Deno.exit(2);
  }
  if (kind !== undefined) {
    console.log(await rssPerWorker(KINDS[kind]!(), count));
  } else {
    const bare = await measureApart("bare", count);
    const service = await measureApart("service", count);
    console.log(`${count} Workers of each kind, RSS added per Worker:`);
    console.log(`  bare Worker      ${bare.toFixed(1)} MiB`);
    console.log(
      `  service Worker   ${service.toFixed(1)} MiB (servidor's share: ${
        (service - bare).toFixed(1)
      } MiB)`,
    );
  }
}
