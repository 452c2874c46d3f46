import { describe, expect, it } from 'vitest';
import { InvalidSpecError } from '../../src/errors.js';
import { MatchSpec, NumberSpec, channelMatches, parseMatchSpec } from '../../src/conda/matchspec.js';
import type { PackageRecord, RepoDataRecord } from '../../src/conda/record.js';
import { Version } from '../../src/conda/version.js';
import { haveFixtures, rawFixtureRecords } from '../support/fixtures.js';

interface Expect {
  name: string;
  version?: string;
  build?: string;
  buildNumber?: string;
  channel?: string;
  subdir?: string;
  namespace?: string;
  md5?: string;
  sha256?: string;
  fn?: string;
  url?: string;
  license?: string;
  trackFeatures?: string[];
  /** canonical toString(), when checked */
  str?: string;
}

function fieldsOf(m: MatchSpec): Expect {
  const out: Expect = { name: m.name };
  if (m.version) out.version = m.version.toString();
  if (m.build !== undefined) out.build = m.build;
  if (m.buildNumber) out.buildNumber = m.buildNumber.toString();
  for (const k of ['channel', 'subdir', 'namespace', 'md5', 'sha256', 'fn', 'url', 'license'] as const) if (m[k] !== undefined) out[k] = m[k];
  if (m.trackFeatures) out.trackFeatures = m.trackFeatures;
  return out;
}

const PARSE: [string, Expect][] = [
  ['numpy', { name: 'numpy', str: 'numpy' }],
  ['NumPy', { name: 'numpy' }],
  ['numpy=', { name: 'numpy', str: 'numpy' }],
  ['numpy 1.8', { name: 'numpy', version: '==1.8', str: 'numpy ==1.8' }],
  ['numpy 1.8*', { name: 'numpy', version: '1.8.*' }],
  ['numpy 1.8.*', { name: 'numpy', version: '1.8.*', str: 'numpy 1.8.*' }],
  ['numpy=1.8', { name: 'numpy', version: '1.8.*' }],
  ['numpy =1.8', { name: 'numpy', version: '1.8.*' }],
  ['numpy = 1.8', { name: 'numpy', version: '1.8.*' }],
  ['numpy=1.8*', { name: 'numpy', version: '1.8.*' }],
  ['numpy=1.8.*', { name: 'numpy', version: '1.8.*' }],
  ['numpy==1.8', { name: 'numpy', version: '==1.8' }],
  ['numpy ==1.8', { name: 'numpy', version: '==1.8' }],
  ['numpy !=1.7', { name: 'numpy', version: '!=1.7' }],
  ['numpy!=1.10.*', { name: 'numpy', version: '!=1.10.*' }],
  ['numpy~=1.7.1', { name: 'numpy', version: '~=1.7.1' }],
  ['numpy ~=1.10.1 py38_0', { name: 'numpy', version: '~=1.10.1', build: 'py38_0' }],
  ['numpy>=1.2,<2', { name: 'numpy', version: '>=1.2,<2', str: 'numpy >=1.2,<2' }],
  ['numpy >= 1.2 , < 2', { name: 'numpy', version: '>=1.2,<2' }],
  ['numpy>1.8,<2|==1.7', { name: 'numpy', version: '>1.8,<2|==1.7' }],
  ['numpy >1.8,<2|==1.7,!=1.9,~=1.7.1 py34_0', { name: 'numpy', version: '>1.8,<2|==1.7,!=1.9,~=1.7.1', build: 'py34_0' }],
  ['numpy >=1.0 , < 2.0 py34_0', { name: 'numpy', version: '>=1.0,<2.0', build: 'py34_0' }],
  ['numpy >=1.0 , < 2.0 =py34_0', { name: 'numpy', version: '>=1.0,<2.0', build: 'py34_0' }],
  ['numpy=1.8=py27_0', { name: 'numpy', version: '==1.8', build: 'py27_0', str: 'numpy ==1.8 py27_0' }],
  ['numpy==1.8=py27_0', { name: 'numpy', version: '==1.8', build: 'py27_0' }],
  ['numpy 1.8 py27_0', { name: 'numpy', version: '==1.8', build: 'py27_0' }],
  ['numpy=1.7.*=py3*_2', { name: 'numpy', version: '1.7.*', build: 'py3*_2' }],
  ['numpy!=1.10=py38_0', { name: 'numpy', version: '!=1.10', build: 'py38_0' }],
  ['numpy >1.7,!=1.10 py38_0', { name: 'numpy', version: '>1.7,!=1.10', build: 'py38_0' }],
  ['python 3.8.* *_cpython', { name: 'python', version: '3.8.*', build: '*_cpython', str: 'python 3.8.* *_cpython' }],
  ['python >=3.9,<3.10 *_cpython', { name: 'python', version: '>=3.9,<3.10', build: '*_cpython' }],
  ['python=3.9=*_cpython', { name: 'python', version: '==3.9', build: '*_cpython' }],
  ['pytorch=*=cuda*', { name: 'pytorch', build: 'cuda*', str: 'pytorch * cuda*' }],
  ['pytorch * cuda*', { name: 'pytorch', build: 'cuda*' }],
  ['blas * openblas_0', { name: 'blas', build: 'openblas_0' }],
  ['blas *.* mkl', { name: 'blas', build: 'mkl' }],
  ['python *', { name: 'python', str: 'python' }],
  ['python=*', { name: 'python', str: 'python' }],
  ['* 2.7.4', { name: '*', version: '==2.7.4' }],
  ['* >=1.3 2', { name: '*', version: '>=1.3', build: '2' }],
  ['*>1.8,<2|==1.7', { name: '*', version: '>1.8,<2|==1.7' }],
  ['* 1 *', { name: '*', version: '==1', str: '* ==1' }],
  ['python * *', { name: 'python', str: 'python' }],
  ['* * openblas_0', { name: '*', build: 'openblas_0' }],
  ['x264 >=1!164.3095,<1!165', { name: 'x264', version: '>=1!164.3095,<1!165' }],
  ['python ==2.7.*.*|>=3.6', { name: 'python', version: '==2.7|>=3.6' }],
  ['python 2.7.*.*|>=3.6', { name: 'python', version: '2.7.*|>=3.6' }],
  ['python (>=3.8,<3.10)|(>=3.11,<3.13)', { name: 'python', version: '>=3.8,<3.10|>=3.11,<3.13' }],
  ['numpy >=1.8,(<2|>=1.7.1)', { name: 'numpy', version: '>=1.8,(<2|>=1.7.1)' }],
  ['openssl=1.1.1_', { name: 'openssl', version: '1.1.1_.*' }],
  ['openssl >=1.1.1w,<1.1.2a', { name: 'openssl', version: '>=1.1.1w,<1.1.2a' }],
  ['zope.int>=1.3,<3.0', { name: 'zope.int', version: '>=1.3,<3.0' }],
  ['_libgcc_mutex 0.1 conda_forge', { name: '_libgcc_mutex', version: '==0.1', build: 'conda_forge' }],
  ['__glibc >=2.17,<3.0.a0', { name: '__glibc', version: '>=2.17,<3.0.a0' }],
  ['libstdcxx-ng >=12', { name: 'libstdcxx-ng', version: '>=12' }],
  ['foo # a comment', { name: 'foo', str: 'foo' }],
  ['foo >=1#comment', { name: 'foo', version: '>=1' }],
  ["foo[url='https://x.org/c/linux-64/foo-1-0.conda#frag'] # comment", { name: 'foo', url: 'https://x.org/c/linux-64/foo-1-0.conda#frag' }],
  ['foo[build="a b"]', { name: 'foo', build: 'a b', str: 'foo[build="a b"]' }],
  ['foo[version="^1\\.[0-9]$", build="x"]', { name: 'foo', version: '^1\\.[0-9]$', build: 'x', str: 'foo[version="^1\\.[0-9]$", build="x"]' }],
  ['foo[build="py>3"]', { name: 'foo', build: 'py>3', str: 'foo[build="py>3"]' }],
  ['foo ## comment', { name: 'foo' }],
  // channels and subdirs
  ['conda-forge::python', { name: 'python', channel: 'conda-forge', str: 'conda-forge::python' }],
  ['conda-forge::foo>=1.0', { name: 'foo', channel: 'conda-forge', version: '>=1.0' }],
  ['conda-forge/linux-64::python', { name: 'python', channel: 'conda-forge', subdir: 'linux-64', str: 'conda-forge/linux-64::python' }],
  ['conda-forge/linux-32::foo>=1.0', { name: 'foo', channel: 'conda-forge', subdir: 'linux-32', version: '>=1.0' }],
  ['*/linux-32::foo>=1.0', { name: 'foo', subdir: 'linux-32', version: '>=1.0', str: 'foo >=1.0[subdir="linux-32"]' }],
  ['pkgs/main::python', { name: 'python', channel: 'pkgs/main' }],
  ['defaults/win-32::numpy', { name: 'numpy', channel: 'defaults', subdir: 'win-32' }],
  ['pytorch/label/nightly::pytorch', { name: 'pytorch', channel: 'pytorch/label/nightly' }],
  ['https://conda.anaconda.org/conda-forge::python', { name: 'python', channel: 'https://conda.anaconda.org/conda-forge' }],
  ['https://repo.anaconda.com/pkgs/free/win-32::numpy', { name: 'numpy', channel: 'https://repo.anaconda.com/pkgs/free', subdir: 'win-32' }],
  ['http://127.0.0.1:8000/my-channel::python 3.9', { name: 'python', channel: 'http://127.0.0.1:8000/my-channel', version: '==3.9' }],
  ['conda-forge::python[version=3.9]', { name: 'python', channel: 'conda-forge', version: '==3.9' }],
  ['rapidsai-nightly::cuxfilter=24.10', { name: 'cuxfilter', channel: 'rapidsai-nightly', version: '24.10.*' }],
  ['pkgs/main::*', { name: '*', channel: 'pkgs/main', str: 'pkgs/main::*' }],
  ['conda-forge:ns:python', { name: 'python', namespace: 'ns', channel: 'conda-forge' }],
  ['ns:python >=3', { name: 'python', namespace: 'ns', version: '>=3', str: 'ns:python >=3' }],
  // bracket syntax
  ["foo[version='>=1',build_number=3,build='*cuda*']", { name: 'foo', version: '>=1', buildNumber: '3', build: '*cuda*', str: 'foo >=1 *cuda*[build_number="3"]' }],
  ['foo[version=">=1,<2", build="py*"]', { name: 'foo', version: '>=1,<2', build: 'py*' }],
  ['foo[version=1.7.*]', { name: 'foo', version: '1.7.*' }],
  ["foo[version='1.7']", { name: 'foo', version: '==1.7' }],
  ['foo[version=1.7|1.8]', { name: 'foo', version: '==1.7|==1.8' }],
  ['foo[version=*]', { name: 'foo', str: 'foo' }],
  ['foo[version=*,build=*py27*]', { name: 'foo', build: '*py27*', str: 'foo * *py27*' }],
  ['foo[version=1.10 build=py38_0]', { name: 'foo', version: '==1.10', build: 'py38_0' }],
  ['foo 1.0 py_0[version=2.0, build=x]', { name: 'foo', version: '==2.0', build: 'x' }],
  ['defaults::numpy[channel=anaconda]', { name: 'numpy', channel: 'anaconda' }],
  ["defaults::numpy=1.8=py27_0 [channel='anaconda',version=\">=1.8,<2|1.9\", build='3']", { name: 'numpy', channel: 'anaconda', version: '>=1.8,<2|==1.9', build: '3' }],
  ['numpy[channel=defaults,subdir=osx-64]', { name: 'numpy', channel: 'defaults', subdir: 'osx-64', str: 'defaults/osx-64::numpy' }],
  ['numpy[channel=conda-forge/noarch]', { name: 'numpy', channel: 'conda-forge', subdir: 'noarch' }],
  ['numpy[subdir=win-32]', { name: 'numpy', subdir: 'win-32', str: 'numpy[subdir="win-32"]' }],
  ['*/win-32::numpy[subdir="osx-64"]', { name: 'numpy', subdir: 'osx-64' }],
  ['tensorflow[name=pytorch]', { name: 'tensorflow' }],
  ['*[name=pytorch]', { name: 'pytorch' }],
  ['tensorflow[name=* version=* md5=253b922ecdb5a30884875948b8904983]', { name: 'tensorflow', md5: '253b922ecdb5a30884875948b8904983' }],
  ['python[build_number=3]', { name: 'python', buildNumber: '3' }],
  ["python[build_number='>3']", { name: 'python', buildNumber: '>3' }],
  ["python[build_number='>=3']", { name: 'python', buildNumber: '>=3' }],
  ["python[build_number='<3']", { name: 'python', buildNumber: '<3' }],
  ["python[build_number='<=3']", { name: 'python', buildNumber: '<=3' }],
  ['python[build_number=">=3,<5"]', { name: 'python', buildNumber: '>=3,<5' }],
  [
    'python[sha256=ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789]',
    { name: 'python', sha256: 'abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789' },
  ],
  ['python[fn=python-3.9.0-h_0.conda]', { name: 'python', fn: 'python-3.9.0-h_0.conda' }],
  ["python[license='PSF-2.0']", { name: 'python', license: 'PSF-2.0' }],
  ['*[track_features=mkl]', { name: '*', trackFeatures: ['mkl'] }],
  ["numpy[track_features='mkl debug']", { name: 'numpy', trackFeatures: ['debug', 'mkl'] }],
  ["numpy[url='https://x.org/c/linux-64/numpy-1.0-0.conda']", { name: 'numpy', url: 'https://x.org/c/linux-64/numpy-1.0-0.conda' }],
  ['conda-forge::foo[build=3](target=blarg,optional)'.replace('(target=blarg,optional)', ''), { name: 'foo', channel: 'conda-forge', build: '3' }],
  // package URLs and paths
  [
    'https://conda.anaconda.org/conda-canary/linux-64/conda-4.3.21.post699+1dab973-py36h4a561cd_0.tar.bz2',
    {
      name: 'conda',
      version: '==4.3.21.post699+1dab973',
      build: 'py36h4a561cd_0',
      channel: 'https://conda.anaconda.org/conda-canary',
      subdir: 'linux-64',
      fn: 'conda-4.3.21.post699+1dab973-py36h4a561cd_0.tar.bz2',
      url: 'https://conda.anaconda.org/conda-canary/linux-64/conda-4.3.21.post699+1dab973-py36h4a561cd_0.tar.bz2',
    },
  ],
  [
    'https://repo.anaconda.com/pkgs/main/linux-64/_license-1.1-py27_1.conda#0123456789abcdef0123456789abcdef',
    {
      name: '_license',
      version: '==1.1',
      build: 'py27_1',
      channel: 'https://repo.anaconda.com/pkgs/main',
      subdir: 'linux-64',
      fn: '_license-1.1-py27_1.conda',
      url: 'https://repo.anaconda.com/pkgs/main/linux-64/_license-1.1-py27_1.conda',
      md5: '0123456789abcdef0123456789abcdef',
    },
  ],
  [
    '/some/file/on/disk/package-1.2.3-2.tar.bz2',
    { name: 'package', version: '==1.2.3', build: '2', fn: 'package-1.2.3-2.tar.bz2', url: '/some/file/on/disk/package-1.2.3-2.tar.bz2' },
  ],
];

describe('MatchSpec.parse', () => {
  it.each(PARSE)('%s', (input, want) => {
    const m = MatchSpec.parse(input);
    const { str, ...rest } = want;
    const fields = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    expect(fieldsOf(m)).toEqual(fields);
    if (str !== undefined) expect(m.toString()).toBe(str);
    // Canonical text is stable and re-parses to the same spec.
    const again = MatchSpec.parse(m.toString());
    expect(again.key).toBe(m.key);
    expect(fieldsOf(again)).toEqual(fieldsOf(m));
  });

  it('parseMatchSpec is MatchSpec.parse (also when detached)', () => {
    const f = parseMatchSpec;
    expect(f('numpy >=1').toString()).toBe('numpy >=1');
  });

  it('exactVersionIsFuzzy reads a bare version as a prefix', () => {
    expect(MatchSpec.parse('numpy 1.8', { exactVersionIsFuzzy: true }).version?.toString()).toBe('1.8.*');
    expect(MatchSpec.parse('numpy 1.8 py_0', { exactVersionIsFuzzy: true }).version?.toString()).toBe('1.8.*');
    expect(MatchSpec.parse('x264 1!164', { exactVersionIsFuzzy: true }).version?.toString()).toBe('1!164.*');
    expect(MatchSpec.parse('numpy !=1.8', { exactVersionIsFuzzy: true }).version?.toString()).toBe('!=1.8');
    expect(MatchSpec.parse('numpy 1.8|1.9', { exactVersionIsFuzzy: true }).version?.toString()).toBe('==1.8|==1.9');
    // explicit operators keep their meaning
    expect(MatchSpec.parse('numpy ==1.8', { exactVersionIsFuzzy: true }).version?.toString()).toBe('==1.8');
    expect(MatchSpec.parse('numpy >=1.8', { exactVersionIsFuzzy: true }).version?.toString()).toBe('>=1.8');
    expect(MatchSpec.parse('numpy=1.8=py_0', { exactVersionIsFuzzy: true }).version?.toString()).toBe('==1.8');
    // and the canonical text of a fuzzy-parsed spec round-trips under either option
    const m = MatchSpec.parse('numpy 1.8', { exactVersionIsFuzzy: true });
    expect(MatchSpec.parse(m.toString()).key).toBe(m.key);
    expect(MatchSpec.parse(MatchSpec.parse('numpy 1.8').toString(), { exactVersionIsFuzzy: true }).version?.toString()).toBe('==1.8');
  });

  it('equal specs written differently share a key', () => {
    const groups = [
      ['numpy 1.7*', 'numpy=1.7', 'numpy 1.7.*', 'numpy[version=1.7.*]', "numpy[version='1.7*']", 'numpy =1.7'],
      ['python 2.7.4', 'python==2.7.4', 'python[version=2.7.4]', '*[name=python, version="2.7.4"]'],
      ['numpy=1.10=py38_0', 'numpy==1.10=py38_0', 'numpy[version=1.10 build=py38_0]', 'numpy 1.10 py38_0'],
      ['conda-forge/linux-64::numpy', 'numpy[channel=conda-forge, subdir=linux-64]', 'conda-forge::numpy[subdir=linux-64]'],
      ['foo >=1,<2', 'foo>=1,<2', 'foo >= 1 , < 2', 'foo[version=">=1,<2"]'],
    ];
    for (const g of groups) {
      const keys = new Set(g.map((s) => MatchSpec.parse(s).key));
      expect([g[0], keys.size]).toEqual([g[0], 1]);
    }
    expect(MatchSpec.parse('numpy 1.7').key).not.toBe(MatchSpec.parse('numpy 1.7*').key);
    expect(MatchSpec.parse('numpy').equals(MatchSpec.parse('numpy *'))).toBe(true);
  });

  it('with() replaces fields', () => {
    const m = MatchSpec.parse('conda-forge::numpy >=1.20 py*');
    expect(m.with({ channel: undefined }).toString()).toBe('numpy >=1.20 py*');
    expect(m.with({ build: undefined, subdir: 'linux-64' }).toString()).toBe('conda-forge/linux-64::numpy >=1.20');
  });
});

const INVALID: [string, RegExp][] = [
  ['', /empty/],
  ['   ', /empty/],
  ['# only a comment', /empty/],
  ['!xyz 1.3', /no package name|invalid package name/],
  ['>=1.2', /no package name/],
  ['numpy >=1..2', /empty version component/],
  ['numpy 1.2 3 4', /too many/],
  ['numpy ==', /without a version/],
  ['numpy >=', /without a version/],
  ['numpy ><1', /invalid operator/],
  ['numpy ~=1.2.*', /'~='/],
  ['blas [optional', /bracket/],
  ['blas [test=]', /unknown bracket key 'test'/],
  ['blas[invalid="1"]', /unknown bracket key 'invalid'/],
  ['blas[version=1][build=2]', /multiple or nested bracket/],
  ['blas[version="1]', /unterminated quote|bracket/],
  ['blas[version]', /expected key=value/],
  ['blas[version=1, version=2]', /duplicate bracket key/],
  ['blas[build_number=abc]', /build number/],
  ['blas[build_number=">=x"]', /build number/],
  ['blas[md5=xyz]', /not hexadecimal/],
  ['blas[sha256="12 34"]', /not hexadecimal|unexpected/],
  ['py@thon', /invalid package name/],
  ['numpy 1.2 py_0 extra', /too many/],
  ['a:b:c:d', /namespace/],
  ['numpy 1.2 py<3', /invalid build string|too many|version/],
  ['numpy (1.2', /missing '\)'/],
  ['https://x.org/c/linux-64/notadist.conda', /not name-version-build/],
  ['https://x.org/c/linux-64/a-1-0.conda#zzz', /hash fragment/],
  ['ns::', /no package name/],
  [':python', /namespace/],
];

describe('MatchSpec errors', () => {
  it.each(INVALID)('%j -> InvalidSpecError', (input, why) => {
    let err: unknown;
    try {
      MatchSpec.parse(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidSpecError);
    expect((err as InvalidSpecError).code).toBe('E_INVALID_SPEC');
    expect((err as Error).message).toContain(`'${input}'`);
    expect((err as Error).message).toMatch(why);
  });
});

function rec(name: string, version: string, build: string, extra: Partial<RepoDataRecord> = {}): RepoDataRecord {
  const fn = `${name}-${version}-${build}.conda`;
  return {
    name,
    version,
    build,
    build_number: Number(/(\d+)$/.exec(build)?.[1] ?? 0),
    subdir: 'linux-64',
    depends: [],
    constrains: [],
    fn,
    url: `https://conda.anaconda.org/conda-forge/linux-64/${fn}`,
    channel: 'https://conda.anaconda.org/conda-forge',
    md5: '0123456789abcdef0123456789abcdef',
    sha256: 'ab'.repeat(32),
    ...extra,
  };
}

describe('MatchSpec.matches', () => {
  // conda test_match_1: every spec against numpy-1.7.1-py27_0
  const numpy = rec('numpy', '1.7.1', 'py27_0');
  it.each([
    ['numpy 1.7*', true],
    ['numpy 1.7.1', true],
    ['numpy 1.7', false],
    ['numpy 1.5*', false],
    ['numpy >=1.5', true],
    ['numpy >=1.5,<2', true],
    ['numpy >=1.8,<1.9', false],
    ['numpy >1.5,<2,!=1.7.1', false],
    ['numpy >1.8,<2|==1.7', false],
    ['numpy >1.8,<2|>=1.7.1', true],
    ['numpy >=1.8|1.7*', true],
    ['numpy ==1.7', false],
    ['numpy >=1.5,>1.6', true],
    ['numpy ==1.7.1', true],
    ['numpy ==1.7.1.0', true],
    ['numpy==1.7.1.0.0', true],
    ['numpy >=1,*.7.*', true],
    ['numpy *.7.*,>=1', true],
    ['numpy >=1,*.8.*', false],
    ['numpy >=2,*.7.*', false],
    ['numpy 1.6*|1.7*', true],
    ['numpy 1.6*|1.8*', false],
    ['numpy 1.6.2|1.7*', true],
    ['numpy 1.6.2|1.7.1', true],
    ['numpy 1.6.2|1.7.0', false],
    ['numpy 1.7.1 py27_0', true],
    ['numpy 1.7.1 py26_0', false],
    ['numpy >1.7.1a', true],
    ['python', false],
    ['numpy', true],
    ['num*', true],
    ['*', true],
    ['*pi', false],
    ['*py', true],
    ['numpy 1.7.1 py27*', true],
    ['numpy * *_0', true],
    ['numpy * *_1', false],
    ['numpy * ^py2.?_0$', true],
    ['numpy * ^py3.*$', false],
    ['numpy[build_number=0]', true],
    ['numpy[build_number=">0"]', false],
    ['numpy[build_number="<=0"]', true],
    ['numpy[build_number="1|0"]', true],
    ['numpy[build_number="!=0"]', false],
    ['conda-forge::numpy', true],
    ['defaults::numpy', false],
    ['https://conda.anaconda.org/conda-forge::numpy', true],
    ['https://conda.anaconda.org/conda-forge/::numpy', true],
    ['https://conda.anaconda.org/t/tk-123/conda-forge::numpy', true],
    ['https://conda.anaconda.org/conda-forge/linux-64::numpy', true],
    ['https://mirror.example/conda-forge::numpy', false],
    ['forge::numpy', false],
    ['conda-forge/linux-64::numpy', true],
    ['conda-forge/osx-64::numpy', false],
    ['*/linux-64::numpy', true],
    ['numpy[subdir=noarch]', false],
    ['numpy[md5=0123456789ABCDEF0123456789ABCDEF]', true],
    ['numpy[md5=00000000000000000000000000000000]', false],
    [`numpy[sha256=${'ab'.repeat(32)}]`, true],
    [`numpy[sha256=${'cd'.repeat(32)}]`, false],
    ['numpy[fn=numpy-1.7.1-py27_0.conda]', true],
    ['numpy[fn=numpy-1.7.1-py27_0.tar.bz2]', false],
    ['numpy[url=https://conda.anaconda.org/conda-forge/linux-64/numpy-1.7.1-py27_0.conda]', true],
    ['numpy[url=https://conda.anaconda.org/conda-forge/linux-64/numpy-1.7.2-py27_0.conda]', false],
    ['https://conda.anaconda.org/conda-forge/linux-64/numpy-1.7.1-py27_0.conda', true],
    ['https://conda.anaconda.org/conda-forge/linux-64/numpy-1.7.1-py27_1.conda', false],
    ['numpy[license=BSD*]', false],
    ['numpy[track_features=mkl]', false],
  ] as [string, boolean][])('%s on numpy-1.7.1-py27_0: %s', (spec, want) => {
    expect(MatchSpec.parse(spec).matches(numpy)).toBe(want);
  });

  it('numbers and letters (conda test_match_1 extras)', () => {
    expect(MatchSpec.parse('numpy >=1.0.1').matches(rec('numpy', '1.0.1a', '0'))).toBe(false);
    expect(MatchSpec.parse('numpy >=1.0.1.vc11').matches(rec('numpy', '1.0.1a.vc11', '0'))).toBe(false);
    expect(MatchSpec.parse('numpy >=1.0.1*.vc11').matches(rec('numpy', '1.0.1a.vc11', '0'))).toBe(true);
    expect(MatchSpec.parse('numpy <1.0.1').matches(rec('numpy', '1.0.1.vc11', '0'))).toBe(true);
    expect(MatchSpec.parse('numpy <1.0.1').matches(rec('numpy', '1.0.1a.vc11', '0'))).toBe(true);
    expect(MatchSpec.parse('numpy >=1.0.1.vc11').matches(rec('numpy', '1.0.1a', '0'))).toBe(false);
    expect(MatchSpec.parse('numpy >=1.0.1a').matches(rec('numpy', '1.0.1z', '0'))).toBe(true);
    expect(MatchSpec.parse('numpy >=1.0.1a py27*').matches(rec('numpy', '1.0.1z', 'py27_1'))).toBe(true);
    expect(MatchSpec.parse('blas * openblas_0').matches(rec('blas', '1.0', 'openblas_0'))).toBe(true);
    expect(MatchSpec.parse('openssl>=1.0.1_').matches(rec('openssl', '1.0.1_', '4'))).toBe(true);
    expect(MatchSpec.parse('openssl>=1.0.1').matches(rec('openssl', '1.0.1_', '4'))).toBe(false);
  });

  it('track_features must match exactly (as a set)', () => {
    const a = MatchSpec.parse('*[track_features=test]');
    expect(a.matches(rec('foo', '1', '0', { track_features: 'test' }))).toBe(true);
    expect(a.matches(rec('foo', '1', '0', { track_features: 'test2' }))).toBe(false);
    expect(a.matches(rec('foo', '1', '0', { track_features: 'test me' }))).toBe(false);
    expect(a.matches(rec('foo', '1', '0'))).toBe(false);
    const b = MatchSpec.parse("*[track_features='mkl debug']");
    expect(b.matches(rec('foo', '1', '0', { track_features: 'debug,mkl' }))).toBe(true);
  });

  it('license and license_family globs', () => {
    const r = rec('numpy', '1.11.0', 'py34_7', { license: 'LGPLv3+', license_family: 'LGPL' });
    for (const s of ["*[license_family='LGPL']", "*[license_family='lgpl']", "*[license_family='*GP*']", "*[license_family='*gpl*']", "*[license='*v3+']", "*[license='LGPL*']"])
      expect([s, MatchSpec.parse(s).matches(r)]).toEqual([s, true]);
    for (const s of ["*[license_family='MIT']", "*[license='*gpl*']", "*[license='MIT']"]) expect([s, MatchSpec.parse(s).matches(r)]).toEqual([s, false]);
  });

  it('bracket version/build_number against a record (conda test_bracket_matches)', () => {
    const r = rec('numpy', '1.11.0', 'py34_7');
    expect(MatchSpec.parse('numpy<2').matches(r)).toBe(true);
    expect(MatchSpec.parse('numpy[version=<2]').matches(r)).toBe(true);
    expect(MatchSpec.parse('numpy>2').matches(r)).toBe(false);
    expect(MatchSpec.parse("numpy[version='>2']").matches(r)).toBe(false);
    expect(MatchSpec.parse("numpy[build_number='7']").matches(r)).toBe(true);
    expect(MatchSpec.parse("numpy[build_number='<8']").matches(r)).toBe(true);
    expect(MatchSpec.parse("numpy[build_number='>7']").matches(r)).toBe(false);
    expect(MatchSpec.parse("numpy[build_number='>=7']").matches(r)).toBe(true);
    expect(MatchSpec.parse('numpy ~=1.10').matches(r)).toBe(true);
    expect(MatchSpec.parse('numpy~=1.10').matches(r)).toBe(true);
  });

  it('build globs (conda test_build_glob_merge records)', () => {
    const red = rec('my_pkg', '1.17.3', 'red_habc123_3');
    const blue = rec('my_pkg', '1.17.3', 'blue_hdef1234_3');
    const t: [string, boolean, boolean][] = [
      ['my_pkg=1.17.*', true, true],
      ['my_pkg=1.17.*=red_*', true, false],
      ['my_pkg=1.17.*=blue_*', false, true],
      ['my_pkg=1.17.*=blue_hdef1234_*', false, true],
      ['my_pkg=1.17.*=red_habc123_3', true, false],
      ['my_pkg=1.17.*=*red*', true, false],
      ['my_pkg=1.17.*=*_2', false, false],
      ['my_pkg=1.17.*=*_3', true, true],
      ['my_pkg=1.17.*=*_habc123_3', true, false],
      ['my_pkg 1.18.* *_3', false, false],
    ];
    for (const [s, r, b] of t) expect([s, MatchSpec.parse(s).matches(red), MatchSpec.parse(s).matches(blue)]).toEqual([s, r, b]);
  });

  it('a record without a channel (virtual package) never matches a channel spec', () => {
    const v: PackageRecord = { name: '__glibc', version: '2.28', build: '0', build_number: 0, subdir: 'linux-64', depends: [], constrains: [] };
    expect(MatchSpec.parse('__glibc >=2.17').matches(v)).toBe(true);
    expect(MatchSpec.parse('__glibc >=2.29').matches(v)).toBe(false);
    expect(MatchSpec.parse('conda-forge::__glibc').matches(v)).toBe(false);
    expect(MatchSpec.parse('__glibc[md5=00]').matches(v)).toBe(false);
  });

  it('uses a pre-parsed version when given one', () => {
    const r = rec('numpy', '1.7.1', 'py27_0');
    expect(MatchSpec.parse('numpy >=1.7').matches(r, Version.parse('1.7.1'))).toBe(true);
    expect(MatchSpec.parse('numpy >=1.8').matches(r, Version.parse('1.7.1'))).toBe(false);
  });

  it('a record with an invalid version matches only specs without a version constraint', () => {
    const r = rec('weird', '1..2', '0');
    expect(MatchSpec.parse('weird').matches(r)).toBe(true);
    expect(MatchSpec.parse('weird >=1').matches(r)).toBe(false);
  });
});

describe('channelMatches', () => {
  it.each([
    ['conda-forge', 'https://conda.anaconda.org/conda-forge', true],
    ['conda-forge', 'https://conda.anaconda.org/conda-forge/', true],
    ['conda-forge', 'https://conda.anaconda.org/conda-forge/linux-64', true],
    ['conda-forge', 'conda-forge', true],
    ['https://conda.anaconda.org/conda-forge', 'conda-forge', true],
    ['https://conda.anaconda.org/conda-forge', 'https://conda.anaconda.org/conda-forge', true],
    ['https://conda.anaconda.org/conda-forge', 'https://user:pw@conda.anaconda.org/conda-forge', true],
    ['https://conda.anaconda.org/conda-forge', 'https://conda.anaconda.org/t/secret/conda-forge', true],
    ['https://conda.anaconda.org/conda-forge', 'https://repo.prefix.dev/conda-forge', false],
    ['https://repo.anaconda.com/pkgs/main', 'conda-forge', false],
    ['pkgs/main', 'https://repo.anaconda.com/pkgs/main', true],
    ['main', 'https://repo.anaconda.com/pkgs/main', true],
    ['forge', 'https://conda.anaconda.org/conda-forge', false],
    ['pytorch/label/nightly', 'https://conda.anaconda.org/pytorch/label/nightly', true],
    ['pytorch', 'https://conda.anaconda.org/pytorch/label/nightly', false],
    ['my-channel', 'http://127.0.0.1:8123/my-channel', true],
    ['http://127.0.0.1:8123/my-channel', 'http://127.0.0.1:8123/my-channel', true],
    ['http://127.0.0.1:8123/my-channel', 'http://127.0.0.1:9999/my-channel', false],
    ['conda-forge', undefined, false],
    ['conda-forge', '', false],
    // `defaults` is conda's multichannel: defaults::numpy matches records of pkgs/main, pkgs/r, pkgs/msys2
    ['defaults', 'https://repo.anaconda.com/pkgs/main', true],
    ['defaults', 'https://repo.anaconda.com/pkgs/r/', true],
    ['defaults', 'https://repo.anaconda.com/pkgs/msys2/win-64', true],
    ['defaults', 'pkgs/main', true],
    ['defaults', 'https://conda.anaconda.org/conda-forge', false],
    ['defaults', 'https://mirror.example/pkgs/main', false],
    ['defaults', 'https://conda.anaconda.org/defaults', true],
  ] as [string, string | undefined, boolean][])('%s vs %s: %s', (spec, record, want) => {
    expect(channelMatches(spec, record)).toBe(want);
  });
});

describe('NumberSpec', () => {
  it.each([
    ['3', 3, true],
    ['3', 4, false],
    ['==3', 3, true],
    ['=3', 3, true],
    ['!=3', 3, false],
    ['>3', 4, true],
    ['>3', 3, false],
    ['>=3', 3, true],
    ['<3', 2, true],
    ['<=3', 4, false],
    ['>=3,<5', 4, true],
    ['>=3,<5', 5, false],
    ['1|2', 2, true],
    ['1|2', 3, false],
    ['*', 12345, true],
    [' >= 3 ', 3, true],
  ] as [string, number, boolean][])('%j on %i: %s', (spec, n, want) => {
    expect(NumberSpec.parse(spec).matches(n)).toBe(want);
  });
  it.each([[''], ['x'], ['>=x'], ['1.5'], ['-1'], ['>>1'], ['1,'], ['|1']])('%j is invalid', (s) => {
    expect(() => NumberSpec.parse(s)).toThrow(InvalidSpecError);
  });
});

describe.skipIf(!haveFixtures)('MatchSpec on real repodata', () => {
  const files = [
    'repodata/conda-defaults-2018/index4.flat.json',
    'repodata/conda-defaults-2018/r__linux-64__repodata.json',
    'repodata/conda-defaults-2018/main__noarch__repodata.json',
    'repodata/rattler/pytorch__linux-64__repodata.json',
    'repodata/mamba/conda-forge-numpy-linux-64.json',
    ...['linux-64', 'osx-arm64', 'win-64', 'noarch'].map((s) => `repodata/conda-forge-subchannel-py39-2024-05/${s}/repodata.json`),
  ];
  const load = () => {
    const records: (PackageRecord & Partial<RepoDataRecord>)[] = [];
    for (const f of files) {
      const recs = rawFixtureRecords<PackageRecord & Partial<RepoDataRecord>>(f);
      records.push(...recs);
    }
    return records;
  };

  it('every depends/constrains entry parses, and its canonical form round-trips', () => {
    const records = load();
    const specs = new Set<string>();
    for (const r of records) for (const d of [...(r.depends ?? []), ...(r.constrains ?? [])]) specs.add(d);
    expect(specs.size).toBeGreaterThan(2000);
    const failures: string[] = [];
    for (const s of specs) {
      try {
        const m = MatchSpec.parse(s);
        const again = MatchSpec.parse(m.toString());
        if (again.key !== m.key) failures.push(`${s}: ${m.toString()} -> ${again.toString()}`);
      } catch (e) {
        failures.push(`${s}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('each record matches its own exact spec and not a neighbour build', () => {
    const records = load().filter((r) => r.channel && r.url && r.fn);
    expect(records.length).toBeGreaterThan(1000);
    for (const r of records) {
      const exact = MatchSpec.parse(`${r.name} ==${r.version} ${r.build}`);
      expect(exact.matches(r)).toBe(true);
      const pinned = MatchSpec.parse(`${r.name}[version="==${r.version}", build="${r.build}", build_number=${r.build_number}, subdir=${r.subdir}]`);
      expect(pinned.matches(r)).toBe(true);
      expect(MatchSpec.parse(`${r.name} ==${r.version} ${r.build}x`).matches(r)).toBe(false);
      expect(MatchSpec.parse(`${r.name}[build_number=${r.build_number + 1}]`).matches(r)).toBe(false);
      if (r.sha256) expect(MatchSpec.parse(`${r.name}[sha256=${r.sha256}]`).matches(r)).toBe(true);
      if (r.url) expect(MatchSpec.parse(r.url).matches(r)).toBe(true);
    }
  });
});
