import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fstatSync, mkdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstallError, UnsafeArchiveError } from '../../src/errors.js';
import { extractPackage, hashFile } from '../../src/install/extract/index.js';
import { ZipReader } from '../../src/install/extract/zip.js';
import {
  buildTar,
  bzip2,
  haveCli,
  listDir,
  snapshotTree,
  writeConda,
  writeMultistreamTarBz2,
  writeTarBz2,
  writeZip,
  zstd,
  type TarEntrySpec,
} from '../support/archives.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';

let tmp: string;
let n = 0;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cgl-extract-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh case directory: <case>/archives (inputs) and <case>/out (dest parent, starts empty). */
async function caseDir(): Promise<{ root: string; archives: string; out: string; dest: string }> {
  const root = join(tmp, `case-${++n}`);
  await mkdir(join(root, 'archives'), { recursive: true });
  await mkdir(join(root, 'out'));
  return { root, archives: join(root, 'archives'), out: join(root, 'out'), dest: join(root, 'out', 'pkg') };
}

const haveTools = haveCli('bzip2') && haveCli('zstd');

/** Check every file listed in info/paths.json exists with the recorded sha256/size. */
async function checkPathsJson(dir: string): Promise<number> {
  const pj = JSON.parse(await readFile(join(dir, 'info', 'paths.json'), 'utf8')) as {
    paths: Array<{ _path: string; path_type: string; sha256?: string; size_in_bytes?: number }>;
  };
  let checked = 0;
  for (const p of pj.paths) {
    const abs = join(dir, p._path);
    const st = await stat(abs).catch(() => undefined);
    if (p.path_type === 'softlink') continue; // targets may be blanked in test copies; checked elsewhere
    expect(st?.isFile(), `${p._path} exists`).toBe(true);
    if (p.sha256) {
      const sha = createHash('sha256').update(await readFile(abs)).digest('hex');
      expect(sha, `${p._path} sha256`).toBe(p.sha256);
      checked++;
    }
    if (p.size_in_bytes !== undefined) expect(st!.size).toBe(p.size_in_bytes);
  }
  return checked;
}

/** Reference extraction with the system CLIs. */
function cliExtract(archive: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  if (archive.endsWith('.tar.bz2')) {
    const r = spawnSync('sh', ['-c', `umask 002; tar --no-same-permissions -xjf "${archive}" -C "${dest}"`]);
    if (r.status !== 0) throw new Error(r.stderr.toString());
    return;
  }
  const members = join(dest, '..', `${basename(dest)}-members`);
  mkdirSync(members, { recursive: true });
  const u = spawnSync('unzip', ['-q', '-o', archive, '-d', members]);
  if (u.status !== 0) throw new Error(u.stderr.toString());
  for (const kind of ['pkg', 'info']) {
    const r = spawnSync('sh', ['-c', `umask 002; zstd -dc "${members}"/${kind}-*.tar.zst | tar --no-same-permissions -xf - -C "${dest}"`]);
    if (r.status !== 0) throw new Error(r.stderr.toString());
  }
}

describe.skipIf(!haveFixtures)(`real packages (${haveFixtures ? 'fixtures found' : fixturesSkipReason})`, () => {
  it('defaults zlib linux-64: .conda and .tar.bz2 give identical trees that match info/paths.json', async () => {
    const c = await caseDir();
    const base = fixture('packages', 'defaults-zlib', 'linux-64', 'zlib-1.2.11-h7b6447c_3');
    const a = await extractPackage(`${base}.conda`, join(c.out, 'conda'));
    const b = await extractPackage(`${base}.tar.bz2`, join(c.out, 'bz2'));
    expect(a.format).toBe('conda');
    expect(b.format).toBe('tar.bz2');
    expect(a.condaMetadata).toEqual({ conda_pkg_format_version: 2 });
    const ta = await snapshotTree(join(c.out, 'conda'));
    expect(ta).toEqual(await snapshotTree(join(c.out, 'bz2')));
    expect(ta['lib/libz.so.1.2.11']).toMatchObject({ type: 'file', size: 133384 });
    expect(await checkPathsJson(join(c.out, 'conda'))).toBeGreaterThanOrEqual(5);
    // This test copy blanks its symlink targets; the .tar.bz2 stores them as empty files.
    expect(a.warnings.some((w) => w.includes('lib/libz.so.1') && w.includes('empty target'))).toBe(true);
  });

  it('mock (conda-forge osx-64): .conda and .tar.bz2 give identical trees', async () => {
    const c = await caseDir();
    const base = fixture('packages', 'mock-2.0.0-py37_1000');
    const a = await extractPackage(`${base}.conda`, join(c.out, 'conda'));
    await extractPackage(`${base}.tar.bz2`, join(c.out, 'bz2'));
    const ta = await snapshotTree(join(c.out, 'conda'));
    expect(ta).toEqual(await snapshotTree(join(c.out, 'bz2')));
    expect(a.files).toBe(Object.values(ta).filter((x) => x.type === 'file').length);
    expect(Object.keys(ta)).toContain('lib/python3.7/site-packages/mock/mock.py');
    expect(await checkPathsJson(join(c.out, 'conda'))).toBeGreaterThan(10);
  });

  it.skipIf(process.platform === 'darwin' || process.platform === 'win32')(
    'digests and sizes: the sha256 and byte count of every regular file as written, by path (the linker uses them instead of reading the files back)',
    async () => {
      const c = await caseDir();
      for (const archive of [fixture('packages', 'mock-2.0.0-py37_1000.conda'), fixture('packages', 'mock-2.0.0-py37_1000.tar.bz2')]) {
        const dest = join(c.out, basename(archive));
        const r = await extractPackage(archive, dest);
        const tree = await snapshotTree(dest);
        const files = Object.entries(tree).filter(([, n]) => n.type === 'file');
        expect(files.length).toBeGreaterThan(10);
        expect(r.digests?.size).toBe(files.length);
        expect(r.sizes?.size).toBe(files.length);
        for (const [rel] of files) {
          const bytes = await readFile(join(dest, rel));
          expect(r.digests?.get(rel), rel).toBe(createHash('sha256').update(bytes).digest('hex'));
          expect(r.sizes?.get(rel), rel).toBe(bytes.length);
        }
      }
    },
  );

  it('flask (noarch: python, 2016; the conda-index test copy holds info/ only) extracts its metadata', async () => {
    const c = await caseDir();
    const r = await extractPackage(fixture('packages', 'flask-0.11.1-py_0.tar.bz2'), c.dest);
    const index = JSON.parse(await readFile(join(c.dest, 'info', 'index.json'), 'utf8'));
    expect(index).toMatchObject({ name: 'flask', version: '0.11.1', noarch: 'python' });
    const files = (await readFile(join(c.dest, 'info', 'files'), 'utf8')).split('\n').filter(Boolean);
    expect(files).toContain('site-packages/flask/__init__.py');
    expect(Object.keys(await snapshotTree(c.dest)).filter((p) => !p.startsWith('info'))).toEqual([]);
    expect(r.files).toBe(10);
  });

  it('_r-mutex (noarch: generic mutex) extracts its metadata', async () => {
    const c = await caseDir();
    const r = await extractPackage(fixture('packages', '_r-mutex-1.0.1-anacondar_1.tar.bz2'), c.dest);
    const index = JSON.parse(await readFile(join(c.dest, 'info', 'index.json'), 'utf8'));
    expect(index).toMatchObject({ name: '_r-mutex', version: '1.0.1' });
    expect(r.files).toBeGreaterThan(0);
  });

  it('ca-certificates re-zipped by macOS (nested members, data descriptors): extracted, with a warning', async () => {
    const c = await caseDir();
    const r = await extractPackage(fixture('packages', 'edge-cases', 'ca-certificates-2024.7.4-hbcca054_0.conda'), c.dest);
    expect(r.warnings.join('\n')).toMatch(/nested under "Users\/jcorreia\/Downloads\/ca-certificates-2024\.7\.4-hbcca054_0\/"/);
    expect(await readlink(join(c.dest, 'ssl', 'cert.pem'))).toBe('cacert.pem');
    expect(await checkPathsJson(c.dest)).toBe(1); // ssl/cacert.pem; ssl/cert.pem is the softlink
    const index = JSON.parse(await readFile(join(c.dest, 'info', 'index.json'), 'utf8'));
    expect(index.name).toBe('ca-certificates');
  });

  it('concurrent extractions (shared zstd wasm instance) give the same trees as sequential ones', async () => {
    const c = await caseDir();
    const archives = [
      fixture('packages', 'mock-2.0.0-py37_1000.conda'),
      fixture('packages', 'defaults-zlib', 'osx-64', 'zlib-1.2.11-h1de35cc_3.conda'),
      fixture('packages', 'defaults-zlib', 'win-64', 'zlib-1.2.11-h62dcd97_3.conda'),
      fixture('packages', 'edge-cases', 'ca-certificates-2024.7.4-hbcca054_0.conda'),
      fixture('packages', 'mock-2.0.0-py37_1000.tar.bz2'),
    ];
    const sequential = [];
    for (const [i, a] of archives.entries()) {
      await extractPackage(a, join(c.out, `seq-${i}`));
      sequential.push(await snapshotTree(join(c.out, `seq-${i}`)));
    }
    await Promise.all(archives.map((a, i) => extractPackage(a, join(c.out, `par-${i}`))));
    for (const i of archives.keys()) expect(await snapshotTree(join(c.out, `par-${i}`))).toEqual(sequential[i]);
  });

  // Differential: our extractor against tar(1) / unzip + zstd(1) on every fixture they can handle.
  const differential = [
    ['packages', 'defaults-zlib', 'osx-64', 'zlib-1.2.11-h1de35cc_3.tar.bz2'],
    ['packages', 'defaults-zlib', 'win-64', 'zlib-1.2.11-h62dcd97_3.tar.bz2'],
    ['packages', 'defaults-zlib', 'win-64', 'zlib-1.2.11-h62dcd97_3.conda'],
    ['packages', 'mock-2.0.0-py37_1000.conda'],
    ['packages', 'flask-0.11.1-py_0.tar.bz2'],
    ['packages', 'conda-forge-repodata-patches-20180828-0.tar.bz2'],
    ['packages', '_r-mutex-1.0.1-anacondar_1.tar.bz2'],
  ];
  it.skipIf(!haveTools).each(differential.map((p) => [p[p.length - 1]!, p]))('%s: same tree as the CLI tools', async (_, parts) => {
    const c = await caseDir();
    const archive = fixture(...parts);
    await extractPackage(archive, join(c.out, 'ours'));
    cliExtract(archive, join(c.root, 'cli'));
    const ours = await snapshotTree(join(c.out, 'ours'));
    const theirs = await snapshotTree(join(c.root, 'cli'));
    // With --no-same-permissions and umask 002, tar(1) keeps group write and drops other write, as we do (KEPT_MODE_BITS).
    expect(ours).toEqual(theirs);
  });
});

describe.skipIf(!haveCli('cph'))('packages built with cph create (conda-package-handling)', () => {
  it('.conda and .tar.bz2 reproduce the source tree: symlink chains, directory links, exec bits', async () => {
    const c = await caseDir();
    const src = join(c.root, 'src');
    await mkdir(join(src, 'info'), { recursive: true });
    await mkdir(join(src, 'bin'));
    await mkdir(join(src, 'lib'));
    await mkdir(join(src, 'share', 'doc'), { recursive: true });
    await writeFile(join(src, 'info', 'index.json'), JSON.stringify({ name: 'chain', version: '1.0', build: '0', build_number: 0, depends: [] }));
    await writeFile(join(src, 'bin', 'tool'), '#!/bin/sh\necho hi\n');
    await chmod(join(src, 'bin', 'tool'), 0o755);
    await writeFile(join(src, 'lib', 'libx.so.1.2.3'), Buffer.alloc(70_000, 7));
    await symlink('libx.so.1.2.3', join(src, 'lib', 'libx.so.1'));
    await symlink('libx.so.1', join(src, 'lib', 'libx.so')); // chain libx.so → libx.so.1 → libx.so.1.2.3
    await symlink('../lib/libx.so', join(src, 'bin', 'libx-link')); // through the chain, from another dir
    await symlink('doc', join(src, 'share', 'docs')); // a directory symlink
    await writeFile(join(src, 'share', 'doc', 'README'), 'read me\n');
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const paths = {
      paths_version: 1,
      paths: [
        { _path: 'bin/tool', path_type: 'hardlink', sha256: sha('#!/bin/sh\necho hi\n'), size_in_bytes: 18 },
        { _path: 'share/doc/README', path_type: 'hardlink', sha256: sha('read me\n'), size_in_bytes: 8 },
      ],
    };
    await writeFile(join(src, 'info', 'paths.json'), JSON.stringify(paths));
    const expected = await snapshotTree(src);
    for (const ext of ['.conda', '.tar.bz2']) {
      const r = spawnSync('cph', ['create', src, `chain-1.0-0${ext}`, '--out-folder', c.archives], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const dest = join(c.out, ext.slice(1));
      const res = await extractPackage(join(c.archives, `chain-1.0-0${ext}`), dest);
      expect(await snapshotTree(dest)).toEqual(expected);
      expect(res.symlinks).toBe(4);
      expect((await stat(join(dest, 'bin', 'tool'))).mode & 0o111).toBe(0o111);
      expect(await readFile(join(dest, 'bin', 'libx-link'))).toEqual(Buffer.alloc(70_000, 7));
      expect(await checkPathsJson(dest)).toBe(2);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile archives. Each case is built as .tar.bz2 and as .conda (the same tar inside pkg-*.tar.zst)
// and must fail with UnsafeArchiveError naming the entry, leaving nothing behind anywhere.

interface HostileCase {
  name: string;
  entries: TarEntrySpec[];
  /** Text the message must contain (the offending entry). */
  names: string;
}

const hostile: HostileCase[] = [
  { name: 'parent traversal "../evil"', entries: [{ name: '../evil', content: 'x' }], names: '"../evil"' },
  { name: 'nested traversal "a/../../evil"', entries: [{ name: 'a/../../evil', content: 'x' }], names: '"a/../../evil"' },
  { name: 'absolute path "/abs"', entries: [{ name: '/tmp/cgl-abs-evil', content: 'x' }], names: '"/tmp/cgl-abs-evil"' },
  { name: 'drive letter "C:/evil"', entries: [{ name: 'C:/evil', content: 'x' }], names: '"C:/evil"' },
  { name: 'backslash trick "a\\..\\..\\evil"', entries: [{ name: 'a\\..\\..\\evil', content: 'x' }], names: 'backslash' },
  {
    name: 'symlink escaping with ".."',
    entries: [{ name: 'lib/out', type: 'symlink', linkname: '../../outside' }],
    names: '"lib/out"',
  },
  { name: 'symlink to an absolute path', entries: [{ name: 'etc', type: 'symlink', linkname: '/etc' }], names: '"etc"' },
  {
    name: 'symlink escaping through an earlier symlink (chain)',
    entries: [
      { name: 'd/', type: 'directory' },
      { name: 'd/up', type: 'symlink', linkname: '..' }, // = the root: fine on its own
      { name: 'd/esc', type: 'symlink', linkname: 'up/..' }, // lexically "d", really root/.. = outside
    ],
    names: '"d/esc"',
  },
  {
    name: 'later symlink turns an earlier dangling target into an escape',
    entries: [
      { name: 'l', type: 'symlink', linkname: 'd/../x' }, // d does not exist yet: lexically "x"
      { name: 'd', type: 'symlink', linkname: '.' }, // now l = ./../x
    ],
    names: '"l"',
  },
  {
    name: 'symlink, then a file written through it',
    entries: [
      { name: 'real/', type: 'directory' },
      { name: 'lnk', type: 'symlink', linkname: 'real' },
      { name: 'lnk/file', content: 'through the link' },
    ],
    names: '"lnk/file"',
  },
  {
    name: 'symlink to the outside, then a file through it',
    entries: [
      { name: 'lnk', type: 'symlink', linkname: '..' },
      { name: 'lnk/evil', content: 'x' },
    ],
    names: '"lnk"',
  },
  { name: 'hard link escaping', entries: [{ name: 'h', type: 'link', linkname: '../../etc/passwd' }], names: '"../../etc/passwd"' },
  {
    name: 'hard link to something never extracted',
    entries: [{ name: 'h', type: 'link', linkname: 'etc/passwd' }],
    names: '"h"',
  },
  {
    name: 'hard link to a symlink',
    entries: [
      { name: 's', type: 'symlink', linkname: 'target' },
      { name: 'h', type: 'link', linkname: 's' },
    ],
    names: '"h"',
  },
  { name: 'fifo entry', entries: [{ name: 'pipe', type: 'fifo' }], names: '"pipe"' },
  { name: 'character device entry', entries: [{ name: 'null', type: 'character-device' }], names: '"null"' },
];

async function expectRefused(archive: string, c: { root: string; out: string; dest: string }, names: string): Promise<void> {
  const before = await listDir(c.root);
  const err = await extractPackage(archive, c.dest).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnsafeArchiveError);
  expect((err as Error).message).toContain(names);
  expect((err as Error).message).toContain(archive.includes('.conda') ? basename(archive) : archive);
  expect(await listDir(c.out)).toEqual([]); // no dest, no staging leftovers
  expect(await listDir(c.root)).toEqual(before); // nothing escaped next to it
}

describe.skipIf(!haveTools)('hostile archives are refused and leave nothing behind', () => {
  const okPrefix: TarEntrySpec[] = [
    { name: 'info/index.json', content: '{"name":"x"}' },
    { name: 'bin/ok', content: 'fine', mode: 0o755 },
  ];
  for (const h of hostile) {
    it(`.tar.bz2: ${h.name}`, async () => {
      const c = await caseDir();
      const archive = join(c.archives, 'x-1-0.tar.bz2');
      await writeTarBz2(archive, [...okPrefix, ...h.entries]);
      await expectRefused(archive, c, h.names);
    });
    it(`.conda: ${h.name}`, async () => {
      const c = await caseDir();
      const archive = join(c.archives, 'x-1-0.conda');
      await writeConda(archive, { stem: 'x-1-0', info: okPrefix.slice(0, 1), pkg: [...okPrefix.slice(1), ...h.entries] });
      await expectRefused(archive, c, h.names);
    });
  }

  it('.conda: zip-slip in a member name ("../pkg-….tar.zst")', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'x-1-0.conda');
    await writeConda(archive, {
      stem: 'x-1-0',
      info: okPrefix.slice(0, 1),
      pkg: okPrefix.slice(1),
      memberPrefix: 'ZZ/',
      rename: { 'ZZ/pkg-': '../pkg-' },
    });
    await expectRefused(archive, c, '"../pkg-x-1-0.tar.zst"');
  });

  it('.conda: absolute member name', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'x-1-0.conda');
    await writeConda(archive, { stem: 'x-1-0', info: okPrefix.slice(0, 1), pkg: okPrefix.slice(1), memberPrefix: 'Z', rename: { Zmetadata: '/metadata' } });
    await expectRefused(archive, c, '"/metadata.json"');
  });

  it('.conda: two pkg members in different directories are ambiguous', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'x-1-0.conda');
    const tar = zstd(await buildTar(okPrefix));
    await writeZip(archive, [
      { name: 'pkg-x-1-0.tar.zst', content: tar, compress: false },
      { name: 'other/pkg-x-1-0.tar.zst', content: tar, compress: false },
      { name: 'info-x-1-0.tar.zst', content: tar, compress: false },
    ]);
    await expectRefused(archive, c, 'two pkg members');
  });

  it('.conda without a pkg member is not a package', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'x-1-0.conda');
    await writeZip(archive, [{ name: 'info-x-1-0.tar.zst', content: zstd(await buildTar(okPrefix)) }]);
    await expectRefused(archive, c, 'missing pkg-*.tar.zst');
  });
});

describe.skipIf(!haveTools)('compression edge cases', () => {
  const entries: TarEntrySpec[] = [
    { name: 'info/index.json', content: '{"name":"multi"}' },
    { name: 'share/big.txt', content: Array.from({ length: 40_000 }, (_, i) => `line ${i} ${i * 7919}`).join('\n') },
    { name: 'bin/run', content: '#!/bin/sh\n', mode: 0o755 },
    { name: 'share/link', type: 'symlink', linkname: 'big.txt' },
  ];

  it('multistream .tar.bz2 (concatenated bzip2 streams, as pbzip2/lbzip2 write) is read to the end', async () => {
    const c = await caseDir();
    const multi = join(c.archives, 'multi-1-0.tar.bz2');
    const single = join(c.archives, 'single-1-0.tar.bz2');
    const tar = await writeMultistreamTarBz2(multi, entries, 3);
    await writeFile(single, bzip2(tar));
    // Really three streams: three "BZh" stream headers.
    const bytes = await readFile(multi);
    expect(bytes.toString('latin1').match(/BZh9\x31\x41\x59\x26\x53\x59/g)?.length).toBe(3);
    const r = await extractPackage(multi, join(c.out, 'multi'));
    await extractPackage(single, join(c.out, 'single'));
    const tree = await snapshotTree(join(c.out, 'multi'));
    expect(tree).toEqual(await snapshotTree(join(c.out, 'single')));
    expect(r.files).toBe(3);
    expect(tree['share/big.txt']?.sha256).toBe(createHash('sha256').update(entries[1]!.content!).digest('hex'));
    expect(tree['bin/run']?.mode).toBe(0o755);
  });

  it('a large .conda member (several MB, many zstd blocks, no content size) round-trips byte for byte', async () => {
    const c = await caseDir();
    let seed = 1;
    const rnd = Buffer.alloc(6 << 20);
    for (let i = 0; i < rnd.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      rnd[i] = i % 3 === 0 ? seed >>> 24 : 97 + (i % 26);
    }
    const archive = join(c.archives, 'big-1-0.conda');
    await writeConda(archive, {
      stem: 'big-1-0',
      info: [{ name: 'info/index.json', content: '{}' }],
      pkg: [{ name: 'data/blob', content: rnd }, { name: 'data/after', content: 'tail' }],
    });
    await extractPackage(archive, c.dest);
    expect((await readFile(join(c.dest, 'data', 'blob'))).equals(rnd)).toBe(true);
    expect(await readFile(join(c.dest, 'data', 'after'), 'utf8')).toBe('tail');
  });

  const truncations = [
    ['.tar.bz2', 0.5],
    ['.tar.bz2', 0.97],
    ['.conda', 0.5],
    ['.conda', 0.99],
  ] as const;
  it.each(truncations)('truncated %s (cut at %s of its size) → clear error, nothing left', async (ext, frac) => {
    const c = await caseDir();
    const archive = join(c.archives, `t-1-0${ext}`);
    if (ext === '.conda') await writeConda(archive, { stem: 't-1-0', info: entries.slice(0, 1), pkg: entries.slice(1) });
    else await writeTarBz2(archive, entries);
    const size = (await stat(archive)).size;
    await truncate(archive, Math.floor(size * frac));
    const err = await extractPackage(archive, c.dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toMatch(/corrupt|truncated/);
    expect((err as Error).message).toContain(archive);
    expect(await listDir(c.out)).toEqual([]);
  });

  it('a truncated zstd member inside an intact zip is reported, not silently short', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'z-1-0.conda');
    const pkg = zstd(await buildTar(entries.slice(1)));
    await writeZip(archive, [
      { name: 'metadata.json', content: '{"conda_pkg_format_version": 2}' },
      { name: 'pkg-z-1-0.tar.zst', content: pkg.subarray(0, Math.floor(pkg.length * 0.6)), compress: false },
      { name: 'info-z-1-0.tar.zst', content: zstd(await buildTar(entries.slice(0, 1))), compress: false },
    ]);
    const err = await extractPackage(archive, c.dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toContain('pkg-z-1-0.tar.zst');
    expect(await listDir(c.out)).toEqual([]);
  });

  it('corrupt zstd bytes fail promptly instead of spinning', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'z-1-0.conda');
    const pkg = Buffer.from(zstd(await buildTar(entries.slice(1))));
    for (let i = 40; i < pkg.length - 40; i += 97) pkg[i]! ^= 0x5a;
    await writeZip(archive, [
      { name: 'pkg-z-1-0.tar.zst', content: pkg, compress: false },
      { name: 'info-z-1-0.tar.zst', content: zstd(await buildTar(entries.slice(0, 1))), compress: false },
    ]);
    const started = Date.now();
    const err = await extractPackage(archive, c.dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await listDir(c.out)).toEqual([]);
  });

  it('thousands of symlinks (terminfo-like chains) are checked in linear, not quadratic, time', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'many-1-0.tar.bz2');
    const many: TarEntrySpec[] = [{ name: 'share/terminfo/f', content: 'x' }];
    for (let i = 0; i < 8000; i++) {
      // chains of up to 10 links across 20 directories, ending at ../f
      many.push({ name: `share/terminfo/${i % 20}/l${i}`, type: 'symlink', linkname: i % 10 === 0 ? '../f' : `../${(i - 1) % 20}/l${i - 1}` });
    }
    await writeTarBz2(archive, many);
    const started = Date.now();
    const r = await extractPackage(archive, c.dest);
    expect(r.symlinks).toBe(8000);
    expect(Date.now() - started).toBeLessThan(30_000); // re-checking every link on each new one took minutes
    expect(await readFile(join(c.dest, 'share/terminfo/19/l7999'), 'utf8')).toBe('x');
  }, 60_000);

  it.each([
    ['an empty metadata.json (34 of 35 real defaults-2020 packages) is ignored, as conda does', '', true],
    ['a whitespace-only metadata.json is ignored too', '  \n', true],
    ['a metadata.json with something that is not JSON is still refused', '{not json', false],
  ])('%s', async (_n, metadata, ok) => {
    const c = await caseDir();
    const archive = join(c.archives, 'm-1-0.conda');
    await writeConda(archive, { stem: 'm-1-0', info: entries.slice(0, 1), pkg: [], metadata });
    const r = extractPackage(archive, c.dest);
    if (ok) {
      const res = await r;
      expect(res.condaMetadata).toBeUndefined();
      expect(res.warnings).toEqual([]);
    } else await expect(r).rejects.toThrow(/metadata\.json is not valid JSON/);
  });

  it('a metapackage whose pkg tar has no entries extracts (info/ only)', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'meta-1-0.conda');
    await writeConda(archive, { stem: 'meta-1-0', info: entries.slice(0, 1), pkg: [] });
    const r = await extractPackage(archive, c.dest);
    expect(await listDir(c.dest)).toEqual(['info']);
    expect(r.files).toBe(1);
  });

  it('a truncated tar inside intact compression is reported', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'tt-1-0.tar.bz2');
    const tar = await buildTar(entries);
    await writeFile(archive, bzip2(tar.subarray(0, 3000))); // ends inside share/big.txt
    const err = await extractPackage(archive, c.dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toMatch(/truncated tar data/);
    expect(await listDir(c.out)).toEqual([]);
  });

  it.skipIf(!haveTools)("a stored member read in part leaves the archive's descriptor open until the zip is closed, and closed once", async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'st-1-0.conda');
    // incompressible, so the pkg member stays above the size read straight from the descriptor
    await writeConda(archive, { stem: 'st-1-0', info: entries.slice(0, 1), pkg: [{ name: 'lib/blob.bin', content: randomBytes(3 << 20) }] });
    const zip = await ZipReader.open(archive);
    const pkg = (await zip.members()).find((m) => m.name.startsWith('pkg-'))!;
    expect(pkg.entry.compressedSize).toBeGreaterThan(1 << 20);
    const fd = (zip as unknown as { zip: { reader: { fd: number } } }).zip.reader.fd;
    for await (const piece of await zip.open(pkg)) {
      expect(piece.length).toBeGreaterThan(0);
      break; // as an extraction that fails in the middle stops reading
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(fstatSync(fd).isFile()).toBe(true);
    zip.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
  });

  it('corrupt bzip2 bytes → UnsafeArchiveError naming the archive', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'b-1-0.tar.bz2');
    const data = bzip2(await buildTar(entries));
    for (let i = 100; i < data.length - 20; i += 53) data[i]! ^= 0xff;
    await writeFile(archive, data);
    const err = await extractPackage(archive, c.dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toContain(archive);
    expect(await listDir(c.out)).toEqual([]);
  });
});

describe('destination handling and helpers', () => {
  it.skipIf(!haveTools)('refuses a non-empty destDir unless replace is set; an empty one is fine', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'd-1-0.tar.bz2');
    await writeTarBz2(archive, [{ name: 'info/index.json', content: '{"name":"d"}' }]);
    await mkdir(c.dest);
    await extractPackage(archive, c.dest); // empty dir: replaced
    const err = await extractPackage(archive, c.dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstallError);
    expect((err as InstallError).code).toBe('E_EXTRACT_DEST_EXISTS');
    await writeFile(join(c.dest, 'stale'), 'old');
    await extractPackage(archive, c.dest, { replace: true });
    expect(await listDir(c.dest)).toEqual(['info']);
    expect(await listDir(c.out)).toEqual(['pkg']);
  });

  it('a missing archive or an unknown extension is an InstallError', async () => {
    const c = await caseDir();
    await expect(extractPackage(join(c.archives, 'nope-1-0.conda'), c.dest)).rejects.toMatchObject({ code: 'E_EXTRACT_IO' });
    await writeFile(join(c.archives, 'x.zip'), 'x');
    await expect(extractPackage(join(c.archives, 'x.zip'), c.dest)).rejects.toMatchObject({ code: 'E_UNKNOWN_ARCHIVE_FORMAT' });
    expect(await listDir(c.out)).toEqual([]);
  });

  it.skipIf(!haveTools)('a file name without a known extension is recognised by its magic bytes', async () => {
    const c = await caseDir();
    const bz = join(c.archives, 'blob-by-hash-1');
    const conda = join(c.archives, 'blob-by-hash-2');
    await writeTarBz2(bz, [{ name: 'info/index.json', content: '{}' }]);
    await writeConda(conda, { stem: 's-1-0', info: [{ name: 'info/index.json', content: '{}' }], pkg: [] });
    expect((await extractPackage(bz, join(c.out, 'a'))).format).toBe('tar.bz2');
    expect((await extractPackage(conda, join(c.out, 'b'))).format).toBe('conda');
  });

  it.skipIf(!haveTools)('a file-system failure (name too long) is an InstallError naming the entry, nothing left', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'long-1-0.tar.bz2');
    const long = `share/${'n'.repeat(300)}`;
    await writeTarBz2(archive, [{ name: 'info/index.json', content: '{}' }, { name: long, content: 'x' }]);
    const err = await extractPackage(archive, c.dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstallError);
    expect((err as InstallError).code).toBe('E_EXTRACT_IO');
    expect((err as Error).message).toContain(long.slice(0, 40));
    expect(await listDir(c.out)).toEqual([]);
  });

  it('hashFile streams sha256, md5 and size', async () => {
    const c = await caseDir();
    const data = Buffer.alloc(3_000_000, 'conda-go-lock');
    const p = join(c.archives, 'blob');
    await writeFile(p, data);
    expect(await hashFile(p)).toEqual({
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      md5: createHash('md5').update(data).digest('hex'),
    });
  });

  it('a later tar entry of the same name replaces the earlier file (tar semantics)', async () => {
    if (!haveTools) return;
    const c = await caseDir();
    const archive = join(c.archives, 'dup-1-0.tar.bz2');
    await writeTarBz2(archive, [
      { name: 'a/file', content: 'first' },
      { name: 'a/file', content: 'second', mode: 0o755 },
      { name: 'a/l', type: 'symlink', linkname: 'file' },
      { name: 'a/l', content: 'now a file' },
    ]);
    await extractPackage(archive, c.dest);
    expect(await readFile(join(c.dest, 'a', 'file'), 'utf8')).toBe('second');
    expect((await stat(join(c.dest, 'a', 'file'))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(c.dest, 'a', 'l'), 'utf8')).toBe('now a file');
  });
});

