// The least a Deno server can do with Deno.Conn: accept, then read and write back, one loop per
// client. No servidor code. Usage: deno run --allow-net deno_conn_echo.ts PORT
const port = Number(Deno.args[0]);
const listener = Deno.listen({ hostname: "127.0.0.1", port, tcpBacklog: 65_535 });
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
  conn.setNoDelay(true);
  echo(conn);
}
