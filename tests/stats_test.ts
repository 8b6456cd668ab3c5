import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { CombinedStats, ServerStats } from "../lib/stats/counters.ts";
import { LATENCY_BUCKETS_SECONDS, LatencyHistogram } from "../lib/stats/histogram.ts";
import { StatsHistory } from "../lib/stats/history.ts";
import { prometheusText } from "../lib/stats/prometheus.ts";
import { summaryLine } from "../lib/stats/summary_line.ts";
import { serveStats } from "../lib/stats/http.ts";
import { Cidr } from "../lib/cidr.ts";
import type { WorkersStrategy } from "../strategies/workers.ts";
import { startTestServer, TestClient } from "../testing.ts";
import { MODES_BUT_REUSEPORT } from "./_helpers/modes.ts";
import { hasCommand } from "./_helpers/tools.ts";

const encoder = new TextEncoder();

Deno.test("LatencyHistogram counts each observation in the first bucket that holds it", () => {
  const histogram = new LatencyHistogram([0.001, 0.01, 0.1]);
  for (const seconds of [0.0005, 0.001, 0.002, 0.05, 0.05, 3]) histogram.observe(seconds);
  const snapshot = histogram.snapshot();
  assert.deepEqual(snapshot.cumulative, [2, 3, 5, 6]);
  assert.equal(snapshot.count, 6);
  assert.ok(Math.abs(snapshot.sum - 3.1035) < 1e-9);
  assert.equal(histogram.quantile(0.5), 0.01);
  assert.equal(histogram.quantile(0.8), 0.1);
  assert.equal(histogram.quantile(1), Infinity);
  assert.ok(Number.isNaN(new LatencyHistogram().quantile(0.5)));
});

Deno.test("StatsHistory reports rates per second between samples and keeps only the newest", () => {
  const stats = new ServerStats({ service: "echo", mode: "poll" });
  const history = new StatsHistory(stats, 2);
  history.sample(0);
  for (let i = 0; i < 10; i++) stats.request(0.001);
  assert.equal(history.sample(2000).requestsPerSecond, 5);
  history.sample(3000);
  const samples = history.samples();
  assert.deepEqual(samples.map((sample) => sample.time), [2000, 3000]);
  assert.equal(samples[1]!.requestsPerSecond, 0);
});

Deno.test("summaryLine() puts every figure on one line", () => {
  const stats = new ServerStats({ service: "echo", mode: "workers", workersAlive: () => 2 });
  stats.refused("127.0.0.1:1", "rate");
  const line = summaryLine(stats.snapshot(), 12.5, 0.0025);
  assert.match(line, /^stats: open=0 total=0 refused=denied:0,rate:1,busy:0,per-ip:0 /);
  assert.match(line, / rps=12\.5 p99<=2\.50ms workers=2 /);
  assert.ok(!line.includes("\n"));
});

for (const mode of MODES_BUT_REUSEPORT) {
  Deno.test(`${mode}: the statistics count exactly what a scripted set of clients did`, async () => {
    // The server's strategy exists only once the server does, after the statistics.
    const started: { strategy?: WorkersStrategy } = {};
    const stats = new ServerStats({
      service: "reverse",
      mode,
      workersAlive: mode === "workers" ? () => started.strategy!.alive : undefined,
    });
    const server = await startTestServer({ mode, service: "reverse", observer: stats });
    started.strategy = server.strategy as WorkersStrategy;
    // Client i sends i + 1 lines of "line i.j"; each reply is the line reversed plus CRLF.
    const clients = 3;
    let bytesSent = 0;
    let bytesReceived = 0;
    let lines = 0;
    try {
      for (let i = 0; i < clients; i++) {
        using client = await TestClient.connect(server.port);
        const sent = Array.from({ length: i + 1 }, (_, j) => `line ${i}.${j}`);
        const payload = sent.map((line) => `${line}\n`).join("");
        await client.send(payload);
        await client.closeWrite();
        const reply = await client.readAll();
        bytesSent += encoder.encode(payload).byteLength;
        bytesReceived += reply.byteLength;
        lines += sent.length;
        if (mode !== "single") {
          assert.ok(stats.snapshot().connectionsOpen <= 1);
        }
      }
    } finally {
      await server.stop();
    }
    const snapshot = stats.snapshot();
    assert.equal(snapshot.connectionsOpen, 0);
    assert.equal(snapshot.connectionsTotal, clients);
    assert.equal(snapshot.bytesIn, bytesSent);
    assert.equal(snapshot.bytesOut, bytesReceived);
    assert.equal(snapshot.requests, lines);
    assert.equal(snapshot.latency.count, lines);
    assert.equal(snapshot.latency.cumulative.at(-1), lines);
    assert.deepEqual(snapshot.refused, { denied: 0, rate: 0, busy: 0, "per-ip": 0 });
    assert.equal(snapshot.workersAlive, mode === "workers" ? 0 : null);
  });
}

Deno.test("the statistics count connections while they are open, bytes included", async () => {
  const stats = new ServerStats({ service: "echo", mode: "poll" });
  await using server = await startTestServer({ mode: "poll", service: "echo", observer: stats });
  using first = await TestClient.connect(server.port);
  using second = await TestClient.connect(server.port);
  // An echo proves the server has accepted each client.
  await first.send("hola\n");
  await first.readLine();
  await second.send("adios\n");
  await second.readLine();
  const snapshot = stats.snapshot();
  assert.equal(snapshot.connectionsOpen, 2);
  assert.equal(snapshot.connectionsTotal, 2);
  assert.equal(snapshot.bytesIn, 11);
  assert.equal(snapshot.bytesOut, 11);
});

/** Serves `stats` over HTTP on a free loopback port for the length of `body`. */
async function withStatsServer(
  stats: ServerStats,
  body: (base: string) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const server = serveStats({ stats, hostname: "127.0.0.1", port: 0, signal: stop.signal });
  try {
    await body(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    stop.abort();
    await server.finished;
  }
}

/** The shape parse-prometheus-text-format gives back. */
interface MetricFamily {
  name: string;
  type: string;
  help: string;
  metrics: Array<{
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }>;
}

Deno.test("/metrics parses as Prometheus text and carries the same figures as /stats.json", async () => {
  const stats = new ServerStats({ service: "reverse", mode: "workers", workersAlive: () => 3 });
  await using server = await startTestServer({ mode: "poll", service: "reverse", observer: stats });
  for (let i = 0; i < 2; i++) {
    using client = await TestClient.connect(server.port);
    await client.send("uno\ndos\n");
    await client.closeWrite();
    await client.readAll();
  }
  stats.refused("127.0.0.9:1", "denied");
  await server.stop();

  await withStatsServer(stats, async (base) => {
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const text = await response.text();
    const families = parsePrometheusTextFormat(text) as MetricFamily[];
    const family = (name: string) => {
      const found = families.find((candidate) => candidate.name === name);
      assert.ok(found, `${name} is missing`);
      return found;
    };
    assert.equal(family("servidor_connections_total").type, "COUNTER");
    assert.equal(family("servidor_connections_total").metrics[0]!.value, "2");
    assert.equal(family("servidor_connections_open").metrics[0]!.value, "0");
    assert.equal(family("servidor_received_bytes_total").metrics[0]!.value, "16");
    assert.equal(family("servidor_sent_bytes_total").metrics[0]!.value, "20");
    assert.equal(family("servidor_workers_alive").metrics[0]!.value, "3");
    const refused = family("servidor_connections_refused_total").metrics;
    assert.deepEqual(
      Object.fromEntries(refused.map((metric) => [metric.labels!.reason, metric.value])),
      { denied: "1", rate: "0", busy: "0", "per-ip": "0" },
    );
    const latency = family("servidor_request_duration_seconds");
    assert.equal(latency.type, "HISTOGRAM");
    // This parser keeps a histogram's buckets only, not its labels, sum or count.
    assert.equal(latency.metrics[0]!.buckets!["+Inf"], "4");
    assert.equal(
      Object.keys(latency.metrics[0]!.buckets!).length,
      LATENCY_BUCKETS_SECONDS.length + 1,
    );

    const json = await (await fetch(`${base}/stats.json`)).json();
    assert.equal(json.connectionsTotal, 2);
    assert.equal(json.requests, 4);
    assert.deepEqual(json.refused, { denied: 1, rate: 0, busy: 0, "per-ip": 0 });
  });
});

Deno.test("/metrics passes promtool check metrics when promtool is installed", {
  ignore: !hasCommand("promtool"),
}, async () => {
  const stats = new ServerStats({ service: "echo", mode: "poll" });
  stats.request(0.003);
  const text = prometheusText(stats.snapshot());
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(text));
  await writer.close();
  const output = await child.output();
  const complaints = new TextDecoder().decode(output.stdout) +
    new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, complaints);
  assert.equal(complaints.trim(), "");
});

Deno.test("the statistics endpoint serves the page, history, and 404 or 405 for the rest", async () => {
  const stats = new ServerStats({ service: "echo", mode: "poll" });
  await withStatsServer(stats, async (base) => {
    const page = await fetch(`${base}/`);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await page.text();
    assert.match(html, /id="connections-open"/);
    assert.doesNotMatch(html, /<script[^>]+src=/, "the page must not load scripts from elsewhere");
    const history = await (await fetch(`${base}/history.json`)).json();
    assert.ok(Array.isArray(history) && history.length >= 1);
    const missing = await fetch(`${base}/nothing`);
    await missing.body?.cancel();
    assert.equal(missing.status, 404);
    const post = await fetch(`${base}/stats.json`, { method: "POST" });
    await post.body?.cancel();
    assert.equal(post.status, 405);
  });
});

Deno.test("workers report request timings while their client stays connected", async () => {
  const { promise: threeRequests, resolve } = Promise.withResolvers<void>();
  let requests = 0;
  const observer = {
    request() {
      if (++requests === 3) resolve();
    },
  };
  await using server = await startTestServer({ mode: "workers", service: "reverse", observer });
  using client = await TestClient.connect(server.port);
  await client.send("a\nb\nc\n");
  for (let i = 0; i < 3; i++) await client.readLine();
  // Three short lines are far below a `consumed` batch: the timings come on their own.
  await threeRequests;
  assert.equal(requests, 3);
});

Deno.test("a Worker that blocks for its input (echo) still reports timings while its client keeps sending", async () => {
  let requests = 0;
  const observer = {
    request() {
      requests++;
    },
  };
  await using server = await startTestServer({ mode: "workers", service: "echo", observer });
  using client = await TestClient.connect(server.port);
  // Round trips one after another: the Worker always finds the next byte within its blocking
  // wait, so only its turns of the event loop between waits can send the timings out.
  for (let sent = 0; requests === 0 && sent < 20_000; sent++) {
    await client.send("x");
    await client.readBytes(1);
  }
  assert.ok(requests > 0, "no request timing came while the client kept sending");
});

Deno.test("the statistics count refused connections by reason", async () => {
  const cases = [
    // 127.0.0.1 is outside the only allowed block.
    { reason: "denied", rules: { allow: [Cidr.parse("10.0.0.0/8")] }, notice: null },
    { reason: "rate", rules: { rate: { count: 1, seconds: 3600 } }, notice: "ERR rate limited" },
    { reason: "busy", rules: { maxConns: 1 }, notice: "ERR server busy" },
    {
      reason: "per-ip",
      rules: { maxPerIp: 1 },
      notice: "ERR too many connections from your address",
    },
  ] as const;
  for (const { reason, rules, notice } of cases) {
    const stats = new ServerStats({ service: "reverse", mode: "poll" });
    await using server = await startTestServer({
      mode: "poll",
      service: "reverse",
      rules,
      observer: stats,
    });
    using first = await TestClient.connect(server.port);
    if (reason !== "denied") {
      await first.send("hola\n");
      assert.equal(await first.readLine(), "aloh");
    }
    using second = await TestClient.connect(server.port);
    assert.equal(await second.readLine(), reason === "denied" ? null : notice);
    assert.equal(await second.readLine(), null);
    const { refused, connectionsTotal } = stats.snapshot();
    const expected = {
      denied: 0,
      rate: 0,
      busy: 0,
      "per-ip": 0,
      [reason]: reason === "denied" ? 2 : 1,
    };
    assert.deepEqual(refused, expected, reason);
    assert.equal(connectionsTotal, reason === "denied" ? 0 : 1);
  }
});

Deno.test("reuseport: the statistics add up what every Worker's clients did", async () => {
  const server = await startTestServer({
    mode: "reuseport",
    service: "reverse",
    threads: 2,
    stats: {},
  });
  let lines = 0;
  try {
    // Enough clients that the kernel very likely spreads them over both Workers; the sums hold either way.
    for (let i = 0; i < 6; i++) {
      using client = await TestClient.connect(server.port);
      await client.send(`uno ${i}\ndos ${i}\n`);
      await client.closeWrite();
      await client.readAll();
      lines += 2;
    }
  } finally {
    await server.stop();
  }
  // Each Worker reports once more as it stops, so the sums are final now.
  const snapshot = server.stats!.snapshot();
  assert.equal(snapshot.connectionsTotal, 6);
  assert.equal(snapshot.connectionsOpen, 0);
  assert.equal(snapshot.requests, lines);
  assert.equal(snapshot.latency.cumulative.at(-1), lines);
  assert.equal(snapshot.bytesIn, 6 * "uno 0\ndos 0\n".length);
  assert.equal(snapshot.bytesOut, 6 * "0 onu\r\n0 sod\r\n".length);
  assert.equal(snapshot.workersAlive, 2);
});

Deno.test("CombinedStats adds up its parts, the latest report of each replacing the last", () => {
  const part = (connections: number) => {
    const stats = new ServerStats({ service: "echo", mode: "reuseport" });
    for (let i = 0; i < connections; i++) stats.request(0.002);
    stats.refused("127.0.0.1:1", "busy");
    return stats.snapshot();
  };
  const combined = new CombinedStats({ service: "echo", mode: "reuseport" });
  combined.update(1, part(1));
  combined.update(2, part(2));
  combined.update(1, part(3));
  const snapshot = combined.snapshot();
  assert.equal(snapshot.requests, 5);
  assert.equal(snapshot.latency.count, 5);
  assert.equal(snapshot.refused.busy, 2);
  assert.equal(snapshot.latency.cumulative.at(-1), 5);
});
