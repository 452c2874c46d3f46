import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InstallError, IntegrityError, LockfileError, NetworkError } from '../../src/errors.js';
import { installLockfile, type InstallOptions } from '../../src/install/install.js';
import { installOrder } from '../../src/install/order.js';
import { lockFilePath } from '../../src/install/transaction.js';
import { verifyPrefix } from '../../src/install/verify.js';
import type { LockedCondaPackage, LockedGoToolchain, Lockfile } from '../../src/lockfile/model.js';
import { readLockfile } from '../../src/lockfile/read.js';
import { writeLockfile } from '../../src/lockfile/write.js';
import { HttpClient } from '../../src/net/http.js';
import { startChannelServer, type ChannelServer } from '../support/channel-server.js';
import { fixture, haveFixtures } from '../support/fixtures.js';
import { fakeGoArchive, writeTarBz2 } from '../support/archives.js';

interface PkgSpec {
  file: string;
  name: string;
  version: string;
  build: string;
  build_number: number;
  subdir: string;
  noarch?: 'python' | 'generic';
  depends?: string[];
}

const ZLIB_LINUX: PkgSpec = { file: 'defaults-zlib/linux-64/zlib-1.2.11-h7b6447c_3.tar.bz2', name: 'zlib', version: '1.2.11', build: 'h7b6447c_3', build_number: 3, subdir: 'linux-64', depends: ['libgcc-ng >=7.3.0'] };
const ZLIB_OSX: PkgSpec = { file: 'defaults-zlib/osx-64/zlib-1.2.11-h1de35cc_3.tar.bz2', name: 'zlib', version: '1.2.11', build: 'h1de35cc_3', build_number: 3, subdir: 'osx-64' };
const MOCK_OSX: PkgSpec = { file: 'mock-2.0.0-py37_1000.conda', name: 'mock', version: '2.0.0', build: 'py37_1000', build_number: 1000, subdir: 'osx-64', depends: ['pbr >=1.3', 'python >=3.7,<3.8.0a0', 'six'] };
const R_MUTEX: PkgSpec = { file: '_r-mutex-1.0.1-anacondar_1.tar.bz2', name: '_r-mutex', version: '1.0.1', build: 'anacondar_1', build_number: 1, subdir: 'noarch', noarch: 'generic' };
const PATCHES: PkgSpec = { file: 'conda-forge-repodata-patches-20180828-0.tar.bz2', name: 'conda-forge-repodata-patches', version: '20180828', build: '0', build_number: 0, subdir: 'noarch', noarch: 'generic' };
const FLASK: PkgSpec = { file: 'flask-0.11.1-py_0.tar.bz2', name: 'flask', version: '0.11.1', build: 'py_0', build_number: 0, subdir: 'noarch', noarch: 'python', depends: ['python'] };

let server: ChannelServer;
let root: string;
let http: HttpClient;
let goArchive: Buffer;
const GO_VERSION = '1.22.5';

beforeAll(async () => {
  if (!haveFixtures) return;
  server = await startChannelServer();
  server.mount('/pkgs', fixture('packages'));
  goArchive = await fakeGoArchive(GO_VERSION);
  server.route(`/go/go${GO_VERSION}.linux-amd64.tar.gz`, goArchive);
  root = await mkdtemp(join(tmpdir(), 'cgl-install-'));
  http = new HttpClient({ retries: 2, retryDelayMs: 5, maxRetryDelayMs: 20 });
});
afterAll(async () => {
  await server?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});
beforeEach(() => server?.clearFaults());

function digest(b: Buffer) {
  return {
    sha256: createHash('sha256').update(b).digest('hex'),
    md5: createHash('md5').update(b).digest('hex'),
    size: b.length,
  };
}

async function locked(spec: PkgSpec, platform: string): Promise<LockedCondaPackage> {
  const bytes = await readFile(fixture('packages', spec.file));
  const fn = basename(spec.file);
  return {
    platform,
    name: spec.name,
    version: spec.version,
    build: spec.build,
    build_number: spec.build_number,
    subdir: spec.subdir,
    channel: server.url('/pkgs'),
    url: server.url(`/pkgs/${spec.file}`),
    fn,
    ...digest(bytes),
    depends: spec.depends ?? [],
    constrains: [],
    ...(spec.noarch ? { noarch: spec.noarch } : {}),
    license: 'test',
  };
}

function goFor(platform: string): LockedGoToolchain {
  return {
    platform,
    version: GO_VERSION,
    os: 'linux',
    arch: 'amd64',
    filename: `go${GO_VERSION}.linux-amd64.tar.gz`,
    url: server.url(`/go/go${GO_VERSION}.linux-amd64.tar.gz`),
    sha256: digest(goArchive).sha256,
    size: goArchive.length,
  };
}

function lockfile(packages: LockedCondaPackage[], go: LockedGoToolchain[] = []): Lockfile {
  const platforms = [...new Set([...packages.map((p) => p.platform), ...go.map((g) => g.platform)])].sort();
  return {
    version: 1,
    metadata: {
      tool_version: '0.1.0',
      platforms,
      channels: [{ url: server.url('/pkgs') }],
      sources: ['environment.yml'],
      content_hash: Object.fromEntries(platforms.map((p) => [p, `hash-${p}`])),
      specs: ['zlib 1.2.*'],
      virtual_packages: {},
    },
    packages,
    go,
  };
}

async function linuxSet(): Promise<Lockfile> {
  return lockfile([await locked(ZLIB_LINUX, 'linux-64'), await locked(R_MUTEX, 'linux-64'), await locked(PATCHES, 'linux-64')], [goFor('linux-64')]);
}

let seq = 0;
function paths(tag: string) {
  const base = join(root, `${tag}-${seq++}`);
  return { prefix: join(base, 'env'), cacheDir: join(base, 'cache'), base };
}

function opts(lf: Lockfile, platform: string, p: { prefix: string; cacheDir: string }, extra: Partial<InstallOptions> = {}): InstallOptions {
  return { lockfile: lf, platform, prefix: p.prefix, cacheDir: p.cacheDir, http, concurrency: 3, ...extra };
}

/** Every file/dir/symlink under `dir`: relative path → mode + sha256 (prefix text normalised) or link target. */
async function treeManifest(dir: string, prefix: string, skip: (rel: string) => boolean = () => false): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const abs = join(dir, r);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) out[r] = `link ${await readlink(abs)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${(st.mode & 0o7777).toString(8)}`;
        await walk(r);
      } else {
        const text = (await readFile(abs)).toString('latin1').split(prefix).join('<PREFIX>');
        out[r] = `file ${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(text, 'latin1').digest('hex')}`;
      }
    }
  };
  await walk('');
  return out;
}

async function siblings(p: { prefix: string }): Promise<string[]> {
  try {
    return (await readdir(dirname(p.prefix))).filter((n) => n !== 'cache').sort();
  } catch {
    return [];
  }
}

describe.skipIf(!haveFixtures)('installLockfile through a real HTTP server', () => {
  it('lock object → install → verify round trip (linux-64 + Go), conda-meta and history written', async () => {
    const lf = await linuxSet();
    const p = paths('roundtrip');
    const res = await installLockfile(opts(lf, 'linux-64', p));
    expect(res.upToDate).toBe(false);
    expect(res.installed.sort()).toEqual(['_r-mutex-1.0.1-anacondar_1', 'conda-forge-repodata-patches-20180828-0', 'zlib-1.2.11-h7b6447c_3']);
    expect(res.downloaded).toBe(4);
    expect(res.warnings).toEqual([]);
    expect(await siblings(p)).toEqual(['env']); // no staging, lock or old dirs left behind

    // Prefix replacement used the FINAL prefix, not the staging dir.
    const pc = await readFile(join(p.prefix, 'lib/pkgconfig/zlib.pc'), 'utf8');
    expect(pc).toContain(`prefix=${p.prefix}\n`);
    expect(pc).not.toContain('cgl-staging');

    const meta = JSON.parse(await readFile(join(p.prefix, 'conda-meta/zlib-1.2.11-h7b6447c_3.json'), 'utf8'));
    const z = lf.packages.find((x) => x.name === 'zlib')!;
    expect(meta).toMatchObject({
      name: 'zlib',
      version: '1.2.11',
      build: 'h7b6447c_3',
      build_number: 3,
      channel: `${server.url('/pkgs')}/linux-64`,
      subdir: 'linux-64',
      fn: z.fn,
      url: z.url,
      md5: z.md5,
      sha256: z.sha256,
      size: z.size,
      depends: ['libgcc-ng >=7.3.0'],
      requested_spec: 'zlib 1.2.*',
      link: { type: 1 },
    });
    expect(meta.files).toContain('lib/pkgconfig/zlib.pc');
    const pcEntry = meta.paths_data.paths.find((x: { _path: string }) => x._path === 'lib/pkgconfig/zlib.pc');
    // conda's rule: sha256/size_in_bytes stay the package's, sha256_in_prefix is the rewritten file's.
    expect(pcEntry.sha256_in_prefix).toBe(createHash('sha256').update(pc).digest('hex'));
    expect(pcEntry.sha256).not.toBe(pcEntry.sha256_in_prefix);
    expect(meta.extracted_package_dir).toBe(join(p.cacheDir, 'extracted', z.sha256));
    expect(meta.package_tarball_full_path).toBe(join(p.cacheDir, 'pkgs', z.sha256, z.fn));

    const history = await readFile(join(p.prefix, 'conda-meta/history'), 'utf8');
    expect(history).toMatch(/^==> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d <==\n# cmd: conda-go-lock install/);
    expect(history).toContain(`+${server.url('/pkgs')}::zlib-1.2.11-h7b6447c_3\n`);

    const state = JSON.parse(await readFile(join(p.prefix, 'conda-meta/conda-go-lock'), 'utf8'));
    expect(state).toMatchObject({ platform: 'linux-64', content_hash: 'hash-linux-64', only_go: false, go: { version: GO_VERSION } });
    expect((await readFile(join(p.prefix, 'go/VERSION'), 'utf8')).split('\n')[0]).toBe(`go${GO_VERSION}`);

    const v = await verifyPrefix({ prefix: p.prefix, lockfile: lf, platform: 'linux-64' });
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.checkedFiles).toBeGreaterThan(10);

    // Second run: already up to date, nothing fetched.
    const before = server.requests.length;
    const again = await installLockfile(opts(lf, 'linux-64', p));
    expect(again.upToDate).toBe(true);
    expect(server.requests.length).toBe(before);
  });

  it('a lockfile written to YAML and read back (src/lockfile) installs and verifies the same', async () => {
    const lf = await linuxSet();
    lf.metadata.content_hash = { 'linux-64': 'a'.repeat(64) };
    const p = paths('yaml');
    await mkdir(p.base, { recursive: true });
    const file = join(p.base, 'conda-go-lock.yml');
    await writeLockfile(file, lf);
    const read = await readLockfile(file);
    const res = await installLockfile(opts(read, 'linux-64', p));
    expect(res.installed).toHaveLength(3);
    expect((await verifyPrefix({ prefix: p.prefix, lockfile: read, platform: 'linux-64' })).ok).toBe(true);
    // The in-memory object and the re-read file describe the same install: no-op.
    expect((await installLockfile(opts(lf, 'linux-64', p))).upToDate).toBe(true);
  });

  it('install twice → identical trees: same prefix path byte-for-byte, other prefixes up to the prefix string', async () => {
    const lf = await linuxSet();
    const base = join(root, `twice-${seq++}`);
    const cacheDir = join(base, 'cache');
    const a = join(base, 'envA');
    const r1 = await installLockfile(opts(lf, 'linux-64', { prefix: a, cacheDir }));
    const skipHistory = (r: string) => r === 'conda-meta/history';
    const first = await treeManifest(a, '\0none', skipHistory);
    expect(Object.keys(first).length).toBeGreaterThan(20);
    // Same path again (the first tree moved away): byte-identical, cache reused, nothing fetched.
    await rename(a, join(base, 'envA-first'));
    const requests = server.requests.length;
    const r2 = await installLockfile(opts(lf, 'linux-64', { prefix: a, cacheDir }));
    expect(r1.downloaded).toBe(4);
    expect(r2.downloaded).toBe(0);
    expect(r2.reused).toBe(4);
    expect(server.requests.length).toBe(requests);
    expect(await treeManifest(a, '\0none', skipHistory)).toEqual(first);
    expect(await treeManifest(join(base, 'envA-first'), '\0none', skipHistory)).toEqual(first);

    // Another prefix of the same length, with a fresh cache: identical once the prefix string is
    // normalised (conda-meta excluded: it records cache paths and hashes of prefix-replaced files).
    const b = join(base, 'envB');
    await installLockfile(opts(lf, 'linux-64', { prefix: b, cacheDir: join(base, 'cache2') }));
    const noMeta = (r: string) => r.startsWith('conda-meta/');
    expect(await treeManifest(b, b, noMeta)).toEqual(await treeManifest(a, a, noMeta));
  });

  it('a hard-linked file edited in one prefix (which edits the cache) is detected and re-extracted for the next', async () => {
    const lf = lockfile([await locked(ZLIB_LINUX, 'linux-64')]);
    const base = join(root, `cache-edit-${seq++}`);
    const cacheDir = join(base, 'cache');
    const a = join(base, 'envA');
    await installLockfile(opts(lf, 'linux-64', { prefix: a, cacheDir }));
    await writeFile(join(a, 'include/zlib.h'), 'edited in place\n', { flag: 'r+' });
    const b = join(base, 'envB');
    const res = await installLockfile(opts(lf, 'linux-64', { prefix: b, cacheDir }));
    expect(res.warnings).toHaveLength(1);
    expect(res.warnings[0]).toMatch(/zlib-1\.2\.11-h7b6447c_3: cached extraction .* was modified \(include\/zlib\.h\)/);
    expect((await verifyPrefix({ prefix: b, lockfile: lf, platform: 'linux-64' })).ok).toBe(true);
    const hdr = await readFile(join(b, 'include/zlib.h'));
    expect(createHash('sha256').update(hdr).digest('hex')).toBe('4ddc82b4af931ab55f44d977bde81bfbc4151b5dcdccc03142831a301b5ec3c8');
    // The edited prefix is (rightly) reported by verify.
    expect((await verifyPrefix({ prefix: a, lockfile: lf, platform: 'linux-64' })).problems.map((x) => x.path)).toEqual(['include/zlib.h']);
  });

  it('osx-64 set (binary placeholders in dylibs, a .conda package) installs and verifies', async () => {
    const lf = lockfile([await locked(ZLIB_OSX, 'osx-64'), await locked(MOCK_OSX, 'osx-64')]);
    const p = paths('osx');
    const res = await installLockfile(opts(lf, 'osx-64', p, { pythonVersion: '3.7' }));
    expect(res.installed).toHaveLength(2);
    const dylib = await readFile(join(p.prefix, 'lib/libz.1.2.11.dylib'));
    expect(dylib.length).toBe(100996);
    expect(dylib.includes(Buffer.from('_h_env_placehold'))).toBe(false);
    expect(dylib.includes(Buffer.from(`${p.prefix}/lib`))).toBe(true);
    expect((await verifyPrefix({ prefix: p.prefix, lockfile: lf, platform: 'osx-64' })).ok).toBe(true);
  });

  it('tampered package (server corrupts bytes) → IntegrityError, prefix not created, bad cache entry gone', async () => {
    const lf = await linuxSet();
    const p = paths('corrupt');
    server.fault({ path: '/pkgs/defaults-zlib/linux-64/zlib-1.2.11-h7b6447c_3.tar.bz2', fault: { kind: 'corrupt' } });
    const err = await installLockfile(opts(lf, 'linux-64', p)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toContain('zlib-1.2.11-h7b6447c_3');
    const z = lf.packages.find((x) => x.name === 'zlib')!;
    expect((err as Error).message).toContain(z.sha256);
    await expect(stat(p.prefix)).rejects.toThrow();
    await expect(stat(join(p.cacheDir, 'pkgs', z.sha256))).rejects.toThrow();
    await expect(stat(join(p.cacheDir, 'extracted', z.sha256))).rejects.toThrow();
    expect(await siblings(p)).toEqual([]);
  });

  it('a failed download waits for the others: no download is still writing into the cache afterwards', async () => {
    const lf = lockfile([await locked(ZLIB_LINUX, 'linux-64'), await locked(R_MUTEX, 'linux-64')]);
    const p = paths('settle');
    server.fault({ path: '/pkgs/defaults-zlib/linux-64/zlib-1.2.11-h7b6447c_3.tar.bz2', fault: { kind: 'corrupt' } });
    server.fault({ path: '/pkgs/_r-mutex-1.0.1-anacondar_1.tar.bz2', fault: { kind: 'delay', ms: 300 } });
    await expect(installLockfile(opts(lf, 'linux-64', p))).rejects.toThrow(IntegrityError);
    const mutex = lf.packages.find((x) => x.name === '_r-mutex')!;
    // Already complete when the error surfaced: the slow download was not abandoned mid-way.
    expect((await readdir(join(p.cacheDir, 'pkgs', mutex.sha256))).sort()).toEqual([mutex.fn]);
    expect((await stat(join(p.cacheDir, 'pkgs', mutex.sha256, mutex.fn))).size).toBe(mutex.size);
    await expect(stat(p.prefix)).rejects.toThrow();
  });

  it('a new prefix is linked while a later package still downloads; that one failing leaves neither prefix nor staging', async () => {
    const lf = lockfile([await locked(ZLIB_LINUX, 'linux-64'), await locked(R_MUTEX, 'linux-64'), await locked(PATCHES, 'linux-64')]);
    const last = installOrder(lf.packages).at(-1)!;
    const lastPath = `/pkgs/${[ZLIB_LINUX, R_MUTEX, PATCHES].find((s) => s.name === last.name)!.file}`;
    server.fault({ path: lastPath, fault: { kind: 'delay', ms: 1500 } });
    /** While the install runs: whether the staging dir beside the prefix held linked files before the last archive was in the cache. */
    const watchStaging = (p: { prefix: string; cacheDir: string }, until: Promise<unknown>) => {
      const lastArchive = join(p.cacheDir, 'pkgs', last.sha256, last.fn);
      let done = false;
      void until.finally(() => (done = true)).catch(() => undefined);
      return (async () => {
        while (!done) {
          for (const n of await readdir(dirname(p.prefix)).catch(() => [] as string[])) {
            if (!n.startsWith(`${basename(p.prefix)}.cgl-staging-`)) continue;
            const linked = (await readdir(join(dirname(p.prefix), n)).catch(() => [])).length > 0;
            if (linked && (await stat(lastArchive).then(() => false, () => true))) return true;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
        return false;
      })();
    };

    const ok = paths('early-ok');
    const run = installLockfile(opts(lf, 'linux-64', ok));
    expect(await watchStaging(ok, run)).toBe(true);
    await run;
    expect((await verifyPrefix({ prefix: ok.prefix, lockfile: lf, platform: 'linux-64' })).ok).toBe(true);
    expect(await siblings(ok)).toEqual(['env']);

    // the last package's pinned sha256 is wrong: its (slow) download fails after the others were linked
    const bad = structuredClone(lf);
    bad.packages.find((x) => x.name === last.name)!.sha256 = 'f'.repeat(64);
    const failing = paths('early-fail');
    const run2 = installLockfile(opts(bad, 'linux-64', failing));
    expect(await watchStaging(failing, run2)).toBe(true);
    const err = await run2.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toContain(`${last.name}-${last.version}-${last.build}: sha256 mismatch`);
    expect(await siblings(failing)).toEqual([]);
  });

  it('a noarch: python record without its noarch kind (conda-lock, @EXPLICIT) whose cached index.json is gone is still placed in site-packages', async () => {
    const pkgFile = join(root, 'foo-1.0-py_0.tar.bz2');
    const init = 'print("foo")\n';
    await writeTarBz2(pkgFile, [
      { name: 'info/index.json', content: JSON.stringify({ name: 'foo', version: '1.0', build: 'py_0', build_number: 0, subdir: 'noarch', noarch: 'python', depends: [] }) },
      { name: 'info/paths.json', content: JSON.stringify({ paths_version: 1, paths: [{ _path: 'site-packages/foo/__init__.py', path_type: 'hardlink', sha256: createHash('sha256').update(init).digest('hex'), size_in_bytes: init.length }] }) },
      { name: 'site-packages/foo/__init__.py', content: init },
    ]);
    const bytes = await readFile(pkgFile);
    const foo: LockedCondaPackage = {
      platform: 'linux-64', name: 'foo', version: '1.0', build: 'py_0', build_number: 0, subdir: 'noarch',
      channel: 'file:///channel', url: pathToFileURL(pkgFile).href, fn: 'foo-1.0-py_0.tar.bz2', ...digest(bytes),
      depends: [], constrains: [], license: 'test',
    };
    const lf = lockfile([foo]);
    const p = paths('noarch-reextract');
    const o = (prefix: string) => ({ ...opts(lf, 'linux-64', { prefix, cacheDir: p.cacheDir }), pythonVersion: '3.7' });
    await installLockfile(o(p.prefix));
    const where = 'lib/python3.7/site-packages/foo/__init__.py';
    expect(await readFile(join(p.prefix, where), 'utf8')).toBe(init);
    // the cache entry loses its metadata; the archive is verified, so it is extracted again
    const ex = join(p.cacheDir, 'extracted', foo.sha256);
    await rm(join(ex, 'info', 'index.json'));
    await rm(join(ex, 'info', 'paths.json'));
    const second = join(p.base, 'env2');
    const r = await installLockfile(o(second));
    expect(r.warnings.some((w) => w.includes('extracting again'))).toBe(true);
    expect(await readFile(join(second, where), 'utf8')).toBe(init);
    await expect(stat(join(second, 'site-packages'))).rejects.toThrow();
  });

  it('wrong sha256 in the lockfile → IntegrityError; an existing prefix is left untouched', async () => {
    const good = await linuxSet();
    const p = paths('wrongsha');
    await installLockfile(opts(good, 'linux-64', p));
    const before = await treeManifest(p.prefix, p.prefix);

    const bad = structuredClone(good);
    const z = bad.packages.find((x) => x.name === 'zlib')!;
    z.sha256 = '0'.repeat(64);
    bad.packages = bad.packages.filter((x) => x.name !== '_r-mutex'); // a different set, so it is not a no-op
    const err = await installLockfile(opts(bad, 'linux-64', { ...p, cacheDir: join(p.base, 'cache-bad') })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(/zlib-1\.2\.11-h7b6447c_3: sha256 mismatch .*expected 0{64}/);
    expect(await treeManifest(p.prefix, p.prefix)).toEqual(before);
    expect((await verifyPrefix({ prefix: p.prefix, lockfile: good, platform: 'linux-64' })).ok).toBe(true);
    expect(await siblings(p)).toEqual(['cache-bad', 'env']);
    expect(await readdir(join(p.base, 'cache-bad', 'pkgs'))).not.toContain('0'.repeat(64));
  });

  it('wrong size in the lockfile is reported as a size mismatch before hashing', async () => {
    const lf = lockfile([await locked(R_MUTEX, 'linux-64')]);
    lf.packages[0]!.size += 1;
    const err = await installLockfile(opts(lf, 'linux-64', paths('size'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(/_r-mutex-1\.0\.1-anacondar_1: size mismatch .*expected 3567, got 3566/);
  });

  it('md5 is checked only when no sha256 is pinned', async () => {
    const lf = lockfile([await locked(R_MUTEX, 'linux-64')]);
    const pkg = lf.packages[0]!;
    pkg.sha256 = '';
    const p = paths('md5');
    await installLockfile(opts(lf, 'linux-64', p));
    expect(await readdir(join(p.cacheDir, 'pkgs'))).toEqual([`md5-${pkg.md5}`]);
    const bad = structuredClone(lf);
    bad.packages[0]!.md5 = 'f'.repeat(32);
    const err = await installLockfile(opts(bad, 'linux-64', paths('md5-bad'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toMatch(/_r-mutex-1\.0\.1-anacondar_1: md5 mismatch .*expected f{32}/);
  });

  it('a download truncated once is retried and the install succeeds', async () => {
    const lf = lockfile([await locked(ZLIB_LINUX, 'linux-64')]);
    const p = paths('trunc-once');
    const path = '/pkgs/defaults-zlib/linux-64/zlib-1.2.11-h7b6447c_3.tar.bz2';
    server.fault({ path, fault: { kind: 'truncate', bytes: 1000 }, times: 1 });
    const before = server.requestsTo(path).length;
    await installLockfile(opts(lf, 'linux-64', p));
    expect(server.requestsTo(path).length - before).toBe(2);
    expect((await verifyPrefix({ prefix: p.prefix, lockfile: lf, platform: 'linux-64' })).ok).toBe(true);
  });

  it('a download that is always truncated fails cleanly: NetworkError, no prefix, no partial files', async () => {
    const lf = lockfile([await locked(ZLIB_LINUX, 'linux-64')]);
    const p = paths('trunc-always');
    server.fault({ path: '/pkgs/defaults-zlib/linux-64/zlib-1.2.11-h7b6447c_3.tar.bz2', fault: { kind: 'truncate', bytes: 1000 } });
    const err = await installLockfile(opts(lf, 'linux-64', p)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    await expect(stat(p.prefix)).rejects.toThrow();
    expect(await siblings(p)).toEqual([]);
    const leftovers: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const n of await readdir(d).catch(() => [] as string[])) {
        const abs = join(d, n);
        if ((await lstat(abs)).isDirectory()) await walk(abs);
        else leftovers.push(abs);
      }
    };
    await walk(p.cacheDir);
    expect(leftovers).toEqual([]);
  });

  it('a concurrent install of the same prefix is blocked by the lock; a stale lock is taken over', async () => {
    const lf = await linuxSet();
    const p = paths('concurrent');
    const results = await Promise.allSettled([installLockfile(opts(lf, 'linux-64', p)), installLockfile(opts(lf, 'linux-64', p))]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toBeInstanceOf(InstallError);
    expect((failed[0]!.reason as InstallError).code).toBe('E_PREFIX_LOCKED');
    expect((failed[0]!.reason as Error).message).toContain(`pid ${process.pid}`);
    await expect(stat(lockFilePath(p.prefix))).rejects.toThrow(); // released

    // A lock left by a dead process is stale.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const p2 = paths('stale');
    await mkdir(dirname(p2.prefix), { recursive: true });
    await writeFile(lockFilePath(p2.prefix), `${dead}\n`);
    const r = await installLockfile(opts(lf, 'linux-64', p2));
    expect(r.installed).toHaveLength(3);
    await expect(stat(lockFilePath(p2.prefix))).rejects.toThrow();
  });

  it('a package whose files are missing from the archive (flask fixture) fails cleanly; old prefix kept', async () => {
    const first = lockfile([await locked(R_MUTEX, 'linux-64')]);
    const p = paths('flask');
    await installLockfile(opts(first, 'linux-64', p));
    const before = await treeManifest(p.prefix, p.prefix);
    const lf = lockfile([await locked(R_MUTEX, 'linux-64'), await locked(FLASK, 'linux-64')]);
    const err = await installLockfile(opts(lf, 'linux-64', p, { pythonVersion: '3.5' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstallError);
    expect((err as Error).message).toMatch(/flask-0\.11\.1-py_0: site-packages\/.* missing/);
    expect(await treeManifest(p.prefix, p.prefix)).toEqual(before);
    expect(await siblings(p)).toEqual(['env']);
    // Without any python version a noarch: python package is refused before downloading anything.
    const n = server.requests.length;
    await expect(installLockfile(opts(lf, 'linux-64', paths('flask-nopy')))).rejects.toThrow(/flask-0\.11\.1-py_0 is a noarch: python package/);
    expect(server.requests.length).toBe(n);
  });

  it('leftovers of an install killed mid-way are cleaned up (and reported) by the next install', async () => {
    const lf = lockfile([await locked(R_MUTEX, 'linux-64')]);
    const p = paths('killed');
    await mkdir(`${p.prefix}.cgl-staging-0badf00d/lib`, { recursive: true });
    const res = await installLockfile(opts(lf, 'linux-64', p));
    expect(res.warnings).toEqual(['interrupted earlier install: removed env.cgl-staging-0badf00d']);
    expect(await siblings(p)).toEqual(['env']);
  });

  it('refuses to replace a non-empty directory that is not an environment', async () => {
    const lf = lockfile([await locked(R_MUTEX, 'linux-64')]);
    const p = paths('notenv');
    await mkdir(p.prefix, { recursive: true });
    await writeFile(join(p.prefix, 'precious.txt'), 'mine');
    const err = await installLockfile(opts(lf, 'linux-64', p)).catch((e: unknown) => e);
    expect((err as InstallError).code).toBe('E_PREFIX_NOT_ENV');
    expect(await readFile(join(p.prefix, 'precious.txt'), 'utf8')).toBe('mine');
  });

  it('a changed lockfile replaces the environment; history records removals and additions', async () => {
    const p = paths('update');
    const v1 = lockfile([await locked(R_MUTEX, 'linux-64'), await locked(ZLIB_LINUX, 'linux-64')]);
    await installLockfile(opts(v1, 'linux-64', p));
    const v2 = lockfile([await locked(ZLIB_LINUX, 'linux-64'), await locked(PATCHES, 'linux-64')], [goFor('linux-64')]);
    const res = await installLockfile(opts(v2, 'linux-64', p));
    expect(res.upToDate).toBe(false);
    expect(res.removed).toEqual(['_r-mutex-1.0.1-anacondar_1']);
    await expect(stat(join(p.prefix, 'conda-meta/_r-mutex-1.0.1-anacondar_1.json'))).rejects.toThrow();
    const history = await readFile(join(p.prefix, 'conda-meta/history'), 'utf8');
    expect(history.match(/^==> /gm)).toHaveLength(2);
    expect(history).toContain(`-${server.url('/pkgs')}::_r-mutex-1.0.1-anacondar_1\n`);
    expect(history).toContain(`+${server.url('/pkgs')}::conda-forge-repodata-patches-20180828-0\n`);
    expect((await verifyPrefix({ prefix: p.prefix, lockfile: v2, platform: 'linux-64' })).ok).toBe(true);
    // Same set again: no-op; a different Go pin alone is enough to reinstall.
    expect((await installLockfile(opts(v2, 'linux-64', p))).upToDate).toBe(true);
    const v3 = structuredClone(v2);
    v3.go = [];
    const r3 = await installLockfile(opts(v3, 'linux-64', p));
    expect(r3.upToDate).toBe(false);
    await expect(stat(join(p.prefix, 'go'))).rejects.toThrow();
  });

  it('onlyGo installs just the Go toolchain', async () => {
    const lf = await linuxSet();
    const p = paths('onlygo');
    const res = await installLockfile(opts(lf, 'linux-64', p, { onlyGo: true }));
    expect(res.installed).toEqual([]);
    expect((await readdir(join(p.prefix, 'conda-meta'))).sort()).toEqual(['conda-go-lock', 'go-toolchain', 'history']);
    expect(await readFile(join(p.prefix, 'go/bin/go'), 'utf8')).toContain('fake go');
    expect((await verifyPrefix({ prefix: p.prefix, lockfile: lf, platform: 'linux-64' })).ok).toBe(true);
  });

  it('clobbers between packages are returned, warned about, and accepted by verify', async () => {
    // Two synthetic packages served as opaque archives; the injected extractor lays out their contents.
    const contents: Record<string, string> = { 'tool-a': 'from a', 'tool-b': 'from b' };
    const pkgs: LockedCondaPackage[] = [];
    for (const name of Object.keys(contents)) {
      const bytes = Buffer.from(`archive of ${name}`);
      server.route(`/synthetic/${name}-1-0.tar.bz2`, bytes);
      pkgs.push({
        platform: 'linux-64', name, version: '1', build: '0', build_number: 0, subdir: 'linux-64', channel: server.url('/synthetic'),
        url: server.url(`/synthetic/${name}-1-0.tar.bz2`), fn: `${name}-1-0.tar.bz2`, ...digest(bytes), depends: [], constrains: [],
      });
    }
    const extract = async (archive: string, dest: string) => {
      const name = basename(archive).replace(/-1-0\.tar\.bz2$/, '');
      await mkdir(join(dest, 'info'), { recursive: true });
      await mkdir(join(dest, 'bin'), { recursive: true });
      await writeFile(join(dest, 'bin/tool'), contents[name]!);
      await writeFile(join(dest, `bin/${name}`), name);
      await writeFile(join(dest, 'info/files'), `bin/tool\nbin/${name}\n`);
    };
    const warnings: string[] = [];
    const p = paths('clobber');
    const res = await installLockfile(opts(lockfile(pkgs), 'linux-64', p, { extract, onWarning: (m) => warnings.push(m) }));
    expect(res.clobbers).toEqual([{ path: 'bin/tool', previous: 'tool-a-1-0', by: 'tool-b-1-0' }]);
    expect(warnings).toEqual(['bin/tool: file from tool-a-1-0 is clobbered by tool-b-1-0']);
    expect(await readFile(join(p.prefix, 'bin/tool'), 'utf8')).toBe('from b');
    expect((await verifyPrefix({ prefix: p.prefix, lockfile: lockfile(pkgs), platform: 'linux-64' })).ok).toBe(true);
  });

  it('a platform the lockfile does not cover is a LockfileError (exit 7)', async () => {
    const lf = await linuxSet();
    const err = await installLockfile(opts(lf, 'win-64', paths('noplat'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockfileError);
    expect((err as Error).message).toMatch(/no entries for platform win-64 \(it covers linux-64\)/);
  });
});
