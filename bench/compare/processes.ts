/**
 * The harness's child processes and time limits: every command it runs is
 * tracked, so that any way out (an error, Ctrl-C, the watchdog) can stop it,
 * and every wait is bounded.
 *
 * @module
 */

export const HOST = "127.0.0.1";
export const REPO_ROOT = new URL("../../", import.meta.url);

/** A cold `deno run` may have to fetch and compile its modules before it listens. */
export const START_TIMEOUT_MS = 30_000;
/** echoload opens its connections first; 2,000 of them take well under this. */
export const LOAD_GRACE_MS = 30_000;
/** A server that ignores SIGTERM this long gets SIGKILL. */
export const STOP_TIMEOUT_MS = 3_000;

/** Everything started, so that any way out of the harness can stop it. */
export const children = new Set<Deno.ChildProcess>();
/** Progress goes to stderr; stdout carries only the final Markdown. */
export const log = (line: string): void => console.error(line);

export async function stopChild(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // It has already exited.
  }
  try {
    await withTimeout(child.status, STOP_TIMEOUT_MS, "stopping");
  } catch {
    try {
      child.kill("SIGKILL");
    } catch {
      // It exited in between.
    }
    await child.status;
  }
  children.delete(child);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopChild));
}

/**
 * For the signal handlers and the watchdog, which cannot wait for the steps in
 * flight to unwind: kill every child at once, reap them (for at most a second),
 * remove the temporary folder, and exit.
 */
export async function abandon(workDir: string, code: number): Promise<never> {
  const pending = [...children];
  for (const child of pending) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
  await withTimeout(Promise.all(pending.map((child) => child.status)), 1_000, "reaping")
    .catch(() => {});
  try {
    Deno.removeSync(workDir, { recursive: true });
  } catch {
    // Best effort: it is a temporary folder.
  }
  Deno.exit(code);
}

export interface Captured {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs a command to the end, killing it after `timeoutMs`; a missing command is `ok: false`. */
export async function capture(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<Captured> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      cwd: REPO_ROOT.pathname,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { ok: false, stdout: "", stderr: "" };
    throw error;
  }
  children.add(child);
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // It finished just now.
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { ok: out.success, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  } finally {
    clearTimeout(timer);
    children.delete(child);
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}
