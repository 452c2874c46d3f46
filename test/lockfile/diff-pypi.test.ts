/** `diff` shows PyPI wheels: added / removed / upgraded / downgraded / changed wheel, per platform. */
import { describe, expect, it } from 'vitest';
import { diffLockfiles, formatDiffMarkdown, formatDiffSummary, formatDiffText } from '../../src/lockfile/diff.js';
import type { LockedPypiPackage, Lockfile } from '../../src/lockfile/model.js';
import { pkg, sampleLockfile } from './sample.js';

function wheel(platform: string, name: string, version: string, tags = 'py3-none-any', sha = 'a1'): LockedPypiPackage {
  const filename = `${name.replace(/-/g, '_')}-${version}-${tags}.whl`;
  return {
    platform,
    name,
    version,
    filename,
    url: `https://files.example/${filename}`,
    sha256: sha.padEnd(64, '0'),
    size: 100,
    requires_dist: [],
    requested_by: [name],
    index: 'https://pypi.org/simple',
  };
}

function lockfiles(): [Lockfile, Lockfile] {
  const a = sampleLockfile();
  a.metadata.platforms = ['linux-64', 'osx-arm64'];
  a.packages = [pkg({ name: 'python', version: '3.12.1' }), pkg({ name: 'python', version: '3.12.1', platform: 'osx-arm64' })];
  a.go = [];
  a.pypi = [
    wheel('linux-64', 'charset-normalizer', '3.3.2', 'cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64'),
    wheel('linux-64', 'idna', '3.6'),
    wheel('linux-64', 'requests', '2.31.0'),
    wheel('linux-64', 'six', '1.16.0'),
    wheel('osx-arm64', 'requests', '2.31.0'),
  ];
  const b: Lockfile = structuredClone(a);
  b.pypi = [
    // a rebuilt wheel: same version, other tags
    wheel('linux-64', 'charset-normalizer', '3.3.2', 'cp312-cp312-manylinux_2_28_x86_64'),
    wheel('linux-64', 'idna', '3.4'),
    wheel('linux-64', 'requests', '2.32.3'),
    wheel('linux-64', 'urllib3', '2.2.1'),
    wheel('osx-arm64', 'requests', '2.32.3'),
  ];
  return [a, b];
}

describe('diff of PyPI entries', () => {
  it('classifies each wheel change per platform with PEP 440 order', () => {
    const [a, b] = lockfiles();
    const d = diffLockfiles(a, b);
    const rows = d.platforms.map((p) => [p.platform, p.changes.map((c) => `${c.manager}:${c.name}:${c.kind}`)]);
    expect(rows).toEqual([
      ['linux-64', ['pypi:charset-normalizer:changed-build', 'pypi:idna:downgraded', 'pypi:requests:upgraded', 'pypi:six:removed', 'pypi:urllib3:added']],
      ['osx-arm64', ['pypi:requests:upgraded']],
    ]);
    expect(formatDiffSummary(d)).toBe('2 upgraded, 1 downgraded, 1 rebuilt, 1 added, 1 removed across 2 platforms');
  });

  it('text and markdown name the rows `NAME (pypi)` with version and wheel tags', () => {
    const [a, b] = lockfiles();
    const text = formatDiffText(diffLockfiles(a, b));
    const lines = text.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}~ requests \(pypi\)\s+2\.31\.0 py3-none-any\s+->\s+2\.32\.3 py3-none-any\s+upgraded$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}- six \(pypi\)\s+1\.16\.0 py3-none-any\s+removed$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\+ urllib3 \(pypi\)\s+2\.2\.1 py3-none-any\s+added$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/~ charset-normalizer \(pypi\)\s+3\.3\.2 cp312-cp312-manylinux_2_17_x86_64\.manylinux2014_x86_64\s+->\s+3\.3\.2 cp312-cp312-manylinux_2_28_x86_64\s+changed wheel$/),
    );
    const mdText = formatDiffMarkdown(diffLockfiles(a, b));
    expect(mdText).toContain('| idna (pypi) | `3.6 py3-none-any` | `3.4 py3-none-any` | downgraded |');
  });

  it('a new hash for the same wheel file is "changed hash"; identical lists are no change', () => {
    const [a] = lockfiles();
    expect(diffLockfiles(a, structuredClone(a)).empty).toBe(true);
    const b: Lockfile = structuredClone(a);
    b.pypi![2] = wheel('linux-64', 'requests', '2.31.0', 'py3-none-any', 'b2');
    const d = diffLockfiles(a, b);
    expect(d.platforms[0]!.changes.map((c) => [c.name, c.kind])).toEqual([['requests', 'changed-build']]);
    expect(formatDiffText(d)).toContain('changed hash');
  });

  it('a lockfile without a pypi list against one with wheels shows them all as added', () => {
    const [a] = lockfiles();
    const none: Lockfile = structuredClone(a);
    delete none.pypi;
    const d = diffLockfiles(none, a);
    expect(d.counts.added).toBe(5);
    expect(d.counts.removed).toBe(0);
  });
});
