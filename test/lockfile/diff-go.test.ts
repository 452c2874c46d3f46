/** The Go toolchain and a conda package named `go` are told apart in the text diff. */
import { describe, expect, it } from 'vitest';
import { diffLockfiles, formatDiffText } from '../../src/lockfile/diff.js';
import type { Lockfile } from '../../src/lockfile/model.js';
import { goTc, pkg, sampleLockfile } from './sample.js';

describe('formatDiffText and the Go toolchain', () => {
  it('labels the toolchain row "go (toolchain)", distinct from a conda package called go', () => {
    const a: Lockfile = sampleLockfile();
    a.metadata.platforms = ['linux-64'];
    a.packages = [pkg({ name: 'go', version: '1.21.0' })];
    a.go = [goTc('linux-64', '1.22.5', 'linux', 'amd64')];
    const b: Lockfile = structuredClone(a);
    b.packages = [pkg({ name: 'go', version: '1.21.1' })];
    b.go = [goTc('linux-64', '1.22.6', 'linux', 'amd64')];
    const text = formatDiffText(diffLockfiles(a, b));
    const rows = text.split('\n').filter((l) => l.startsWith('  ~ '));
    expect(rows).toHaveLength(2);
    expect(rows.some((l) => /~ go\s+1\.21\.0 \S+\s+->\s+1\.21\.1/.test(l))).toBe(true);
    expect(rows.some((l) => /~ go \(toolchain\)\s+1\.22\.5\s+->\s+1\.22\.6/.test(l))).toBe(true);
  });
});
