/**
 * The statistics endpoint under attack: out of descriptors, flooded with idle
 * connections, or sent a bad `Host:` header, it answers or refuses, and the
 * service it reports on keeps running.
 */
import assert from "node:assert/strict";
import { MAX_HTTP_CONNECTIONS } from "../lib/stats/small_http.ts";
import { TestClient } from "../testing.ts";
import { CliServer, MAIN } from "./_helpers/cli.ts";
import { openDescriptors } from "./_helpers/proc.ts";
import { eventually } from "./_helpers/tools.ts";

/** Starts the CLI with at most `files` descriptors, as `ulimit -n` would. */
function startWithDescriptors(files: number, args: string[]): Promise<CliServer> {
  return CliServer.startProgram("prlimit", [
    `--nofile=${files}:${files}`,
    Deno.execPath(),
    "run",
    "--no-check",
    "--allow-net",
    "--allow-read",
    MAIN,
    "--port=0",
    ...args,
  ]);
}

/** Sends one raw HTTP request and returns the whole answer. */
async function rawRequest(port: number, request: string): Promise<string> {
  using client = await TestClient.connect(port);
  await client.send(request);
  return new TextDecoder().decode(await client.readAll());
}

/** The descriptors the server under test may hold. */
const DESCRIPTORS = 64;
const haveProcLimit = new Deno.Command("prlimit", { args: ["--version"] }).outputSync().success;

Deno.test({
  name:
    "a /metrics request while descriptors have run out waits for one instead of ending the server",
  ignore: !haveProcLimit,
  async fn() {
    await using server = await startWithDescriptors(DESCRIPTORS, [
      "--service=echo",
      "--stats-port=0",
      "--max-conns=0",
    ]);
    const [, statsPort] = await server.waitForMatch(
      /^statistics on http:\/\/127\.0\.0\.1:(\d+)\/$/,
    );
    // More clients than the server has descriptors for: the last ones wait in
    // the kernel's queue. (Over node:net, the default, a failed accept logs
    // nothing, so the descriptors themselves say when they have run out.)
    const clients: TestClient[] = [];
    for (let i = 0; i < DESCRIPTORS; i++) {
      const client = await TestClient.connect(server.port);
      clients.push(client);
      await client.send("x\n");
    }
    await eventually("the server holds every descriptor it may", () => {
      return Promise.resolve(openDescriptors(server.pid) >= DESCRIPTORS ? true : undefined);
    });
    // The statistics listener now meets the same lack of descriptors.
    using scrape = await TestClient.connect(Number(statsPort));
    await scrape.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await Promise.race([
      server.waitForLog(/statistics: accept failed/),
      server.exited().then((status) => assert.fail(`the server exited with ${status.code}`)),
    ]);
    for (const client of clients) client.close();
    const answer = new TextDecoder().decode(await scrape.readAll());
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(answer, /^servidor_connections_total \d+$/m);
    using echo = await TestClient.connect(server.port);
    await echo.send("still here\n");
    assert.equal(await echo.readLine(), "still here");
    echo.close();
    const status = await server.stop();
    assert.equal(status.code, 0, status.logged.join("\n"));
  },
});

Deno.test("the statistics endpoint caps its connections, times out silent ones and answers a bad Host 400 quietly", async () => {
  await using server = await CliServer.start(["--service=echo", "--stats-port=0"]);
  const [, port] = await server.waitForMatch(/^statistics on http:\/\/127\.0\.0\.1:(\d+)\/$/);
  const statsPort = Number(port);

  for (const host of ["bad host", "[zz]", "a/b"]) {
    const answer = await rawRequest(statsPort, `GET /metrics HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  }
  assert.match(await rawRequest(statsPort, "GET /metrics HTTP/1.1\r\n\r\n"), /^HTTP\/1\.1 400 /);
  assert.match(await rawRequest(statsPort, "nonsense\r\n\r\n"), /^HTTP\/1\.1 400 /);

  // Idle connections fill the cap; the one past it is refused at once, not queued.
  const idle: TestClient[] = [];
  for (let i = 0; i < MAX_HTTP_CONNECTIONS; i++) idle.push(await TestClient.connect(statsPort));
  try {
    // The server may not have accepted every idle one yet, so a few tries, bounded.
    let refused = "";
    for (let i = 0; i < 50 && !refused.includes(" 503 "); i++) {
      refused = await rawRequest(statsPort, "GET /stats.json HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    assert.match(refused, /^HTTP\/1\.1 503 /);
    // A client that never sends its headers is closed, without an answer.
    assert.equal((await idle[0]!.readAll()).byteLength, 0);
  } finally {
    for (const client of idle) client.close();
  }
  const ok = await fetch(`http://127.0.0.1:${statsPort}/stats.json`);
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).service, "echo");

  const status = await server.stop();
  assert.equal(status.code, 0);
  assert.deepEqual(status.logged.filter((line) => /WRN|ERR|warn|error/i.test(line)), []);
});
