/**
 * The modes that tables of tests run under.
 *
 * @module
 */
import type { Mode } from "../../strategies/mod.ts";

/** Every mode, for tables of tests. */
export const ALL_MODES: readonly Mode[] = ["single", "poll", "workers"];
/** The modes that serve clients at the same time. */
export const CONCURRENT_MODES: readonly Mode[] = ["poll", "workers", "reuseport"];
