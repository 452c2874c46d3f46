/**
 * What an install leaves in the prefix (noarch placement, conda-meta, skipped Go, linked and moved
 * prefixes, incomplete cached extractions): synthetic packages served by a real HTTP server on
 * 127.0.0.1, laid out by an injected extractor (the archive bytes are opaque).
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installLockfile } from '../../src/install/install.js';
import { verifyPrefix } from '../../src/install/verify.js';
import type { LockedCondaPackage, Lockfile } from '../../src/lockfile/model.js';
import { HttpClient } from '../../src/net/http.js';
import { startChannelServer, type ChannelServer } from '../support/channel-server.js';

let server: ChannelServer;
let root: string;
let http: HttpClient;
beforeAll(async () => {
  server = await startChannelServer();
  root = await mkdtemp(join(tmpdir(), 'cgl-install-prefix-'));
  http = new HttpClient({ retries: 0 });
});
afterAll(async () => {
  await server?.stop();
  await rm(root, { recursive: true, force: true });
});

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Package name → files (relative path → content); `info/*` files are written as given. */
type Layout = Record<string, Record<string, string>>;

function synthetic(layout: Layout, meta: Record<string, Partial<LockedCondaPackage>> = {}, specs: string[] = []) {
  const pkgs: LockedCondaPackage[] = [];
  for (const name of Object.keys(layout)) {
    const m = meta[name] ?? {};
    const version = m.version ?? '1';
    const build = m.build ?? '0';
    const fn = `${name}-${version}-${build}.tar.bz2`;
    const bytes = Buffer.from(`archive of ${name} ${JSON.stringify(layout[name])}`);
    server.route(`/synthetic/${fn}`, bytes);
    pkgs.push({
      platform: 'linux-64', name, version, build, build_number: 0, subdir: m.noarch ? 'noarch' : 'linux-64',
      channel: server.url('/synthetic'), url: server.url(`/synthetic/${fn}`), fn,
      sha256: sha(bytes), md5: createHash('md5').update(bytes).digest('hex'), size: bytes.length,
      depends: [], constrains: [], ...m,
    });
  }
  const extract = async (archive: string, dest: string) => {
    const pkg = pkgs.find((p) => p.fn === basename(archive))!;
    const files = layout[pkg.name]!;
    const list: string[] = [];
    for (const [rel, content] of Object.entries(files)) {
      await mkdir(dirname(join(dest, rel)), { recursive: true });
      await writeFile(join(dest, rel), content);
      if (!rel.startsWith('info/')) list.push(rel);
    }
    await mkdir(join(dest, 'info'), { recursive: true });
    await writeFile(join(dest, 'info/files'), list.join('\n') + '\n');
  };
  const lockfile: Lockfile = {
    version: 1,
    metadata: { tool_version: '0', platforms: ['linux-64'], channels: [], sources: [], content_hash: {}, specs, virtual_packages: {} },
    packages: pkgs,
    go: [],
  };
  return { lockfile, extract };
}

let seq = 0;
function paths(tag: string) {
  const base = join(root, `${tag}-${seq++}`);
  return { prefix: join(base, 'env'), cacheDir: join(base, 'cache') };
}

describe('noarch: python placement', () => {
  it("uses the python record's CEP-17 python_site_packages_path (free-threaded 3.13t)", async () => {
    const { lockfile, extract } = synthetic(
      {
        python: {
          'info/index.json': JSON.stringify({ name: 'python', version: '3.13.0', python_site_packages_path: 'lib/python3.13t/site-packages' }),
          'bin/python3.13t': 'python',
        },
        foo: { 'site-packages/foo/__init__.py': 'x = 1\n' },
      },
      { python: { version: '3.13.0', build: 'h0_cp313t' }, foo: { noarch: 'python', depends: ['python'] } },
    );
    const p = paths('cep17');
    await installLockfile({ lockfile, platform: 'linux-64', prefix: p.prefix, cacheDir: p.cacheDir, http, extract });
    expect(await readFile(join(p.prefix, 'lib/python3.13t/site-packages/foo/__init__.py'), 'utf8')).toBe('x = 1\n');
    await expect(stat(join(p.prefix, 'lib/python3.13/site-packages'))).rejects.toThrow();
    expect((await verifyPrefix({ prefix: p.prefix, lockfile, platform: 'linux-64' })).ok).toBe(true);
  });

  it('without python_site_packages_path it is lib/pythonX.Y/site-packages', async () => {
    const { lockfile, extract } = synthetic(
      {
        python: { 'info/index.json': JSON.stringify({ name: 'python', version: '3.12.1' }), 'bin/python3.12': 'python' },
        foo: { 'site-packages/foo/__init__.py': 'x = 1\n' },
      },
      { python: { version: '3.12.1' }, foo: { noarch: 'python', depends: ['python'] } },
    );
    const p = paths('nocep17');
    await installLockfile({ lockfile, platform: 'linux-64', prefix: p.prefix, cacheDir: p.cacheDir, http, extract });
    expect(await readFile(join(p.prefix, 'lib/python3.12/site-packages/foo/__init__.py'), 'utf8')).toBe('x = 1\n');
  });
});

describe('conda-meta/history requested specs', () => {
  it("records '# update specs' (the lockfile's specs for this set) and '# remove specs' for names no longer requested", async () => {
    const layout: Layout = { zlib: { 'lib/libz.so': 'z' }, numpy: { 'lib/np.so': 'n' }, libgcc: { 'lib/gcc.so': 'g' } };
    const first = synthetic(layout, {}, ['numpy >=1.26', 'zlib', "weird 'quoted'", '__glibc >=2.17']);
    const p = paths('history');
    await installLockfile({ lockfile: first.lockfile, platform: 'linux-64', prefix: p.prefix, cacheDir: p.cacheDir, http, extract: first.extract });
    let history = await readFile(join(p.prefix, 'conda-meta/history'), 'utf8');
    expect(history.trimEnd().split('\n').at(-1)).toBe("# update specs: ['numpy >=1.26', 'zlib']");

    const { zlib: _dropped, ...rest } = layout;
    const second = synthetic(rest, {}, ['numpy >=1.26']);
    await installLockfile({ lockfile: second.lockfile, platform: 'linux-64', prefix: p.prefix, cacheDir: p.cacheDir, http, extract: second.extract });
    history = await readFile(join(p.prefix, 'conda-meta/history'), 'utf8');
    const lastEntry = history.slice(history.lastIndexOf('==> ')).trimEnd().split('\n');
    expect(lastEntry.slice(2)).toEqual([
      `-${server.url('/synthetic')}::zlib-1-0`,
      "# remove specs: ['zlib']",
      "# update specs: ['numpy >=1.26']",
    ]);
  });
});

describe('skipGo (CLI --no-go)', () => {
  it('the pinned Go toolchain is not fetched, and verify does not report it missing', async () => {
    const { lockfile, extract } = synthetic({ zlib: { 'lib/libz.so': 'z' } });
    const goBytes = Buffer.from('not fetched');
    server.route('/go/go1.23.1.linux-amd64.tar.gz', goBytes);
    lockfile.go = [
      {
        platform: 'linux-64', version: '1.23.1', os: 'linux', arch: 'amd64', filename: 'go1.23.1.linux-amd64.tar.gz',
        url: server.url('/go/go1.23.1.linux-amd64.tar.gz'), sha256: sha(goBytes), size: goBytes.length,
      },
    ];
    const p = paths('nogo');
    const installGo = async () => {
      throw new Error('Go must not be installed');
    };
    const res = await installLockfile({ lockfile, platform: 'linux-64', prefix: p.prefix, cacheDir: p.cacheDir, http, extract, installGo, skipGo: true });
    expect(res.go).toBeUndefined();
    await expect(stat(join(p.cacheDir, 'go'))).rejects.toThrow();
    await expect(stat(join(p.prefix, 'go'))).rejects.toThrow();
    const v = await verifyPrefix({ prefix: p.prefix, lockfile, platform: 'linux-64' });
    expect(v.problems).toEqual([]);
    // Same mode again: up to date.
    const again = await installLockfile({ lockfile, platform: 'linux-64', prefix: p.prefix, cacheDir: p.cacheDir, http, extract, installGo, skipGo: true });
    expect(again.upToDate).toBe(true);
  });
});

describe('conda-meta is readable by conda, rattler and micromamba', () => {
  it('every conda-meta/*.json is a package record named <name>-<version>-<build>.json (conda list loads them all)', async () => {
    const { lockfile, extract } = synthetic({ zlib: { 'lib/libz.so': 'z' }, numpy: { 'lib/np.so': 'n' } });
    const p = paths('condameta');
    await installLockfile({ lockfile, platform: 'linux-64', prefix: p.prefix, cacheDir: p.cacheDir, http, extract });
    const jsons = (await readdir(join(p.prefix, 'conda-meta'))).filter((n) => n.endsWith('.json')).sort();
    expect(jsons).toEqual(['numpy-1-0.json', 'zlib-1-0.json']);
    for (const n of jsons) {
      const rec = JSON.parse(await readFile(join(p.prefix, 'conda-meta', n), 'utf8')) as Record<string, unknown>;
      expect(typeof rec.name).toBe('string');
      expect(`${rec.name}-${rec.version}-${rec.build}.json`).toBe(n);
    }
  });

  it('a prefix whose state is in the old conda-meta/conda-go-lock.json is still recognised', async () => {
    const { lockfile, extract } = synthetic({ zlib: { 'lib/libz.so': 'z' } });
    const p = paths('legacystate');
    await installLockfile({ lockfile, platform: 'linux-64', prefix: p.prefix, cacheDir: p.cacheDir, http, extract });
    await rename(join(p.prefix, 'conda-meta/conda-go-lock'), join(p.prefix, 'conda-meta/conda-go-lock.json'));
    expect((await verifyPrefix({ prefix: p.prefix, lockfile, platform: 'linux-64' })).problems).toEqual([]);
    const again = await installLockfile({ lockfile, platform: 'linux-64', prefix: p.prefix, cacheDir: p.cacheDir, http, extract });
    expect(again.upToDate).toBe(true);
  });
});

describe('a prefix that is a symbolic link', () => {
  it('is installed where the link points; the link stays; placeholders get the path as given', async () => {
    const base = join(root, `symlinked-${seq++}`);
    await mkdir(join(base, 'big/env'), { recursive: true });
    await mkdir(join(base, 'home'), { recursive: true });
    await symlink(join(base, 'big/env'), join(base, 'home/env'));
    const layout: Layout = {
      tool: { 'bin/tool': '#!/opt/anaconda1anaconda2anaconda3/bin/python\n', 'info/has_prefix': 'bin/tool\n' },
    };
    const prefix = join(base, 'home/env');
    for (const round of [1, 2]) {
      const { lockfile, extract } = synthetic(layout, { tool: { version: String(round) } });
      await installLockfile({ lockfile, platform: 'linux-64', prefix, cacheDir: join(base, 'cache'), http, extract });
      expect((await lstat(prefix)).isSymbolicLink()).toBe(true);
      expect(await readdir(join(base, 'home'))).toEqual(['env']);
      expect(await readdir(join(base, 'big'))).toEqual(['env']);
      expect(await readFile(join(base, 'big/env/bin/tool'), 'utf8')).toBe(`#!${prefix}/bin/python\n`);
      expect((await readdir(join(base, 'big/env/conda-meta'))).sort()).toEqual(['conda-go-lock', 'history', `tool-${round}-0.json`]);
      expect((await verifyPrefix({ prefix, lockfile, platform: 'linux-64' })).problems).toEqual([]);
    }
  });

  it('a dangling link: the environment is created at its target', async () => {
    const base = join(root, `dangling-${seq++}`);
    await mkdir(join(base, 'home'), { recursive: true });
    await symlink(join(base, 'big/env'), join(base, 'home/env'));
    const { lockfile, extract } = synthetic({ zlib: { 'lib/libz.so': 'z' } });
    await installLockfile({ lockfile, platform: 'linux-64', prefix: join(base, 'home/env'), cacheDir: join(base, 'cache'), http, extract });
    expect((await lstat(join(base, 'home/env'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(base, 'big/env/lib/libz.so'), 'utf8')).toBe('z');
  });
});

describe('an incomplete cached extraction', () => {
  it.each([
    ['a file of the package', 'lib/libz.so'],
    ['its file list', 'info/files'],
  ])('missing %s is extracted again from the verified archive, with a warning', async (_what, victim) => {
    const { lockfile, extract } = synthetic({ zlib: { 'lib/libz.so': 'z', 'include/zlib.h': 'h' } });
    const base = join(root, `cache-incomplete-${seq++}`);
    const cacheDir = join(base, 'cache');
    await installLockfile({ lockfile, platform: 'linux-64', prefix: join(base, 'a'), cacheDir, http, extract });
    await rm(join(cacheDir, 'extracted', lockfile.packages[0]!.sha256, victim));
    const warnings: string[] = [];
    const res = await installLockfile({ lockfile, platform: 'linux-64', prefix: join(base, 'b'), cacheDir, http, extract, onWarning: (m) => warnings.push(m) });
    expect(res.installed).toEqual(['zlib-1-0']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^zlib-1-0: cached extraction .* is incomplete \(.*\); extracting again$/);
    expect(await readFile(join(base, 'b', 'lib/libz.so'), 'utf8')).toBe('z');
    expect((await verifyPrefix({ prefix: join(base, 'b'), lockfile, platform: 'linux-64' })).problems).toEqual([]);
  });
});

describe('a moved prefix', () => {
  it('is reported by verify and re-installed (not "already up to date") at its new path', async () => {
    const base = join(root, `moved-${seq++}`);
    const { lockfile, extract } = synthetic({
      tool: { 'bin/tool': '#!/opt/anaconda1anaconda2anaconda3/bin/python\n', 'info/has_prefix': 'bin/tool\n' },
    });
    const a = join(base, 'a');
    const b = join(base, 'b');
    await installLockfile({ lockfile, platform: 'linux-64', prefix: a, cacheDir: join(base, 'cache'), http, extract });
    await rename(a, b);
    expect((await verifyPrefix({ prefix: b, lockfile, platform: 'linux-64' })).problems).toEqual([
      { kind: 'moved-prefix', package: 'prefix', expected: b, actual: `files written for ${a}` },
    ]);
    const res = await installLockfile({ lockfile, platform: 'linux-64', prefix: b, cacheDir: join(base, 'cache'), http, extract });
    expect(res.upToDate).toBe(false);
    expect(await readFile(join(b, 'bin/tool'), 'utf8')).toBe(`#!${b}/bin/python\n`);
    expect((await verifyPrefix({ prefix: b, lockfile, platform: 'linux-64' })).problems).toEqual([]);
    const again = await installLockfile({ lockfile, platform: 'linux-64', prefix: b, cacheDir: join(base, 'cache'), http, extract });
    expect(again.upToDate).toBe(true);
  });

  it('without files that name the prefix, moving it is harmless and verify says so', async () => {
    const base = join(root, `moved-plain-${seq++}`);
    const { lockfile, extract } = synthetic({ zlib: { 'lib/libz.so': 'z' } });
    await installLockfile({ lockfile, platform: 'linux-64', prefix: join(base, 'a'), cacheDir: join(base, 'cache'), http, extract });
    await rename(join(base, 'a'), join(base, 'b'));
    expect((await verifyPrefix({ prefix: join(base, 'b'), lockfile, platform: 'linux-64' })).problems).toEqual([]);
  });
});

describe('verify through another path to the same prefix', () => {
  it('a symlink to the prefix is not a moved prefix', async () => {
    const base = join(root, `samepath-${seq++}`);
    const { lockfile, extract } = synthetic({
      tool: { 'bin/tool': '#!/opt/anaconda1anaconda2anaconda3/bin/python\n', 'info/has_prefix': 'bin/tool\n' },
    });
    await installLockfile({ lockfile, platform: 'linux-64', prefix: join(base, 'real'), cacheDir: join(base, 'cache'), http, extract });
    await symlink(join(base, 'real'), join(base, 'alias'));
    expect((await verifyPrefix({ prefix: join(base, 'alias'), lockfile, platform: 'linux-64' })).problems).toEqual([]);
  });
});

describe('requested specs from platform selectors', () => {
  it('the spec the installed record satisfies is the one recorded (requested_spec and # update specs)', async () => {
    const { lockfile, extract } = synthetic({ numpy: { 'lib/np.so': 'n' } }, { numpy: { version: '1.26.4' } }, [
      'numpy 1.25.*',
      'numpy 1.26.*',
    ]);
    const p = paths('selectors');
    await installLockfile({ lockfile, platform: 'linux-64', prefix: p.prefix, cacheDir: p.cacheDir, http, extract });
    const rec = JSON.parse(await readFile(join(p.prefix, 'conda-meta/numpy-1.26.4-0.json'), 'utf8')) as { requested_spec: string };
    expect(rec.requested_spec).toBe('numpy 1.26.*');
    const history = await readFile(join(p.prefix, 'conda-meta/history'), 'utf8');
    expect(history.trimEnd().split('\n').at(-1)).toBe("# update specs: ['numpy 1.26.*']");
  });
});
