/**
 * `compute`: a CPU-bound line service. `sha256 ROUNDS TEXT` hashes TEXT, then
 * hashes the hex digest again, ROUNDS times in all, and answers the final hex
 * digest. It computes synchronously on the service's own thread, so it truly
 * occupies that thread: under `poll` every other client waits for it, under
 * `workers` only its own client does. That difference is why `workers` exists.
 *
 * @module
 */
import type { LineService } from "../lib/service.ts";

type CreateHash = typeof import("node:crypto").createHash;

/**
 * `node:crypto` is loaded on the first request rather than with the module:
 * every Worker loads the registry of services, and this one import would add
 * about 4 MiB to each of them whatever service it runs.
 */
let createHash: CreateHash | undefined;

/** Loads `node:crypto` once; later calls return at once. */
export async function loadHashing(): Promise<void> {
  createHash ??= (await import("node:crypto")).createHash;
}

/**
 * The most rounds one request may ask for: about 2.5 s of one idle core here
 * (2.5 µs a round), so that even on a machine ten times busier it ends well
 * inside the `workers` handler timeout's default of 30 s. Ten million took
 * ~25 s idle, and every such request timed out on a loaded machine.
 */
export const MAX_ROUNDS = 1_000_000;

const USAGE = `ERR usage: sha256 ROUNDS TEXT (ROUNDS from 1 to ${MAX_ROUNDS})`;

/**
 * Hashes `text` with SHA-256, then the hex digest again, `rounds` times in all.
 *
 * @param rounds How many hashes, at least 1.
 * @param text What the first hash reads, as UTF-8.
 * @returns The last digest in lower-case hex.
 * @throws {Error} Unless {@link loadHashing} has finished.
 *
 * @example
 * ```ts
 * import { loadHashing, sha256Rounds } from "./compute.ts";
 * import assert from "node:assert/strict";
 *
 * await loadHashing();
 * assert.equal(
 *   sha256Rounds(1, "abc"),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 */
export function sha256Rounds(rounds: number, text: string): string {
  if (!createHash) throw new Error("call loadHashing() before sha256Rounds()");
  let digest = createHash("sha256").update(text, "utf8").digest("hex");
  for (let round = 1; round < rounds; round++) {
    digest = createHash("sha256").update(digest, "latin1").digest("hex");
  }
  return digest;
}

/**
 * Parses one request line.
 *
 * @returns The request, or the `ERR` line to answer with.
 */
export function parseComputeRequest(line: string): { rounds: number; text: string } | string {
  const match = /^sha256 +(\d+) (.*)$/.exec(line);
  if (!match) return USAGE;
  const rounds = Number(match[1]);
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS) return USAGE;
  return { rounds, text: match[2] ?? "" };
}

/** Answers `sha256 ROUNDS TEXT` with a repeated SHA-256 digest. */
export const compute: LineService = {
  name: "compute",
  description: "CPU-bound: `sha256 ROUNDS TEXT` answers TEXT hashed ROUNDS times",
  framing: "lines",
  async line(session, line) {
    const request = parseComputeRequest(line);
    if (typeof request === "string") return session.sendLine(request);
    await loadHashing();
    return session.sendLine(sha256Rounds(request.rounds, request.text));
  },
};
