/**
 * The live statistics page that the statistics endpoint serves at `/`. It is one
 * self-contained document: its script polls `/stats.json` and
 * `/history.json` every second and draws its charts as SVG by hand, so it
 * needs no library and no internet access.
 *
 * @module
 */

/** The page, HTML with its style and script inline. */
export const STATS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>servidor statistics</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; background: #fafafa; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  .sub { color: #666; margin-bottom: 1rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(11.5rem, 1fr)); gap: .6rem; }
  .card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5rem .7rem; }
  .card .label { color: #666; font-size: .8rem; }
  .card .value { font-size: 1.3rem; font-variant-numeric: tabular-nums; white-space: nowrap; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: .8rem; margin-top: 1rem; }
  .chart { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; }
  .chart h2 { font-size: .9rem; margin: 0 0 .3rem; font-weight: 600; }
  svg { width: 100%; height: 160px; display: block; }
  #status.live { color: #1a7f37; } #status.down { color: #cf222e; }
</style>
</head>
<body>
<h1>servidor</h1>
<div class="sub">
  service <b id="service">…</b> · mode <b id="mode">…</b> · up <span id="uptime">…</span> ·
  <span id="status">connecting…</span>
</div>
<div class="grid">
  <div class="card"><div class="label">connections open</div><div class="value" id="connections-open">…</div></div>
  <div class="card"><div class="label">connections total</div><div class="value" id="connections-total">…</div></div>
  <div class="card"><div class="label">requests</div><div class="value" id="requests">…</div></div>
  <div class="card"><div class="label">requests/s</div><div class="value" id="requests-per-second">…</div></div>
  <div class="card"><div class="label">latency p50 / p99 ≤</div><div class="value" id="latency">…</div></div>
  <div class="card"><div class="label">bytes in</div><div class="value" id="bytes-in">…</div></div>
  <div class="card"><div class="label">bytes out</div><div class="value" id="bytes-out">…</div></div>
  <div class="card"><div class="label">refused: denied / rate / busy / per-ip</div><div class="value" id="refused">…</div></div>
  <div class="card"><div class="label">Workers alive</div><div class="value" id="workers-alive">…</div></div>
</div>
<div class="charts">
  <div class="chart"><h2>connections open</h2><svg id="chart-connections" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></div>
  <div class="chart"><h2>requests per second</h2><svg id="chart-requests" viewBox="0 0 600 160" preserveAspectRatio="none"></svg></div>
</div>
<script>
"use strict";
const POLL_MS = 1000;
const WINDOW_MS = 5 * 60 * 1000;
const MIN_WINDOW_MS = 60 * 1000;
const $ = (id) => document.getElementById(id);

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) { n /= 1024; unit++; }
  return (unit === 0 ? String(n) : n.toFixed(1)) + " " + units[unit];
}

function duration(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  if (seconds < 0.001) return (seconds * 1e6).toFixed(0) + " µs";
  if (seconds < 1) return (seconds * 1000).toFixed(seconds < 0.01 ? 2 : 0) + " ms";
  return seconds.toFixed(1) + " s";
}

function uptime(seconds) {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return (h ? h + "h " : "") + (h || m ? m + "m " : "") + (s % 60) + "s";
}

/** The upper bound of the bucket that holds quantile q, from a cumulative histogram. */
function quantile(latency, q) {
  if (latency.count === 0) return NaN;
  const rank = q * latency.count;
  for (let i = 0; i < latency.cumulative.length; i++) {
    if (latency.cumulative[i] >= rank) return latency.bounds[i] ?? Infinity;
  }
  return Infinity;
}

function drawChart(svg, samples, pick, colour) {
  const width = 600, height = 160, pad = 4;
  const now = Date.now();
  const max = Math.max(1, ...samples.map(pick));
  // A young server's chart spans what it has, at least a minute, at most five.
  const span = samples.length ? now - samples[0].time : 0;
  const shownMs = Math.min(WINDOW_MS, Math.max(MIN_WINDOW_MS, span));
  const x = (t) => pad + (width - 2 * pad) * (1 - (now - t) / shownMs);
  const y = (v) => height - pad - (height - 2 * pad - 14) * (v / max);
  const points = samples.filter((s) => now - s.time <= shownMs)
    .map((s) => x(s.time).toFixed(1) + "," + y(pick(s)).toFixed(1)).join(" ");
  const last = samples.length ? pick(samples[samples.length - 1]) : 0;
  svg.innerHTML =
    '<line x1="0" x2="600" y1="' + y(max) + '" y2="' + y(max) + '" stroke="#eee"/>' +
    '<text x="4" y="12" font-size="11" fill="#666">max ' + (Math.round(max * 10) / 10) +
    " · now " + (Math.round(last * 10) / 10) + " · last " + Math.round(shownMs / 60000) +
    " min</text>" +
    '<polyline fill="none" stroke="' + colour + '" stroke-width="2" points="' + points + '"/>';
  svg.dataset.points = String(samples.length);
  svg.dataset.max = String(Math.max(0, ...samples.map(pick)));
}

async function refresh() {
  try {
    const [stats, history] = await Promise.all([
      fetch("/stats.json", { cache: "no-store" }).then((r) => r.json()),
      fetch("/history.json", { cache: "no-store" }).then((r) => r.json()),
    ]);
    $("service").textContent = stats.service;
    $("mode").textContent = stats.mode;
    $("uptime").textContent = uptime(stats.uptimeSeconds);
    $("connections-open").textContent = String(stats.connectionsOpen);
    $("connections-total").textContent = String(stats.connectionsTotal);
    $("requests").textContent = String(stats.requests);
    const latest = history[history.length - 1];
    $("requests-per-second").textContent = latest ? latest.requestsPerSecond.toFixed(1) : "0";
    $("latency").textContent = duration(quantile(stats.latency, 0.5)) + " / " +
      duration(quantile(stats.latency, 0.99));
    $("bytes-in").textContent = bytes(stats.bytesIn);
    $("bytes-out").textContent = bytes(stats.bytesOut);
    const r = stats.refused;
    $("refused").textContent = [r.denied, r.rate, r.busy, r["per-ip"]].join(" / ");
    $("workers-alive").textContent = stats.workersAlive === null ? "–" : String(stats.workersAlive);
    drawChart($("chart-connections"), history, (s) => s.connectionsOpen, "#0969da");
    drawChart($("chart-requests"), history, (s) => s.requestsPerSecond, "#bf3989");
    $("status").textContent = "live";
    $("status").className = "live";
  } catch (error) {
    $("status").textContent = "server unreachable";
    $("status").className = "down";
  }
  setTimeout(refresh, POLL_MS);
}
refresh();
</script>
</body>
</html>
`;
