import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as yamlParse } from 'yaml';
import { LockfileError } from '../../src/errors.js';
import type { LockedCondaPackage, Lockfile } from '../../src/lockfile/model.js';
import { renderCondaLockV1 } from '../../src/lockfile/render/conda-lock.js';
import { splitDependency } from '../../src/lockfile/render/deps.js';
import { renderEnvironmentYaml } from '../../src/lockfile/render/env.js';
import { renderExplicit, topoSortPackages } from '../../src/lockfile/render/explicit.js';
import { fixture, haveFixtures } from '../support/fixtures.js';
import { pkg, sampleLockfile } from './sample.js';

interface CondaLockFile {
  version: number;
  metadata: { content_hash: Record<string, string>; channels: unknown[]; platforms: string[]; sources: string[] };
  package: Array<{
    name: string; version: string; manager: string; platform: string; dependencies: Record<string, string>;
    url: string; hash: { md5: string; sha256?: string }; category: string; optional: boolean;
  }>;
}

const CONDA_LOCK_FIXTURES = [
  'test-explicit-toposorted/conda-lock.yml',
  'test-install-with-pip-deps/conda-lock.yml',
  'test-environment-blas-mkl/conda-lock.yml',
  'test-v2-to-v3-upgrade/conda-lock-v3.0.3.yml',
];

function loadCondaLock(rel: string): CondaLockFile {
  return yamlParse(readFileSync(fixture('environments', 'conda-lock-tests', rel), 'utf8')) as CondaLockFile;
}

/** Adapt a real conda-lock file to our model (build and channel from the URL, depends from the map). */
function lockfileFromCondaLock(cl: CondaLockFile): Lockfile {
  const packages: LockedCondaPackage[] = cl.package
    .filter((p) => p.manager === 'conda')
    .map((p) => {
      const fn = p.url.split('/').pop()!;
      const stem = fn.replace(/\.(conda|tar\.bz2)$/, '');
      const build = stem.slice(`${p.name}-${p.version}-`.length);
      const subdir = p.url.split('/').at(-2)!;
      return {
        platform: p.platform, name: p.name, version: String(p.version), build, build_number: 0, subdir,
        channel: p.url.split('/').slice(0, -2).join('/'), url: p.url, fn,
        md5: p.hash.md5, sha256: p.hash.sha256 ?? '0'.repeat(64), size: 0,
        depends: Object.entries(p.dependencies).map(([n, v]) => (v ? `${n} ${v}` : n)),
        constrains: [],
      };
    });
  return {
    version: 1,
    metadata: {
      tool_version: 'test', platforms: cl.metadata.platforms, channels: [{ url: 'https://conda.anaconda.org/conda-forge' }],
      sources: cl.metadata.sources, content_hash: cl.metadata.content_hash, specs: [], virtual_packages: {},
    },
    packages,
    go: [],
  };
}

describe('splitDependency', () => {
  it.each([
    ['_libgcc_mutex 0.1 conda_forge', '_libgcc_mutex', '0.1', 'conda_forge'],
    ['python_abi 3.12.* *_cp312', 'python_abi', '3.12.*', '*_cp312'],
    ['libgcc-ng >=12', 'libgcc-ng', '>=12', ''],
    ['tzdata', 'tzdata', '', ''],
    ['python>=3.8', 'python', '>=3.8', ''],
    ['numpy=1.26=py312h_0', 'numpy', '1.26', 'py312h_0'],
    ['conda-forge::openssl >=3', 'openssl', '>=3', ''],
    ['__glibc >=2.17,<3.0.a0', '__glibc', '>=2.17,<3.0.a0', ''],
    ['pkg [version=">=1"]', 'pkg', '', ''],
  ])('%j', (s, name, version, build) => {
    expect(splitDependency(s)).toEqual({ name, version, build });
  });
});

describe('renderExplicit', () => {
  it('header, then url#md5 lines with dependencies first', () => {
    const text = renderExplicit(sampleLockfile(), 'linux-64', { hash: 'md5' });
    const lines = text.trimEnd().split('\n');
    expect(lines.slice(0, 4).filter((l) => l.startsWith('#'))).toContain('# platform: linux-64');
    const at = lines.indexOf('@EXPLICIT');
    expect(at).toBeGreaterThan(0);
    const body = lines.slice(at + 1);
    expect(body).toHaveLength(6);
    for (const l of body) expect(l).toMatch(/^https:\/\/conda\.anaconda\.org\/conda-forge\/(linux-64|noarch)\/\S+\.(conda|tar\.bz2)#[0-9a-f]{32}$/);
    const names = body.map((l) => l.split('/').pop()!.split('#')[0]!);
    // _libgcc_mutex → libgomp → _openmp_mutex → libgcc-ng → libzlib; tzdata independent.
    expect(names).toEqual([
      '_libgcc_mutex-0.1-conda_forge.tar.bz2',
      'libgomp-14.1.0-h77fa898_0.conda',
      '_openmp_mutex-4.5-2_gnu.conda',
      'libgcc-ng-14.1.0-h77fa898_0.conda',
      'libzlib-1.3.1-h4ab18f5_1.conda',
      'tzdata-2024a-h0c530f3_0.conda',
    ]);
    expect(text).not.toContain('osx-arm64/');
  });

  it('sha256 anchors by default (as the CLI), with a header naming the conda/micromamba versions that read them', () => {
    expect(renderExplicit(sampleLockfile(), 'osx-arm64')).toBe(renderExplicit(sampleLockfile(), 'osx-arm64', { hash: 'sha256' }));
    const text = renderExplicit(sampleLockfile(), 'osx-arm64');
    const [header, rest] = text.split('@EXPLICIT\n');
    const body = rest!.trimEnd().split('\n');
    expect(body).toHaveLength(2);
    for (const l of body) expect(l).toMatch(/#[0-9a-f]{64}$/);
    expect(header).toContain('conda >= 24.9');
    expect(header).toContain('--hash md5');
    // The md5 form works everywhere and needs no such note.
    expect(renderExplicit(sampleLockfile(), 'osx-arm64', { hash: 'md5' })).not.toContain('conda >= 24.9');
  });

  it('unknown platform → LockfileError', () => {
    expect(() => renderExplicit(sampleLockfile(), 'win-64')).toThrow(LockfileError);
  });

  it('python comes before pip (the python ⇄ pip cycle), as conda orders them', () => {
    const py = pkg({ name: 'python', version: '3.12.4', depends: ['libzlib', 'pip'] });
    const pip = pkg({ name: 'pip', version: '24.0', depends: ['python >=3.7', 'setuptools'] });
    const st = pkg({ name: 'setuptools', version: '70', depends: ['python >=3.8'] });
    const z = pkg({ name: 'libzlib', version: '1.3.1' });
    for (const order of [[py, pip, st, z], [z, st, pip, py]]) {
      expect(topoSortPackages(order).map((p) => p.name)).toEqual(['libzlib', 'python', 'setuptools', 'pip']);
    }
  });

  it('breaks a dependency cycle deterministically', () => {
    const a = pkg({ name: 'a', version: '1', depends: ['b'] });
    const b = pkg({ name: 'b', version: '1', depends: ['a'] });
    const c = pkg({ name: 'c', version: '1', depends: ['a'] });
    expect(topoSortPackages([c, b, a]).map((p) => p.name)).toEqual(['a', 'b', 'c']);
    expect(topoSortPackages([a, c, b]).map((p) => p.name)).toEqual(['a', 'b', 'c']);
  });

  describe.skipIf(!haveFixtures)('on real conda-lock data (test-explicit-toposorted, 123 conda packages)', () => {
    const lf = () => lockfileFromCondaLock(loadCondaLock('test-explicit-toposorted/conda-lock.yml'));

    it('every package comes after all its locked dependencies, and each URL appears once', () => {
      const l = lf();
      const body = renderExplicit(l, 'linux-64').split('@EXPLICIT\n')[1]!.trimEnd().split('\n');
      expect(body).toHaveLength(l.packages.length);
      const pos = new Map(body.map((line, i) => [line.split('#')[0]!, i]));
      expect(pos.size).toBe(body.length);
      const byName = new Map(l.packages.map((p) => [p.name, p]));
      let checked = 0;
      for (const p of l.packages) {
        for (const d of p.depends) {
          const dep = byName.get(splitDependency(d).name);
          if (!dep) continue;
          expect(pos.get(dep.url)!, `${dep.name} before ${p.name}`).toBeLessThan(pos.get(p.url)!);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(300);
    });

    it('is deterministic under input order', () => {
      const l = lf();
      const reversed = { ...l, packages: [...l.packages].reverse() };
      expect(renderExplicit(reversed, 'linux-64')).toBe(renderExplicit(l, 'linux-64'));
    });
  });
});

describe.skipIf(!haveFixtures)('renderCondaLockV1 matches conda-lock\'s structure', () => {
  it.each(CONDA_LOCK_FIXTURES)('%s: same key sets and key order, same package data', (rel) => {
    const theirs = loadCondaLock(rel);
    const ours = yamlParse(renderCondaLockV1(lockfileFromCondaLock(theirs))) as CondaLockFile;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    expect(Object.keys(ours)).toEqual(['version', 'metadata', 'package']);
    expect(ours.version).toBe(1);
    expect(Object.keys(ours.metadata).sort()).toEqual(Object.keys(theirs.metadata).sort());
    expect(ours.metadata.channels).toEqual([{ url: 'https://conda.anaconda.org/conda-forge', used_env_vars: [] }]);
    expect(Object.keys(theirs.metadata.channels[0] as object)).toEqual(['url', 'used_env_vars']);
    expect(ours.metadata.platforms).toEqual([...theirs.metadata.platforms].sort());

    const theirConda = theirs.package.filter((p) => p.manager === 'conda');
    expect(ours.package).toHaveLength(theirConda.length);
    const key = (p: { platform: string; name: string }) => `${p.platform}/${p.name}`;
    const theirByKey = new Map(theirConda.map((p) => [key(p), p]));
    const keyOrders = new Set(theirConda.map((p) => Object.keys(p).join(',')));
    for (const p of ours.package) {
      const t = theirByKey.get(key(p))!;
      expect(t, key(p)).toBeDefined();
      expect(Object.keys(p).sort()).toEqual(Object.keys(t).sort());
      expect(Object.keys(p.hash)).toEqual(['md5', 'sha256']);
      expect(typeof p.version).toBe('string');
      expect(p.version).toBe(String(t.version));
      expect(p.url).toBe(t.url);
      expect(p.hash.md5).toBe(t.hash.md5);
      // conda-lock < 2 kept the build part (`_libgcc_mutex: 0.1 conda_forge`); newer versions, and we, drop it.
      const oldStyle = Object.keys(t)[0] === 'category';
      const expected = Object.entries(t.dependencies).map(([k, v]) => [k, oldStyle ? String(v ?? '').split(' ')[0] : String(v ?? '')]);
      expect(p.dependencies).toEqual(Object.fromEntries(expected));
      expect(p.category).toBe('main');
      expect(p.optional).toBe(false);
    }
    // Newer conda-lock writes keys in model order; so do we.
    if (!keyOrders.has('category,dependencies,hash,manager,name,optional,platform,url,version')) {
      expect(keyOrders).toContain(Object.keys(ours.package[0]!).join(','));
    }
  });

  it('drops the build part of a depends entry like conda-lock (python_abi 3.12.* *_cp312 → 3.12.*)', () => {
    const lf = sampleLockfile();
    lf.packages = [pkg({ name: 'numpy', version: '2.0.0', depends: ['python_abi 3.12.* *_cp312', 'libgcc-ng >=12', 'tzdata'] })];
    const ours = yamlParse(renderCondaLockV1(lf)) as CondaLockFile;
    expect(ours.package[0]!.dependencies).toEqual({ 'libgcc-ng': '>=12', python_abi: '3.12.*', tzdata: '' });
  });

  it('versions like 1.10 stay strings', () => {
    const lf = sampleLockfile();
    lf.packages = [pkg({ name: 'x', version: '1.10' }), pkg({ name: 'y', version: '2.0', depends: ['x 1.10'] })];
    const ours = yamlParse(renderCondaLockV1(lf)) as CondaLockFile;
    expect(ours.package.map((p) => p.version)).toEqual(['1.10', '2.0']);
    expect(ours.package[1]!.dependencies).toEqual({ x: '1.10' });
  });
});

describe('renderEnvironmentYaml', () => {
  it('pins one platform fully, with channels + nodefaults', () => {
    const env = yamlParse(renderEnvironmentYaml(sampleLockfile(), 'osx-arm64', { name: 'demo' })) as Record<string, unknown>;
    expect(env).toEqual({
      name: 'demo',
      channels: ['https://conda.anaconda.org/conda-forge', 'nodefaults'],
      dependencies: ['libzlib=1.3.1=hfb2fe0b_1', 'tzdata=2024a=h0c530f3_0'],
    });
  });

  it('without a platform: common pins only, builds dropped where they differ, others listed in a comment', () => {
    const text = renderEnvironmentYaml(sampleLockfile());
    const env = yamlParse(text) as { dependencies: string[] };
    expect(env.dependencies).toEqual(['libzlib=1.3.1', 'tzdata=2024a=h0c530f3_0']);
    expect(text).toMatch(/Not pinned \(differ between platforms\): _libgcc_mutex, _openmp_mutex, libgcc-ng, libgomp/);
    expect(text).toContain('Go 1.22.5');
  });

  it('unknown platform → LockfileError', () => {
    expect(() => renderEnvironmentYaml(sampleLockfile(), 'linux-aarch64')).toThrow(/no platform linux-aarch64/);
  });
});
