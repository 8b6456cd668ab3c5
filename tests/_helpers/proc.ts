/**
 * What a server process holds, read from /proc: memory, descriptors and TCP
 * sockets, for the tests of leaks and backpressure.
 *
 * @module
 */
/**
 * Reads a file under /proc through `cat`: Deno asks for `--allow-all` before
 * it lets a program read /proc itself, and the tests run with less.
 *
 * @returns The text, or `undefined` when there is no such file (or no /proc).
 */
export function readProc(path: string): string | undefined {
  try {
    const output = new Deno.Command("cat", { args: [path], stderr: "null" }).outputSync();
    return output.success ? new TextDecoder().decode(output.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether /proc can be read here (Linux). */
export const HAVE_PROC = readProc("/proc/version") !== undefined;

/** A number from /proc/PID/status, e.g. `procStatus(pid, "VmRSS")` (in kB for sizes). */
export function procStatus(pid: number, field: string): number {
  const status = readProc(`/proc/${pid}/status`) ?? "";
  const match = new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** How many descriptors a process has open, from /proc/PID/fd. */
export function openDescriptors(pid: number): number {
  const output = new Deno.Command("ls", { args: ["-1", `/proc/${pid}/fd`] }).outputSync();
  if (!output.success) throw new Error(`cannot list /proc/${pid}/fd`);
  return new TextDecoder().decode(output.stdout).split("\n").filter(Boolean).length;
}

/** How many TCP sockets (listeners and connections) a process holds, from /proc. */
export function tcpSockets(pid: number): number {
  const output = new Deno.Command("bash", {
    args: ["-c", `for f in /proc/${pid}/fd/*; do readlink "$f"; done`],
    stderr: "null",
  }).outputSync();
  const inodes = new Set(
    [...new TextDecoder().decode(output.stdout).matchAll(/^socket:\[(\d+)\]$/gm)].map((m) => m[1]),
  );
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const row of (readProc(table) ?? "").split("\n").slice(1)) {
      const inode = row.trim().split(/\s+/)[9];
      if (inode !== undefined && inodes.has(inode)) count++;
    }
  }
  return count;
}
