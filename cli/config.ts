/**
 * `--config FILE`: the settings that may change while the server runs, and
 * their reload on SIGHUP. The file is JSON whose keys are named as the flags
 * they override (`allow`, `deny`, `max-conns`, `max-per-ip`, `idle-timeout`,
 * `rate`); a key left out keeps the command line's value. A reload applies to
 * connections accepted from then on, and the clients already connected stay
 * connected. A file that cannot be read or is not valid is rejected with the
 * reason, and the settings in force stay as they were.
 *
 * @module
 */
import type { Admission, AdmissionRules } from "../lib/admission.ts";
import type { Cidr } from "../lib/cidr.ts";
import { logger } from "../lib/log.ts";
import { formatRate } from "../lib/token_bucket.ts";
import { invalidMessage, InvalidValue, UsageError } from "./flag.ts";
import { cidr, rate, seconds, wholeNumber } from "./parse.ts";

const log = logger("config");

/** The largest `max-conns` and `max-per-ip`, as on the command line. */
export const MAX_CONNECTION_LIMIT = 1_000_000;
/** The longest `idle-timeout`, in seconds, as on the command line. */
export const MAX_IDLE_TIMEOUT_SECONDS = 86_400;

/** What a reload may change. */
export interface ReloadableSettings {
  /** Who may connect, how often and how many at once. */
  readonly rules: AdmissionRules;
  /** How long a new client may stay silent; 0 for ever. */
  readonly idleTimeoutMs: number;
}

/** The keys a config file may hold, each named as its flag. */
export const CONFIG_KEYS = [
  "allow",
  "deny",
  "max-conns",
  "max-per-ip",
  "idle-timeout",
  "rate",
] as const;

/** A config file that cannot be used; the message says why, in one line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Lays a config file's settings over `base`.
 *
 * @param base The settings from the command line.
 * @param text The file's contents: a JSON object.
 * @returns The settings in force with the file.
 * @throws {ConfigError} When the text is not JSON, not an object, has an
 *   unknown key, or a value its flag would not accept.
 *
 * @example
 * ```ts
 * import { applyConfig } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const settings = applyConfig({ rules: {}, idleTimeoutMs: 0 }, '{"max-per-ip": 2, "rate": "10/1"}');
 * assert.equal(settings.rules.maxPerIp, 2);
 * assert.deepEqual(settings.rules.rate, { count: 10, seconds: 1 });
 * ```
 */
export function applyConfig(base: ReloadableSettings, text: string): ReloadableSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`not valid JSON: ${error instanceof Error ? error.message : error}`);
  }
  if (!isJsonObject(parsed)) throw new ConfigError("expected a JSON object of settings");
  const file = parsed;
  for (const key of Object.keys(file)) {
    if (!CONFIG_KEYS.some((known) => known === key)) {
      throw new ConfigError(`unknown key "${key}"; known keys: ${CONFIG_KEYS.join(", ")}`);
    }
  }
  const rules: AdmissionRules = {
    ...base.rules,
    ...("allow" in file ? { allow: cidrs("allow", file.allow) } : {}),
    ...("deny" in file ? { deny: cidrs("deny", file.deny) } : {}),
    ...("max-conns" in file ? { maxConns: connectionLimit("max-conns", file) } : {}),
    ...("max-per-ip" in file ? { maxPerIp: connectionLimit("max-per-ip", file) } : {}),
    ...("rate" in file
      ? {
        rate: file.rate === null ? undefined : read("rate", stringValue("rate", file.rate), rate),
      }
      : {}),
  };
  const idleTimeoutMs = "idle-timeout" in file
    ? read("idle-timeout", numberText("idle-timeout", file), seconds(MAX_IDLE_TIMEOUT_SECONDS))
    : base.idleTimeoutMs;
  return { rules, idleTimeoutMs };
}

/** Whether parsed JSON is an object (not null, not an array), so its keys can be read. */
function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value read by its flag's parser, refused in the words the flag would use. */
function read<Value>(key: string, text: string, parse: (text: string) => Value): Value {
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof InvalidValue) throw new ConfigError(invalidMessage(key, text, error));
    throw error;
  }
}

function cidrs(key: string, value: unknown): Cidr[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new ConfigError(`invalid --${key}: expected a list of CIDR blocks as strings`);
  }
  return value.map((text) => read(key, text, cidr));
}

function stringValue(key: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new ConfigError(`invalid --${key}: expected a string such as "10/1", or null`);
  }
  return value;
}

/** A number as the flag parsers read it; strings are refused, so a typo cannot pass. */
function numberText(key: string, file: Record<string, unknown>): string {
  const value = file[key];
  if (typeof value !== "number") throw new ConfigError(`invalid --${key}: expected a number`);
  return String(value);
}

function connectionLimit(key: string, file: Record<string, unknown>): number {
  return read(key, numberText(key, file), wholeNumber(0, MAX_CONNECTION_LIMIT));
}

/**
 * Says what differs between two sets of settings, one phrase per setting.
 *
 * @returns E.g. `["deny: none -> 127.0.0.2/32", "max-per-ip: 0 -> 2"]`; empty when equal.
 */
export function describeChanges(before: ReloadableSettings, after: ReloadableSettings): string[] {
  const shown = (settings: ReloadableSettings): Record<string, string> => ({
    allow: blocks(settings.rules.allow),
    deny: blocks(settings.rules.deny),
    "max-conns": String(settings.rules.maxConns ?? 0),
    "max-per-ip": String(settings.rules.maxPerIp ?? 0),
    "idle-timeout": `${settings.idleTimeoutMs / 1000}s`,
    rate: settings.rules.rate ? formatRate(settings.rules.rate) : "none",
  });
  const old = shown(before);
  const now = shown(after);
  return CONFIG_KEYS.filter((key) => old[key] !== now[key])
    .map((key) => `${key}: ${old[key]} -> ${now[key]}`);
}

function blocks(list: readonly Cidr[] | undefined): string {
  return list && list.length > 0 ? list.map(String).join(",") : "none";
}

/** What a {@link ConfigReloader} works on. */
export interface ConfigReloaderOptions {
  /** The config file. */
  path: string;
  /** The settings from the command line, under every reload. */
  base: ReloadableSettings;
  /** The settings in force now (the base with the file read at start). */
  current: ReloadableSettings;
  /** The server's admission, whose rules a reload replaces. */
  admission: Admission;
}

/**
 * Re-reads the config file on demand (SIGHUP) and puts the result in force
 * for new connections, or keeps the old settings if the file is bad.
 */
export class ConfigReloader {
  readonly #path: string;
  readonly #base: ReloadableSettings;
  readonly #admission: Admission;
  #current: ReloadableSettings;

  /**
   * Reloads nothing until asked.
   *
   * @param options The file, the base settings, those in force, and the admission.
   */
  constructor(options: ConfigReloaderOptions) {
    this.#path = options.path;
    this.#base = options.base;
    this.#current = options.current;
    this.#admission = options.admission;
  }

  /** The settings in force. */
  get settings(): ReloadableSettings {
    return this.#current;
  }

  /** The idle timeout for a connection accepted now, for `serve()`. */
  readonly idleTimeoutMs = (): number => this.#current.idleTimeoutMs;

  /**
   * Reads the file again and applies it, logging what changed or why not.
   *
   * @returns Whether the file was accepted.
   */
  async reload(): Promise<boolean> {
    let next: ReloadableSettings;
    try {
      next = applyConfig(this.#base, await Deno.readTextFile(this.#path));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log.warn("reload of {path} rejected, the settings in force stay: {reason}", {
        path: this.#path,
        reason,
      });
      return false;
    }
    const changes = describeChanges(this.#current, next);
    this.#admission.rules = next.rules;
    this.#current = next;
    log.info("reloaded {path}: {changes}", {
      path: this.#path,
      changes: changes.length > 0 ? changes.join("; ") : "no changes",
    });
    return true;
  }

  /**
   * Reloads on every SIGHUP until `signal` aborts; see {@link onHangup}.
   *
   * @param signal The server's shutdown signal.
   * @returns Stops listening for SIGHUP; call it as the process ends.
   */
  reloadOnHangup(signal: AbortSignal): () => void {
    // Reloads run one at a time, in the order the signals came.
    let reloading = Promise.resolve();
    return onHangup(signal, () => {
      reloading = reloading.then(async () => void await this.reload());
    });
  }
}

/**
 * Calls `handler` on every SIGHUP until `signal` aborts, then logs and
 * ignores SIGHUP until the returned function is called. Once a listener is
 * installed, SIGHUP no longer ends the process, which is its default action:
 * a hangup during the shutdown grace must not cut the clients' grace short
 * and exit with status 129.
 *
 * @param signal Aborted when the server starts shutting down.
 * @param handler What a hangup does while the server runs.
 * @returns Stops listening for SIGHUP; call it as the process ends.
 */
export function onHangup(signal: AbortSignal, handler: () => void): () => void {
  const ignore = () => {
    log.info("SIGHUP while shutting down: ignored");
  };
  let current = signal.aborted ? ignore : handler;
  Deno.addSignalListener("SIGHUP", current);
  const whileStopping = () => {
    Deno.removeSignalListener("SIGHUP", current);
    current = ignore;
    Deno.addSignalListener("SIGHUP", current);
  };
  signal.addEventListener("abort", whileStopping, { once: true });
  return () => {
    signal.removeEventListener("abort", whileStopping);
    Deno.removeSignalListener("SIGHUP", current);
  };
}

/**
 * Reads the config file at start: a bad file is a usage error, as a bad flag is.
 *
 * @param path The file.
 * @param base The settings from the command line.
 * @throws {UsageError} With the file and the reason.
 */
export async function readConfigAtStart(
  path: string,
  base: ReloadableSettings,
): Promise<ReloadableSettings> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(
      `cannot read --config ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
  try {
    return applyConfig(base, text);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`--config ${path}: ${error.message}`);
    throw error;
  }
}
