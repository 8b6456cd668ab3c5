/**
 * `discard` (RFC 863): reads everything and answers nothing.
 *
 * @module
 */
import type { ByteService } from "../lib/service.ts";

/** Throws away what it receives. */
export const discard: ByteService = {
  name: "discard",
  description: "RFC 863: reads and throws away every byte",
  framing: "bytes",
  data: () => {},
};
