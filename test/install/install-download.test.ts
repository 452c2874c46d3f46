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

  it('asks for the md5 only where it is the pin: a sha256 pin is checked without one, an md5-only pin still catches a wrong md5', async () => {
    const asked: Array<boolean | undefined> = [];
    const http: Downloader = {
      async download(_url, dest, opts) {
        asked.push(opts?.md5);
        await writeFile(dest, body);
        const { md5, ...rest } = hashes(body);
        return opts?.md5 === false ? rest : { ...rest, md5 };
      },
    };
    expect((await fetchVerified(http, art(), join(root, 'm1'))).cached).toBe(false);
    expect((await fetchVerified(http, art({ sha256: undefined }), join(root, 'm2'))).cached).toBe(false);
    expect(asked).toEqual([false, true]);
    // the cached copy is re-hashed the same way: still found good by each pin
    expect((await fetchVerified(http, art(), join(root, 'm1'))).cached).toBe(true);
    expect((await fetchVerified(http, art({ sha256: undefined }), join(root, 'm2'))).cached).toBe(true);
    await expect(fetchVerified(http, art({ sha256: undefined, md5: '0'.repeat(32) }), join(root, 'm3'))).rejects.toThrow(/md5 mismatch/);
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

describe('leftovers of a killed download or extraction', () => {
  it('are removed by the next fetch / extraction when their process is gone; live or foreign fresh ones are kept', async () => {
    const { spawnSync } = await import('node:child_process');
    const { hostname } = await import('node:os');
    const { utimes } = await import('node:fs/promises');
    const host = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const cache = join(root, 'c-leftovers');
    const a = art();
    const pkgDir = join(cache, 'pkgs', cacheKey(a));
    const extDir = join(cache, 'extracted');
    await mkdir(pkgDir, { recursive: true });
    await mkdir(extDir, { recursive: true });
    const deadPart = `${a.fn}.part-${dead}@${host}-0123abcd`;
    const livePart = `${a.fn}.part-${process.pid}@${host}-0123abce`;
    const foreignFresh = `${a.fn}.part-${dead}@other-host-0123abcf`;
    const foreignOld = `${a.fn}.part-${dead}@other-host-0123abd0`;
    for (const n of [deadPart, livePart, foreignFresh, foreignOld]) await writeFile(join(pkgDir, n), 'partial');
    const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(join(pkgDir, foreignOld), old, old);
    const deadTmp = `.other.tmp-${dead}@${host}-89abcdef.extracting-Xy12Z9`;
    const deadRenamed = `other.tmp-${dead}@${host}-89abcdee`;
    await mkdir(join(extDir, deadTmp, 'lib'), { recursive: true });
    await writeFile(join(extDir, deadTmp, 'lib', 'big.so'), 'x');
    await mkdir(join(extDir, deadRenamed, 'info'), { recursive: true });

    await fetchVerified(fakeHttp({ [a.url]: body }), a, cache);
    expect((await readdir(pkgDir)).sort()).toEqual([a.fn, foreignFresh, livePart].sort());
    await extractCached(async (_x, dest) => {
      await mkdir(join(dest, 'info'), { recursive: true });
    }, join(pkgDir, a.fn), cacheKey(a), cache);
    expect(await readdir(extDir)).toEqual([cacheKey(a)]);
  });
});
