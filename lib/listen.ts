/**
 * Opening the server's listener, once, for every transport servidor speaks:
 * TCP on IPv4 or IPv6, TLS over TCP, and Unix domain sockets. Everything a
 * person can get wrong here becomes one clear sentence: a `SettingError`
 * naming the thing that cannot be used (a certificate file that cannot be
 * read), a
 * {@link ListenError} for what the machine refused (an address in use).
 *
 * @module
 */
import { formatAddr, formatHostPort } from "./address.ts";
import { describeError, SettingError } from "./errors.ts";

/**
 * Where and how to listen.
 *
 * @example
 * ```ts
 * import type { ListenOptions } from "./listen.ts";
 *
 * const ipv6: ListenOptions = { transport: "tcp", hostname: "::", port: 7000 };
 * const tls: ListenOptions = {
 *   transport: "tls",
 *   hostname: "127.0.0.1",
 *   port: 7443,
 *   certFile: "cert.pem",
 *   keyFile: "key.pem",
 * };
 * const unix: ListenOptions = { transport: "unix", path: "/tmp/servidor.sock" };
 * ```
 */
export type ListenOptions =
  /**
   * Plain TCP; `hostname` may be IPv4 (`127.0.0.1`, `0.0.0.0`) or IPv6 (`::1`, `::`).
   * `reusePort` lets other listeners share the port (the `reuseport` mode).
   */
  | { transport: "tcp"; hostname: string; port: number; reusePort?: boolean }
  /** TLS over TCP, with a PEM certificate chain and private key read from files. */
  | { transport: "tls"; hostname: string; port: number; certFile: string; keyFile: string }
  /** A Unix domain socket at `path`. */
  | { transport: "unix"; path: string };

/**
 * The machine refused to listen (address in use, a live server on the socket); exit status 1.
 *
 * @example
 * ```ts
 * import { ListenError, openListener } from "./listen.ts";
 * import assert from "node:assert/strict";
 *
 * using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * await assert.rejects(
 *   openListener({ transport: "tcp", hostname: "127.0.0.1", port: taken.addr.port }),
 *   ListenError,
 * );
 * ```
 */
export class ListenError extends Error {
  /**
   * Makes the error.
   *
   * @param message One sentence saying where and why.
   * @param options The underlying error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ListenError";
  }
}

/**
 * A listener and what must be undone once the server has stopped.
 *
 * @example
 * ```ts
 * import { openListener } from "./listen.ts";
 *
 * const { listener, address } = await openListener({ transport: "tcp", hostname: "::1", port: 0 })
 *   .catch(() => openListener({ transport: "tcp", hostname: "127.0.0.1", port: 0 }));
 * console.log(`listening on ${address}`); // e.g. [::1]:41234
 * listener.close();
 * ```
 */
export interface Listening {
  /** Hand it to `serve()`. */
  readonly listener: Deno.Listener;
  /** The address as logs print it: `127.0.0.1:7000`, `[::1]:7000`, or the socket's path. */
  readonly address: string;
}

/**
 * Opens a listener. A Unix socket file left behind by a server that died is
 * replaced; one a live server still answers on is refused. Deno removes a
 * Unix socket's file when its listener closes, so a server that stops
 * normally leaves nothing behind.
 *
 * @param options The transport and its address.
 * @returns The listener and its printable address.
 * @throws {SettingError} When a TLS certificate or key cannot be read or used
 *   (`certFile`, `keyFile`), or deno may not read and write a Unix socket's `path`.
 * @throws {ListenError} When the address cannot be listened on.
 *
 * @example Listen on a free IPv4 port
 * ```ts
 * import { openListener } from "./listen.ts";
 * import assert from "node:assert/strict";
 *
 * const { listener, address } = await openListener({
 *   transport: "tcp",
 *   hostname: "127.0.0.1",
 *   port: 0,
 * });
 * assert.match(address, /^127\.0\.0\.1:\d+$/);
 * listener.close();
 * ```
 */
export async function openListener(options: ListenOptions): Promise<Listening> {
  const listener = options.transport === "unix"
    ? await listenUnix(options.path)
    : listenTcp(options);
  return { listener, address: formatAddr(listener.addr) };
}

function listenTcp(options: Exclude<ListenOptions, { transport: "unix" }>): Deno.Listener {
  const { hostname, port } = options;
  const tls = options.transport === "tls"
    ? { cert: readPem("certFile", options.certFile), key: readPem("keyFile", options.keyFile) }
    : undefined;
  try {
    if (tls) return Deno.listenTls({ hostname, port, ...tls });
    const reusePort = options.transport === "tcp" && options.reusePort === true;
    return Deno.listen({ hostname, port, ...(reusePort ? { reusePort } : {}) });
  } catch (error) {
    if (tls && error instanceof Deno.errors.InvalidData) {
      // rustls says which half is bad ("No certificates found", "No key found").
      throw new SettingError(
        "certFile",
        `cannot use the TLS certificate and key: ${describeError(error)}`,
        { cause: error },
      );
    }
    throw new ListenError(
      `cannot listen on ${formatHostPort(hostname, port)}: ${listenReason(error)}`,
      { cause: error },
    );
  }
}

/** Reads a PEM file, turning every failure into one line about that file. */
function readPem(setting: "certFile" | "keyFile", file: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.NotCapable
      ? "no read access (run deno with --allow-read)"
      : describeError(error);
    throw new SettingError(setting, `cannot read ${file}: ${reason}`, { cause: error });
  }
}

async function listenUnix(path: string): Promise<Deno.Listener> {
  const allowed = (name: "read" | "write") =>
    Deno.permissions.querySync({ name, path }).state === "granted";
  if (!allowed("read") || !allowed("write")) {
    throw new SettingError(
      "path",
      `${path} needs read and write access to it: run deno with --allow-read --allow-write`,
    );
  }
  await removeStaleSocket(path);
  try {
    return Deno.listen({ transport: "unix", path });
  } catch (error) {
    throw new ListenError(`cannot listen on ${path}: ${listenReason(error)}`, { cause: error });
  }
}

/**
 * A socket file whose server died stays on disk and makes `listen` fail with
 * "address in use". Connecting tells the two cases apart: a live server
 * accepts, a dead one's file refuses. Only a socket file is ever removed.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new ListenError(`cannot listen on ${path}: ${listenReason(error)}`, { cause: error });
  }
  if (!info.isSocket) {
    throw new ListenError(`cannot listen on ${path}: it exists and is not a socket`);
  }
  try {
    const live = await Deno.connect({ transport: "unix", path });
    live.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionRefused)) {
      throw new ListenError(`cannot listen on ${path}: ${listenReason(error)}`, { cause: error });
    }
    Deno.removeSync(path);
    return;
  }
  throw new ListenError(`cannot listen on ${path}: another server is listening on it`);
}

/**
 * Why a listen failed, in a few words: "address already in use", or the error's own.
 *
 * @param error What `Deno.listen` or `Deno.serve` threw.
 */
export function listenReason(error: unknown): string {
  if (error instanceof Deno.errors.AddrInUse) return "address already in use";
  if (error instanceof Deno.errors.NotCapable) {
    return `${
      describeError(error).replace(/, run again with .*$/, "")
    } (see deno's --allow-* flags)`;
  }
  return describeError(error);
}
