/**
 * A served copy of the real anaconda-defaults packages in ../shared/fixtures/packages/
 * defaults-2020-linux-64 (see SOURCES.md): `<site>/<channel>/{linux-64,noarch}/repodata.json` built
 * from each archive's own info/index.json plus its size, md5 and sha256, and the archives
 * themselves as symbolic links into the fixtures (never copied).
 *
 * One repodata patch, as channels do: libgcc-ng-9.1.0 is missing from the snapshot (a git blob of
 * 4 MiB or more), so `libgcc-ng` is dropped from `depends`; the host's libgcc serves at run time.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixture } from './fixtures.js';

export const DEFAULTS_2020 = fixture('packages', 'defaults-2020-linux-64');
const MISSING_FROM_SNAPSHOT = new Set(['libgcc-ng']);

function indexJson(conda: string): Record<string, unknown> {
  const r = spawnSync('sh', ['-c', `unzip -p "$1" 'info-*.tar.zst' | zstd -dcq | tar -xOf - info/index.json`, 'sh', conda], {
    encoding: 'utf8',
  });
  if (r.status !== 0 || !r.stdout) throw new Error(`cannot read info/index.json of ${conda}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Whether unzip, zstd and tar are here to read the archives' metadata. */
export function canIndexDefaults(): boolean {
  return ['unzip', 'zstd', 'tar'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
}

/** Write the channel under `site/<name>`; returns its subdirs' record counts. */
export async function writeDefaultsChannel(site: string, name = 'defaults'): Promise<Record<string, number>> {
  const bySubdir: Record<string, Record<string, unknown>> = { 'linux-64': {}, noarch: {} };
  for (const fn of readdirSync(DEFAULTS_2020).filter((f) => f.endsWith('.conda')).sort()) {
    const path = join(DEFAULTS_2020, fn);
    const bytes = readFileSync(path);
    const index = indexJson(path);
    const subdir = String(index.subdir);
    const depends = ((index.depends as string[] | undefined) ?? []).filter((d) => !MISSING_FROM_SNAPSHOT.has(d.split(/[\s=<>!]/)[0]!));
    bySubdir[subdir]![fn] = {
      ...index,
      depends,
      size: statSync(path).size,
      md5: createHash('md5').update(bytes).digest('hex'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    await mkdir(join(site, name, subdir), { recursive: true });
    await symlink(path, join(site, name, subdir, fn));
  }
  const counts: Record<string, number> = {};
  for (const [subdir, records] of Object.entries(bySubdir)) {
    await mkdir(join(site, name, subdir), { recursive: true });
    await writeFile(
      join(site, name, subdir, 'repodata.json'),
      JSON.stringify({ info: { subdir }, packages: {}, 'packages.conda': records, repodata_version: 1 }),
    );
    counts[subdir] = Object.keys(records).length;
  }
  return counts;
}
