/**
 * `--json`: one JSON document on stdout per command, for CI bots (docs/json.md has the shapes).
 *
 * Every document starts with `json_version` (bumped only on an incompatible change; new fields may
 * appear at any time) and `command`. Keys are snake_case; lists are sorted as in the text output;
 * paths are as given on the command line. Errors are not JSON: the exit status and stderr say them
 * (docs/exit-codes.md), so a bot checks the status first and reads stdout when it is 0 or 1.
 */
import type { LockfileDiff } from '../lockfile/diff.js';

export const JSON_VERSION = 1;

/** Write `doc` (with `json_version` and `command` first) as one line of JSON + newline. */
export function writeJson(command: string, doc: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ json_version: JSON_VERSION, command, ...doc })}\n`);
}

/** A diff as JSON: `empty`, `counts` per kind, and per platform its changes (old/new summaries). */
export function diffJson(d: LockfileDiff): Record<string, unknown> {
  return {
    empty: d.empty,
    counts: d.counts,
    platforms: d.platforms.map((p) => ({
      platform: p.platform,
      status: p.status,
      changes: p.changes.map(({ broughtInBy, ...c }) => ({ ...c, ...(broughtInBy ? { brought_in_by: broughtInBy } : {}) })),
    })),
  };
}
