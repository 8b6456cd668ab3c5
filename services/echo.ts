/**
 * `echo` (RFC 862): every byte the client sends comes back unchanged.
 *
 * @module
 */
import type { ByteService } from "../lib/service.ts";

/** Sends back what it receives. */
export const echo: ByteService = {
  name: "echo",
  description: "RFC 862: sends back every byte it receives",
  framing: "bytes",
  data: (session, chunk) => session.send(chunk),
};
