/**
 * How a `processes` child is started, and with which permissions. The child
 * is a process of its own, so the main process chooses its flags: it gets
 * only what its service needs to load and run, and never the network (its
 * client's bytes come through its standard input and output).
 *
 * @module
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CHILD_COMMAND } from "./child.ts";

/** What to run for one child. */
export interface ChildCommand {
  /** The program: Deno, or the compiled binary itself. */
  readonly command: string;
  /** Its arguments. */
  readonly args: readonly string[];
}

/**
 * The child's entry, bundled into one JavaScript file (`deno task bundle`):
 * with no TypeScript to strip, no import map to read and no npm package to
 * resolve, it starts in about half the time `child.ts` does, and it runs
 * with `--no-config`, whatever folder the server was started in.
 */
const CHILD_BUNDLE = new URL("../_bundled/process_child.js", import.meta.url);

/**
 * The Deno permissions a child needs for this service: none for a built-in,
 * running its program for exec, reading its folder for a module of your own
 * (a service that needs more asks for it in its own code's errors).
 *
 * @param service A built-in name, `exec`, or a module URL.
 * @param serviceArgs exec's command and its arguments.
 */
export function childPermissions(service: string, serviceArgs: readonly string[]): string[] {
  if (service === "exec") {
    const [command] = serviceArgs;
    return command === undefined ? [] : [`--allow-run=${command}`];
  }
  if (!URL.canParse(service)) return [];
  const url = new URL(service);
  if (url.protocol === "file:") return [`--allow-read=${dirname(fileURLToPath(url))}`];
  if (url.protocol === "http:" || url.protocol === "https:") return [`--allow-import=${url.host}`];
  return [];
}

/**
 * The command line of a child for this service. Under `deno run`, Deno runs
 * the child's bundled entry with only {@link childPermissions}. A compiled binary has
 * no Deno to run and no flags to give: it runs itself with
 * {@link CHILD_COMMAND}, and the child gives up the permissions it does not
 * need as it starts (`Deno.permissions.revoke`).
 *
 * @param service A built-in name, `exec`, or a module URL.
 * @param serviceArgs exec's command and its arguments.
 */
export function childCommand(service: string, serviceArgs: readonly string[]): ChildCommand {
  if (Deno.build.standalone) return { command: Deno.execPath(), args: [CHILD_COMMAND] };
  return {
    command: Deno.execPath(),
    args: [
      "run",
      "--no-prompt",
      "--no-config",
      ...childPermissions(service, serviceArgs),
      CHILD_BUNDLE.href,
    ],
  };
}
