/**
 * The closed loop itself, shared by `load.ts` (one thread) and
 * `load_worker.ts` (one share of the connections per Web Worker). Private to
 * the bench folder: `runLoad()` in `load.ts` is the API.
 *
 * @module
 */

import { writeAll, WriteError } from "../lib/write_all.ts";

/** The part of a run that one thread does; it holds nothing that cannot be posted to a worker. */
export interface LoadPlan {
  host: string;
  port: number;
  conns: number;
  durationMs: number;
  /** Round trips per connection; 0 means until the duration ends. */
  requestsPerConn: number;
  verify: boolean;
  churn: boolean;
  line: boolean;
  request: Uint8Array;
}

/** What one thread counted. */
export interface LoadTally {
  requests: number;
  bytes: number;
  errors: number;
  mismatches: number;
  /** One round-trip time in microseconds per completed request, unsorted. */
  latenciesUs: Float64Array<ArrayBuffer>;
  /** From the first connect to the end of the last loop; a worker's start-up is not in it. */
  elapsedMs: number;
}

/** What `runLoad()` in `load.ts` tells `load_worker.ts`. */
export type WorkerRequest = { type: "start"; plan: LoadPlan };
/** What `load_worker.ts` tells `runLoad()` in `load.ts`. */
export type WorkerReply =
  | { type: "progress"; requests: number; errors: number }
  | { type: "done"; tally: LoadTally }
  | { type: "error"; message: string };

/** A reply line longer than this is treated as a broken server, not buffered forever. */
const MAX_LINE = 16 * 1024 * 1024;
/** After a failed round trip, wait this long so a dead server does not become a busy loop. */
const ERROR_BACKOFF_MS = 10;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Runs one thread's share of the load: `plan.conns` connections, each in its
 * own loop, until the duration ends or each has made its round trips.
 * `live` is updated as requests complete, for progress reports.
 *
 * @param plan This thread's share of the run.
 * @param live Counters updated as the run goes, read by progress reporters.
 * @returns This thread's counts and latencies.
 */
export async function driveLoad(
  plan: LoadPlan,
  live: { requests: number; errors: number },
): Promise<LoadTally> {
  const tally = new Tally(live);
  const deadline = new AbortController();
  const started = performance.now();
  const timer = setTimeout(() => deadline.abort(), plan.durationMs);
  try {
    const loops = Array.from(
      { length: plan.conns },
      () => connectionLoop(plan, deadline.signal, tally),
    );
    await Promise.all(loops);
  } finally {
    clearTimeout(timer);
  }
  return tally.toLoadTally(performance.now() - started);
}

class Tally {
  #latencies = new Float64Array(1 << 14);
  #count = 0;
  bytes = 0;
  mismatches = 0;

  constructor(readonly live: { requests: number; errors: number }) {}

  recordRoundTrip(latencyUs: number, bytes: number): void {
    if (this.#count === this.#latencies.length) {
      const grown = new Float64Array(this.#latencies.length * 2);
      grown.set(this.#latencies);
      this.#latencies = grown;
    }
    this.#latencies[this.#count++] = latencyUs;
    this.bytes += bytes;
    this.live.requests++;
  }

  recordError(): void {
    this.live.errors++;
  }

  toLoadTally(elapsedMs: number): LoadTally {
    return {
      requests: this.live.requests,
      bytes: this.bytes,
      errors: this.live.errors,
      mismatches: this.mismatches,
      // A copy of exactly the used part, so it can be transferred on its own.
      latenciesUs: this.#latencies.slice(0, this.#count),
      elapsedMs,
    };
  }
}

/**
 * One connection's closed loop. When the deadline fires, the socket is closed
 * under whatever read, write or connect is pending, so the loop ends promptly
 * even when the server has stopped answering; failures after the deadline are
 * the deadline's doing and are not counted.
 */
async function connectionLoop(plan: LoadPlan, deadline: AbortSignal, tally: Tally): Promise<void> {
  const reader = new ReplyReader(plan);
  let conn: Deno.TcpConn | null = null;
  const closeOnDeadline = () => closeQuietly(conn);
  deadline.addEventListener("abort", closeOnDeadline);
  try {
    for (let made = 0; plan.requestsPerConn === 0 || made < plan.requestsPerConn; made++) {
      if (deadline.aborted) break;
      let started = performance.now();
      try {
        if (conn === null) {
          conn = await Deno.connect({ hostname: plan.host, port: plan.port, signal: deadline });
          conn.setNoDelay(true);
          reader.reset();
          // Outside churn mode, setting up the connection is not part of a round trip.
          if (!plan.churn) started = performance.now();
        }
        await writeAll(conn, plan.request);
        const reply = await reader.read(conn);
        tally.recordRoundTrip(
          (performance.now() - started) * 1000,
          plan.request.length + reply.length,
        );
        if (plan.verify && !reader.matches(reply)) tally.mismatches++;
        if (plan.churn) {
          closeQuietly(conn);
          conn = null;
        }
      } catch (error) {
        if (deadline.aborted) break;
        if (!isConnectionError(error)) throw error;
        tally.recordError();
        closeQuietly(conn);
        conn = null;
        await new Promise((resolve) => setTimeout(resolve, ERROR_BACKOFF_MS));
      }
    }
  } finally {
    deadline.removeEventListener("abort", closeOnDeadline);
    closeQuietly(conn);
  }
}

/**
 * The failures a server can cause are Deno's I/O error classes (refused, reset,
 * broken pipe, early end of stream, ...); anything else is a bug in this file
 * and is rethrown.
 */
function isConnectionError(error: unknown): boolean {
  // writeAll wraps whatever the socket threw; a failed write is the connection's failure.
  return error instanceof WriteError ||
    Object.values(Deno.errors).some((kind) => error instanceof kind) ||
    // Errnos without a class of their own surface as a plain Error "... (os error N)".
    (error instanceof Error && error.constructor === Error &&
      /\(os error \d+\)/.test(error.message));
}

/** Closes a connection that may already be closed; only that case is swallowed. */
function closeQuietly(conn: Deno.TcpConn | null): void {
  if (conn === null) return;
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

/**
 * Reads one reply: exactly as many bytes as the request in byte mode, or one
 * line in line mode. Bytes past the end of a line are kept for the next read,
 * should a server ever answer in more than one piece.
 */
class ReplyReader {
  readonly #plan: LoadPlan;
  #buffer: Uint8Array;
  #filled = 0;
  /** Set after a line reply: where the returned line ended in `#buffer`. */
  #consumed = 0;
  readonly #forward: Uint8Array;
  readonly #reversed: Uint8Array;

  constructor(plan: LoadPlan) {
    this.#plan = plan;
    this.#buffer = new Uint8Array(plan.line ? 64 * 1024 : plan.request.length);
    this.#forward = stripLineEnd(plan.request);
    this.#reversed = this.#forward.slice().reverse();
  }

  reset(): void {
    this.#filled = 0;
    this.#consumed = 0;
  }

  read(conn: Deno.TcpConn): Promise<Uint8Array> {
    return this.#plan.line ? this.#readLine(conn) : this.#readBytes(conn);
  }

  matches(reply: Uint8Array): boolean {
    if (!this.#plan.line) return equalBytes(reply, this.#plan.request);
    const text = stripLineEnd(reply);
    return equalBytes(text, this.#forward) || equalBytes(text, this.#reversed);
  }

  async #readBytes(conn: Deno.TcpConn): Promise<Uint8Array> {
    const buffer = this.#buffer;
    for (let got = 0; got < buffer.length;) {
      const n = await conn.read(buffer.subarray(got));
      if (n === null) throw new Deno.errors.UnexpectedEof("The server closed mid-reply.");
      got += n;
    }
    return buffer;
  }

  async #readLine(conn: Deno.TcpConn): Promise<Uint8Array> {
    if (this.#consumed > 0) {
      this.#buffer.copyWithin(0, this.#consumed, this.#filled);
      this.#filled -= this.#consumed;
      this.#consumed = 0;
    }
    let searched = 0;
    for (;;) {
      const end = this.#buffer.subarray(searched, this.#filled).indexOf(NEWLINE);
      if (end >= 0) {
        this.#consumed = searched + end + 1;
        return this.#buffer.subarray(0, this.#consumed);
      }
      searched = this.#filled;
      if (this.#filled === this.#buffer.length) {
        if (this.#buffer.length >= MAX_LINE) {
          throw new Deno.errors.InvalidData(`The reply line is longer than ${MAX_LINE} bytes.`);
        }
        const grown = new Uint8Array(this.#buffer.length * 2);
        grown.set(this.#buffer);
        this.#buffer = grown;
      }
      const n = await conn.read(this.#buffer.subarray(this.#filled));
      if (n === null) throw new Deno.errors.UnexpectedEof("The server closed mid-line.");
      this.#filled += n;
    }
  }
}

function stripLineEnd(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === NEWLINE) end--;
  if (end > 0 && bytes[end - 1] === CARRIAGE_RETURN) end--;
  return bytes.subarray(0, end);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
