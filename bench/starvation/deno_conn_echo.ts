// The least a Deno server can do with Deno.Conn: accept, then read and write back, one loop per
// client. No servidor code. With a first argument, listens with that backlog instead of the most the
// kernel allows. On SIGTERM it prints how many clients it accepted and the longest wait between two
// accepts (bench/accept_storm.ts reads it). Usage: deno run --allow-net deno_conn_echo.ts [BACKLOG] PORT
const args = Deno.args;
const port = Number(args.at(-1));
const tcpBacklog = args.length > 1 ? Number(args[0]) : 65_535;
const listener = Deno.listen({ hostname: "127.0.0.1", port, tcpBacklog });
let accepted = 0;
let last = 0;
let longest = 0;
Deno.addSignalListener("SIGTERM", () => {
  console.error(`accepted=${accepted} longest_gap_ms=${Math.round(longest)}`);
  Deno.exit(0);
});
async function echo(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(1024);
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      for (let sent = 0; sent < n;) sent += await conn.write(buffer.subarray(sent, n));
    }
  } catch {
    // A reset ends this client only.
  }
  conn.close();
}
for await (const conn of listener) {
  const now = performance.now();
  if (accepted > 0) longest = Math.max(longest, now - last);
  last = now;
  accepted++;
  conn.setNoDelay(true);
  echo(conn);
}
