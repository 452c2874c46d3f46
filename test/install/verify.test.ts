import { createHash } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installLockfile } from '../../src/install/install.js';
import { formatVerifyProblem, verifyPrefix } from '../../src/install/verify.js';
import type { LockedCondaPackage, LockedGoToolchain, Lockfile } from '../../src/lockfile/model.js';
import { HttpClient } from '../../src/net/http.js';
import { startChannelServer, type ChannelServer } from '../support/channel-server.js';
import { fixture, haveFixtures } from '../support/fixtures.js';
import { fakeGoArchive } from '../support/archives.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let server: ChannelServer;
let root: string;
let http: HttpClient;
let goArchive: Buffer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cgl-verify-'));
  if (!haveFixtures) return;
  server = await startChannelServer();
  server.mount('/pkgs', fixture('packages'));
  goArchive = await fakeGoArchive('1.23.1');
  server.route('/go/go1.23.1.linux-amd64.tar.gz', goArchive);
  http = new HttpClient({ retries: 0 });
});
afterAll(async () => {
  await server?.stop();
  await rm(root, { recursive: true, force: true });
});

async function locked(file: string, name: string, version: string, build: string, subdir: string): Promise<LockedCondaPackage> {
  const bytes = await readFile(fixture('packages', file));
  return {
    platform: 'linux-64',
    name,
    version,
    build,
    build_number: 0,
    subdir,
    channel: server.url('/pkgs'),
    url: server.url(`/pkgs/${file}`),
    fn: basename(file),
    sha256: sha(bytes),
    md5: createHash('md5').update(bytes).digest('hex'),
    size: bytes.length,
    depends: [],
    constrains: [],
  };
}

function go(version = '1.23.1'): LockedGoToolchain {
  return {
    platform: 'linux-64',
    version,
    os: 'linux',
    arch: 'amd64',
    filename: `go${version}.linux-amd64.tar.gz`,
    url: server.url(`/go/go${version}.linux-amd64.tar.gz`),
    sha256: sha(goArchive),
    size: goArchive.length,
  };
}

function lockfile(packages: LockedCondaPackage[], goList: LockedGoToolchain[]): Lockfile {
  return {
    version: 1,
    metadata: { tool_version: '0', platforms: ['linux-64'], channels: [], sources: [], content_hash: {}, specs: [], virtual_packages: {} },
    packages,
    go: goList,
  };
}

let seq = 0;
async function installed(): Promise<{ prefix: string; lf: Lockfile }> {
  const zlib = await locked('defaults-zlib/linux-64/zlib-1.2.11-h7b6447c_3.tar.bz2', 'zlib', '1.2.11', 'h7b6447c_3', 'linux-64');
  const mutex = await locked('_r-mutex-1.0.1-anacondar_1.tar.bz2', '_r-mutex', '1.0.1', 'anacondar_1', 'noarch');
  const lf = lockfile([zlib, mutex], [go()]);
  const base = join(root, `v${seq++}`);
  const prefix = join(base, 'env');
  // A private cache per prefix: editing a hard-linked file in place also edits the cache copy.
  await installLockfile({ lockfile: lf, platform: 'linux-64', prefix, cacheDir: join(base, 'cache'), http });
  return { prefix, lf };
}

describe.skipIf(!haveFixtures)('verifyPrefix after a real install', () => {
  it('a fresh install verifies', async () => {
    const { prefix, lf } = await installed();
    const r = await verifyPrefix({ prefix, lockfile: lf, platform: 'linux-64' });
    expect(r).toMatchObject({ ok: true, problems: [] });
  });

  it('detects a modified file (prefix-replaced and hard-linked) with expected/actual hashes', async () => {
    const { prefix, lf } = await installed();
    const pc = join(prefix, 'lib/pkgconfig/zlib.pc');
    const expected = sha(await readFile(pc));
    await appendFile(pc, '# local edit\n');
    await appendFile(join(prefix, 'include/zlib.h'), '\n');
    const r = await verifyPrefix({ prefix, lockfile: lf, platform: 'linux-64' });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      { kind: 'modified-file', package: 'zlib-1.2.11-h7b6447c_3', path: 'include/zlib.h', expected: '4ddc82b4af931ab55f44d977bde81bfbc4151b5dcdccc03142831a301b5ec3c8', actual: sha(await readFile(join(prefix, 'include/zlib.h'))) },
      { kind: 'modified-file', package: 'zlib-1.2.11-h7b6447c_3', path: 'lib/pkgconfig/zlib.pc', expected, actual: sha(await readFile(pc)) },
    ]);
    expect(formatVerifyProblem(r.problems[1]!)).toBe(
      `modified-file: zlib-1.2.11-h7b6447c_3 lib/pkgconfig/zlib.pc (expected ${expected}, found ${r.problems[1]!.actual})`,
    );
  });

  it('detects a missing file and a symlink/file replaced by a directory', async () => {
    const { prefix, lf } = await installed();
    await unlink(join(prefix, 'lib/libz.a'));
    await unlink(join(prefix, 'include/zconf.h'));
    await mkdir(join(prefix, 'include/zconf.h'));
    const r = await verifyPrefix({ prefix, lockfile: lf, platform: 'linux-64' });
    expect(r.problems).toEqual([
      { kind: 'modified-file', package: 'zlib-1.2.11-h7b6447c_3', path: 'include/zconf.h', expected: 'regular file', actual: 'directory' },
      { kind: 'missing-file', package: 'zlib-1.2.11-h7b6447c_3', path: 'lib/libz.a' },
    ]);
  });

  it('detects an extra package, a missing package and a different build', async () => {
    const { prefix, lf } = await installed();
    const fewer = structuredClone(lf);
    fewer.packages = fewer.packages.filter((p) => p.name !== '_r-mutex');
    const patches = await locked('conda-forge-repodata-patches-20180828-0.tar.bz2', 'conda-forge-repodata-patches', '20180828', '0', 'noarch');
    fewer.packages.push(patches);
    fewer.packages.find((p) => p.name === 'zlib')!.build = 'h7b6447c_4';
    const r = await verifyPrefix({ prefix, lockfile: fewer, platform: 'linux-64' });
    expect(r.problems.map((p) => [p.kind, p.package])).toEqual([
      ['changed-package', 'zlib-1.2.11-h7b6447c_4'],
      ['missing-package', 'conda-forge-repodata-patches-20180828-0'],
      ['extra-package', '_r-mutex-1.0.1-anacondar_1'],
    ]);
    expect(r.problems[0]!.actual).toContain('zlib-1.2.11-h7b6447c_3');
  });

  it('detects Go mismatches: edited VERSION, missing binary, a different pin, no Go pinned', async () => {
    const { prefix, lf } = await installed();
    const version = await readFile(join(prefix, 'go/VERSION'));
    await writeFile(join(prefix, 'go/VERSION'), 'go1.20.0\n');
    let r = await verifyPrefix({ prefix, lockfile: lf, platform: 'linux-64' });
    expect(r.problems[0]).toEqual({ kind: 'go-mismatch', package: 'go', path: 'go/VERSION', expected: 'go1.23.1', actual: 'go1.20.0' });
    // ... and the manifest recorded at install sees the edited file too.
    expect(r.problems.slice(1).map((p) => [p.kind, p.package, p.path])).toEqual([['modified-file', 'go1.23.1', 'go/VERSION']]);

    await writeFile(join(prefix, 'go/VERSION'), version);
    await unlink(join(prefix, 'go/bin/go'));
    r = await verifyPrefix({ prefix, lockfile: lf, platform: 'linux-64' });
    expect(r.problems.map((p) => [p.kind, p.path])).toEqual([['go-mismatch', 'go/bin/go']]);

    const other = structuredClone(lf);
    other.go = [{ ...go('1.24.0'), sha256: 'f'.repeat(64) }];
    r = await verifyPrefix({ prefix, lockfile: other, platform: 'linux-64' });
    // recorded pin, VERSION, bin/go, and the manifest (files of another archive)
    expect(r.problems.map((p) => [p.kind, p.path])).toEqual([['go-mismatch', undefined], ['go-mismatch', 'go/VERSION'], ['go-mismatch', 'go/bin/go'], ['go-mismatch', 'conda-meta/go-toolchain']]);
    expect(r.problems[0]!.expected).toContain('go1.24.0');

    const noGo = structuredClone(lf);
    noGo.go = [];
    r = await verifyPrefix({ prefix, lockfile: noGo, platform: 'linux-64' });
    expect(r.problems).toEqual([{ kind: 'go-mismatch', package: 'go', expected: 'no Go toolchain', actual: 'go1.23.1' }]);
  });
});

describe('verifyPrefix on hand-written conda-meta', () => {
  /** Two packages recording the same path (a clobber): the file passes when it matches either. */
  it('a clobbered path passes when it matches the package that wrote it last, fails otherwise', async () => {
    const prefix = join(root, 'clobber-env');
    await mkdir(join(prefix, 'conda-meta'), { recursive: true });
    await mkdir(join(prefix, 'bin'), { recursive: true });
    const rec = (name: string, content: string) => ({
      name,
      version: '1',
      build: '0',
      build_number: 0,
      channel: 'https://example.invalid/c/linux-64',
      subdir: 'linux-64',
      fn: `${name}-1-0.conda`,
      url: `https://example.invalid/c/linux-64/${name}-1-0.conda`,
      md5: '0'.repeat(32),
      sha256: sha(name),
      size: 1,
      depends: [],
      constrains: [],
      files: ['bin/tool'],
      paths_data: { paths_version: 1, paths: [{ _path: 'bin/tool', path_type: 'hardlink', sha256: sha(content), sha256_in_prefix: sha(content), size_in_bytes: content.length }, { _path: `bin/${name}-link`, path_type: 'softlink' }] },
    });
    await writeFile(join(prefix, 'conda-meta/a-1-0.json'), JSON.stringify(rec('a', 'from a')));
    await writeFile(join(prefix, 'conda-meta/b-1-0.json'), JSON.stringify(rec('b', 'from b')));
    await writeFile(join(prefix, 'bin/tool'), 'from b');
    await symlink('tool', join(prefix, 'bin/a-link'));
    await writeFile(join(prefix, 'bin/b-link'), 'a softlink the package stored as a file');
    const pkg = (name: string): LockedCondaPackage => ({
      platform: 'linux-64', name, version: '1', build: '0', build_number: 0, subdir: 'linux-64', channel: 'https://example.invalid/c',
      url: '', fn: `${name}-1-0.conda`, md5: '', sha256: sha(name), size: 1, depends: [], constrains: [],
    });
    const lf = lockfile([pkg('a'), pkg('b')], []);
    expect((await verifyPrefix({ prefix, lockfile: lf, platform: 'linux-64' })).problems).toEqual([]);
    await writeFile(join(prefix, 'bin/tool'), 'from neither');
    const r = await verifyPrefix({ prefix, lockfile: lf, platform: 'linux-64' });
    expect(r.problems).toEqual([{ kind: 'modified-file', package: 'b-1-0', path: 'bin/tool', expected: sha('from b'), actual: sha('from neither') }]);
  });

  it('a path that one package ships as a file and a later one as a symlink passes when the symlink won', async () => {
    const prefix = join(root, 'clobber-symlink-env');
    await mkdir(join(prefix, 'conda-meta'), { recursive: true });
    await mkdir(join(prefix, 'lib'), { recursive: true });
    const rec = (name: string, entry: Record<string, unknown>) => ({
      name, version: '1', build: '0', build_number: 0, channel: 'https://example.invalid/c/linux-64', subdir: 'linux-64',
      fn: `${name}-1-0.conda`, url: `https://example.invalid/c/linux-64/${name}-1-0.conda`, md5: '0'.repeat(32), sha256: sha(name),
      size: 1, depends: [], constrains: [], files: ['lib/libx.so'], paths_data: { paths_version: 1, paths: [entry] },
    });
    // "z" (a file) sorts after "a" (a symlink) by name, but "a" was linked last and its symlink is what is on disk.
    await writeFile(join(prefix, 'conda-meta/z-1-0.json'), JSON.stringify(rec('z', { _path: 'lib/libx.so', path_type: 'hardlink', sha256: sha('elf'), sha256_in_prefix: sha('elf'), size_in_bytes: 3 })));
    await writeFile(join(prefix, 'conda-meta/a-1-0.json'), JSON.stringify(rec('a', { _path: 'lib/libx.so', path_type: 'softlink' })));
    await writeFile(join(prefix, 'lib/libx.so.1'), 'elf');
    await symlink('libx.so.1', join(prefix, 'lib/libx.so'));
    const pkg = (name: string): LockedCondaPackage => ({
      platform: 'linux-64', name, version: '1', build: '0', build_number: 0, subdir: 'linux-64', channel: 'https://example.invalid/c',
      url: '', fn: `${name}-1-0.conda`, md5: '', sha256: sha(name), size: 1, depends: [], constrains: [],
    });
    const lf = lockfile([pkg('a'), pkg('z')], []);
    expect((await verifyPrefix({ prefix, lockfile: lf, platform: 'linux-64' })).problems).toEqual([]);
    // The file won instead: checked against the file owner's hash.
    await unlink(join(prefix, 'lib/libx.so'));
    await writeFile(join(prefix, 'lib/libx.so'), 'elf');
    expect((await verifyPrefix({ prefix, lockfile: lf, platform: 'linux-64' })).problems).toEqual([]);
    await writeFile(join(prefix, 'lib/libx.so'), 'edited');
    expect((await verifyPrefix({ prefix, lockfile: lf, platform: 'linux-64' })).problems).toEqual([
      { kind: 'modified-file', package: 'z-1-0', path: 'lib/libx.so', expected: sha('elf'), actual: sha('edited') },
    ]);
  });

  it('an empty directory is an environment missing every package', async () => {
    const prefix = join(root, 'empty-env');
    await mkdir(prefix, { recursive: true });
    const pkg: LockedCondaPackage = {
      platform: 'linux-64', name: 'x', version: '1', build: '0', build_number: 0, subdir: 'linux-64', channel: 'c', url: '', fn: 'x-1-0.conda',
      md5: '', sha256: sha('x'), size: 1, depends: [], constrains: [],
    };
    const r = await verifyPrefix({ prefix, lockfile: lockfile([pkg], []), platform: 'linux-64' });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([{ kind: 'missing-package', package: 'x-1-0', expected: `x-1-0 (sha256 ${sha('x')})` }]);
  });
});
