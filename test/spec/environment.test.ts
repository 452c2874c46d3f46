import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  dependenciesFor,
  dependencyLocation,
  loadEnvironmentFile,
  parseEnvironmentYaml,
  type EnvironmentSpec,
} from '../../src/spec/environment.js';
import { defaultVirtualPackages, formatVirtualPackages } from '../../src/conda/virtual-packages.js';
import { InputError } from '../../src/errors.js';

const F = '/proj/environment.yml';

function parse(text: string, readFile?: (p: string) => string): EnvironmentSpec {
  return parseEnvironmentYaml(text, F, { readFile, baseDir: '/proj' });
}

function failure(text: string, readFile?: (p: string) => string): InputError {
  try {
    parse(text, readFile);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected the environment to be rejected');
}

describe('parseEnvironmentYaml: a full file', () => {
  const text = [
    'name: demo', // 1
    'channels:', // 2
    '  - conda-forge', // 3
    '  - nodefaults', // 4
    '  - http://127.0.0.1:8080/private', // 5
    'platforms: [win-64, linux-64, linux-64]', // 6
    'dependencies:', // 7
    '  - python >=3.11,<3.13', // 8
    '  - "numpy 1.26.*"', // 9
    '  - conda-forge::openssl 3.*   # pinned for FIPS', // 10
    '  - pywin32  # [win]', // 11
    '  - go: "1.22.*"', // 12
    'virtual-packages:', // 13
    '  __glibc: "2.17"', // 14
    '  __cuda: 12.0', // 15
    '  win-64:', // 16
    '    __cuda: null', // 17
    'prefix: /opt/envs/demo', // 18
  ].join('\n');
  const env = parse(text);

  it('reads name, channels, nodefaults, platforms (sorted, deduplicated)', () => {
    expect(env.name).toBe('demo');
    expect(env.channels).toEqual(['conda-forge', 'http://127.0.0.1:8080/private']);
    expect(env.nodefaults).toBe(true);
    expect(env.platforms).toEqual(['linux-64', 'win-64']);
    expect(env.file).toBe(F);
  });

  it('keeps each dependency with its text, line and column', () => {
    expect(env.dependencies.map((d) => [d.text, d.line, d.column, d.spec.name])).toEqual([
      ['python >=3.11,<3.13', 8, 5, 'python'],
      ['numpy 1.26.*', 9, 5, 'numpy'],
      ['conda-forge::openssl 3.*', 10, 5, 'openssl'],
      ['pywin32', 11, 5, 'pywin32'],
    ]);
    expect(env.dependencies[2]!.spec.channel).toBe('conda-forge');
    expect(dependencyLocation(env, 'numpy')).toEqual({ file: F, line: 9, column: 5 });
    expect(dependencyLocation(env, 'scipy')).toBeUndefined();
  });

  it('evaluates selectors per platform', () => {
    expect(env.dependencies[3]!.selector).toBe('win');
    expect(env.dependencies[3]!.platforms).toEqual(['win-64', 'win-arm64']);
    expect(dependenciesFor(env, 'linux-64').map((d) => d.spec.name)).toEqual(['python', 'numpy', 'openssl']);
    expect(dependenciesFor(env, 'win-64').map((d) => d.spec.name)).toEqual(['python', 'numpy', 'openssl', 'pywin32']);
  });

  it('reads the Go entry from the dependency list', () => {
    expect(env.go).toEqual({ spec: '1.22.*', text: '1.22.*', file: F, line: 12, column: 5 });
  });

  it('turns virtual-packages into overrides (general first, then per platform)', () => {
    expect(env.virtualPackages).toEqual([
      { name: '__glibc', version: '2.17' },
      { name: '__cuda', version: '12.0' },
      { name: '__cuda', remove: true, platforms: ['win-64'] },
    ]);
    expect(formatVirtualPackages(defaultVirtualPackages('linux-64', env.virtualPackages))).toBe(
      '__archspec=1=x86_64,__cuda=12.0=0,__glibc=2.17=0,__linux=5.10=0,__unix=0=0',
    );
    expect(formatVirtualPackages(defaultVirtualPackages('win-64', env.virtualPackages))).toBe('__archspec=1=x86_64,__win=0=0');
  });

  it('warns about ignored keys and repeated platforms, with lines', () => {
    expect(env.warnings.map((w) => [w.message.split(':')[0], w.location.line])).toEqual([
      ["'prefix' is ignored", 18],
      ["platform 'linux-64' is listed twice", 6],
    ]);
  });
});

describe('the Go toolchain entry', () => {
  it.each([
    ['top-level string', 'go: "1.22.*"\n', '1.22.*', 1, 1],
    ['top-level plain number keeps its text (1.20 is not 1.2)', 'go: 1.20\n', '1.20', 1, 1],
    ['top-level mapping with version', 'name: x\ngo:\n  version: ">=1.21,<1.23"\n', '>=1.21,<1.23', 2, 1],
    ['in dependencies', 'dependencies:\n  - zlib\n  - go: stable\n', 'stable', 3, 5],
    ['in dependencies as mapping', 'dependencies:\n  - go: {version: 1.22.5}\n', '1.22.5', 2, 5],
  ])('%s', (_name, text, spec, line, column) => {
    const env = parse(text);
    expect(env.go?.spec).toBe(spec);
    expect([env.go?.line, env.go?.column]).toEqual([line, column]);
    expect(env.go?.gomod).toBeUndefined();
  });

  it('takes the version from go.mod (relative to the environment file)', () => {
    const reads: string[] = [];
    const env = parse('go:\n  gomod: ./app/go.mod\n', (p) => {
      reads.push(p);
      return 'module x\n\ngo 1.21.3\ntoolchain go1.22.4\n';
    });
    expect(reads).toEqual(['/proj/app/go.mod']);
    expect(env.go).toMatchObject({ spec: '==1.22.4', gomod: { spec: '==1.22.4', from: 'toolchain', file: '/proj/app/go.mod', line: 4 } });
  });

  it('combines an explicit version with go.mod (both must hold)', () => {
    const env = parse('go: {version: "1.22.*", gomod: go.mod}\n', () => 'go 1.22.3\n');
    expect(env.go?.spec).toBe('1.22.*,>=1.22.3,<1.23');
  });

  it('"stable" plus go.mod means go.mod', () => {
    expect(parse('go: {version: stable, gomod: go.mod}\n', () => 'go 1.22\n').go?.spec).toBe('1.22.*');
  });

  it.each([
    ['given twice', 'go: "1.22.*"\ndependencies:\n  - go: "1.21.*"\n', 3, /Go toolchain is given twice: top-level 'go' \(line 1\) and in dependencies \(line 3\)/],
    ['twice in the list', 'dependencies:\n  - go: "1.22.*"\n  - go: "1.21.*"\n', 3, /given twice \(also on line 2\)/],
    ['bad spec', 'dependencies:\n  - zlib\n  - go: "~>1.22"\n', 3, /invalid Go toolchain spec '~>1.22'/],
    ['unknown key', 'go:\n  version: "1.22"\n  gomod_path: x\n', 3, /unknown key 'gomod_path' in go \(allowed: version, gomod, cgo\)/],
    ['empty mapping', 'go: {}\n', 1, /go must not be an empty mapping/],
    ['a list', 'go: [1.22]\n', 1, /go must be a Go toolchain spec string.*not a list/],
    ['missing go.mod', 'go:\n  gomod: nope/go.mod\n', 2, /cannot read go\.mod '\/proj\/nope\/go\.mod' \(ENOENT\)/],
    ['go.mod without a version', 'go: {gomod: go.mod}\n', 1, /go\.mod has no 'go' or 'toolchain' directive.*go\.mod named here/],
  ])('%s', (_name, text, line, re) => {
    const readFile = (p: string): string => {
      if (p.includes('nope')) throw Object.assign(new Error('no'), { code: 'ENOENT' });
      return 'module m\n';
    };
    const err = failure(text, readFile);
    expect(err.message).toMatch(re);
    expect(err.location?.line).toBe(line);
  });

  it('a plain `go` dependency stays the conda package, with a warning', () => {
    const env = parse('dependencies:\n  - go 1.22\n');
    expect(env.go).toBeUndefined();
    expect(env.dependencies[0]!.spec.name).toBe('go');
    expect(env.warnings[0]!.message).toMatch(/conda-forge package; to lock the official Go toolchain/);
    expect(env.warnings[0]!.location.line).toBe(2);
  });
});

describe('errors name file:line:column and what is wrong', () => {
  it.each([
    ['pip git+ line', 'channels: [conda-forge]\ndependencies:\n  - python\n  - pip:\n    - git+https://github.com/x/y.git\n', 'E_ENV_PIP_URL', 5, 7, /'git\+https:\/\/github.com\/x\/y.git': direct URL \/ VCS requirements are not locked/],
    ['pip bad requirement', 'channels: [conda-forge]\ndependencies:\n  - python\n  - pip:\n    - requests >>2\n', 'E_ENV_PIP_REQUIREMENT', 5, 7, /invalid requirement 'requests >>2'/],
    ['unknown top-level key with a hint', 'name: x\ndependences:\n  - zlib\n', 'E_ENV_SCHEMA', 2, 1, /unknown key 'dependences' \(did you mean 'dependencies'\?\)/],
    ['unknown top-level key without a hint', 'zzz: 1\ndependencies: [zlib]\n', 'E_ENV_SCHEMA', 1, 1, /unknown key 'zzz'; known keys: name, channels/],
    ['bad match spec', 'dependencies:\n  - zlib\n  - "numpy >>1.2"\n', 'E_ENV_SPEC', 3, 5, /invalid dependency 'numpy >>1\.2'/],
    ['bad platform', 'platforms:\n  - linux-64\n  - osx-aarch64\ndependencies: [zlib]\n', 'E_ENV_SCHEMA', 3, 5, /unknown platform 'osx-aarch64' \(did you mean 'osx-arm64'\?\)/],
    ['noarch platform', 'platforms: [noarch]\ndependencies: [zlib]\n', 'E_ENV_SCHEMA', 1, 13, /'noarch' is a channel subdir/],
    ['dependencies not a list', 'dependencies: zlib\n', 'E_ENV_SCHEMA', 1, 15, /dependencies must be a list, not 'zlib'/],
    ['channels not a list', 'channels: {a: 1}\ndependencies: [zlib]\n', 'E_ENV_SCHEMA', 1, 11, /channels must be a list, not a mapping/],
    ['empty dependency', 'dependencies:\n  - zlib\n  - ""\n', 'E_ENV_SCHEMA', 3, 5, /dependencies\[1\] must not be empty/],
    ['unknown mapping in dependencies', 'dependencies:\n  - conda:\n      - zlib\n', 'E_ENV_SCHEMA', 2, 5, /unknown mapping 'conda:' in dependencies/],
    ['two keys in a dependency mapping', 'dependencies:\n  - {go: "1.22", pip: [x]}\n', 'E_ENV_SCHEMA', 2, 5, /must have a single key \(pip, go or sel\(\.\.\.\)\)/],
    ['invalid channel', 'channels:\n  - conda-forge\n  - "ftp://mirror/c"\ndependencies: [zlib]\n', 'E_ENV_CHANNEL', 3, 5, /unsupported scheme 'ftp:'/],
    ['defaults and nodefaults', 'channels: [defaults, nodefaults]\ndependencies: [zlib]\n', 'E_ENV_CHANNEL', 1, 11, /both listed/],
    ['bad selector', 'dependencies:\n  - zlib  # [py>=38]\n', 'E_ENV_SELECTOR', 2, 5, /unsupported selector '\[py>=38\]'/],
    ['unknown selector name', 'dependencies:\n  - zlib  # [solaris]\n', 'E_ENV_SELECTOR', 2, 5, /unknown name 'solaris'/],
    ['virtual package without __', 'virtual-packages:\n  glibc: "2.17"\ndependencies: [zlib]\n', 'E_ENV_SCHEMA', 2, 3, /'glibc' in virtual-packages is neither a virtual package/],
    ['virtual package bad platform key', 'virtual-packages:\n  linux-arm64:\n    __glibc: "2.17"\ndependencies: [zlib]\n', 'E_ENV_SCHEMA', 2, 3, /did you mean 'linux-aarch64'/],
    ['virtual package bad name under platform', 'virtual-packages:\n  linux-64:\n    glibc: "2.17"\ndependencies: [zlib]\n', 'E_ENV_SCHEMA', 3, 5, /'glibc' is not a virtual package name/],
    ['virtual package bad version', 'virtual-packages:\n  __glibc: ">=2.17"\ndependencies: [zlib]\n', 'E_ENV_VIRTUAL_PACKAGE', 2, 12, /'>=2\.17' is not a valid version for __glibc/],
    ['top level not a mapping', '- zlib\n- numpy\n', 'E_ENV_SCHEMA', 1, 1, /must be a mapping, not a list/],
    ['broken YAML: bad indentation', 'name: x\ndependencies:\n  - zlib\n - numpy\n', 'E_YAML', 4, 1, /invalid YAML: A block sequence may not be used as an implicit map key/],
    ['broken YAML: tab indentation', 'dependencies:\n\t- zlib\n', 'E_YAML', 2, 1, /invalid YAML: Tabs are not allowed/],
    ['broken YAML: nested compact mapping', 'name: a: b\ndependencies: [zlib]\n', 'E_YAML', 1, 7, /invalid YAML: Nested mappings/],
    ['unclosed flow sequence', 'channels: [conda-forge\ndependencies: [zlib]\n', 'E_YAML', 2, 1, /invalid YAML/],
    ['duplicate key', 'dependencies: [zlib]\nname: a\nname: b\n', 'E_YAML', 3, 1, /invalid YAML: Map keys must be unique/],
    ['two documents', 'dependencies: [zlib]\n---\nname: b\n', 'E_YAML', 2, 1, /invalid YAML/],
    ['empty file', '# nothing here\n', 'E_ENV_EMPTY', undefined, undefined, /empty: nothing to lock/],
  ])('%s', (_name, text, code, line, column, re) => {
    const err = failure(text);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(re);
    expect(err.location?.file).toBe(F);
    expect(err.location?.line).toBe(line);
    expect(err.location?.column).toBe(column);
    expect(err.message.startsWith(`${F}${line ? `:${line}:${column}` : ''}: `)).toBe(true);
    expect(err.exitCode).toBe(3);
  });

  it('reports every problem, sorted by line, in one error', () => {
    const err = failure('dependencies:\n  - "numpy >>1"\n  - pip:\n    - x @ https://h/x.whl\n  - "scipy <<2"\nplatforms: [linux-64]\n');
    const lines = err.message.split('\n');
    expect(lines[0]).toMatch(/^\/proj\/environment\.yml:2:5: invalid dependency 'numpy >>1'/);
    expect(lines[1]).toBe('(2 more problems)');
    expect(lines[2]).toMatch(/^ {2}\/proj\/environment\.yml:4:7: 'x @ https:\/\/h\/x.whl': direct references/);
    expect(lines[3]).toMatch(/^ {2}\/proj\/environment\.yml:5:5: invalid dependency 'scipy <<2'/);
  });

  it('a pip: section: PEP 508 lines, --index-url / --extra-index-url, -r FILE, matplotlib style', () => {
    const env = parseEnvironmentYaml(
      'dependencies:\n  - python 3.11.*\n  - pip:\n    - --index-url https://${PIP_USER}:${PIP_TOKEN}@pypi.example/simple\n    - --extra-index-url=https://extra.example/simple\n    - nbconvert[execute]!=6.0.0,!=6.0.1,!=6.0.2\n    - "pytest-xdist; sys_platform != \'win32\'"  # comment\n    - -r requirements.txt\n',
      '/proj/environment.yml',
      { readFile: (p) => (p === '/proj/requirements.txt' ? 'requests >=2.31  # http\n\n# comment\nidna\\\n <4\n' : (() => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); })()) },
    );
    expect(env.pip!.indexUrl).toBe('https://${PIP_USER}:${PIP_TOKEN}@pypi.example/simple');
    expect(env.pip!.extraIndexUrls).toEqual(['https://extra.example/simple']);
    expect(env.pip!.files).toEqual(['requirements.txt']);
    expect(env.pip!.requirements.map((r) => r.text)).toEqual(['nbconvert[execute]!=6.0.0,!=6.0.1,!=6.0.2', "pytest-xdist; sys_platform != 'win32'", 'requests >=2.31', 'idna <4']);
    expect(env.pip!.requirements.map((r) => `${r.location.file}:${r.location.line}`)).toEqual(['/proj/environment.yml:6', '/proj/environment.yml:7', '/proj/requirements.txt:1', '/proj/requirements.txt:4']);
    expect(env.dependencies.map((d) => d.text)).toEqual(['python 3.11.*']);
    const missing = failure('dependencies:\n  - pip:\n    - -r nothere.txt\n');
    expect(missing.code).toBe('E_ENV_PIP_FILE');
    expect(missing.message).toMatch(/:3:7: '-r nothere.txt': cannot read nothere.txt/);
  });

  it('positions of aliased values point at the alias', () => {
    const env = parse('name: &n zlib\ndependencies:\n  - python\n  - *n\n');
    expect(env.dependencies.map((d) => [d.spec.name, d.line, d.column])).toEqual([
      ['python', 3, 5],
      ['zlib', 4, 5],
    ]);
  });
});

describe('other accepted forms', () => {
  it('null sections are empty', () => {
    const env = parse('name: n\nchannels:\ndependencies:\ngo: "1.22.*"\n');
    expect(env.channels).toEqual([]);
    expect(env.dependencies).toEqual([]);
    expect(env.platforms).toBeUndefined();
    expect(env.go?.spec).toBe('1.22.*');
  });
  it('a YAML alias for a dependency list is followed', () => {
    const env = parse('channels: &c [conda-forge]\ndependencies:\n  - zlib\nplatforms: [linux-64]\n');
    expect(env.channels).toEqual(['conda-forge']);
  });
  it('numbers in dependency strings keep their text', () => {
    // `- 7za` style names and versions written as numbers must not be mangled
    const env = parse('dependencies:\n  - python=3.10\n  - "r-base 4.10"\n');
    expect(env.dependencies.map((d) => d.text)).toEqual(['python=3.10', 'r-base 4.10']);
  });
  it('relative local channels become absolute paths next to the environment file', () => {
    const env = parse('channels:\n  - ./channels/local\n  - ../shared\n  - conda-forge\ndependencies: [zlib]\n');
    expect(env.channels).toEqual(['/proj/channels/local', '/shared', 'conda-forge']);
  });
  it('duplicate channels keep the first position and warn', () => {
    const env = parse('channels: [conda-forge, bioconda, conda-forge]\ndependencies: [zlib]\n');
    expect(env.channels).toEqual(['conda-forge', 'bioconda']);
    expect(env.warnings[0]!.message).toMatch(/listed twice/);
  });
  it('selectors with and/or/not', () => {
    const env = parse('dependencies:\n  - a  # [linux and not aarch64]\n  - b  # [osx or win64]\n  - c # comment without selector\n');
    expect(env.dependencies.map((d) => d.platforms)).toEqual([
      ['linux-64', 'linux-ppc64le'],
      ['osx-64', 'osx-arm64', 'win-64'],
      undefined,
    ]);
  });
});

describe('loadEnvironmentFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cgl-env-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file and resolves go.mod next to it', () => {
    mkdirSync(join(dir, 'svc'));
    writeFileSync(join(dir, 'svc', 'go.mod'), 'module svc\n\ngo 1.22\n\ntoolchain go1.22.7\n');
    writeFileSync(join(dir, 'environment.yml'), 'channels: [conda-forge]\ndependencies:\n  - zlib\n  - go: {gomod: svc/go.mod}\n');
    const env = loadEnvironmentFile(join(dir, 'environment.yml'));
    expect(env.go).toMatchObject({ spec: '==1.22.7', line: 4, gomod: { file: join(dir, 'svc', 'go.mod'), line: 5, from: 'toolchain' } });
  });

  it('a go.mod error points into the go.mod and at the entry that named it', () => {
    writeFileSync(join(dir, 'bad.mod'), 'module m\ngo one.two\n');
    writeFileSync(join(dir, 'env2.yml'), 'go:\n  gomod: bad.mod\n');
    let err: InputError | undefined;
    try {
      loadEnvironmentFile(join(dir, 'env2.yml'));
    } catch (e) {
      err = e as InputError;
    }
    expect(err?.location).toEqual({ file: join(dir, 'env2.yml'), line: 2, column: 10 });
    expect(err?.message).toContain(`${join(dir, 'bad.mod')}:2: invalid go directive`);
  });

  it.each([
    ['missing', 'nope.yml', /environment file not found/],
    ['a directory', '.', /is a directory/],
  ])('%s file → E_ENV_READ', (_n, rel, re) => {
    const p = join(dir, rel);
    expect(() => loadEnvironmentFile(p)).toThrow(re);
    try {
      loadEnvironmentFile(p);
    } catch (e) {
      expect((e as InputError).code).toBe('E_ENV_READ');
      expect((e as InputError).message.startsWith(p)).toBe(true);
    }
  });
});
