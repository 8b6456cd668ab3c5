import assert from "node:assert/strict";
import { join } from "node:path";
import { ServerStats } from "../lib/stats/counters.ts";
import { serveStats } from "../lib/stats/http.ts";
import { BrowserPage, CHROMIUM, chromiumInstalled } from "./_browser.ts";
import { startTestServer, TestClient } from "../testing.ts";

const chromiumMissing = !chromiumInstalled();
if (chromiumMissing) console.log(`skipping the live page test: ${CHROMIUM} is not installed`);

Deno.test({
  name: `the live statistics page shows clients connecting and requests being served, in ${
    chromiumMissing ? "Chromium (skipped: not installed)" : "headless Chromium"
  }`,
  ignore: chromiumMissing,
  async fn() {
    const stats = new ServerStats({ service: "reverse", mode: "poll" });
    await using server = await startTestServer({
      mode: "poll",
      service: "reverse",
      observer: stats,
    });
    const stopStats = new AbortController();
    const statsServer = serveStats({
      stats,
      hostname: "127.0.0.1",
      port: 0,
      signal: stopStats.signal,
    });
    const clients: TestClient[] = [];
    try {
      await using page = await BrowserPage.open();
      await page.goto(`http://127.0.0.1:${statsServer.addr.port}/`);
      await page.untilTexts({ service: "reverse", "connections-open": "0", status: "live" });

      for (let i = 0; i < 3; i++) {
        const client = await TestClient.connect(server.port);
        clients.push(client);
        await client.send(`hola ${i}\n`);
        assert.equal(await client.readLine(), `${i} aloh`);
      }
      await page.untilTexts({ "connections-open": "3", "connections-total": "3", requests: "3" });
      // Both charts have drawn the burst.
      await page.until(
        `Number(document.getElementById("chart-requests").dataset.max) > 0 &&
        Number(document.getElementById("chart-connections").dataset.max) > 0`,
      );

      for (const client of clients.splice(0)) client.close();
      await page.untilTexts({ "connections-open": "0", "connections-total": "3" });

      // The page as drawn, checked to exist; kept for a person to look at only
      // when asked (KEEP_SCREENSHOT=1), so that test runs leave nothing behind.
      const directory = await Deno.makeTempDir({ prefix: "servidor_stats_page_" });
      const keep = Deno.env.get("KEEP_SCREENSHOT") === "1";
      try {
        const screenshot = join(directory, "stats_page.png");
        await page.screenshot(screenshot);
        assert.ok((await Deno.stat(screenshot)).size > 0);
        if (keep) console.log(`screenshot: ${screenshot}`);
      } finally {
        if (!keep) await Deno.remove(directory, { recursive: true });
      }
    } finally {
      for (const client of clients) client.close();
      stopStats.abort();
      await statsServer.finished;
    }
  },
});
