/**
 * The minimal reproduction of a Deno 2.9.6 bug, and of its remedy: once an
 * accept through `node:net` fails for want of descriptors (EMFILE), that
 * listener never accepts again, even after descriptors are free. Calling the
 * native `listen()` of the server's handle again whenever a socket closes
 * (what `lib/node_tcp.ts` does) makes it accept again. A `Deno.listen`
 * accept loop sees the error, pauses and goes on.
 *
 * ```sh
 * deno run -A bench/node_net_emfile.ts      # needs prlimit (util-linux)
 * ```
 *
 * Each echo server, no servidor code, runs under `prlimit --nofile=64`; 100
 * clients connect and send a byte (so some accepts fail), all of them close,
 * and then one more client sends `ping` and waits up to 3 s for its echo.
 * (Each server listens for SIGTERM from the start, as servidor does: Deno
 * sets up its signal handling when first asked, and panics if that happens
 * while descriptors have run out.)
 *
 * From Deno's source (libs/core/uv_compat/tcp.rs, `poll_tcp_handle`): the
 * listener drains `poll_accept` while it returns a connection and stops at
 * the first error without clearing tokio's readiness, so no waker is
 * registered and the listener is never polled again. `uv_listen` on a handle
 * that already listens skips bind and listen and calls `mark_ready()` on the
 * handle's waker, so the listener is polled once more and accepts whatever
 * waits, as long as a descriptor is free.
 *
 * ```
 * node:net          after running out of descriptors: never accepts again
 * node:net + re-arm after running out of descriptors: accepts again
 * Deno.listen       after running out of descriptors: accepts again
 * ```
 *
 * @module
 */

const SERVERS: Record<string, string> = {
  "node:net": `
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
import net from "node:net";
const server = net.createServer((socket) => {
  socket.on("data", (data) => socket.write(data));
  socket.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`,
  "node:net + re-arm": `
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
import net from "node:net";
const server = net.createServer((socket) => {
  socket.on("data", (data) => socket.write(data));
  socket.on("error", () => {});
  // A descriptor is free again: a second native listen() on the listening
  // handle skips bind and listen and marks the handle ready to poll again.
  socket.on("close", () => server._handle?.listen(511));
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`,
  "Deno.listen": `
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(listener.addr.port);
async function echo(conn) {
  const buffer = new Uint8Array(1024);
  try {
    for (let n; (n = await conn.read(buffer)) !== null;) await conn.write(buffer.subarray(0, n));
  } catch { /* the client left */ }
  try { conn.close(); } catch { /* already closed */ }
}
for (;;) {
  try {
    echo(await listener.accept());
  } catch {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
`,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a fresh client meets after the descriptors ran out and came back. */
async function afterExhaustion(code: string): Promise<string> {
  const child = new Deno.Command("prlimit", {
    args: ["--nofile=64:64", Deno.execPath(), "eval", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let exited = false;
  const status = child.status.then((status) => {
    exited = true;
    return status;
  });
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const port = Number((await reader.read()).value);
    reader.releaseLock();
    const clients: Deno.Conn[] = [];
    for (let i = 0; i < 100; i++) {
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      await client.write(new Uint8Array([120]));
      clients.push(client);
    }
    await sleep(1000);
    for (const client of clients) client.close();
    await sleep(1000);
    if (exited) return `the process died (exit code ${(await status).code})`;
    using late = await Deno.connect({ hostname: "127.0.0.1", port });
    await late.write(new TextEncoder().encode("ping"));
    const reply = late.read(new Uint8Array(4)).catch(() => null);
    const answered = (await Promise.race([reply, sleep(3000).then(() => null)])) === 4;
    return answered ? "accepts again" : "never accepts again";
  } finally {
    if (!exited) child.kill();
    await status;
    await child.stdout.cancel().catch(() => {});
  }
}

if (import.meta.main) {
  for (const [name, code] of Object.entries(SERVERS)) {
    console.log(
      `${name.padEnd(17)} after running out of descriptors: ${await afterExhaustion(code)}`,
    );
  }
}
