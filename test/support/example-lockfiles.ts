/**
 * Regenerate the example lockfiles in lockfiles/ offline: seed a fresh cache with the real fixture
 * repodata and Go release list under their public URLs, then run `conda-go-lock lock --offline`.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { RepodataCache } from '../../src/repodata/cache.js';
import { fixture, projectRoot } from './fixtures.js';

export const EXAMPLES_DIR = join(projectRoot, 'lockfiles');
export const GO_RELEASES_URL = 'https://go.dev/dl/?mode=json&include=all';
const SUBCHANNEL = 'conda-forge-subchannel-py39-2024-05';

/** Example folders: every directory under lockfiles/ with an environment.yml. */
export function exampleNames(): string[] {
  return readdirSync(EXAMPLES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(EXAMPLES_DIR, d.name, 'environment.yml')))
    .map((d) => d.name)
    .sort();
}

/** Put the fixture snapshots into `cacheDir` as if fetched from conda.anaconda.org and go.dev. */
export async function seedExampleCache(cacheDir: string): Promise<void> {
  const cache = new RepodataCache(cacheDir);
  const root = fixture('repodata', SUBCHANNEL);
  for (const subdir of readdirSync(root)) {
    const zst = join(root, subdir, 'repodata.json.zst');
    if (!existsSync(zst)) continue;
    await cache.put(`https://conda.anaconda.org/conda-forge/${subdir}/repodata.json.zst`, readFileSync(zst), {});
  }
  await cache.put(GO_RELEASES_URL, readFileSync(fixture('go', 'go-dl-include-all-2021-11-08.json')), {});
}

/** The `lock` arguments for one example, writing to `lockfile`. */
export function exampleLockArgs(name: string, lockfile: string, cacheDir: string): string[] {
  const dir = join(EXAMPLES_DIR, name);
  return ['lock', '-f', join(dir, 'environment.yml'), '--lockfile', lockfile, '--cache-dir', cacheDir, '--offline', '--go-releases-url', GO_RELEASES_URL, '-q'];
}
