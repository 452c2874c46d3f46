import { describe, expect, it } from 'vitest';
import { diffLockfiles, formatDiffMarkdown, formatDiffText } from '../../src/lockfile/diff.js';
import type { Lockfile } from '../../src/lockfile/model.js';
import { goTc, pkg, sampleLockfile } from './sample.js';

function edit(f: (lf: Lockfile) => void): Lockfile {
  const lf = sampleLockfile();
  f(lf);
  return lf;
}

function find(lf: Lockfile, name: string, platform = 'linux-64') {
  return lf.packages.find((p) => p.name === name && p.platform === platform)!;
}

describe('diffLockfiles', () => {
  it('identical lockfiles → empty, "No changes" in both formats', () => {
    const d = diffLockfiles(sampleLockfile(), sampleLockfile());
    expect(d.empty).toBe(true);
    expect(d.platforms).toEqual([]);
    expect(formatDiffText(d)).toBe('No changes\n');
    expect(formatDiffMarkdown(d)).toContain('No changes');
  });

  it('ignores order differences', () => {
    const b = edit((lf) => {
      lf.packages.reverse();
      lf.go.reverse();
    });
    expect(diffLockfiles(sampleLockfile(), b).empty).toBe(true);
  });

  it.each<[string, (lf: Lockfile) => void, string, string]>([
    ['upgrade by conda version order, not string order (1.3.1 → 1.10.0)', (lf) => { find(lf, 'libzlib').version = '1.10.0'; }, 'libzlib', 'upgraded'],
    ['downgrade', (lf) => { find(lf, 'libgomp').version = '13.2.0'; }, 'libgomp', 'downgraded'],
    ['conda order: 0.1 → 0.1rc1 is a downgrade', (lf) => { find(lf, '_libgcc_mutex').version = '0.1rc1'; }, '_libgcc_mutex', 'downgraded'],
    ['build change', (lf) => { find(lf, 'libzlib').build = 'h4ab18f5_2'; }, 'libzlib', 'changed-build'],
    ['hash change only', (lf) => { find(lf, 'libzlib').sha256 = 'f'.repeat(64); }, 'libzlib', 'changed-build'],
    ['removed', (lf) => { lf.packages = lf.packages.filter((p) => !(p.name === 'tzdata' && p.platform === 'linux-64')); }, 'tzdata', 'removed'],
    ['added', (lf) => { lf.packages.push(pkg({ name: 'zstd', version: '1.5.6' })); }, 'zstd', 'added'],
  ])('%s', (_what, change, name, kind) => {
    const d = diffLockfiles(sampleLockfile(), edit(change));
    expect(d.platforms.map((p) => p.platform)).toEqual(['linux-64']);
    expect(d.platforms[0]!.changes).toHaveLength(1);
    expect(d.platforms[0]!.changes[0]).toMatchObject({ name, kind, manager: 'conda' });
    expect(d.counts[kind as keyof typeof d.counts]).toBe(1);
  });

  it('Go toolchain changes use Go ordering (1.22.10 > 1.22.9, 1.23rc1 < 1.23.0)', () => {
    const a = edit((lf) => { lf.go = [goTc('linux-64', '1.22.9', 'linux', 'amd64'), goTc('osx-arm64', '1.23.0', 'darwin', 'arm64')]; });
    const b = edit((lf) => { lf.go = [goTc('linux-64', '1.22.10', 'linux', 'amd64'), goTc('osx-arm64', '1.23rc1', 'darwin', 'arm64')]; });
    const d = diffLockfiles(a, b);
    expect(d.platforms.map((p) => [p.platform, p.changes.map((c) => `${c.manager}:${c.kind}`)])).toEqual([
      ['linux-64', ['go:upgraded']],
      ['osx-arm64', ['go:downgraded']],
    ]);
  });

  it('a new platform lists everything as added; a dropped one as removed', () => {
    const b = edit((lf) => {
      lf.metadata.platforms = ['linux-64', 'win-64'];
      lf.packages = lf.packages.filter((p) => p.platform === 'linux-64');
      lf.packages.push(pkg({ name: 'vc', version: '14.3', platform: 'win-64' }));
      lf.go = [goTc('linux-64', '1.22.5', 'linux', 'amd64'), goTc('win-64', '1.22.5', 'windows', 'amd64')];
    });
    const d = diffLockfiles(sampleLockfile(), b);
    expect(d.platforms.map((p) => [p.platform, p.status])).toEqual([['osx-arm64', 'removed'], ['win-64', 'added']]);
    expect(d.platforms[0]!.changes.every((c) => c.kind === 'removed')).toBe(true);
    expect(d.platforms[1]!.changes.map((c) => c.name)).toEqual(['go', 'vc']);
  });

  it('formats aligned text and a markdown table', () => {
    const b = edit((lf) => {
      find(lf, 'libgomp').version = '14.2.0';
      find(lf, 'libzlib').build = 'h4ab18f5_2';
      lf.packages.push(pkg({ name: 'zstd', version: '1.5.6' }));
      lf.go[0] = goTc('osx-arm64', '1.22.6', 'darwin', 'arm64');
    });
    const d = diffLockfiles(sampleLockfile(), b);
    const text = formatDiffText(d);
    expect(text).toContain('linux-64:');
    expect(text).toContain('osx-arm64:');
    const lines = text.split('\n').filter((l) => l.startsWith('  ~ '));
    // The arrow column lines up across rows of one platform.
    const linuxRows = lines.filter((l) => /libgomp|libzlib/.test(l));
    expect(new Set(linuxRows.map((l) => l.indexOf('->'))).size).toBe(1);
    expect(text).toMatch(/\+ zstd\s+1\.5\.6 h1234567_0\s+added/);
    expect(text.trimEnd().split('\n').at(-1)).toBe('2 upgraded, 1 rebuilt, 1 added across 2 platforms');

    const mdText = formatDiffMarkdown(d);
    expect(mdText).toContain('#### linux-64');
    expect(mdText).toContain('| Package | Old | New | Change |');
    expect(mdText).toContain('| libgomp | `14.1.0 h77fa898_0` | `14.2.0 h77fa898_0` | upgraded |');
    expect(mdText).toContain('| zstd | — | `1.5.6 h1234567_0` | added |');
    expect(mdText).toContain('| go (toolchain) | `1.22.5` | `1.22.6` | upgraded |');
    expect(mdText).toContain('**2 upgraded, 1 rebuilt, 1 added across 2 platforms**');
  });
});
