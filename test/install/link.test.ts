import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readlink, lstat, rm, stat, symlink, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstallError, UnsafeArchiveError } from '../../src/errors.js';
import { linkPackage, readPackagePaths, parseHasPrefixLine } from '../../src/install/link.js';
import { extractPackage } from '../../src/install/extract/index.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const PH = '/opt/anaconda1anaconda2anaconda3';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cgl-link-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function dir(name: string): Promise<string> {
  const d = join(root, `${name}-${n++}`);
  await mkdir(d, { recursive: true });
  return d;
}

/** An "extracted package": files + info/paths.json built from them. */
async function makePackage(
  files: Array<{ path: string; content?: string | Buffer; mode?: number; symlinkTo?: string; placeholder?: string; fileMode?: 'text' | 'binary'; noLink?: boolean; directory?: boolean }>,
  extraInfo: Record<string, string> = {},
): Promise<string> {
  const d = await dir('pkg');
  const paths = [];
  for (const f of files) {
    const abs = join(d, f.path);
    await mkdir(dirname(abs), { recursive: true });
    if (f.directory) {
      await mkdir(abs, { recursive: true });
      paths.push({ _path: f.path, path_type: 'directory' });
      continue;
    }
    if (f.symlinkTo) {
      await symlink(f.symlinkTo, abs);
      paths.push({ _path: f.path, path_type: 'softlink' });
      continue;
    }
    const content = Buffer.from(f.content ?? '');
    await writeFile(abs, content, { mode: f.mode ?? 0o644 });
    const e: Record<string, unknown> = { _path: f.path, path_type: 'hardlink', sha256: sha(content), size_in_bytes: content.length };
    if (f.placeholder) {
      e.prefix_placeholder = f.placeholder;
      e.file_mode = f.fileMode ?? 'text';
    }
    if (f.noLink) e.no_link = true;
    paths.push(e);
  }
  await mkdir(join(d, 'info'), { recursive: true });
  await writeFile(join(d, 'info', 'paths.json'), JSON.stringify({ paths, paths_version: 1 }));
  for (const [k, v] of Object.entries(extraInfo)) await writeFile(join(d, 'info', k), v);
  return d;
}

const linkPlain = linkPackage;
/** linkPackage as a fresh extraction calls it: with the sha256 (here: paths.json's, which match) and byte count of every file. */
async function linkWithDigests(opts: Parameters<typeof linkPackage>[0]): ReturnType<typeof linkPackage> {
  const pj = JSON.parse(await readFile(join(opts.extractedDir, 'info', 'paths.json'), 'utf8')) as { paths: Array<{ _path: string; sha256?: string }> };
  const files = pj.paths.filter((p) => p.sha256);
  const digests = new Map(files.map((p) => [p._path, p.sha256!]));
  const sizes = new Map(await Promise.all(files.map(async (p) => [p._path, (await stat(join(opts.extractedDir, p._path))).size] as const)));
  const res = await linkPackage({ ...opts, digests, sizes });
  expect(res.mismatches).toEqual([]);
  return res;
}

describe('linkPackage with paths.json', () => {
  it('hard-links plain files, rewrites placeholder files, recreates symlinks and directories', async () => {
    const pkg = await makePackage([
      { path: 'lib/libfoo.so.1.0', content: 'ELF...binary', mode: 0o755 },
      { path: 'lib/libfoo.so', symlinkTo: 'libfoo.so.1.0' },
      { path: 'lib/pkgconfig/foo.pc', content: `prefix=${PH}\nlibdir=${PH}/lib\n`, placeholder: PH },
      { path: 'bin/foo-config', content: `#!/bin/sh\necho ${PH}\n`, placeholder: PH, mode: 0o755 },
      { path: 'share/empty-dir', directory: true },
      { path: 'etc/no-link.conf', content: 'copy me', noLink: true },
    ]);
    const dest = await dir('prefix');
    const res = await linkPackage({ extractedDir: pkg, destDir: dest, targetPrefix: '/final/env', platform: 'linux-64', dist: 'foo-1.0-0' });

    // Hard link: same inode as the cache file.
    const [a, b] = await Promise.all([stat(join(pkg, 'lib/libfoo.so.1.0')), stat(join(dest, 'lib/libfoo.so.1.0'))]);
    expect(b.ino).toBe(a.ino);
    // Symlink recreated.
    expect(await readlink(join(dest, 'lib/libfoo.so'))).toBe('libfoo.so.1.0');
    // Placeholder replaced with the FINAL prefix, written fresh.
    const pc = await readFile(join(dest, 'lib/pkgconfig/foo.pc'), 'utf8');
    expect(pc).toBe('prefix=/final/env\nlibdir=/final/env/lib\n');
    expect((await stat(join(dest, 'lib/pkgconfig/foo.pc'))).ino).not.toBe((await stat(join(pkg, 'lib/pkgconfig/foo.pc'))).ino);
    // Mode kept on a rewritten file.
    expect((await stat(join(dest, 'bin/foo-config'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(dest, 'share/empty-dir'))).isDirectory()).toBe(true);
    // no_link: a copy, not a hard link.
    expect((await stat(join(dest, 'etc/no-link.conf'))).ino).not.toBe((await stat(join(pkg, 'etc/no-link.conf'))).ino);
    expect(await readFile(join(dest, 'etc/no-link.conf'), 'utf8')).toBe('copy me');

    expect(res.stats).toEqual({ hardlinked: 1, copied: 1, replaced: 2, symlinked: 1, resigned: 0 });
    const byPath = new Map(res.paths.map((p) => [p._path, p]));
    expect(res.paths.map((p) => p._path)).toEqual([...res.paths.map((p) => p._path)].sort());
    const pcEntry = byPath.get('lib/pkgconfig/foo.pc')!;
    // As conda records it: the package's sha256 and size (paths.json), the rewritten file's sha256_in_prefix.
    const packed = `prefix=${PH}\nlibdir=${PH}/lib\n`;
    expect(pcEntry.sha256).toBe(sha(packed));
    expect(pcEntry.size_in_bytes).toBe(Buffer.byteLength(packed));
    expect(pcEntry.sha256_in_prefix).toBe(sha(pc));
    expect(pcEntry.prefix_placeholder).toBe(PH);
    expect(pcEntry.file_mode).toBe('text');
    expect(byPath.get('lib/libfoo.so')!.path_type).toBe('softlink');
    expect(byPath.get('share/empty-dir')!.path_type).toBe('directory');
    expect(byPath.get('etc/no-link.conf')!.no_link).toBe(true);
  });

  it('digests from the extraction are used for hard links (the file is not read back); copies are hashed', async () => {
    const pkg = await makePackage([
      { path: 'lib/libfoo.so.1.0', content: 'ELF...binary' },
      { path: 'etc/no-link.conf', content: 'copy me', noLink: true },
    ]);
    // a stand-in value shows which source the recorded sha256 came from
    const digests = new Map([
      ['lib/libfoo.so.1.0', 'a'.repeat(64)],
      ['etc/no-link.conf', 'b'.repeat(64)],
    ]);
    const res = await linkPackage({ extractedDir: pkg, destDir: await dir('prefix'), targetPrefix: '/env', platform: 'linux-64', dist: 'foo-1.0-0', digests });
    const byPath = new Map(res.paths.map((p) => [p._path, p]));
    expect(byPath.get('lib/libfoo.so.1.0')).toMatchObject({ sha256: 'a'.repeat(64), sha256_in_prefix: 'a'.repeat(64), size_in_bytes: 12 });
    expect(byPath.get('etc/no-link.conf')).toMatchObject({ sha256: sha('copy me'), size_in_bytes: 7 });
    // the linker checks the package's paths.json against them as it would against a hash it computed
    expect(res.mismatches).toEqual([{ path: 'lib/libfoo.so.1.0', expected: sha('ELF...binary'), actual: 'a'.repeat(64) }]);
    // without digests the same file is hashed
    const plain = await linkPackage({ extractedDir: pkg, destDir: await dir('prefix'), targetPrefix: '/env', platform: 'linux-64', dist: 'foo-1.0-0' });
    expect(plain.paths.find((p) => p._path === 'lib/libfoo.so.1.0')?.sha256).toBe(sha('ELF...binary'));
    expect(plain.mismatches).toEqual([]);
  });

  it.each([
    ['as found on disk', false],
    ["with this run's digests", true],
  ])('records the size of the file linked, whatever paths.json says (%s)', async (_, withDigests) => {
    const pkg = await makePackage([{ path: 'lib/a.txt', content: 'abcdef' }]);
    const pj = JSON.parse(await readFile(join(pkg, 'info/paths.json'), 'utf8'));
    pj.paths[0].size_in_bytes = 999;
    await writeFile(join(pkg, 'info/paths.json'), JSON.stringify(pj));
    const dest = await dir('prefix');
    const res = await (withDigests ? linkWithDigests : linkPlain)({ extractedDir: pkg, destDir: dest, targetPrefix: dest, platform: 'linux-64', dist: 's-1-0' });
    expect(res.paths).toMatchObject([{ _path: 'lib/a.txt', size_in_bytes: 6, sha256: sha('abcdef') }]);
    expect(res.stats.hardlinked).toBe(1);
  });

  it('copies instead of hard-linking with copy: true', async () => {
    const pkg = await makePackage([{ path: 'a.txt', content: 'a' }]);
    const dest = await dir('prefix');
    const res = await linkPackage({ extractedDir: pkg, destDir: dest, targetPrefix: dest, platform: 'linux-64', dist: 'a-1-0', copy: true });
    expect(res.stats.copied).toBe(1);
    expect((await stat(join(dest, 'a.txt'))).ino).not.toBe((await stat(join(pkg, 'a.txt'))).ino);
  });

  it.each([
    ['../escape.txt'],
    ['/etc/passwd'],
    ['lib/../../escape'],
    ['C:/Windows/evil.dll'],
  ])('refuses the path %s (UnsafeArchiveError)', async (bad) => {
    const pkg = await dir('pkg');
    await mkdir(join(pkg, 'info'));
    await writeFile(join(pkg, 'info', 'paths.json'), JSON.stringify({ paths_version: 1, paths: [{ _path: bad, path_type: 'hardlink' }] }));
    const dest = await dir('prefix');
    await expect(linkPackage({ extractedDir: pkg, destDir: dest, targetPrefix: dest, platform: 'linux-64', dist: 'bad-1-0' })).rejects.toThrow(
      UnsafeArchiveError,
    );
    expect(await readdir(dest)).toEqual([]);
  });

  it.each([
    ['as found on disk', false],
    ["with this run's digests (hard links made without an lstat of source or target)", true],
  ])('never writes through a symlink that leads outside the prefix; inside links are fine (%s)', async (_, withDigests) => {
    const linkPackage = withDigests ? linkWithDigests : linkPlain;
    const outside = await dir('outside');
    const first = await makePackage([
      { path: 'lib/real.txt', content: 'r' },
      { path: 'lib64', symlinkTo: 'lib' },
      { path: 'escape', symlinkTo: outside },
      { path: 'up', symlinkTo: '../..' },
    ]);
    const dest = await dir('prefix');
    const owners = new Map<string, string>();
    const safeDirs = new Set<string>();
    const base = { destDir: dest, targetPrefix: dest, platform: 'linux-64', owners, safeDirs };
    await linkPackage({ ...base, extractedDir: first, dist: 'first-1-0' });
    const inside = await makePackage([{ path: 'lib64/through.txt', content: 't' }]);
    await linkPackage({ ...base, extractedDir: inside, dist: 'inside-1-0' });
    expect(await readFile(join(dest, 'lib/through.txt'), 'utf8')).toBe('t');
    for (const [i, bad] of ['escape/pwned.txt', 'up/pwned.txt', 'escape/deeper/pwned.txt'].entries()) {
      const pkg = await makePackage([{ path: bad, content: 'x' }]);
      await expect(linkPackage({ ...base, extractedDir: pkg, dist: `bad${i}-1-0` })).rejects.toThrow(UnsafeArchiveError);
    }
    expect(await readdir(outside)).toEqual([]);
    // A package that replaces an inside link by an escaping one cannot be used to get out either.
    const swap = await makePackage([{ path: 'lib64', symlinkTo: outside }]);
    await linkPackage({ ...base, extractedDir: swap, dist: 'swap-1-0' });
    const after = await makePackage([{ path: 'lib64/late.txt', content: 'x' }]);
    await expect(linkPackage({ ...base, extractedDir: after, dist: 'late-1-0' })).rejects.toThrow(/lib64 is a symbolic link leading outside/);
    expect(await readdir(outside)).toEqual([]);
  });

  it('a file listed in paths.json but missing from the package is an InstallError naming both', async () => {
    const pkg = await makePackage([{ path: 'present.txt', content: 'x' }]);
    const pj = JSON.parse(await readFile(join(pkg, 'info/paths.json'), 'utf8'));
    pj.paths.push({ _path: 'lib/missing.so', path_type: 'hardlink', sha256: sha('') });
    await writeFile(join(pkg, 'info/paths.json'), JSON.stringify(pj));
    const dest = await dir('prefix');
    await expect(linkPackage({ extractedDir: pkg, destDir: dest, targetPrefix: dest, platform: 'linux-64', dist: 'm-1-0' })).rejects.toThrow(
      /m-1-0: lib\/missing\.so .*missing/,
    );
  });

  it.each([
    ['as found on disk', false],
    ["with this run's digests", true],
  ])('a later package clobbers a path of an earlier one; the clobber is reported (%s)', async (_, withDigests) => {
    const linkPackage = withDigests ? linkWithDigests : linkPlain;
    const first = await makePackage([{ path: 'bin/tool', content: 'from first' }, { path: 'share/first', content: '1' }]);
    const second = await makePackage([{ path: 'bin/tool', content: 'from second' }]);
    const dest = await dir('prefix');
    const owners = new Map<string, string>();
    const warnings: string[] = [];
    const r1 = await linkPackage({ extractedDir: first, destDir: dest, targetPrefix: dest, platform: 'linux-64', dist: 'first-1-0', owners });
    const r2 = await linkPackage({
      extractedDir: second,
      destDir: dest,
      targetPrefix: dest,
      platform: 'linux-64',
      dist: 'second-1-0',
      owners,
      warn: (m) => warnings.push(m),
    });
    expect(r1.clobbers).toEqual([]);
    expect(r2.clobbers).toEqual([{ path: 'bin/tool', previous: 'first-1-0', by: 'second-1-0' }]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('bin/tool');
    expect(await readFile(join(dest, 'bin/tool'), 'utf8')).toBe('from second');
    // The first package's hard link (cache file) is untouched.
    expect(await readFile(join(first, 'bin/tool'), 'utf8')).toBe('from first');
    expect(owners.get('bin/tool')).toBe('second-1-0');
    expect(owners.get('share/first')).toBe('first-1-0');
  });
});

describe('legacy packages without paths.json (info/files + info/has_prefix)', () => {
  it('parses has_prefix lines in both forms, with quoting', () => {
    expect(parseHasPrefixLine('bin/script')).toEqual({ placeholder: PH, mode: 'text', path: 'bin/script' });
    expect(parseHasPrefixLine('/ph/x binary lib/libx.so')).toEqual({ placeholder: '/ph/x', mode: 'binary', path: 'lib/libx.so' });
    expect(parseHasPrefixLine('"/ph x" text "share/with space.txt"')).toEqual({ placeholder: '/ph x', mode: 'text', path: 'share/with space.txt' });
  });

  it('links from info/files, replaces per has_prefix, honours no_link', async () => {
    const d = await dir('legacy');
    await mkdir(join(d, 'info'));
    await mkdir(join(d, 'bin'));
    await writeFile(join(d, 'bin/script'), `#!${PH}/bin/python\nprint("${PH}")\n`, { mode: 0o755 });
    await writeFile(join(d, 'README'), 'plain');
    await writeFile(join(d, 'data.bin'), 'keep');
    await symlink('README', join(d, 'README.link'));
    await writeFile(join(d, 'info/files'), 'bin/script\nREADME\nREADME.link\ndata.bin\n');
    await writeFile(join(d, 'info/has_prefix'), 'bin/script\n');
    await writeFile(join(d, 'info/no_link'), 'data.bin\n');
    const paths = await readPackagePaths(d, 'legacy-1-0');
    expect(paths).toEqual([
      { path: 'bin/script', pathType: 'hardlink', placeholder: PH, fileMode: 'text' },
      { path: 'README', pathType: 'hardlink' },
      { path: 'README.link', pathType: 'softlink' },
      { path: 'data.bin', pathType: 'hardlink', noLink: true },
    ]);
    const dest = await dir('prefix');
    const res = await linkPackage({ extractedDir: d, destDir: dest, targetPrefix: '/env', platform: 'linux-64', dist: 'legacy-1-0' });
    expect(await readFile(join(dest, 'bin/script'), 'utf8')).toBe('#!/env/bin/python\nprint("/env")\n');
    expect(await readlink(join(dest, 'README.link'))).toBe('README');
    expect(res.stats).toEqual({ hardlinked: 1, copied: 1, replaced: 1, symlinked: 1, resigned: 0 });
  });

  it('neither paths.json nor info/files is an InstallError', async () => {
    const d = await dir('empty');
    await mkdir(join(d, 'info'));
    await expect(readPackagePaths(d, 'x-1-0')).rejects.toThrow(InstallError);
  });
});

describe.skipIf(!haveFixtures)('real packages (shared fixtures)', () => {
  it('linux-64 zlib (.tar.bz2): text placeholder in lib/pkgconfig/zlib.pc, libs hard-linked', async () => {
    const ex = join(await dir('x'), 'zlib');
    await extractPackage(fixture('packages/defaults-zlib/linux-64/zlib-1.2.11-h7b6447c_3.tar.bz2'), ex);
    const dest = await dir('prefix');
    const res = await linkPackage({ extractedDir: ex, destDir: dest, targetPrefix: '/srv/envs/z', platform: 'linux-64', dist: 'zlib-1.2.11-h7b6447c_3' });
    const pc = await readFile(join(dest, 'lib/pkgconfig/zlib.pc'), 'utf8');
    expect(pc).toContain('prefix=/srv/envs/z\n');
    expect(pc).not.toContain('anaconda1anaconda2');
    const lib = res.paths.find((p) => p._path === 'lib/libz.so.1.2.11')!;
    // Unmodified file: installed hash equals the package's recorded hash.
    expect(lib.sha256).toBe('79aa69435cd17d98c25fbe1ac03aa6681b6edee04a5fb04c141ab1effcaa3c3f');
    const pcEntry = res.paths.find((p) => p._path === 'lib/pkgconfig/zlib.pc')!;
    expect(pcEntry.sha256_in_prefix).toBe(sha(pc));
    // The package's own hash of the file (info/paths.json) is kept, as conda 4.9.2 recorded it.
    expect(pcEntry.sha256).toBe('5613df6f1a56c1c3e0c2aa3da9284b51de9682882a6a9ba7af68a07745cb3aac');
    expect(pcEntry.size_in_bytes).toBe(281);
    expect(res.paths.map((p) => p._path)).toEqual([
      'include/zconf.h',
      'include/zlib.h',
      'lib/libz.a',
      'lib/libz.so',
      'lib/libz.so.1',
      'lib/libz.so.1.2.11',
      'lib/pkgconfig/zlib.pc',
    ]);
  });

  it('osx-64 zlib: binary placeholders padded with NULs, file sizes unchanged; too-long prefix refused', async () => {
    const ex = join(await dir('x'), 'zlib-osx');
    await extractPackage(fixture('packages/defaults-zlib/osx-64/zlib-1.2.11-h1de35cc_3.tar.bz2'), ex);
    const pj = JSON.parse(await readFile(join(ex, 'info/paths.json'), 'utf8'));
    const ph: string = pj.paths.find((p: { _path: string }) => p._path === 'lib/libz.1.2.11.dylib').prefix_placeholder;
    const dest = await dir('prefix');
    const prefix = '/Users/dev/envs/zz';
    await linkPackage({ extractedDir: ex, destDir: dest, targetPrefix: prefix, platform: 'osx-64', dist: 'zlib-1.2.11-h1de35cc_3' });
    const before = await readFile(join(ex, 'lib/libz.1.2.11.dylib'));
    const after = await readFile(join(dest, 'lib/libz.1.2.11.dylib'));
    expect(before.includes(Buffer.from(ph))).toBe(true);
    expect(after.length).toBe(before.length);
    expect(after.includes(Buffer.from(ph))).toBe(false);
    const at = after.indexOf(Buffer.from(prefix + '/lib'));
    expect(at).toBeGreaterThan(0);
    // Everything outside the replaced C strings is byte-identical.
    let diff = 0;
    for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) diff++;
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(4 * ph.length);

    const dest2 = await dir('prefix');
    await expect(
      linkPackage({ extractedDir: ex, destDir: dest2, targetPrefix: '/' + 'p'.repeat(ph.length + 5), platform: 'osx-64', dist: 'zlib-1.2.11-h1de35cc_3' }),
    ).rejects.toThrow(/zlib-1\.2\.11-h1de35cc_3: lib\/libz\.1\.2\.11\.dylib .*shorter prefix/);
  });

  it('win-64 zlib: text placeholder replaced by the Windows prefix written with forward slashes', async () => {
    const ex = join(await dir('x'), 'zlib-win');
    await extractPackage(fixture('packages/defaults-zlib/win-64/zlib-1.2.11-h62dcd97_3.tar.bz2'), ex);
    const dest = await dir('prefix');
    const res = await linkPackage({ extractedDir: ex, destDir: dest, targetPrefix: 'C:\\Users\\me\\envs\\z', platform: 'win-64', dist: 'zlib-1.2.11-h62dcd97_3' });
    const pc = await readFile(join(dest, 'Library/share/pkgconfig/zlib.pc'), 'utf8');
    expect(pc).toContain('C:/Users/me/envs/z');
    expect(pc).not.toContain('\\');
    expect(pc).not.toContain('_h_env');
    expect(res.stats.replaced).toBe(1);
    expect(res.mismatches).toEqual([]);
  });

  it('mock (.conda, osx-64 python package) links every path listed in paths.json', async () => {
    const ex = join(await dir('x'), 'mock');
    await extractPackage(fixture('packages/mock-2.0.0-py37_1000.conda'), ex);
    const dest = await dir('prefix');
    const res = await linkPackage({ extractedDir: ex, destDir: dest, targetPrefix: '/e', platform: 'osx-64', dist: 'mock-2.0.0-py37_1000' });
    const listed = JSON.parse(await readFile(join(ex, 'info/paths.json'), 'utf8')).paths as Array<{ _path: string; sha256: string; prefix_placeholder?: string }>;
    expect(res.paths).toHaveLength(listed.length);
    for (const p of listed) {
      const st = await lstat(join(dest, p._path));
      expect(st.isFile() || st.isSymbolicLink()).toBe(true);
      if (!p.prefix_placeholder) expect(res.paths.find((x) => x._path === p._path)!.sha256).toBe(p.sha256);
    }
  });
});

describe('hard links across volumes', () => {
  it('EXDEV from the link call: the file is copied, with the same sha256 check of the source', async () => {
    const ex = await makePackage([{ path: 'lib/a.txt', content: 'A\n' }, { path: 'lib/b.txt', content: 'B\n' }]);
    // A cache entry edited after extraction: the copy path must notice it as the link path does.
    await writeFile(join(ex, 'lib', 'b.txt'), 'tampered\n');
    const dest = await dir('dest-exdev');
    const calls: string[] = [];
    const res = await linkPackage({
      extractedDir: ex,
      destDir: dest,
      targetPrefix: dest,
      platform: 'osx-arm64',
      dist: 'x-1-0',
      hardlink: (src) => {
        calls.push(src);
        throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
      },
    });
    expect(calls).toHaveLength(2);
    expect(res.stats).toMatchObject({ hardlinked: 0, copied: 2 });
    expect(await readFile(join(dest, 'lib', 'a.txt'), 'utf8')).toBe('A\n');
    expect((await stat(join(dest, 'lib', 'a.txt'))).ino).not.toBe((await stat(join(ex, 'lib', 'a.txt'))).ino);
    expect(res.mismatches).toEqual([{ path: 'lib/b.txt', expected: sha('B\n'), actual: sha('tampered\n') }]);
    expect(res.paths.find((p) => p._path === 'lib/a.txt')).toMatchObject({ sha256: sha('A\n'), size_in_bytes: 2 });
  });

  it('another link error (EIO) is not hidden by a copy', async () => {
    const ex = await makePackage([{ path: 'lib/a.txt', content: 'A\n' }]);
    const dest = await dir('dest-eio');
    const eio = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    await expect(
      linkPackage({ extractedDir: ex, destDir: dest, targetPrefix: dest, platform: 'linux-64', dist: 'x-1-0', hardlink: () => { throw eio; } }),
    ).rejects.toBe(eio);
  });
});
