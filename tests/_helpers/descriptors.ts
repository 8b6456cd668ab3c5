/**
 * A server that runs out of file descriptors: started under `prlimit`, as
 * `ulimit -n` would limit it, and filled until it holds every one it may.
 *
 * @module
 */
import { CliServer, MAIN } from "./cli.ts";
import { openDescriptors } from "./proc.ts";
import { eventually, hasCommand } from "./tools.ts";
import { TestClient } from "../../testing.ts";

/** Whether `prlimit` (util-linux) is here to limit a server's descriptors. */
export const HAVE_PRLIMIT = hasCommand("prlimit");

/** Starts the CLI with at most `files` descriptors, as `ulimit -n` would. */
export function startWithDescriptors(files: number, args: string[]): Promise<CliServer> {
  return CliServer.startProgram("prlimit", [
    `--nofile=${files}:${files}`,
    Deno.execPath(),
    "run",
    "--no-check",
    "--allow-net",
    "--allow-read",
    MAIN,
    "--port=0",
    ...args,
  ]);
}

/**
 * Connects more clients than `server` has descriptors for, each sending a
 * line, and resolves once the server holds all `files` of its descriptors:
 * the last clients then wait in the kernel's queue, and an accept has failed
 * for want of a descriptor. (Over `node:net` a failed accept logs nothing, so
 * the descriptors themselves say when they have run out.)
 *
 * @returns The clients, for the caller to close.
 */
export async function exhaustDescriptors(server: CliServer, files: number): Promise<TestClient[]> {
  const clients: TestClient[] = [];
  try {
    for (let i = 0; i < files; i++) {
      const client = await TestClient.connect(server.port);
      clients.push(client);
      await client.send("x\n");
    }
    await eventually("the server holds every descriptor it may", () => {
      return Promise.resolve(openDescriptors(server.pid) >= files ? true : undefined);
    });
  } catch (error) {
    for (const client of clients) client.close();
    throw error;
  }
  return clients;
}
