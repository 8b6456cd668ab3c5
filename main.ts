/**
 * servidor's command line: it picks a command and hands it the rest of the
 * arguments. The commands live in `cli/`, where one flag table per command
 * parses the flags into settings; the server itself is in `lib/`,
 * `strategies/` and `services/`, reached through one door, `serveMode()`.
 *
 *     deno run --allow-net main.ts [serve] --mode=poll --service=echo --port=7000
 *     deno run --allow-net main.ts client --host=127.0.0.1 --port=7000
 *     deno run --allow-net main.ts bench --port=7000
 *
 * @module
 */
import { benchCommand } from "./cli/bench.ts";
import { clientCommand } from "./cli/client.ts";
import { UsageError } from "./cli/flag.ts";
import { printError, printLine } from "./cli/output.ts";
import { serveCommand } from "./cli/serve.ts";
import { VERSION } from "./lib/version.ts";
import { CHILD_COMMAND, runProcessChild } from "./strategies/processes/child.ts";

/**
 * Runs one command line and returns the exit status.
 *
 * @param args The arguments after `main.ts`.
 */
export async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  try {
    switch (first) {
      case "client":
        return await clientCommand(rest);
      case "bench":
        return await benchCommand(rest);
      case "serve":
        return await serveCommand(rest);
      case CHILD_COMMAND:
        // A compiled binary's `processes` child: the binary runs itself as one.
        await runProcessChild();
        return 0;
      case "--version":
        printLine(Deno.stdout, `servidor ${VERSION}`);
        return 0;
      default:
        return await serveCommand(args);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    printError(`${error.message} (see --help)`);
    return 2;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
