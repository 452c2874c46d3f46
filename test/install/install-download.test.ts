import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstallError, IntegrityError } from '../../src/errors.js';
import { cacheKey, extractCached, fetchVerified, integrityProblem, type Downloader, type PinnedArtifact } from '../../src/install/download.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cgl-dl-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const hashes = (b: Buffer) => ({
  size: b.length,
  sha256: createHash('sha256').update(b).digest('hex'),
  md5: createHash('md5').update(b).digest('hex'),
});

/** A Downloader serving fixed bytes per URL and counting calls. */
function fakeHttp(bodies: Record<string, Buffer>): Downloader & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async download(url, dest) {
      calls.push(url);
      const b = bodies[url];
      if (!b) throw new Error(`no body for ${url}`);
      await writeFile(dest, b);
      return hashes(b);
    },
  };
}

const body = Buffer.from('package bytes');
const art = (over: Partial<PinnedArtifact> = {}): PinnedArtifact => ({ label: 'pkg-1-0', url: 'https://x/pkg-1-0.conda', fn: 'pkg-1-0.conda', ...hashes(body), ...over });

describe('integrity checks', () => {
  it.each([
    ['all match', art(), undefined],
    ['size is checked before sha256', art({ size: 1, sha256: '0'.repeat(64) }), 'size'],
    ['sha256 mismatch', art({ sha256: 'A'.repeat(64) }), 'sha256'],
    ['sha256 wins over a wrong md5', art({ md5: '0'.repeat(32) }), undefined],
    ['md5 only when no sha256', art({ sha256: undefined, md5: '0'.repeat(32) }), 'md5'],
    ['md5-only match', art({ sha256: undefined }), undefined],
    ['uppercase pins are fine', art({ sha256: hashes(body).sha256.toUpperCase() }), undefined],
  ])('%s', (_n, a, field) => {
    expect(integrityProblem(a, hashes(body))?.field).toBe(field);
  });

  it('cache keys: sha256, else md5-<md5>, else an InstallError', () => {
    expect(cacheKey(art())).toBe(hashes(body).sha256);
    expect(cacheKey(art({ sha256: undefined }))).toBe(`md5-${hashes(body).md5}`);
    expect(() => cacheKey(art({ sha256: undefined, md5: undefined }))).toThrow(InstallError);
  });
});

describe('fetchVerified', () => {
  it('downloads once, then re-verifies and reuses the cache; a corrupted cache file is fetched again', async () => {
    const cache = join(root, 'c1');
    const http = fakeHttp({ 'https://x/pkg-1-0.conda': body });
    const first = await fetchVerified(http, art(), cache);
    expect(first).toEqual({ path: join(cache, 'pkgs', hashes(body).sha256, 'pkg-1-0.conda'), cached: false });
    expect((await fetchVerified(http, art(), cache)).cached).toBe(true);
    expect(http.calls).toHaveLength(1);
    await writeFile(first.path, 'bit rot');
    const third = await fetchVerified(http, art(), cache);
    expect(third.cached).toBe(false);
    expect(await readFile(third.path)).toEqual(body);
    expect(http.calls).toHaveLength(2);
  });

  it('a mismatch names package, URL, expected and actual, and leaves no cache entry', async () => {
    const cache = join(root, 'c2');
    const http = fakeHttp({ 'https://user:pw@x/t/tok123/pkg-1-0.conda': Buffer.from('evil') });
    const a = art({ url: 'https://user:pw@x/t/tok123/pkg-1-0.conda' });
    const err = await fetchVerified(http, a, cache).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    const msg = (err as Error).message;
    expect(msg).toContain('pkg-1-0: size mismatch');
    expect(msg).toContain(`expected ${body.length}, got 4`);
    expect(msg).not.toContain('tok123');
    expect(msg).not.toContain('pw@');
    expect(await readdir(join(cache, 'pkgs'))).toEqual([]);
  });

  it.each([['../../etc/x.conda'], ['a/b.conda'], ['..'], ['']])('refuses the archive file name %j', async (fn) => {
    await expect(fetchVerified(fakeHttp({}), art({ fn }), join(root, 'c3'))).rejects.toThrow(InstallError);
  });
});

describe('extractCached', () => {
  it('extracts once into extracted/<key>, reuses it, and leaves nothing when the extractor fails', async () => {
    const cache = join(root, 'c4');
    let calls = 0;
    const extract = async (_archive: string, dest: string) => {
      calls++;
      await mkdir(join(dest, 'info'), { recursive: true });
      await writeFile(join(dest, 'info', 'index.json'), '{}');
    };
    const a = await extractCached(extract, '/nowhere/a.conda', 'k1', cache);
    expect(a).toEqual({ path: join(cache, 'extracted', 'k1'), cached: false });
    expect((await extractCached(extract, '/nowhere/a.conda', 'k1', cache)).cached).toBe(true);
    expect(calls).toBe(1);
    const failing = async (_a: string, dest: string) => {
      await mkdir(join(dest, 'info'), { recursive: true });
      throw new Error('corrupt archive');
    };
    await expect(extractCached(failing, '/nowhere/b.conda', 'k2', cache)).rejects.toThrow('corrupt archive');
    expect(await readdir(join(cache, 'extracted'))).toEqual(['k1']);
  });
});
