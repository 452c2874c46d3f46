/** `render` outputs (stdout, -o file or directory, platform subsets) through the CLI, on a small hand-made lockfile (no network). */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLockfile } from '../../src/lockfile/write.js';
import { sampleLockfile } from '../lockfile/sample.js';
import { runCli } from './helpers.js';

describe('render edge cases', () => {
  let dir: string;
  let lf: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-render-output-'));
    lf = join(dir, 'lock.yml');
    await writeLockfile(lf, sampleLockfile());
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('-o - with several platforms is a usage error (one stdout stream cannot hold several @EXPLICIT files)', async () => {
    expect(sampleLockfile().metadata.platforms.length).toBeGreaterThan(1);
    for (const kind of ['explicit', 'env']) {
      const r = await runCli(['render', '--kind', kind, '--lockfile', lf, '-o', '-']);
      expect(r.code, kind).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('-p <platform>');
    }
    // One platform, or the multi-platform conda-lock format, still go to stdout.
    const one = await runCli(['render', '--lockfile', lf, '-p', 'linux-64', '-o', '-']);
    expect(one.code).toBe(0);
    expect(one.stdout.match(/@EXPLICIT/g)).toHaveLength(1);
    const cl = await runCli(['render', '--kind', 'conda-lock', '--lockfile', lf, '-o', '-']);
    expect(cl.code).toBe(0);
    expect(cl.stdout).toMatch(/^version: 1$/m);
  });

  it('several platforms with -o DIR write one file per platform', async () => {
    const out = join(dir, 'out');
    const r = await runCli(['render', '--lockfile', lf, '-o', `${out}/`]);
    expect(r.code).toBe(0);
    for (const p of sampleLockfile().metadata.platforms) {
      expect(readFileSync(join(out, `conda-${p}.lock`), 'utf8')).toContain(`# platform: ${p}`);
    }
  });

  it('-o FILE.lock with several platforms is a usage error, not a directory named FILE.lock', async () => {
    const target = join(dir, 'conda.lock');
    const r = await runCli(['render', '--lockfile', lf, '-o', target]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('names one file');
    expect(r.stderr).toContain('-p <platform>');
    expect(existsSync(target)).toBe(false);
    // One platform: the same -o is the file.
    const one = await runCli(['render', '--lockfile', lf, '-p', 'linux-64', '-o', target, '-q']);
    expect(one.code).toBe(0);
    expect(one.stderr).toBe('');
    expect(readFileSync(target, 'utf8')).toContain('# platform: linux-64');
  });

  it('--kind conda-lock -p P keeps only P in metadata.content_hash, like in platforms', async () => {
    const { parse } = await import('yaml');
    const r = await runCli(['render', '--kind', 'conda-lock', '--lockfile', lf, '-p', 'linux-64', '-o', '-']);
    expect(r.code).toBe(0);
    const doc = parse(r.stdout) as { metadata: { platforms: string[]; content_hash: Record<string, string> }; package: Array<{ platform: string }> };
    expect(doc.metadata.platforms).toEqual(['linux-64']);
    expect(Object.keys(doc.metadata.content_hash)).toEqual(['linux-64']);
    expect(new Set(doc.package.map((p) => p.platform))).toEqual(new Set(['linux-64']));
  });
});

