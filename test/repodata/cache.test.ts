/**
 * The decoded repodata cache: a new copy replaces the old one as a whole (new generation, old files
 * deleted), a copy that no longer matches its metadata is not used, and the disk bound evicts the
 * least recently used entries but never the newest.
 */
import { mkdtemp, readdir, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepodataCache } from '../../src/repodata/cache.js';
import { scanRepoData } from '../../src/repodata/sparse.js';

const text = (v: string) =>
  Buffer.from(JSON.stringify({ info: { subdir: 'noarch' }, packages: { [`a-${v}-0.tar.bz2`]: { name: 'a', version: v, build: '0', depends: [] } } }));

describe('RepodataCache decoded entries', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'cgl-cache-'));
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('replaces a copy as a whole and deletes the previous generation', async () => {
    const cache = new RepodataCache(join(tmp, 'a'));
    const url = 'http://127.0.0.1:1/t/tok-123/c/noarch/repodata.json';
    const one = text('1.0');
    const f1 = await cache.putIndexed(url, one, scanRepoData(one), { etag: '"e1"' });
    const two = text('2.0');
    const f2 = await cache.putIndexed(url, two, scanRepoData(two), { etag: '"e2"' });
    expect(f2).not.toBe(f1);
    const got = await cache.getIndexed(url);
    expect(got?.jsonFile).toBe(f2);
    expect(got?.meta.etag).toBe('"e2"');
    expect(got && 'index' in got && got.index?.names).toEqual(['a']);
    const files = await readdir(join(tmp, 'a', 'repodata'));
    expect(files.filter((f) => f.endsWith('.text'))).toHaveLength(1);
    expect(files.some((f) => f.includes('tok-123'))).toBe(false);
    // the generic raw-body API does not mistake a decoded entry for a body
    expect(await cache.get(url)).toBeUndefined();
  });

  it('does not use a copy whose text no longer matches (truncated, or index missing)', async () => {
    const cache = new RepodataCache(join(tmp, 'b'));
    const url = 'http://127.0.0.1:1/c/noarch/repodata.json';
    const t = text('1.0');
    const file = await cache.putIndexed(url, t, scanRepoData(t), {});
    await truncate(file, t.length - 3);
    expect(await cache.getIndexed(url)).toBeUndefined();
    const f2 = await cache.putIndexed(url, t, scanRepoData(t), {});
    await writeFile(f2.replace(/\.text$/, '.index'), 'garbage');
    expect(await cache.getIndexed(url)).toBeUndefined();
  });

  it('keeps decoded repodata under its bound, evicting the least recently used and never the newest', async () => {
    const cache = new RepodataCache(join(tmp, 'c'), 1);
    const urls = ['x', 'y', 'z'].map((s) => `http://127.0.0.1:1/${s}/noarch/repodata.json`);
    for (const u of urls) {
      const t = text('1.0');
      await cache.putIndexed(u, t, scanRepoData(t), {});
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await cache.getIndexed(urls[0]!)).toBeUndefined();
    expect(await cache.getIndexed(urls[1]!)).toBeUndefined();
    expect((await cache.getIndexed(urls[2]!))?.jsonFile).toBeDefined();
    const roomy = new RepodataCache(join(tmp, 'd'), 10 * 2 ** 20);
    for (const u of urls) await roomy.putIndexed(u, text('1.0'), scanRepoData(text('1.0')), {});
    for (const u of urls) expect((await roomy.getIndexed(u))?.jsonFile).toBeDefined();
  });

  it('a copy stored by another process while ours downloaded is replaced too, not left on disk unreferenced', async () => {
    const cache = new RepodataCache(join(tmp, 'race'));
    const url = 'http://127.0.0.1:1/c/noarch/repodata.json';
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const one = text('1.0');
    const slow = cache.putIndexedFrom(
      url,
      async (tmpFile) => {
        await gate; // a long download
        await writeFile(tmpFile, one, { flag: 'wx' });
        return { size: one.length, index: scanRepoData(one) };
      },
      {},
    );
    const two = text('2.0');
    await cache.putIndexed(url, two, scanRepoData(two), {}); // the other process, done first
    release();
    const mine = await slow;
    const files = (await readdir(join(tmp, 'race', 'repodata'))).filter((f) => f.endsWith('.text'));
    expect(files).toEqual([mine.file.slice(mine.file.lastIndexOf('/') + 1)]);
  });

  it('prune removes old leftovers (temps of killed streams, generations never committed), keeps fresh ones and every referenced file', async () => {
    const root = join(tmp, 'leftovers');
    const cache = new RepodataCache(root);
    const url = 'http://127.0.0.1:1/c/linux-64/repodata.json';
    const one = text('1.0');
    const kept = await cache.putIndexed(url, one, scanRepoData(one), {});
    const dir = join(root, 'repodata');
    const key = kept.slice(kept.lastIndexOf('/') + 1).slice(0, 64);
    const old = new Date(Date.now() - 7 * 60 * 60 * 1000);
    const orphan = join(dir, `${key}.aaaaaaaaaaaa.text`);
    const temp = join(dir, `.${key}.bbbbbbbbbbbb.text.4242.0123456789ab.tmp`);
    const fresh = join(dir, `${key}.cccccccccccc.text`);
    for (const f of [orphan, temp, fresh]) await writeFile(f, 'x');
    await utimes(orphan, old, old);
    await utimes(temp, old, old);
    await utimes(kept, old, old); // referenced: stays however old
    await cache.prune();
    const files = await readdir(dir);
    expect(files).toContain(kept.slice(kept.lastIndexOf('/') + 1));
    expect(files).toContain(`${key}.cccccccccccc.text`);
    expect(files).not.toContain(`${key}.aaaaaaaaaaaa.text`);
    expect(files.some((f) => f.endsWith('.tmp'))).toBe(false);
    expect((await cache.getIndexed(url))?.jsonFile).toBe(kept);
  });
});
