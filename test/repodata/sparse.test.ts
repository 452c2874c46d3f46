/**
 * The sparse name index (src/repodata/sparse.ts) must give exactly what the full parser gives, for
 * every real repodata fixture, whether the text is in memory, in a file, or reopened from its
 * serialised index; and it must reject broken structure instead of indexing half a file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parseRepoData, RepoDataIndex } from '../../src/repodata/parse.js';
import { deserialiseIndex, RepoDataScanner, scanRepoData, serialiseIndex, SparseRepoData, type SparseIndexData } from '../../src/repodata/sparse.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

const FILES = [
  'conda-forge-subchannel-py39-2024-05/linux-64/repodata.json',
  'conda-forge-subchannel-py39-2024-05/osx-arm64/repodata.json',
  'conda-forge-subchannel-py39-2024-05/win-arm64/repodata.json',
  'conda-forge-subchannel-py39-2024-05/noarch/repodata.json',
  'rattler/pytorch__linux-64__repodata.json',
  'rattler/conda-forge-python-subset__linux-64__repodata.json',
  'rattler/with-wheels__noarch__repodata-v3.json',
  'mamba/conda-forge-numpy-linux-64.json',
  'mamba/conda-forge-repodata-version-2.json',
  'conda-defaults-2018/main__noarch__repodata.json',
  'conda-defaults-2018/r__linux-64__repodata.json',
  'conda-format-repo/linux-64/repodata.json',
  'conda-format-repo/win-64/repodata.json',
  'conda-format-repo/noarch/repodata.json',
];
const OPTS = { channel: 'https://example.org/chan', subdir: 'linux-64', baseUrl: 'https://example.org/chan/linux-64/' };

const tmp = mkdtempSync(join(tmpdir(), 'cgl-sparse-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Feed `buf` to a RepoDataScanner in pieces of pseudo-random sizes (1..max bytes). */
function scanInPieces(buf: Buffer, max: number, seed = 1, source = 'repodata'): SparseIndexData | undefined {
  const sc = new RepoDataScanner(source);
  let x = seed;
  for (let off = 0; off < buf.length; ) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const len = 1 + (x % max);
    sc.push(buf.subarray(off, off + len));
    off += len;
  }
  return sc.end();
}

const asJson = (d: SparseIndexData | undefined) =>
  d && JSON.stringify({ ...d, counts: [...d.counts], table: [...d.table] });

/** name → records (JSON) from the full parser. */
function fullByName(buf: Buffer): Map<string, string> {
  const idx = new RepoDataIndex(buf, OPTS);
  return new Map(idx.names().map((n) => [n, JSON.stringify(idx.records(n))]));
}

describe.skipIf(!haveFixtures)('sparse index vs the full parser on real repodata', () => {
  it.each(FILES)('%s: same names, same records in the same order (memory, file, reopened index)', (rel) => {
    const buf = readFileSync(fixture('repodata', rel));
    const want = fullByName(buf);
    const data = scanRepoData(buf, rel);
    expect(data).toBeDefined();
    const file = join(tmp, rel.replaceAll('/', '_'));
    writeFileSync(file, buf);
    const reopened = deserialiseIndex(serialiseIndex(data!));
    expect(reopened).toBeDefined();
    for (const sparse of [
      new SparseRepoData(data!, { buffer: buf }, OPTS),
      new SparseRepoData(data!, { file }, OPTS),
      new SparseRepoData(reopened!, { file }, OPTS),
    ]) {
      expect(sparse.names()).toEqual([...want.keys()]);
      for (const [name, recs] of want) expect(JSON.stringify(sparse.records(name)), name).toBe(recs);
      expect(sparse.has('no-such-package')).toBe(false);
      expect(sparse.records('no-such-package')).toEqual([]);
      sparse.close();
    }
  });

  it.each(FILES)('%s: scanned in pieces (as it comes out of the zstd decoder) gives the same index', (rel) => {
    const buf = readFileSync(fixture('repodata', rel));
    const whole = asJson(scanRepoData(buf, rel));
    expect(whole).toBeDefined();
    for (const max of [1 << 16, 4096, 97]) expect(asJson(scanInPieces(buf, max, max, rel)), `pieces up to ${max}`).toBe(whole);
  });

  it('parses only the names asked for', () => {
    const buf = readFileSync(fixture('repodata', 'conda-forge-subchannel-py39-2024-05/linux-64/repodata.json'));
    const sparse = new SparseRepoData(scanRepoData(buf)!, { buffer: buf }, OPTS);
    const zlib = sparse.records('zlib');
    expect(zlib.length).toBeGreaterThan(0);
    expect(sparse.parsed).toBe(zlib.length);
    expect(sparse.recordCount).toBeGreaterThan(2000);
  });

  it('leaves flat {fn: record} maps and single records to the full parser', () => {
    expect(scanRepoData(readFileSync(fixture('repodata', 'conda-defaults-2018/index4.flat.json')))).toBeUndefined();
    expect(scanRepoData(readFileSync(fixture('repodata', 'rattler/_libgcc_mutex-0.1-conda_forge.record.json')))).toBeUndefined();
  });
});

describe('sparse index on synthetic repodata', () => {
  const rec = (name: string, version: string, extra: Record<string, unknown> = {}) => ({ name, version, build: 'h0_0', build_number: 0, depends: [], ...extra });
  const doc = {
    info: { subdir: 'linux-64' },
    packages: {
      'a-1.0-h0_0.tar.bz2': rec('a', '1.0'),
      'a-2.0-h0_0.tar.bz2': rec('a', '2.0', { depends: ['b >=1', 'weird "} {[ name'] }),
      'b-1.0-h0_0.tar.bz2': rec('b', '1.0', { license: 'name: "x" }' }),
      'gone-1.0-h0_0.tar.bz2': rec('gone', '1.0'),
    },
    'packages.conda': { 'a-2.0-h0_0.conda': rec('a', '2.0', { nested: { name: 'not-this' } }) },
    removed: ['gone-1.0-h0_0.tar.bz2'],
    repodata_version: 1,
  };

  it('applies removed, prefers .conda, and takes each name from the record itself (not from nested keys or strings)', () => {
    for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2)]) {
      const buf = Buffer.from(text);
      const sparse = new SparseRepoData(scanRepoData(buf)!, { buffer: buf }, OPTS);
      expect(sparse.names()).toEqual(['a', 'b', 'gone']);
      expect(sparse.records('a').map((r) => r.fn)).toEqual(['a-2.0-h0_0.conda', 'a-1.0-h0_0.tar.bz2']);
      expect(sparse.records('gone')).toEqual([]);
      expect(JSON.stringify(sparse.all())).toBe(JSON.stringify(parseRepoData(buf, OPTS).sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))));
    }
  });

  it.each([
    ['truncated', JSON.stringify(doc).slice(0, 200)],
    ['unterminated string', '{"packages": {"a-1-0.tar.bz2": {"name": "a'],
    ['trailing garbage', `${JSON.stringify(doc)} x`],
    ['not an object', '[1, 2]'],
    ['missing colon', '{"packages" {}}'],
  ])('rejects broken structure (%s) with E_REPODATA_INVALID', (_what, text) => {
    let err: unknown;
    try {
      scanRepoData(Buffer.from(text), 'https://example.org/chan/linux-64/repodata.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('E_REPODATA_INVALID');
    expect((err as Error).message).toContain('https://example.org/chan/linux-64/repodata.json');
  });

  it.each([
    ['truncated', JSON.stringify(doc).slice(0, 200)],
    ['unterminated string', '{"packages": {"a-1-0.tar.bz2": {"name": "a'],
    ['trailing garbage', `${JSON.stringify(doc)} x`],
    ['not an object', '[1, 2]'],
    ['empty', ''],
    ['cut after a key', '{"packages": {"a-1-0.tar.bz2"'],
    ['a number cut short at the end', '{"repodata_version": 1'],
  ])('in pieces too: rejects broken structure (%s) with E_REPODATA_INVALID', (_what, text) => {
    for (const max of [1, 7, 1 << 16]) {
      expect(() => scanInPieces(Buffer.from(text), max, 3, 'src.json'), `pieces up to ${max}`).toThrow(/src\.json is not valid repodata JSON/);
    }
  });

  it('in pieces: 1-byte chunks, a BOM, pretty-printed text, flat maps and single records', () => {
    const text = JSON.stringify(doc, null, 2);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    expect(asJson(scanInPieces(bom, 1))).toBe(asJson(scanRepoData(bom)));
    expect(scanInPieces(Buffer.from(JSON.stringify({ 'a-1-0.tar.bz2': rec('a', '1') })), 5)).toBeUndefined();
    expect(scanInPieces(Buffer.from(JSON.stringify(rec('a', '1'))), 5)).toBeUndefined();
  });

  it('a record whose bytes are not JSON fails when its name is first read, naming the source and the file', () => {
    const text = JSON.stringify(doc).replace('"name":"b","version":"1.0"', '"name":"b","version" "1.0"');
    const buf = Buffer.from(text);
    const sparse = new SparseRepoData(scanRepoData(buf, 'src.json')!, { buffer: buf }, { ...OPTS, source: 'src.json' });
    expect(sparse.records('a').length).toBe(2); // a's records are intact
    expect(() => sparse.records('b')).toThrow(/src\.json.*b-1\.0-h0_0\.tar\.bz2/);
  });

  it('strings with escapes, quotes, brackets and multi-byte text at every byte alignment: every record found whole, with its own name', () => {
    // The string skip reads four bytes at a time (aligned words, a borrow can flag a wrong byte):
    // put every tricky byte at every position of a word, in Buffers starting at every offset mod 4.
    let x = 7;
    const rnd = (k: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % k);
    const parts = ['\\', '"', '\\"', '#', ']', '}', '{', '[', ',', ':', 'é', '€', '😀', 'name', '"name"', 'a', 'bc', ' ', '\u0022', '\n'];
    const str = () => Array.from({ length: rnd(12) }, () => parts[rnd(parts.length)]).join('');
    const packages: Record<string, unknown> = {};
    for (let k = 0; k < 400; k++) {
      const name = `p${k % 37}${str()}`;
      packages[`${str()}-${k}.tar.bz2`] = { build: str(), depends: [str(), str()], license: str(), name, extra: { name: str() }, version: `${k}` };
    }
    const text = JSON.stringify({ info: { subdir: 'linux-64' }, packages });
    const want = new Map<string, unknown[]>();
    for (const r of Object.values(packages) as Array<{ name: string }>) want.set(r.name, [...(want.get(r.name) ?? []), r]);
    for (let lead = 0; lead < 4; lead++) {
      const big = Buffer.alloc(text.length * 4 + 8, 0x22); // quotes around the text: only its own bytes may count
      const len = big.write(text, lead + 4);
      const buf = big.subarray(lead + 4, lead + 4 + len);
      const data = scanRepoData(buf)!;
      expect(data.names).toEqual([...want.keys()]);
      let o = 0;
      data.names.forEach((name, k) => {
        const got = [];
        for (let r = 0; r < data.counts[2 * k]! + data.counts[2 * k + 1]!; r++, o += 4) got.push(JSON.parse(buf.toString('utf8', data.table[o]!, data.table[o + 1]!)));
        expect(got, name).toEqual(want.get(name));
      });
      expect(asJson(scanInPieces(buf, 13, lead + 1))).toBe(asJson(data));
    }
    // a closing quote in the last bytes, past the last whole word, of text held whole
    for (let lead = 0; lead < 4; lead++) {
      for (let k = 0; k < 8; k++) {
        const tail = `{"packages":{"a-1-0.tar.bz2":{"name":"a","version":"1"}},"zz":"${'x'.repeat(k)}"}`;
        const big = Buffer.alloc(tail.length + 8, 0x22);
        big.write(tail, lead);
        const d = scanRepoData(big.subarray(lead, lead + tail.length));
        expect(d?.names, `lead ${lead}, ${k} bytes`).toEqual(['a']);
      }
    }
  });

  it('an index does not deserialise from other bytes', () => {
    expect(deserialiseIndex(Buffer.from('not an index'))).toBeUndefined();
    const good = serialiseIndex(scanRepoData(Buffer.from(JSON.stringify(doc)))!);
    expect(deserialiseIndex(good.subarray(0, good.length - 4))).toBeUndefined();
  });
});
