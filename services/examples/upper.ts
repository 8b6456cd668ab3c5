/**
 * Your own service, as an example: it answers each line in capitals, and
 * `/count` with how many lines this client has sent. Run it under any mode:
 *
 *     deno run --allow-net --allow-read main.ts --service=./services/examples/upper.ts
 *
 * @module
 */
import type { LineService, Session } from "../../mod.ts";

/** Per-client state lives outside the service, keyed by session. */
const linesSeen = new WeakMap<Session, number>();

/** Capitals for every line; `/count` for a tally. */
const upper: LineService = {
  name: "upper",
  description: "answers each line in capitals; /count says how many lines you sent",
  framing: "lines",
  line(session, line) {
    const seen = (linesSeen.get(session) ?? 0) + 1;
    linesSeen.set(session, seen);
    return session.sendLine(line === "/count" ? `${seen} lines so far` : line.toUpperCase());
  },
};

export default upper;
