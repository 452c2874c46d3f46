/**
 * Access to the shared real-data fixtures in ../shared/fixtures.
 * They are never copied into the project; tests that need them skip with a clear message when absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const projectRoot = resolve(here, '..', '..');

/** Absolute path of ../shared/fixtures (overridable with CONDA_GO_LOCK_FIXTURES). */
export const fixturesDir = process.env.CONDA_GO_LOCK_FIXTURES ?? resolve(projectRoot, '..', 'shared', 'fixtures');

export const haveFixtures = existsSync(join(fixturesDir, 'SOURCES.md'));

/** Message for describe.skipIf / it.skipIf when the fixtures are missing. */
export const fixturesSkipReason = `../shared/fixtures not found at ${fixturesDir}: skipping tests that need real conda/go data`;

if (!haveFixtures) {
  // Printed once per test file that imports this module, so a skipped run says why.
  console.warn(`[conda-go-lock tests] ${fixturesSkipReason}`);
}

export function fixture(...parts: string[]): string {
  return join(fixturesDir, ...parts);
}

/**
 * The raw records of a fixture repodata file (path relative to the fixtures folder): `packages` and
 * `packages.conda` of repodata.json, or the values of a flat `{filename: record}` map.
 */
export function rawFixtureRecords<T = Record<string, unknown>>(relPath: string): T[] {
  const j = JSON.parse(readFileSync(fixture(...relPath.split('/')), 'utf8')) as Record<string, unknown>;
  const recs = j.packages
    ? [...Object.values(j.packages as object), ...Object.values((j['packages.conda'] as object) ?? {})]
    : Object.values(j).filter((x) => x !== null && typeof x === 'object' && 'name' in (x as object));
  return recs as T[];
}
