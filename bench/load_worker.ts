/**
 * The Web Worker behind `runLoad({ threads })` in `load.ts`: it runs one share
 * of the connections with the same loop as the main thread, reports its counts
 * every quarter second for the progress line, and posts its tally when done.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { driveLoad, type LoadTally, type WorkerReply, type WorkerRequest } from "./_drive.ts";

/** How often the counts go to the main thread; the progress line is drawn once a second. */
const PROGRESS_INTERVAL_MS = 250;

function post(reply: WorkerReply, transfer: Transferable[] = []): void {
  self.postMessage(reply, transfer);
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const live = { requests: 0, errors: 0 };
  const ticker = setInterval(() => post({ type: "progress", ...live }), PROGRESS_INTERVAL_MS);
  try {
    const tally: LoadTally = await driveLoad(event.data.plan, live);
    post({ type: "done", tally }, [tally.latenciesUs.buffer]);
  } catch (error) {
    post({ type: "error", message: error instanceof Error ? error.message : String(error) });
  } finally {
    clearInterval(ticker);
  }
};
