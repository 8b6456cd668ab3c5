/**
 * The entry point of a `processes` child: it runs one client's service, then
 * exits. Its standard input brings frames from the main process, which owns
 * the socket: the client's bytes and control messages; its standard output
 * takes the service's sends, broadcasts and control messages back. Standard
 * error is the server's, so the child's log lines join the server's log.
 *
 * It is started as `deno run … strategies/processes/child.ts`, or, in a
 * compiled binary, as the binary itself with {@link CHILD_COMMAND}.
 *
 * @module
 */
import { ConnectionClosedError } from "../../lib/errors.ts";
import { failedMessage } from "../worker_protocol.ts";
import { configureLogging } from "../../lib/log.ts";
import type { PeerInfo, Service, Session } from "../../lib/service.ts";
import { SessionDriver } from "../../lib/service_driver.ts";
import { loadablePinnedCopy } from "../../services/pinned_copy.ts";
import { loadService } from "../../services/registry.ts";
import {
  BROADCAST,
  CONTROL,
  DATA,
  type Frame,
  FrameReader,
  FrameWriter,
  parseControl,
} from "./frames.ts";
import type { FromChild, ToChild } from "./protocol.ts";

/**
 * The hidden first argument that makes a compiled binary run as a child:
 * a compiled binary has only its own entry point, so it is told this way.
 */
export const CHILD_COMMAND = "__servidor_process_child";

const encoder = new TextEncoder();
type Opening = Extract<ToChild, { type: "open" }>;

/** A session whose every action is a frame on standard output, in order. */
class PipeSession implements Session {
  readonly id: number;
  readonly peer: string;
  readonly remoteAddr: Deno.Addr;
  readonly localAddr: Deno.Addr;
  readonly #out: FrameWriter;
  readonly #closing = new AbortController();
  readonly #pendingWho = new Map<number, (peers: PeerInfo[]) => void>();
  #nextRequest = 0;

  constructor(opening: Opening, out: FrameWriter) {
    this.id = opening.id;
    this.peer = opening.peer;
    this.remoteAddr = opening.remoteAddr;
    this.localAddr = opening.localAddr;
    this.#out = out;
  }

  get signal(): AbortSignal {
    return this.#closing.signal;
  }

  /** Resolves once the pipe has taken the bytes: a full pipe is a client that does not read. */
  send(data: string | Uint8Array): Promise<void> {
    if (this.signal.aborted) return Promise.reject(new ConnectionClosedError(this.peer));
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    // A pipe that is gone means the main process closed the connection, or is gone itself.
    return this.#out.frame(DATA, bytes).catch(() => {
      throw new ConnectionClosedError(this.peer);
    });
  }

  sendLine(text: string): Promise<void> {
    return this.send(`${text}\r\n`);
  }

  broadcast(data: string | Uint8Array): void {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    this.#out.frame(BROADCAST, bytes).catch(() => {});
  }

  setName(name: string): void {
    control(this.#out, { type: "name", name });
  }

  who(): Promise<PeerInfo[]> {
    if (this.signal.aborted) return Promise.resolve([]);
    const request = ++this.#nextRequest;
    return new Promise((resolve) => {
      this.#pendingWho.set(request, resolve);
      control(this.#out, { type: "who", request });
    });
  }

  close(): void {
    control(this.#out, { type: "close" });
  }

  answerWho(request: number, peers: PeerInfo[]): void {
    this.#pendingWho.get(request)?.(peers);
    this.#pendingWho.delete(request);
  }

  /** The connection is gone, or the service is done: later sends fail, `who` gets nobody. */
  end(): void {
    this.#closing.abort();
    for (const answer of this.#pendingWho.values()) answer([]);
    this.#pendingWho.clear();
  }
}

/** Queues a control message; a pipe that is gone means the main process is, and so are we soon. */
function control(out: FrameWriter, message: FromChild): void {
  out.control(message).catch(() => {});
}

/**
 * Runs one client's service over standard input and output, then exits.
 *
 * @returns Only if the main process went away before it sent the client.
 */
export async function runProcessChild(): Promise<void> {
  const out = new FrameWriter(Deno.stdout);
  const frames = readFrames(Deno.stdin);
  const first = await frames.next();
  if (first.done || first.value.kind !== CONTROL) return;
  const opening = parseControl<ToChild>(first.value.payload);
  if (opening.type !== "open") return;
  configureLogging(opening.log);

  const reportFailure = (error: unknown) => {
    control(out, failedMessage(error));
  };
  let service: Service;
  try {
    // A module is loaded from the texts the server pinned, not from the file, which may have changed.
    const specifier = opening.pinned ? loadablePinnedCopy(opening.pinned) : opening.service;
    service = await loadService(specifier, opening.serviceArgs);
  } catch (error) {
    reportFailure(error);
    control(out, { type: "finished" });
    await out.flushed();
    Deno.exit(0);
  }
  if (Deno.build.standalone) await giveUpPermissions(opening);
  control(out, { type: "loaded" });

  let timings: number[] = [];
  const takeTimings = () => {
    if (timings.length === 0) return undefined;
    const taken = timings;
    timings = [];
    return taken;
  };
  const onRequest = opening.timeRequests
    ? (seconds: number) => void timings.push(seconds)
    : undefined;
  const session = new PipeSession(opening, out);
  const driver = new SessionDriver(service, session, opening.maxLine, onRequest);

  // The client's input, in order; the main process's window bounds it.
  const inputs: (Uint8Array | "end")[] = [];
  let wake: (() => void) | undefined;
  let gone = false;
  const serving = (async () => {
    driver.start(reportFailure);
    for (;;) {
      const next = inputs.shift();
      if (next === undefined) {
        if (gone) return;
        await new Promise<void>((resolve) => wake = resolve);
        continue;
      }
      if (gone || session.signal.aborted) return;
      if (next === "end") {
        await driver.endInput();
        return;
      }
      try {
        await driver.input(next);
      } catch (error) {
        reportFailure(error);
      }
      control(out, { type: "handled", bytes: next.byteLength, requests: takeTimings() });
      // The reply and this acknowledgement go out in one write.
      out.flush();
    }
  })().catch(reportFailure);

  const onGone = () => {
    gone = true;
    session.end();
    wake?.();
  };
  // Standard input is read all the time, so a `who` answer or `closed` is
  // never stuck behind input the service has not handled yet.
  const reading = (async () => {
    for await (const frame of frames) {
      if (frame.kind === DATA) {
        inputs.push(frame.payload);
        wake?.();
        continue;
      }
      if (frame.kind !== CONTROL) continue;
      const message = parseControl<ToChild>(frame.payload);
      if (message.type === "who") {
        session.answerWho(message.request, message.peers);
      } else if (message.type === "end") {
        inputs.push("end");
        wake?.();
      } else if (message.type === "closed") {
        onGone();
        return;
      }
    }
    // The main process closed our input without a word: it is going away.
    onGone();
  })();

  await Promise.race([serving, reading]);
  session.end();
  try {
    await driver.finish();
  } catch (error) {
    reportFailure(error);
  }
  control(out, { type: "finished", requests: takeTimings() });
  await out.flushed();
  // Exit now: a timer or a read the service left behind must not keep this process alive.
  Deno.exit(0);
}

/**
 * A compiled binary runs its children with every permission it was compiled
 * with; a child keeps only what its service needs, as `command.ts` gives a
 * child under `deno run`: running exec's program, reading a module's files.
 */
async function giveUpPermissions(opening: Opening): Promise<void> {
  const unneeded: Deno.PermissionName[] = ["net", "write", "env", "sys", "ffi"];
  if (opening.service !== "exec") unneeded.push("run");
  if (!opening.service.startsWith("file:")) unneeded.push("read");
  for (const name of unneeded) await Deno.permissions.revoke({ name });
}

/** The frames on a reader, until it ends. */
async function* readFrames(input: { read(buffer: Uint8Array): Promise<number | null> }) {
  const reader = new FrameReader();
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    let n: number | null;
    try {
      n = await input.read(buffer);
    } catch {
      return;
    }
    if (n === null) return;
    yield* reader.push(buffer.subarray(0, n)) as Frame[];
  }
}

if (import.meta.main) await runProcessChild();
