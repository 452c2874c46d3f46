/** Small hand-made lockfiles for the lockfile tests (values shaped like real conda-forge records). */
import type { LockedCondaPackage, LockedGoToolchain, Lockfile } from '../../src/lockfile/model.js';

const H64 = (c: string) => c.repeat(64).slice(0, 64);
const H32 = (c: string) => c.repeat(32).slice(0, 32);

export function pkg(p: Partial<LockedCondaPackage> & Pick<LockedCondaPackage, 'name' | 'version'>): LockedCondaPackage {
  const platform = p.platform ?? 'linux-64';
  const build = p.build ?? 'h1234567_0';
  const subdir = p.subdir ?? platform;
  const fn = p.fn ?? `${p.name}-${p.version}-${build}.conda`;
  return {
    platform,
    name: p.name,
    version: p.version,
    build,
    build_number: p.build_number ?? 0,
    subdir,
    channel: p.channel ?? 'https://conda.anaconda.org/conda-forge',
    url: p.url ?? `https://conda.anaconda.org/conda-forge/${subdir}/${fn}`,
    fn,
    md5: p.md5 ?? H32('a1'),
    sha256: p.sha256 ?? H64('b2'),
    size: p.size ?? 12345,
    depends: p.depends ?? [],
    constrains: p.constrains ?? [],
    ...(p.noarch !== undefined ? { noarch: p.noarch } : {}),
    ...(p.timestamp !== undefined ? { timestamp: p.timestamp } : {}),
    ...(p.license !== undefined ? { license: p.license } : {}),
    ...(p.track_features !== undefined ? { track_features: p.track_features } : {}),
  };
}

export function goTc(platform: string, version: string, os: string, arch: string, sha = 'c3'): LockedGoToolchain {
  const ext = os === 'windows' ? 'zip' : 'tar.gz';
  const filename = `go${version}.${os}-${arch}.${ext}`;
  return { platform, version, os, arch, filename, url: `https://go.dev/dl/${filename}`, sha256: H64(sha), size: 68000000 };
}

export function sampleLockfile(): Lockfile {
  return {
    version: 1,
    metadata: {
      tool_version: '0.1.0',
      platforms: ['linux-64', 'osx-arm64'],
      channels: [{ url: 'https://conda.anaconda.org/conda-forge' }],
      sources: ['environment.yml'],
      content_hash: { 'linux-64': H64('d4'), 'osx-arm64': H64('e5') },
      specs: ['python 3.12.*', 'libzlib'],
      virtual_packages: {
        'linux-64': ['__glibc 2.28 0', '__linux 0 0', '__unix 0 0'],
        'osx-arm64': ['__osx 11.0 0', '__unix 0 0'],
      },
      go: { spec: '1.22.*', source: 'environment.yml', releases_url: 'https://go.dev/dl/?mode=json&include=all' },
    },
    packages: [
      pkg({ name: 'libzlib', version: '1.3.1', build: 'h4ab18f5_1', build_number: 1, depends: ['__glibc >=2.17,<3.0.a0', 'libgcc-ng >=12'], constrains: ['zlib 1.3.1 *_1'], timestamp: 1716874197000, license: 'Zlib' }),
      pkg({ name: 'libgcc-ng', version: '14.1.0', build: 'h77fa898_0', depends: ['_libgcc_mutex 0.1 conda_forge', '_openmp_mutex >=4.5'], license: 'GPL-3.0-only WITH GCC-exception-3.1' }),
      pkg({ name: '_libgcc_mutex', version: '0.1', build: 'conda_forge', fn: '_libgcc_mutex-0.1-conda_forge.tar.bz2' }),
      pkg({ name: '_openmp_mutex', version: '4.5', build: '2_gnu', build_number: 16, depends: ['_libgcc_mutex 0.1 conda_forge', 'libgomp >=7.5.0'], constrains: ['openmp_impl 9999'] }),
      pkg({ name: 'libgomp', version: '14.1.0', build: 'h77fa898_0', depends: ['_libgcc_mutex 0.1 conda_forge'] }),
      pkg({ name: 'tzdata', version: '2024a', build: 'h0c530f3_0', subdir: 'noarch', noarch: 'generic' }),
      pkg({ name: 'libzlib', version: '1.3.1', build: 'hfb2fe0b_1', build_number: 1, platform: 'osx-arm64', depends: ['__osx >=11.0'] }),
      pkg({ name: 'tzdata', version: '2024a', build: 'h0c530f3_0', platform: 'osx-arm64', subdir: 'noarch', noarch: 'generic' }),
    ],
    go: [goTc('osx-arm64', '1.22.5', 'darwin', 'arm64'), goTc('linux-64', '1.22.5', 'linux', 'amd64')],
  };
}
