/**
 * Sanity checks of the rattler reference harness itself (rattler-harness.ts + rattler-worker.mjs):
 * if these fail, a differential failure says nothing about our solver.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { RattlerSolver, type RattlerResult } from './rattler-harness.js';

const channelDir = fixture('repodata', 'conda-forge-subchannel-py39-2024-05');

function names(r: RattlerResult): string[] {
  if (!r.ok) throw new Error(`rattler failed: ${r.error}`);
  return r.records.map((p) => p.name).sort();
}

describe.skipIf(!haveFixtures)('rattler reference harness (offline, worker thread)', () => {
  if (!haveFixtures) console.warn(fixturesSkipReason);
  const rattler = new RattlerSolver({ timeoutMs: 60_000 });
  afterAll(() => rattler.close());

  it('solves python 3.9.* for linux-64 from the local fixture, using linux-64 and noarch records', async () => {
    const r = await rattler.solve(['python 3.9.*'], channelDir, 'linux-64', [
      { name: '__unix', version: '0' },
      { name: '__linux', version: '5.10' },
      { name: '__glibc', version: '2.28' },
    ]);
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
    if (!r.ok) return;
    const python = r.records.find((p) => p.name === 'python');
    expect(python?.version).toMatch(/^3\.9\.\d+$/);
    // one record per name, only from the requested subdir and noarch
    expect(new Set(names(r)).size).toBe(r.records.length);
    expect(new Set(r.records.map((p) => p.subdir))).toEqual(new Set(['linux-64', 'noarch']));
    expect(names(r)).toContain('pip'); // python 3.9 depends on pip (noarch)
    // rattler ignores the dumped records' `url` and the file's `metadata.base_url`: it builds the
    // url from the channel it was given, and prefers the .conda artifact
    expect(python?.url).toMatch(new RegExp(`^http://fixtures\\.invalid/c\\d+/linux-64/${python?.fn}$`));
    expect(python?.fn).toMatch(/\.conda$/);
  });

  it('fetches only <subdir> and noarch, trying shards, .zst and .bz2 before repodata.json', async () => {
    const r = await rattler.solve(['zlib'], channelDir, 'osx-arm64', []);
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
    if (!r.ok) return;
    const paths = r.requested.map((u) => u.replace(/^http:\/\/fixtures\.invalid\/c\d+\//, '')).sort();
    const expected = ['osx-arm64', 'noarch'].flatMap((sd) =>
      ['repodata_shards.msgpack.zst', 'repodata.json.zst', 'repodata.json.bz2', 'repodata.json'].map((f) => `${sd}/${f}`),
    );
    expect(paths).toEqual(expected.sort());
  });

  it('uses the virtual packages given to it and leaves them out of the result', async () => {
    // zstd 1.5.6 on osx-64 depends on `__osx >=10.9`
    const without = await rattler.solve(['zstd 1.5.6'], channelDir, 'osx-64', []);
    expect(without.ok).toBe(false);
    if (!without.ok) expect(without.error).toContain('__osx');
    const withOsx = await rattler.solve(['zstd 1.5.6'], channelDir, 'osx-64', [
      { name: '__unix', version: '0' },
      { name: '__osx', version: '10.15' },
    ]);
    expect(withOsx.ok, withOsx.ok ? '' : withOsx.error).toBe(true);
    expect(names(withOsx)).toEqual(['libzlib', 'zstd']);
    // __osx 10.8 is too old for every zstd 1.5.6 build
    const oldOsx = await rattler.solve(['zstd 1.5.6'], channelDir, 'osx-64', [{ name: '__osx', version: '10.8' }]);
    expect(oldOsx.ok).toBe(false);
  });

  it('prefers locked records (rattler_solve locked_packages) without forcing them', async () => {
    const vps = [{ name: '__glibc', version: '2.28' }];
    const old = await rattler.solve(['python 3.9.7'], channelDir, 'linux-64', vps);
    expect(old.ok, old.ok ? '' : old.error).toBe(true);
    if (!old.ok) return;
    const locked = old.records.map((r) => ({ ...r, subdir: r.subdir ?? 'linux-64' }));
    const free = await rattler.solve(['python'], channelDir, 'linux-64', vps);
    const kept = await rattler.solve(['python'], channelDir, 'linux-64', vps, { locked });
    const moved = await rattler.solve(['python >=3.9.10'], channelDir, 'linux-64', vps, { locked });
    const py = (r: RattlerResult) => (r.ok ? r.records.find((p) => p.name === 'python')?.version : r.error);
    expect(py(free)).toBe('3.9.19');
    expect(py(kept)).toBe('3.9.7');
    expect(py(moved)).toBe('3.9.19');
    // unaffected locked packages stay where they were
    if (kept.ok) expect(kept.records.map((r) => `${r.name}=${r.version}=${r.build}`).sort()).toEqual(
      old.records.map((r) => `${r.name}=${r.version}=${r.build}`).sort(),
    );
  });

  it.each([
    ['an unknown name', ['no-such-package'], 'no-such-package'],
    ['a version no record has', ['python >=3.10'], 'python'],
    ['conflicting specs', ['python 3.9.7', 'python 3.9.8'], 'python'],
  ])('reports %s as a failed solve', async (_what, specs, mention) => {
    const r = await rattler.solve(specs, channelDir, 'linux-64', [{ name: '__glibc', version: '2.28' }]);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.panic).toBeFalsy();
      expect(r.error).toContain(mention);
    }
  });

  it('survives a WASM panic (a channel:: spec) and restarts the worker for the next solve', async () => {
    const before = rattler.workersStarted;
    const r = await rattler.solve(['conda-forge::zlib'], channelDir, 'win-arm64', []);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.panic).toBe(true);
      expect(r.error).toMatch(/panicked/);
    }
    const next = await rattler.solve(['zlib'], channelDir, 'win-arm64', []);
    expect(next.ok, next.ok ? '' : next.error).toBe(true);
    expect(names(next)).toContain('zlib');
    expect(rattler.workersStarted).toBe(before + 1);
  });

  it.each([
    ['linux-64', 'zlib'],
    ['linux-aarch64', 'zlib'],
    ['linux-ppc64le', 'zlib'],
    ['osx-64', 'zlib'],
    ['osx-arm64', 'zlib'],
    ['win-64', 'zlib'],
    ['win-arm64', 'zlib'],
  ])('solves in every fixture subdir: %s %s', async (subdir, spec) => {
    const r = await rattler.solve([spec], channelDir, subdir, []);
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
    if (r.ok) {
      expect(names(r)).toContain(spec);
      for (const p of r.records) expect([subdir, 'noarch']).toContain(p.subdir);
    }
  });
});
