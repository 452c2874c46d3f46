/** The conda-lock v1 and @EXPLICIT readers on real files from ../shared/fixtures. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseArchiveUrl } from '../../src/lockfile/foreign/archive-url.js';
import { parseCondaLockV1, parseExplicit, readAnyLockfile } from '../../src/lockfile/foreign/index.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';

function walk(dir: string, want: (f: string) => boolean): string[] {
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const f = join(dir, n);
    if (statSync(f).isDirectory()) out.push(...walk(f, want));
    else if (want(f)) out.push(f);
  }
  return out.sort();
}

describe('parseArchiveUrl', () => {
  it.each([
    ['https://conda.anaconda.org/conda-forge/linux-64/python-3.12.4-h194c7f8_0_cpython.conda', 'python', '3.12.4', 'h194c7f8_0_cpython', 0, 'linux-64', 'https://conda.anaconda.org/conda-forge'],
    ['https://repo.anaconda.com/pkgs/main/noarch/idna-2.10-py_0.conda', 'idna', '2.10', 'py_0', 0, 'noarch', 'https://repo.anaconda.com/pkgs/main'],
    ['http://127.0.0.1:8080/t/x/chan/osx-64/zlib-1.2.11-h1de35cc_3.tar.bz2', 'zlib', '1.2.11', 'h1de35cc_3', 3, 'osx-64', 'http://127.0.0.1:8080/t/x/chan'],
    ['https://conda.anaconda.org/conda-forge/linux-64/_libgcc_mutex-0.1-conda_forge.tar.bz2', '_libgcc_mutex', '0.1', 'conda_forge', 0, 'linux-64', 'https://conda.anaconda.org/conda-forge'],
  ])('%s', (url, name, version, build, bn, subdir, channel) => {
    expect(parseArchiveUrl(url, 'x')).toMatchObject({ name, version, build, build_number: bn, subdir, channel });
  });
  it('refuses a URL that is not a package', () => {
    expect(() => parseArchiveUrl('https://example.org/linux-64/readme.txt', 'f:3')).toThrow(/f:3.*does not name a conda package/);
  });
});

describe.skipIf(!haveFixtures)(`real foreign lockfiles (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  const condaLocks = haveFixtures ? walk(fixture('environments', 'conda-lock-tests'), (f) => f.endsWith('conda-lock.yml')) : [];
  const explicits = haveFixtures ? walk(fixture('lockfiles', 'explicit'), () => true) : [];

  it('finds the fixtures', () => {
    expect(condaLocks.length).toBeGreaterThanOrEqual(4);
    expect(explicits.length).toBeGreaterThanOrEqual(10);
  });

  it.each(condaLocks.map((f) => [relative(fixture('environments'), f), f]))('conda-lock v1 %s: every main conda entry, with its URL and hashes', (_rel, file) => {
    const text = readFileSync(file, 'utf8');
    const raw = (parse(text) as { package: Array<Record<string, any>> }).package;
    const main = raw.filter((p) => (p.manager ?? 'conda') === 'conda' && (p.category ?? 'main') === 'main');
    const got = parseCondaLockV1(text, file, { categories: ['main'] });
    const keys = new Set(main.map((p) => `${p.platform} ${p.name} ${p.url}`));
    expect(new Set(got.lockfile.packages.map((p) => `${p.platform} ${p.name} ${p.url}`))).toEqual(keys);
    for (const p of got.lockfile.packages) {
      const src = main.find((m) => m.platform === p.platform && m.name === p.name)!;
      expect(p.md5).toBe(src.hash.md5 ?? '');
      expect(p.sha256).toBe(src.hash.sha256 ?? '');
      expect(p.version).toBe(String(src.version));
      expect(p.url.endsWith(`/${p.subdir}/${p.fn}`)).toBe(true);
    }
    expect(got.md5Only).toBe(got.lockfile.packages.filter((p) => !p.sha256).length);
    if (raw.some((p) => p.manager === 'pip')) expect(got.warnings.join('\n')).toContain('pip package');
    // By default every category is read, each package keeping the union of its entries' categories.
    const all = parseCondaLockV1(text, file);
    expect(all.lockfile.packages.length).toBeGreaterThanOrEqual(got.lockfile.packages.length);
    for (const p of all.lockfile.packages) {
      const cats = [...new Set(raw.filter((r) => (r.manager ?? 'conda') === 'conda' && r.platform === p.platform && r.name === p.name).map((r) => String(r.category ?? 'main')))].sort();
      expect(p.categories ?? ['main']).toEqual(cats);
    }
  });

  it.each(explicits.map((f) => [relative(fixture('lockfiles'), f), f]))('@EXPLICIT %s: one package per URL line, platform from the header or URLs', async (_rel, file) => {
    const text = readFileSync(file, 'utf8');
    const urls = text.split('\n').filter((l) => /^(https?|file):/.test(l.trim()));
    const unpinned = urls.findIndex((u) => !/#[0-9a-f]{32,64}\s*$/i.test(u));
    if (unpinned >= 0) {
      // conda list --explicit without --md5: nothing to verify a download against, so refused.
      const line = text.split('\n').findIndex((l) => l === urls[unpinned]) + 1;
      await expect(readAnyLockfile(file)).rejects.toThrow(`${file}:${line}: `);
      await expect(readAnyLockfile(file)).rejects.toThrow('refusing to install an unpinned package');
      return;
    }
    const got = await readAnyLockfile(file);
    expect(got.format).toBe('explicit');
    expect(got.lockfile.packages).toHaveLength(urls.length);
    const platform = got.lockfile.metadata.platforms[0]!;
    expect(got.lockfile.packages.every((p) => p.subdir === platform || p.subdir === 'noarch')).toBe(true);
    const header = /^#\s*platform:\s*(\S+)/m.exec(text)?.[1];
    if (header) expect(platform).toBe(header);
  });

  it('@EXPLICIT without a platform line takes the URLs\' subdir; mixed subdirs are refused', () => {
    const u = (s: string, n: string) => `https://conda.anaconda.org/conda-forge/${s}/${n}-1.0-0.conda#${'a'.repeat(32)}`;
    expect(parseExplicit(`@EXPLICIT\n${u('linux-64', 'a')}\n${u('noarch', 'b')}\n`, 'f').lockfile.metadata.platforms).toEqual(['linux-64']);
    expect(() => parseExplicit(`@EXPLICIT\n${u('linux-64', 'a')}\n${u('osx-64', 'b')}\n`, 'f')).toThrow(/linux-64, osx-64; add the line/);
  });
});
