/**
 * The entry point of a `reuseport` Worker: a whole server on its own thread.
 * It opens its own listener on the shared port with SO_REUSEPORT, so the
 * kernel hands it a share of the new connections, and serves them with the
 * `poll` strategy through the same `serve()` as every other mode. Its hub
 * joins the others' over a bus, so chat spans every Worker.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
import { Admission } from "../lib/admission.ts";
import { openBus } from "../lib/bus.ts";
import { Cidr } from "../lib/cidr.ts";
import { describeError } from "../lib/errors.ts";
import { configureLogging } from "../lib/log.ts";
import { serve } from "../lib/server.ts";
import { loadService } from "../services/mod.ts";
import { poll } from "./poll.ts";
import type { FromListener, ToListener } from "./reuseport_protocol.ts";

const stop = new AbortController();

function post(message: FromListener): void {
  self.postMessage(message);
}

async function run(start: Extract<ToListener, { type: "start" }>): Promise<void> {
  configureLogging(start.log);
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: start.hostname, port: start.port, reusePort: true });
  } catch (error) {
    post({ type: "failed", reason: `cannot listen: ${describeError(error)}` });
    return;
  }
  let bus;
  try {
    bus = await openBus(start.bus);
  } catch (error) {
    listener.close();
    post({ type: "failed", reason: describeError(error) });
    return;
  }
  try {
    const service = await loadService(start.service, start.serviceArgs);
    const { maxConns, maxPerIp, allow, deny } = start.admission;
    post({ type: "listening" });
    const summary = await serve({
      listener,
      strategy: poll,
      service,
      serviceSpecifier: start.service,
      serviceArgs: start.serviceArgs,
      maxLine: start.maxLine,
      admission: new Admission({
        maxConns,
        maxPerIp,
        allow: allow.map((cidr) => Cidr.parse(cidr)),
        deny: deny.map((cidr) => Cidr.parse(cidr)),
      }),
      idleTimeoutMs: start.idleTimeoutMs,
      graceMs: start.graceMs,
      signal: stop.signal,
      proxyProtocol: start.proxyProtocol,
      bus,
      ids: { first: start.index, step: start.threads },
    });
    post({ type: "stopped", summary });
  } finally {
    await bus.close();
  }
}

self.onmessage = (event: MessageEvent<ToListener>) => {
  const message = event.data;
  switch (message.type) {
    case "start":
      run(message).catch((error) => post({ type: "failed", reason: describeError(error) }));
      break;
    case "stop":
      stop.abort();
      break;
  }
};
