import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseRepoData } from '../../src/repodata/parse.js';
import { InputError } from '../../src/errors.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

type Raw = Record<string, Record<string, unknown>>;
const read = (rel: string) => readFileSync(fixture('repodata', rel));
const json = (rel: string) => JSON.parse(read(rel).toString('utf8')) as Record<string, unknown>;

/** Raw counts (packages / packages.conda) as documented in fixtures/SOURCES.md. */
const RAW_FILES: Array<[file: string, tarBz2: number, conda: number]> = [
  ['conda-forge-subchannel-py39-2024-05/linux-64/repodata.json', 2354, 355],
  ['conda-forge-subchannel-py39-2024-05/linux-aarch64/repodata.json', 1612, 299],
  ['conda-forge-subchannel-py39-2024-05/linux-ppc64le/repodata.json', 1574, 296],
  ['conda-forge-subchannel-py39-2024-05/osx-64/repodata.json', 1980, 257],
  ['conda-forge-subchannel-py39-2024-05/osx-arm64/repodata.json', 616, 216],
  ['conda-forge-subchannel-py39-2024-05/win-64/repodata.json', 2005, 334],
  ['conda-forge-subchannel-py39-2024-05/win-arm64/repodata.json', 0, 29],
  ['conda-forge-subchannel-py39-2024-05/noarch/repodata.json', 127, 78],
  ['rattler/pytorch__linux-64__repodata.json', 2181, 0],
  ['rattler/conda-forge-python-subset__linux-64__repodata.json', 4, 21],
  ['rattler/with-wheels__noarch__repodata-v3.json', 3, 3],
  ['mamba/conda-forge-numpy-linux-64.json', 4, 30],
  ['mamba/conda-forge-repodata-version-2.json', 1, 1],
  ['conda-defaults-2018/main__noarch__repodata.json', 322, 0],
  ['conda-defaults-2018/r__linux-64__repodata.json', 4211, 0],
  ['conda-format-repo/linux-64/repodata.json', 2, 1],
  ['conda-format-repo/osx-64/repodata.json', 1, 1],
  ['conda-format-repo/win-64/repodata.json', 4, 1],
  ['conda-format-repo/win-32/repodata.json', 1, 1],
  ['conda-format-repo/noarch/repodata.json', 0, 0],
];

/** libmamba's numpy dump has a typo in the source data: key/fn say `head63a1`, build and url say `heda63a1`. */
const INCONSISTENT_IN_FIXTURE = new Set(['numpy-1.26.4-py312head63a1_0.conda']);

describe.skipIf(!haveFixtures)('parseRepoData on every real repodata fixture', () => {
  it.each(RAW_FILES)('%s: one record per build, .conda winning over .tar.bz2', (file, tarCount, condaCount) => {
    const raw = json(file);
    const tar = (raw.packages ?? {}) as Raw;
    const conda = (raw['packages.conda'] ?? {}) as Raw;
    expect(Object.keys(tar)).toHaveLength(tarCount);
    expect(Object.keys(conda)).toHaveLength(condaCount);
    const removed = new Set((raw.removed as string[] | undefined) ?? []);
    const condaStems = new Set(Object.keys(conda).map((f) => f.replace(/\.conda$/, '')));
    const shadowed = Object.keys(tar).filter((f) => condaStems.has(f.replace(/\.tar\.bz2$/, '')));
    const expectedFns = new Set(
      [...Object.keys(conda), ...Object.keys(tar).filter((f) => !shadowed.includes(f))].filter((f) => !removed.has(f)),
    );

    const recs = parseRepoData(read(file), { channel: 'https://example.org/chan', baseUrl: 'https://example.org/chan/x/' });
    expect(recs).toHaveLength(expectedFns.size);
    expect(new Set(recs.map((r) => r.fn))).toEqual(expectedFns);
    for (const r of recs) {
      if (INCONSISTENT_IN_FIXTURE.has(r.fn)) continue;
      expect(Array.isArray(r.depends)).toBe(true);
      expect(Array.isArray(r.constrains)).toBe(true);
      expect(r.subdir).not.toBe('');
      expect(r.channel).toBe('https://example.org/chan');
      expect(r.url.endsWith(`/${r.fn}`)).toBe(true);
      expect(`${r.name}-${r.version}-${r.build}`).toBe(r.fn.replace(/\.(conda|tar\.bz2)$/, ''));
      if (r.timestamp !== undefined) expect(r.timestamp).toBeGreaterThan(1e12);
    }
  });

  it('drops the .tar.bz2 twin of a .conda build (zlib in conda-format-repo, libffi in the libmamba dump)', () => {
    const zlib = parseRepoData(read('conda-format-repo/linux-64/repodata.json')).filter((r) => r.name === 'zlib');
    expect(zlib.map((r) => r.fn)).toEqual(['zlib-1.2.11-h7b6447c_3.conda']);
    expect(zlib[0]!.sha256).toBe('f33afff2144e1d6c4cf2e3e184937db8bf825b4537df74662aea5ee207b6a31b');
    const libffi = parseRepoData(read('mamba/conda-forge-numpy-linux-64.json')).filter((r) => r.name === 'libffi');
    expect(libffi.map((r) => r.fn)).toEqual(['libffi-3.4.2-h7f98852_5.conda']);
    // libgcc-ng only exists as .tar.bz2 in conda-format-repo and must stay.
    const all = parseRepoData(read('conda-format-repo/linux-64/repodata.json'));
    expect(all.find((r) => r.name === 'libgcc-ng')?.fn).toBe('libgcc-ng-8.2.0-hdf63c60_1.tar.bz2');
  });

  it('excludes files listed in `removed`', () => {
    const raw = json('conda-defaults-2018/r__linux-64__repodata.json');
    const removed = raw.removed as string[];
    const withRemoved = { ...raw, packages: { ...(raw.packages as Raw), [removed[0]!]: (Object.values(raw.packages as Raw)[0]!) } };
    const recs = parseRepoData(withRemoved);
    expect(recs.some((r) => r.fn === removed[0])).toBe(false);
    expect(recs).toHaveLength(4211);
  });

  it('dumped subchannel form: `metadata` instead of `info`, records keep their own url, channel comes from options', () => {
    const recs = parseRepoData(read('conda-forge-subchannel-py39-2024-05/noarch/repodata.json'), {
      channel: 'http://127.0.0.1:1/sub',
    });
    const certifi = recs.find((r) => r.fn === 'certifi-2022.6.15-pyhd8ed1ab_1.tar.bz2')!;
    expect(certifi.url).toBe('https://conda.anaconda.org/conda-forge/noarch/certifi-2022.6.15-pyhd8ed1ab_1.tar.bz2');
    expect(certifi.channel).toBe('http://127.0.0.1:1/sub');
    expect(certifi.noarch).toBe('python');
    expect(certifi.depends).toEqual(['python >=3.7']);
    // Without a channel option the record's own `channel` is used, minus its subdir.
    const plain = parseRepoData(read('conda-forge-subchannel-py39-2024-05/noarch/repodata.json'));
    expect(plain.find((r) => r.name === 'certifi')!.channel).toBe('https://conda.anaconda.org/conda-forge');
  });

  it('libmamba dump: build_string, null depends/constrains, seconds timestamps', () => {
    const recs = parseRepoData(read('mamba/conda-forge-numpy-linux-64.json'));
    const mutex = recs.find((r) => r.name === '_libgcc_mutex')!;
    expect(mutex.depends).toEqual([]);
    expect(mutex.constrains).toEqual([]);
    expect(mutex.timestamp).toBe(1578324546000);
    expect(mutex.track_features).toBeUndefined();
    expect(mutex.channel).toBe('https://conda.anaconda.org/conda-forge');
    expect(recs.find((r) => r.name === 'numpy')).toBeDefined();
  });

  it('raw server repodata: url = subdir URL + fn; milliseconds timestamps stay', () => {
    const recs = parseRepoData(read('rattler/pytorch__linux-64__repodata.json'), {
      channel: 'https://conda.anaconda.org/pytorch',
      subdir: 'linux-64',
      baseUrl: 'https://conda.anaconda.org/pytorch/linux-64',
    });
    const r = recs[0]!;
    expect(r.url).toBe(`https://conda.anaconda.org/pytorch/linux-64/${r.fn}`);
    expect(recs.filter((x) => x.features !== undefined).length).toBe(146);
    const raw = (json('rattler/pytorch__linux-64__repodata.json').packages as Raw)[r.fn]!;
    expect(r.timestamp).toBe(raw.timestamp);
  });

  it('derives the channel from a tokenised subdir URL without keeping the token', () => {
    const recs = parseRepoData(read('conda-format-repo/osx-64/repodata.json'), {
      baseUrl: 'https://repo.example/t/tk-SECRET/main/osx-64/',
    });
    expect(recs[0]!.channel).toBe('https://repo.example/main');
    expect(recs[0]!.subdir).toBe('osx-64');
  });

  it('flat {filename: record} maps take the subdir from each record', () => {
    const recs = parseRepoData(read('conda-defaults-2018/index4.flat.json'));
    const bySubdir = new Map<string, number>();
    for (const r of recs) bySubdir.set(r.subdir, (bySubdir.get(r.subdir) ?? 0) + 1);
    expect(bySubdir.get('linux-64')).toBeGreaterThanOrEqual(5293);
    expect(bySubdir.get('noarch')).toBe(338);
    expect(recs.some((r) => r.name === 'python')).toBe(true);
    const five = parseRepoData(read('conda-defaults-2018/index5.flat.json'));
    expect(five.filter((r) => r.subdir === 'win-64')).toHaveLength(820);
    expect(five.filter((r) => r.subdir === 'noarch')).toHaveLength(332);
  });

  it('a single record file gives one record', () => {
    const [r, ...rest] = parseRepoData(read('rattler/_libgcc_mutex-0.1-conda_forge.record.json'));
    expect(rest).toEqual([]);
    expect(r!.name).toBe('_libgcc_mutex');
    expect(r!.fn).toBe('_libgcc_mutex-0.1-conda_forge.tar.bz2');
  });

  it('repodata v3 (with-wheels): the v3 section is ignored', () => {
    const recs = parseRepoData(read('rattler/with-wheels__noarch__repodata-v3.json'));
    expect(recs.every((r) => r.name === 'six')).toBe(true);
    expect(recs.map((r) => r.fn).sort()).toEqual([
      'six-1.6.0-py3_none_any_0.tar.bz2',
      'six-1.7.0-py3_none_any_0.conda',
      'six-1.8.0-py3_none_any_0.conda',
      'six-1.9.0-py3_none_any_0.conda',
    ]);
  });

  it('parses the 2 MB linux-64 file the same way every time (speed: bench/lock-scale.ts)', () => {
    const buf = read('conda-forge-subchannel-py39-2024-05/linux-64/repodata.json');
    const opts = { channel: 'https://c/x', subdir: 'linux-64', baseUrl: 'https://c/x/linux-64/' };
    const first = JSON.stringify(parseRepoData(buf, opts));
    expect(JSON.stringify(parseRepoData(buf, opts))).toBe(first);
  });
});

describe('parseRepoData on synthetic inputs', () => {
  const rec = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    version: '1.0',
    build: 'h0_0',
    build_number: 0,
    depends: [],
    ...extra,
  });

  it.each([
    ['absolute', 'https://mirror.example/pkgs/linux-64/', 'https://mirror.example/pkgs/linux-64/a-1.0-h0_0.conda'],
    ['relative', '../pkgs/', 'https://c.example/chan/pkgs/a-1.0-h0_0.conda'],
    ['absolute without slash', 'https://mirror.example/x', 'https://mirror.example/x/a-1.0-h0_0.conda'],
  ])('repodata_version 2 base_url (%s)', (_n, baseUrl, expected) => {
    const recs = parseRepoData(
      { repodata_version: 2, info: { subdir: 'linux-64', base_url: baseUrl }, 'packages.conda': { 'a-1.0-h0_0.conda': rec('a') } },
      { channel: 'https://c.example/chan', baseUrl: 'https://c.example/chan/linux-64/' },
    );
    expect(recs[0]!.url).toBe(expected);
    expect(recs[0]!.subdir).toBe('linux-64');
  });

  it('md5/sha256 as bytes become lowercase hex', () => {
    const sha = Buffer.alloc(32, 0xab);
    const md5 = Buffer.alloc(16, 0x0f);
    const [r] = parseRepoData({ packages: { 'a-1.0-h0_0.tar.bz2': rec('a', { sha256: sha, md5 }) } });
    expect(r!.sha256).toBe('ab'.repeat(32));
    expect(r!.md5).toBe('0f'.repeat(16));
  });

  it('rejects non-JSON with an InputError naming the source', () => {
    expect(() => parseRepoData('{oops', { source: 'https://x/repodata.json' })).toThrow(InputError);
    expect(() => parseRepoData('{oops', { source: 'https://x/repodata.json' })).toThrow(/https:\/\/x\/repodata\.json/);
  });

  it('handles 200k records (solver scale bench input; speed lives in bench/, not here)', () => {
    const packages: Record<string, unknown> = {};
    for (let i = 0; i < 200_000; i++) {
      packages[`p${i % 2000}-1.${i}-h${i}_0.tar.bz2`] = {
        name: `p${i % 2000}`,
        version: `1.${i}`,
        build: `h${i}_0`,
        build_number: 0,
        depends: ['python >=3.9', 'libzlib >=1.2.13,<2.0a0'],
        sha256: 'a'.repeat(64),
        md5: 'b'.repeat(32),
        size: 1234,
        timestamp: 1700000000,
        subdir: 'linux-64',
      };
    }
    const recs = parseRepoData({ info: { subdir: 'linux-64' }, packages }, { channel: 'https://c/x', baseUrl: 'https://c/x/linux-64/' });
    expect(recs).toHaveLength(200_000);
    expect(recs[5]!.timestamp).toBe(1700000000000);
  });
});

describe.skipIf(!haveFixtures)('RepoDataIndex', () => {
  it('groups by name lazily and agrees with parseRepoData', async () => {
    const { RepoDataIndex } = await import('../../src/repodata/parse.js');
    const buf = read('mamba/conda-forge-numpy-linux-64.json');
    const opts = { channel: 'https://c/x', baseUrl: 'https://c/x/linux-64/' };
    const index = new RepoDataIndex(buf, opts);
    const flat = parseRepoData(buf, opts);
    expect(index.names()).toEqual([...new Set(flat.map((r) => r.name))].sort());
    expect(index.records('libffi')).toEqual(flat.filter((r) => r.name === 'libffi'));
    expect(index.records('libffi')).toBe(index.records('libffi'));
    expect(index.records('no-such-package')).toEqual([]);
    expect(index.all()).toHaveLength(flat.length);
  });
});
