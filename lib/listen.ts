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
import { formatAddr, formatHostPort, isIpv4Mapped } from "./address.ts";
import type { Socket } from "./connection.ts";
import { describeError, SettingError } from "./errors.ts";
import { logger } from "./log.ts";

const log = logger("server");

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
  | {
    transport: "tcp";
    hostname: string;
    port: number;
    reusePort?: boolean;
    /** On `::`, turn away IPv4 clients; see {@link Ipv6OnlyListener}. */
    ipv6Only?: boolean;
    /** The listen backlog; default {@link LISTEN_BACKLOG}. */
    backlog?: number;
    /**
     * Which of Deno's APIs serves the sockets: `node` (default), Deno's
     * `node:net` handles, or `deno`, `Deno.listen` and `Deno.Conn`. See
     * {@link TcpApi}. With `reusePort` it is always `deno`.
     */
    api?: TcpApi;
  }
  /** TLS over TCP, with a PEM certificate chain and private key read from files. */
  | {
    transport: "tls";
    hostname: string;
    port: number;
    certFile: string;
    keyFile: string;
    /** As for plain TCP. */
    ipv6Only?: boolean;
    /** As for plain TCP. */
    backlog?: number;
  }
  /** A Unix domain socket at `path`. */
  | { transport: "unix"; path: string };

/**
 * How many connections the kernel may hold, handshake done, until the server
 * accepts them. Deno's default, like Node's, is 511: when thousands of clients
 * connect at once, the rest overflow it, their handshakes are dropped
 * (`nstat -az TcpExtListenOverflows` counts them), and they wait out SYN
 * retransmissions of 1, 3 and 7 seconds. The kernel caps what is asked at
 * `net.core.somaxconn` (4096 on Linux since 5.4), so asking for the most
 * takes whatever the machine allows; raise that sysctl to go further.
 *
 * @example
 * ```ts
 * import { LISTEN_BACKLOG } from "./listen.ts";
 *
 * using listener = Deno.listen({ hostname: "127.0.0.1", port: 0, tcpBacklog: LISTEN_BACKLOG });
 * ```
 */
export const LISTEN_BACKLOG = 65_535;

/**
 * The two ways Deno serves plain TCP. `node`, the default, is Deno's
 * `node:net`, on handles that are read when the kernel says bytes arrived
 * and a listener that accepts in batches, re-armed while clients arrive: no read is
 * pending per idle client, which at thousands of clients is most of the
 * memory, the slowest replies and the connect storm. `deno` is `Deno.listen`
 * and `Deno.Conn`, which TLS, Unix sockets and `reuseport`'s shared port
 * always use: a read pending on every idle client starves some of them for
 * seconds at two thousand clients, but a few busy clients are served faster,
 * up to 1.5 × on 64 B echoes and 2 × on 64 KiB ones (docs/scale.md has both,
 * measured).
 */
export const TCP_APIS = ["node", "deno"] as const;

/** One of {@link TCP_APIS}. */
export type TcpApi = typeof TCP_APIS[number];

/**
 * What the server's accept loop needs of a listener: `Deno.Listener` has it,
 * and so does the `node:net` one `openListener` opens for plain TCP.
 *
 * @example
 * ```ts
 * import type { Listener } from "./listen.ts";
 *
 * using denoListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const listener: Listener = denoListener;
 * console.log(listener.addr);
 * ```
 */
export interface Listener {
  /** Where it listens. */
  readonly addr: Deno.Addr;
  /** The next client; rejects with `Deno.errors.BadResource` once closed. */
  accept(): Promise<Socket>;
  /** Stops listening. */
  close(): void;
}

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
  readonly listener: Listener;
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
    : await listenTcp(options);
  return { listener, address: formatAddr(listener.addr) };
}

async function listenTcp(
  options: Exclude<ListenOptions, { transport: "unix" }>,
): Promise<Listener> {
  const listener = usesNodeNet(options) ? await openNodeTcp(options) : openTcp(options);
  return options.ipv6Only ? new Ipv6OnlyListener(listener) : listener;
}

/** Whether plain TCP is served through `node:net`: the default, unless the port is shared. */
function usesNodeNet(options: Exclude<ListenOptions, { transport: "unix" }>): boolean {
  return options.transport === "tcp" && options.reusePort !== true && options.api !== "deno";
}

async function openNodeTcp(options: Exclude<ListenOptions, { transport: "unix" }>) {
  const { hostname, port, backlog = LISTEN_BACKLOG } = options;
  // Loaded only here: TLS, Unix and reuseport servers never set up Deno's Node layer.
  const { listenNodeTcp } = await import("./node_tcp.ts");
  try {
    return await listenNodeTcp({ hostname, port, backlog });
  } catch (error) {
    throw new ListenError(
      `cannot listen on ${formatHostPort(hostname, port)}: ${listenReason(error)}`,
      { cause: error },
    );
  }
}

function openTcp(options: Exclude<ListenOptions, { transport: "unix" }>): Deno.Listener {
  const { hostname, port } = options;
  const tls = options.transport === "tls"
    ? { cert: readPem("certFile", options.certFile), key: readPem("keyFile", options.keyFile) }
    : undefined;
  try {
    const tcpBacklog = options.backlog ?? LISTEN_BACKLOG;
    if (tls) return Deno.listenTls({ hostname, port, tcpBacklog, ...tls });
    const reusePort = options.transport === "tcp" && options.reusePort === true;
    return Deno.listen({ hostname, port, tcpBacklog, ...(reusePort ? { reusePort } : {}) });
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

/**
 * A listener that serves IPv6 clients only. On Linux a socket bound to `::`
 * takes IPv4 clients too, as `::ffff:a.b.c.d`, and `Deno.listen` cannot set
 * the `IPV6_V6ONLY` option that would stop that. So each IPv4 client is
 * closed as soon as it is accepted, before any service or count sees it, and
 * logged. Unlike the socket option, this leaves the IPv4 port taken: another
 * server cannot listen on `0.0.0.0` at the same port.
 *
 * @example
 * ```ts
 * import { openListener } from "./listen.ts";
 *
 * const { listener } = await openListener({ transport: "tcp", hostname: "::", port: 0, ipv6Only: true })
 *   .catch(() => openListener({ transport: "tcp", hostname: "127.0.0.1", port: 0 }));
 * listener.close();
 * ```
 */
export class Ipv6OnlyListener implements Listener {
  readonly #inner: Listener;

  /**
   * Wraps a listener.
   *
   * @param inner A listener on an IPv6 address.
   */
  constructor(inner: Listener) {
    this.#inner = inner;
  }

  /** The wrapped listener's address. */
  get addr(): Deno.Addr {
    return this.#inner.addr;
  }

  /** The next IPv6 client; IPv4 ones are closed on the way. */
  async accept(): Promise<Socket> {
    while (true) {
      const conn = await this.#inner.accept();
      const remote = conn.remoteAddr;
      if (remote.transport !== "tcp" || !isIpv4Mapped(remote.hostname)) return conn;
      log.info("refused {peer}: this server takes IPv6 clients only", {
        peer: formatAddr(remote),
      });
      conn.close();
    }
  }

  /** Closes the wrapped listener. */
  close(): void {
    this.#inner.close();
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
 * "address in use". Only a socket file is ever removed, and only one that no
 * server listens on. Linux lists every listening Unix socket in
 * `/proc/net/unix`, which answers without disturbing anyone; where that list
 * cannot say (another system; a deno without `--allow-all`, which Deno 2.9
 * requires for reading /proc; a socket bound by a relative name from some
 * other directory), connecting tells: a live server accepts, a dead one's
 * file refuses. That probe is a real connection, which the live server will
 * see and log as a client.
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
  const listed = listedAsListening(path);
  const live = listed ?? await answersConnect(path);
  if (live) throw new ListenError(`cannot listen on ${path}: another server is listening on it`);
  Deno.removeSync(path);
}

/** The flag `/proc/net/unix` shows on a listening socket (`__SO_ACCEPTCON`). */
const SO_ACCEPTCON = 0x10000;

/**
 * Whether `/proc/net/unix` lists a listening socket bound to `path`, or
 * `undefined` when it cannot say.
 */
function listedAsListening(path: string): boolean | undefined {
  let text: string;
  try {
    // Deno 2.9 reads /proc only under --allow-all, and refuses without asking.
    text = Deno.readTextFileSync("/proc/net/unix");
  } catch {
    return undefined;
  }
  const absolute = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const name = absolute.slice(absolute.lastIndexOf("/") + 1);
  let ambiguous = false;
  for (const line of text.split("\n").slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path
    const fields = line.trim().split(/\s+/);
    const bound = fields[7];
    if (bound === undefined || (parseInt(fields[3] ?? "0", 16) & SO_ACCEPTCON) === 0) continue;
    if (bound === absolute || bound === path) return true;
    // A relative name was bound from a directory this process cannot know.
    if (!bound.startsWith("/") && bound.endsWith(name)) ambiguous = true;
  }
  return ambiguous ? undefined : false;
}

async function answersConnect(path: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return false;
    throw new ListenError(`cannot listen on ${path}: ${listenReason(error)}`, { cause: error });
  }
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
