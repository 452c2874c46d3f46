/**
 * Crash points for the kill -9 tests of the prefix transaction.
 *
 * `CONDA_GO_LOCK_TEST_KILL_AT=<point>[:<n>]` makes the process SIGKILL itself when it reaches that point
 * (the n-th time, default the first): `prepared` (new files staged, journal not written), `committed`
 * (journal written, prefix not changed yet), `remove` (after unlinking n old files), `move` (after
 * moving n new files in), `move-tree` (the Go toolchain swapped), `meta` (conda-meta replaced).
 * Unset (always, outside tests), this does nothing.
 */
export function testKillPoint(name: string, count = 1): void {
  const spec = process.env.CONDA_GO_LOCK_TEST_KILL_AT;
  if (!spec) return;
  const [point, nth] = spec.split(':');
  if (point !== name || count !== Number(nth ?? '1')) return;
  process.kill(process.pid, 'SIGKILL');
}
