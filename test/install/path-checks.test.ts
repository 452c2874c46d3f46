import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertNoCaseCollision, caseInsensitiveDir, caseInsensitivePlatform, findCaseCollision, longWindowsPaths } from '../../src/install/path-checks.js';

describe('case collisions', () => {
  it('finds two paths differing only in case, in one package or across two; the same path twice is a clobber, not a collision', () => {
    expect(findCaseCollision([{ dist: 'a', path: 'lib/x.h' }, { dist: 'b', path: 'lib/x.h' }])).toBeUndefined();
    expect(findCaseCollision([{ dist: 'a', path: 'lib/X.h' }, { dist: 'b', path: 'lib/y.h' }, { dist: 'b', path: 'LIB/x.h' }])).toEqual([
      { dist: 'a', path: 'lib/X.h' },
      { dist: 'b', path: 'LIB/x.h' },
    ]);
    expect(() => assertNoCaseCollision([{ dist: 'p-1-0', path: 'Makefile' }, { dist: 'p-1-0', path: 'makefile' }], 'osx-arm64')).toThrow(
      /"Makefile" and "makefile" differ only in case \(both in p-1-0\)/,
    );
  });

  it('osx-* and win-* are case-insensitive targets; linux-* is not', () => {
    expect(['osx-arm64', 'osx-64', 'win-64', 'linux-64', 'noarch'].map(caseInsensitivePlatform)).toEqual([true, true, true, false, false]);
  });

  it('probes the host file system (case-sensitive here) and leaves no probe file behind', async () => {
    const d = await mkdtemp(join(tmpdir(), 'cgl-case-'));
    try {
      // ext4/tmpfs here; on a default APFS or NTFS volume it is true.
      if (process.platform === 'linux') expect(await caseInsensitiveDir(d)).toBe(false);
      expect(await readdir(d)).toEqual([]);
      expect(await caseInsensitiveDir(join(d, 'missing'))).toBe(false);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

describe('long Windows paths', () => {
  it('reports paths reaching 260 characters under the prefix, longest first', () => {
    const prefix = 'C:\\' + 'p'.repeat(50);
    const ok = 'a'.repeat(260 - prefix.length - 2);
    const at = 'b'.repeat(260 - prefix.length - 1);
    const over = 'c'.repeat(300);
    expect(longWindowsPaths(prefix, [ok, at, over].map((path) => ({ dist: 'd', path }))).map((p) => [p.path[0], p.length])).toEqual([
      ['c', prefix.length + 301],
      ['b', 260],
    ]);
  });
});
