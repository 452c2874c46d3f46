/**
 * Lockfiles built from real conda-forge records (rattler's python 3.12 closure and the
 * conda-forge py39 subchannel) survive write → read byte-for-byte and validate against the schema.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LockedCondaPackage, Lockfile } from '../../src/lockfile/model.js';
import { normaliseLockfile } from '../../src/lockfile/normalise.js';
import { parseLockfile, readLockfile } from '../../src/lockfile/read.js';
import { renderExplicit } from '../../src/lockfile/render/explicit.js';
import { serializeLockfile, writeLockfile } from '../../src/lockfile/write.js';
import { fixture, haveFixtures } from '../support/fixtures.js';
import { sampleLockfile } from './sample.js';

interface RawRecord {
  name: string; version: string; build: string; build_number: number; subdir?: string; depends?: string[];
  constrains?: string[]; md5: string; sha256: string; size: number; timestamp?: number; license?: string;
  noarch?: string; track_features?: string;
}

function toLocked(platform: string, fn: string, r: RawRecord, channel: string): LockedCondaPackage {
  const subdir = r.subdir ?? platform;
  return {
    platform, name: r.name, version: r.version, build: r.build, build_number: r.build_number, subdir, channel,
    url: `${channel}/${subdir}/${fn}`, fn, md5: r.md5, sha256: r.sha256, size: r.size,
    depends: r.depends ?? [], constrains: r.constrains ?? [],
    ...(r.noarch === 'python' || r.noarch === 'generic' ? { noarch: r.noarch } : {}),
    ...(r.timestamp !== undefined ? { timestamp: r.timestamp < 1e11 ? r.timestamp * 1000 : r.timestamp } : {}),
    ...(r.license !== undefined ? { license: r.license } : {}),
    ...(r.track_features ? { track_features: r.track_features } : {}),
  };
}

/** One record per name (the last listed, `.conda` preferred) like a solver result. */
function lockFromRepodata(file: string, platform: string): LockedCondaPackage[] {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { packages: Record<string, RawRecord>; 'packages.conda': Record<string, RawRecord> };
  const byName = new Map<string, LockedCondaPackage>();
  for (const [fn, r] of [...Object.entries(json.packages), ...Object.entries(json['packages.conda'])]) {
    byName.set(r.name, toLocked(platform, fn, r, 'https://conda.anaconda.org/conda-forge'));
  }
  return [...byName.values()];
}

describe.skipIf(!haveFixtures)('real conda-forge records', () => {
  it('rattler python 3.12 closure: write → read → identical, explicit lists them all', async () => {
    const pkgs = lockFromRepodata(fixture('repodata', 'rattler', 'conda-forge-python-subset__linux-64__repodata.json'), 'linux-64');
    expect(pkgs.length).toBeGreaterThan(15);
    const lf: Lockfile = { ...sampleLockfile(), packages: pkgs, go: [] };
    lf.metadata.platforms = ['linux-64'];
    lf.metadata.content_hash = { 'linux-64': lf.metadata.content_hash['linux-64']! };
    lf.metadata.virtual_packages = { 'linux-64': lf.metadata.virtual_packages['linux-64']! };
    const dir = await mkdtemp(join(tmpdir(), 'cgl-real-'));
    try {
      const path = join(dir, 'conda-go-lock.yml');
      const text = await writeLockfile(path, lf);
      const back = await readLockfile(path);
      expect(back).toStrictEqual(normaliseLockfile(lf));
      expect(serializeLockfile(back)).toBe(await readFile(path, 'utf8'));
      expect(text).toContain("name: python\n    version: '3.12.4'");
      const explicit = renderExplicit(back, 'linux-64');
      expect(explicit.split('\n').filter((l) => l.startsWith('https://'))).toHaveLength(pkgs.length);
      // python needs libzlib, openssl, ... : all of them come before it.
      const lines = explicit.split('\n');
      const pyAt = lines.findIndex((l) => l.includes('/python-3.12'));
      for (const dep of ['libzlib', 'openssl', 'libgcc-ng', 'ncurses']) {
        const at = lines.findIndex((l) => l.includes(`/${dep}-`));
        expect(at, dep).toBeGreaterThan(-1);
        expect(at, dep).toBeLessThan(pyAt);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('conda-forge py39 subchannel, 7 platforms × one record per name: round trip and determinism', () => {
    const platforms = ['linux-64', 'linux-aarch64', 'linux-ppc64le', 'osx-64', 'osx-arm64', 'win-64', 'win-arm64'];
    const packages: LockedCondaPackage[] = [];
    for (const p of platforms) {
      const file = fixture('repodata', 'conda-forge-subchannel-py39-2024-05', p, 'repodata.json');
      const byName = new Map<string, LockedCondaPackage>();
      for (const r of lockFromRepodata(fixture('repodata', 'conda-forge-subchannel-py39-2024-05', 'noarch', 'repodata.json'), p)) byName.set(r.name, r);
      for (const r of lockFromRepodata(file, p)) byName.set(r.name, r);
      packages.push(...byName.values());
    }
    expect(packages.length).toBeGreaterThan(300);
    const lf: Lockfile = { ...sampleLockfile(), packages, go: [] };
    lf.metadata.platforms = platforms;
    lf.metadata.content_hash = Object.fromEntries(platforms.map((p) => [p, 'a'.repeat(64)]));
    lf.metadata.virtual_packages = {};
    const text = serializeLockfile(lf);
    const shuffled = { ...lf, packages: [...packages].reverse() };
    expect(serializeLockfile(shuffled)).toBe(text);
    expect(readBack(text)).toStrictEqual(normaliseLockfile(lf));
  });
});

function readBack(text: string): Lockfile {
  return parseLockfile(text, 'real.yml');
}
