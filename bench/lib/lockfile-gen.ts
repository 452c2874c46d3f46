/**
 * A synthetic lockfile in our own layout: conda packages, PyPI wheels and Go toolchains for several
 * platforms, with field shapes like real conda-forge / PyPI entries. Used by bench/lockfile-read.ts
 * and test/lockfile/read-fast.test.ts.
 */
import { createHash } from 'node:crypto';
import type { Lockfile, LockedCondaPackage, LockedGoToolchain, LockedPypiPackage } from '../../src/lockfile/model.js';

const hex = (s: string, n = 64) => createHash('sha256').update(s).digest('hex').slice(0, n);

export interface GenOptions {
  /** Conda packages per platform. */
  packages: number;
  platforms?: string[];
  /** PyPI wheels per platform (default packages / 10). */
  pypi?: number;
  /** Extra strings to put into free-text fields (license, depends), to test quoting. */
  strings?: string[];
}

export function generateLockfile(o: GenOptions): Lockfile {
  const platforms = o.platforms ?? ['linux-64', 'osx-arm64', 'win-64'];
  const strings = o.strings ?? [];
  const chan = 'https://conda.anaconda.org/conda-forge';
  const packages: LockedCondaPackage[] = [];
  const pypi: LockedPypiPackage[] = [];
  const go: LockedGoToolchain[] = [];
  let k = 0;
  const extra = () => (strings.length ? strings[k++ % strings.length]! : undefined);
  for (const platform of platforms) {
    for (let i = 0; i < o.packages; i++) {
      const name = `pkg-${i.toString(36)}${i % 7 === 0 ? '_lib' : ''}`;
      const version = `${(i % 13) + 1}.${i % 10}.${i % 4}${i % 11 === 0 ? '.post1' : ''}`;
      const build = `h${hex(name + platform, 8)}_${i % 5}`;
      const noarch = i % 9 === 0;
      const subdir = noarch ? 'noarch' : platform;
      const fn = `${name}-${version}-${build}.conda`;
      const depends = [`python >=3.${i % 12},<3.${(i % 12) + 1}.0a0`, `libzlib >=1.2.13,<2.0a0`, `pkg-${(i + 1).toString(36)} ${version}.*`];
      const x = extra();
      if (x !== undefined) depends.push(x);
      const p: LockedCondaPackage = {
        platform,
        name,
        version,
        build,
        build_number: i % 5,
        subdir,
        channel: chan,
        url: `${chan}/${subdir}/${fn}`,
        fn,
        md5: hex(fn, 32),
        sha256: hex(fn + 'sha'),
        size: 1000 + i * 37,
        depends,
        constrains: i % 3 === 0 ? [`pkg-${(i + 2).toString(36)} >=1`] : [],
        timestamp: 1_600_000_000_000 + i * 1000,
        license: extra() ?? (i % 2 ? 'BSD-3-Clause' : 'MIT AND Apache-2.0'),
        license_family: 'BSD',
      };
      if (noarch) p.noarch = 'python';
      if (i % 17 === 0) p.track_features = 'mkl';
      packages.push(p);
    }
    const nPy = o.pypi ?? Math.ceil(o.packages / 10);
    for (let i = 0; i < nPy; i++) {
      const name = `py-proj-${i}`;
      const version = `${i % 5}.${i % 3}.0`;
      const filename = `${name.replace(/-/g, '_')}-${version}-py3-none-any.whl`;
      pypi.push({
        platform,
        name,
        version,
        filename,
        url: `https://files.pythonhosted.org/packages/${hex(filename, 2)}/${hex(filename, 4)}/${filename}`,
        sha256: hex(filename),
        size: 5000 + i,
        requires_python: '>=3.8',
        requires_dist: [`py-proj-${i + 1} >=1.0; python_version >= "3.8"`, `typing-extensions ; extra == "typing"`],
        requested_by: [i === 0 ? 'py-proj-0' : `py-proj-${i - 1}`],
        index: 'https://pypi.org/simple',
      });
    }
    const [os, arch] = platform.startsWith('win') ? ['windows', 'amd64'] : platform.startsWith('osx') ? ['darwin', 'arm64'] : ['linux', 'amd64'];
    const gofn = `go1.22.1.${os}-${arch}.${os === 'windows' ? 'zip' : 'tar.gz'}`;
    go.push({ platform, version: '1.22.1', os, arch, filename: gofn, url: `https://dl.google.com/go/${gofn}`, sha256: hex(gofn), size: 68_000_000 });
  }
  return {
    version: 1,
    metadata: {
      tool_version: '0.1.0',
      platforms,
      channels: [{ url: chan }],
      sources: ['environment.yml'],
      content_hash: Object.fromEntries(platforms.map((p) => [p, hex(p)])),
      specs: ['python 3.11.*', 'numpy >=1.26', 'pip'],
      virtual_packages: Object.fromEntries(platforms.map((p) => [p, ['__unix 0 0', '__archspec 1 x86_64']])),
      go: { spec: '1.22.*', source: 'environment.yml', releases_url: 'https://go.dev/dl/?mode=json&include=all' },
      pypi: { requirements: ['py-proj-0 >=0.1'], index_url: 'https://pypi.org/simple', extra_index_urls: [] },
    },
    packages,
    go,
    pypi,
  };
}
