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
