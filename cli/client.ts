/**
 * The `client` command: a netcat-like client for servidor's transports.
 *
 * @module
 */
import { formatHostPort } from "../lib/address.ts";
import { type ClientOptions, runClient } from "../lib/client.ts";
import { describeError } from "../lib/errors.ts";
import {
  type Flag,
  flagHelp,
  helpFlag,
  parseFlags,
  switchFlag,
  UsageError,
  valueFlag,
} from "./flag.ts";
import { printError, printLine } from "./output.ts";
import { host, port, text } from "./parse.ts";

/** What the client flags fill in. */
export interface ClientCommandLine {
  help: boolean;
  hostname?: string;
  port?: number;
  tls: boolean;
  ca?: string;
  unix?: string;
}

/** Every flag of `client`, in the order `--help` lists them. */
export const CLIENT_FLAGS: readonly Flag<ClientCommandLine>[] = [
  valueFlag({
    name: "host",
    placeholder: "HOST",
    help: "server address",
    default: "127.0.0.1",
    parse: host,
    set: (line, hostname) => void (line.hostname = hostname),
  }),
  valueFlag({
    name: "port",
    placeholder: "PORT",
    help: "server port",
    default: "7000",
    parse: port,
    set: (line, value) => void (line.port = value),
  }),
  switchFlag({
    name: "tls",
    help: "connect with TLS, checking the server's certificate",
    set: (line, on) => void (line.tls = on),
  }),
  valueFlag({
    name: "ca",
    placeholder: "FILE",
    help: "also trust this PEM certificate (e.g. the server's own, self-signed)",
    parse: text,
    set: (line, file) => void (line.ca = file),
  }),
  valueFlag({
    name: "unix",
    placeholder: "PATH",
    help: "connect to a Unix domain socket instead of --host/--port",
    parse: text,
    set: (line, path) => void (line.unix = path),
  }),
  helpFlag(),
];

/** `--help` for `client`, made from {@link CLIENT_FLAGS}. */
export function clientHelp(): string {
  return `Usage: servidor client [--host=HOST] [--port=PORT] [--tls [--ca=FILE]] [--unix=PATH]

Sends standard input to the server and prints what comes back. End of input
half-closes the connection; the client exits when the server closes.

${flagHelp(CLIENT_FLAGS, 16)}
`;
}

function readCaFile(file: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch (error) {
    throw new UsageError(`cannot read --ca ${file}: ${describeError(error)}`);
  }
}

/** Where the client flags say to connect. */
function clientOptions(line: ClientCommandLine): ClientOptions {
  const { hostname = "127.0.0.1", port = 7000 } = line;
  if (line.ca !== undefined && !line.tls) throw new UsageError("--ca needs --tls");
  if (line.unix !== undefined) {
    if (line.tls) throw new UsageError("--unix cannot be combined with --tls");
    return { transport: "unix", path: line.unix };
  }
  if (line.tls) {
    const caCerts = line.ca === undefined ? undefined : [readCaFile(line.ca)];
    return { transport: "tls", hostname, port, caCerts };
  }
  return { transport: "tcp", hostname, port };
}

/**
 * Runs `servidor client`.
 *
 * @param args The arguments after `client`.
 * @returns The exit status: 0 when the server closed, 1 when it could not be reached.
 * @throws {UsageError} For a mistake in the command line.
 */
export async function clientCommand(args: string[]): Promise<number> {
  const line = parseFlags(args, CLIENT_FLAGS, { help: false, tls: false });
  if (line.help) {
    printLine(Deno.stdout, clientHelp().trimEnd());
    return 0;
  }
  const options = clientOptions(line);
  try {
    await runClient(options);
  } catch (error) {
    const where = options.transport === "unix"
      ? options.path
      : formatHostPort(options.hostname, options.port);
    printError(`cannot talk to ${where}: ${describeError(error)}`);
    return 1;
  }
  return 0;
}
