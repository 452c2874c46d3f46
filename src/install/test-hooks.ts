/**
 * Crash points for the kill -9 tests of the prefix transaction.
 *
 * `CONDA_GO_LOCK_TEST_KILL_AT=<point>[:<n>]` makes the process SIGKILL itself when it reaches that point
 * (the n-th time, default the first): `prepared` (new files staged, journal not written), `committed`
 * (journal written, prefix not changed yet), `remove` (after unlinking n old files), `move` (after
 * moving n new files in), `move-tree` (the Go toolchain swapped), `meta` (conda-meta replaced),
 * `wheel-move` (after moving n files of a wheel into the prefix).
 * Unset (always, outside tests), this does nothing.
 */
export function testKillPoint(name: string, count = 1): void {
  const spec = process.env.CONDA_GO_LOCK_TEST_KILL_AT;
  if (!spec) return;
  const [point, nth] = spec.split(':');
  if (point !== name || count !== Number(nth ?? '1')) return;
  process.kill(process.pid, 'SIGKILL');
}

/**
 * Pause points for the signal tests: `CONDA_GO_LOCK_TEST_PAUSE_AT=<point>` makes the process print
 * `paused at <point>` on stderr when it reaches that point and wait there (forever) so a test can send
 * it SIGINT/SIGTERM at a known state: `staged` (a new prefix built in its staging directory, not
 * renamed yet), `prepared` and `committed` (as for the kill points). Unset, this returns at once.
 */
export async function testPausePoint(name: string): Promise<void> {
  if (process.env.CONDA_GO_LOCK_TEST_PAUSE_AT !== name) return;
  process.stderr.write(`paused at ${name}\n`);
  await new Promise<never>(() => setInterval(() => {}, 60_000));
}

/**
 * Slow-down points for the signal tests: `CONDA_GO_LOCK_TEST_SLOW=<point>:<ms>` makes each pass through
 * that point wait `ms` milliseconds, so a test can interrupt work while it is going on: `link` (each
 * file the linker puts into a prefix or a staging directory), `stage-meta` (a new prefix's staging
 * directory is linked, its history and state not written yet). Read once; unset, `testSlowPoint` is
 * undefined and callers skip it.
 */
const slow = /^([a-z-]+):(\d+)$/.exec(process.env.CONDA_GO_LOCK_TEST_SLOW ?? '');
export function testSlowPoint(name: string): (() => Promise<void>) | undefined {
  if (!slow || slow[1] !== name) return undefined;
  const ms = Number(slow[2]);
  return () => new Promise((resolve) => setTimeout(resolve, ms));
}
