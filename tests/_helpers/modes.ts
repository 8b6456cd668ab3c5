/**
 * The modes that tables of tests run under.
 *
 * @module
 */
import { type Mode, MODES } from "../../strategies/mod.ts";

/** Every mode, reuseport included, for tables of tests. */
export const ALL_MODES: readonly Mode[] = MODES;
/** The modes that serve clients at the same time. */
export const CONCURRENT_MODES: readonly Mode[] = ["poll", "workers", "reuseport"];
/**
 * Every mode but reuseport, for the tests it cannot take: reuseport listens
 * on plain TCP only (no TLS, no Unix socket), and its Workers count their
 * statistics apart and add them up on the main thread, which
 * `tests/stats_cli_test.ts` checks, instead of reporting to one observer.
 */
export const MODES_BUT_REUSEPORT: readonly Mode[] = MODES.filter((mode) => mode !== "reuseport");
