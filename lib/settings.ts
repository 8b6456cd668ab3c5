/**
 * What every server is told, whatever its mode. {@link ServeSettings} is
 * plain data, so the very same object configures `serve()` on this thread
 * and crosses to a `reuseport` Worker in its start message; the mode-level
 * settings (`ModeSettings` in `strategies/serve_mode.ts`) extend it.
 * {@link ServeControls} are the live parts a caller keeps a hand on: the
 * shutdown signal, an admission whose rules a reload replaces.
 *
 * @module
 */
import type { AdmissionGate } from "./admission.ts";
import type { Bus } from "./chat/bus.ts";
import type { CurrentService } from "./current_service.ts";
import type { LogSettings } from "./log.ts";
import type { ServerObserver } from "./stats/counters.ts";

/**
 * The settings of one server.
 *
 * @example
 * ```ts
 * import type { ServeSettings } from "./settings.ts";
 *
 * const settings: ServeSettings = { service: "echo", maxLine: 1024, graceMs: 0 };
 * ```
 */
export interface ServeSettings {
  /**
   * The service: a built-in name (`echo`) or a module's URL, which is also
   * how a Worker loads the same service.
   */
  service: string;
  /** Arguments for a service made from them (exec's command); none by default. */
  serviceArgs?: readonly string[];
  /** The longest line a line service accepts; default `DEFAULT_MAX_LINE`. */
  maxLine?: number;
  /** Close a client after this long with no byte moving either way; 0 (default) never. */
  idleTimeoutMs?: number;
  /**
   * After a shutdown begins, how long open clients may take to finish before
   * they are closed; default `DEFAULT_GRACE_MS`.
   */
  graceMs?: number;
  /** Require a PROXY header (v1 or v2) on every connection and trust the client it names. */
  proxyProtocol?: boolean;
  /** How threads of its own (Workers) log; the caller configures its own thread. */
  log?: LogSettings;
}

/** The live parts of a server that its caller keeps a hand on. */
export interface ServeControls {
  /**
   * Abort it to begin a graceful shutdown: the server stops accepting and
   * gives open clients the grace period to finish.
   */
  shutdown?: AbortSignal;
  /**
   * Who may connect, and how many at once. Keep a reference to change its
   * rules while the server runs; default: `DEFAULT_MAX_CONNS` clients, anyone.
   */
  admission?: AdmissionGate;
  /**
   * The idle timeout for a connection accepted now, asked once per new
   * connection so that a reload can change it; default the settings' `idleTimeoutMs`.
   */
  idleTimeoutFor?: () => number;
  /** Told of every connection opened, closed or refused, and of every request. */
  observer?: ServerObserver;
  /** Joins this server's hub to others' (other Workers, other machines); default alone. */
  bus?: Bus;
  /**
   * The version each new client gets, when it may change while the server
   * runs (a reload). Given, it overrides the service for every client
   * accepted from then on, and the log names the version each client gets.
   */
  current?: CurrentService;
}
