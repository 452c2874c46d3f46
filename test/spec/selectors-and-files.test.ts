import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KNOWN_PLATFORMS } from '../../src/conda/platform.js';
import { evaluateSelector, parseSelectorComment, selectorPlatforms } from '../../src/spec/selectors.js';
import { parseVirtualPackageSpecFile } from '../../src/spec/virtual-packages.js';
import { mergeEnvironmentSpecs, parseEnvironmentYaml } from '../../src/spec/environment.js';
import { InputError } from '../../src/errors.js';
import { projectRoot } from '../support/fixtures.js';
import { join } from 'node:path';

describe('selectors', () => {
  it.each([
    ['linux', ['linux-64', 'linux-aarch64', 'linux-ppc64le']],
    ['osx', ['osx-64', 'osx-arm64']],
    ['win', ['win-64', 'win-arm64']],
    ['unix', ['linux-64', 'linux-aarch64', 'linux-ppc64le', 'osx-64', 'osx-arm64']],
    ['linux64', ['linux-64']],
    ['aarch64', ['linux-aarch64']],
    ['ppc64le', ['linux-ppc64le']],
    ['osx64', ['osx-64']],
    ['arm64', ['osx-arm64', 'win-arm64']],
    ['win64', ['win-64']],
    ['x86_64', ['linux-64', 'osx-64', 'win-64']],
    ['not win', ['linux-64', 'linux-aarch64', 'linux-ppc64le', 'osx-64', 'osx-arm64']],
    ['osx and arm64', ['osx-arm64']],
    ['linux and not (aarch64 or ppc64le)', ['linux-64']],
    ['not not win64', ['win-64']],
    ['win or osx and arm64', ['osx-arm64', 'win-64', 'win-arm64']],
  ])('[%s]', (expr, platforms) => {
    expect(selectorPlatforms(expr)).toEqual(platforms);
  });
  it.each(['py>=38', 'linux and', '(linux', 'linux)', 'foo', 'linux,osx', '', 'x86_64 linux'])('rejects [%s]', (expr) => {
    expect(() => evaluateSelector(expr, 'linux-64')).toThrow(InputError);
  });
  it.each([
    ['  # [win]', 'win'],
    [' #[ osx ]  ', 'osx'],
    ['  # needed for tests [linux64]', 'linux64'],
    ['  # plain comment', undefined],
    ['  # [win] trailing text', undefined],
    ['', undefined],
    // A plain remark ending in brackets is not a selector (matplotlib's environment.yml).
    ['  # needed for sphinx-gallery[parallel]', undefined],
    ['  # see [the docs]', undefined],
    ['  # extras [all]', undefined],
    ['  # [not win]', 'not win'],
    ['  # [py>=39 and linux]', 'py>=39 and linux'],
    ['  # only [linux and not aarch64]', 'linux and not aarch64'],
    // The whole comment in brackets is a selector, so a typo is reported rather than ignored.
    ['  # [linx]', 'linx'],
  ])('comment %j → %j', (rest, sel) => {
    expect(parseSelectorComment(rest)).toBe(sel);
  });
  it('a python-version selector is refused with what to write instead', () => {
    expect(() => evaluateSelector('py>=39 and linux', 'linux-64')).toThrow(/version selectors .* not supported.*python >=3\.9/);
  });
});

describe('environment files: comments and micromamba sel()', () => {
  it('a bracketed plain comment leaves the dependency on every platform', () => {
    const env = parseEnvironmentYaml('channels: [conda-forge]\ndependencies:\n  - joblib  # needed for sphinx-gallery[parallel]\n  - pywin32  # [win]\n', 'e.yml');
    expect(env.dependencies.map((d) => [d.text, d.platforms])).toEqual([
      ['joblib', undefined],
      ['pywin32', ['win-64', 'win-arm64']],
    ]);
  });
  it('sel(linux): pkg applies to the platforms the selector names', () => {
    const env = parseEnvironmentYaml(
      'channels: [conda-forge]\ndependencies:\n  - python\n  - sel(linux): patchelf >=0.17\n  - sel(win): pywin32\n  - sel(not win): zlib\n',
      'e.yml',
    );
    expect(env.dependencies.map((d) => [d.spec.toString(), d.selector, d.platforms, d.line])).toEqual([
      ['python', undefined, undefined, 3],
      ['patchelf >=0.17', 'linux', ['linux-64', 'linux-aarch64', 'linux-ppc64le'], 4],
      ['pywin32', 'win', ['win-64', 'win-arm64'], 5],
      ['zlib', 'not win', ['linux-64', 'linux-aarch64', 'linux-ppc64le', 'osx-64', 'osx-arm64'], 6],
    ]);
  });
  it('sel() with an unknown name or a non-string value names the line', () => {
    expect(() => parseEnvironmentYaml('channels: [c]\ndependencies:\n  - sel(linx): zlib\n', 'e.yml')).toThrow(/e\.yml:3.*unknown name 'linx'/);
    expect(() => parseEnvironmentYaml('channels: [c]\ndependencies:\n  - sel(linux): [zlib]\n', 'e.yml')).toThrow(/e\.yml:3/);
  });
});

describe('parseVirtualPackageSpecFile errors', () => {
  it.each([
    ['no subdirs', 'packages: {}\n', 1, /needs a 'subdirs:' mapping/],
    ['noarch', 'subdirs:\n  noarch:\n    packages: {__unix: "0"}\n', 2, /'noarch' cannot have virtual packages/],
    ['unknown subdir with hint', 'subdirs:\n  osx-aarch64:\n    packages: {__osx: "12"}\n', 2, /unknown platform 'osx-aarch64' \(did you mean 'osx-arm64'\?\)/],
    ['not a virtual package', 'subdirs:\n  linux-64:\n    packages:\n      glibc: "2.17"\n', 4, /'glibc' is not a virtual package name/],
    ['bad version', 'subdirs:\n  linux-64:\n    packages:\n      __glibc: ">=2.17"\n', 4, /'>=2\.17' is not a valid version/],
    ['missing packages', 'subdirs:\n  linux-64:\n    __glibc: "2.17"\n', 3, /subdirs\.linux-64 must be a mapping with 'packages:'/],
    ['extra key', 'subdirs:\n  linux-64:\n    packages: {}\nversion: 2\n', 4, /unknown key 'version'/],
  ])('%s', (_n, text, line, re) => {
    let err: InputError | undefined;
    try {
      parseVirtualPackageSpecFile(text, 'vp.yml');
    } catch (e) {
      err = e as InputError;
    }
    expect(err).toBeInstanceOf(InputError);
    expect(err!.message).toMatch(re);
    expect(err!.location?.line).toBe(line);
    expect(err!.location?.file).toBe('vp.yml');
  });
  it('null removes a default', () => {
    expect(parseVirtualPackageSpecFile('subdirs:\n  osx-64:\n    packages:\n      __osx: null\n', 'vp.yml')).toEqual([
      { name: '__osx', remove: true, platforms: ['osx-64'] },
    ]);
  });
});

describe('environment schema', () => {
  const schema = JSON.parse(readFileSync(join(projectRoot, 'schemas', 'environment.schema.json'), 'utf8'));
  it('is draft 2020-12 and its platform enum matches KNOWN_PLATFORMS', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$defs.platform.enum).toEqual([...KNOWN_PLATFORMS]);
    const vpPattern = new RegExp(Object.keys(schema.$defs.virtualPackages.patternProperties)[1]!);
    for (const p of KNOWN_PLATFORMS) expect(vpPattern.test(p)).toBe(true);
    expect(vpPattern.test('noarch')).toBe(false);
  });
});

describe('mergeEnvironmentSpecs', () => {
  const a = parseEnvironmentYaml('channels: [conda-forge]\nplatforms: [osx-arm64]\ndependencies: [python]\ngo: "1.22.*"\n', 'a.yml');
  const b = parseEnvironmentYaml('channels: [bioconda, conda-forge, nodefaults]\nplatforms: [linux-64]\ndependencies: [pytest]\n', 'b.yml');
  it('unites channels, platforms and dependencies in order', () => {
    const m = mergeEnvironmentSpecs([a, b]);
    expect(m.channels).toEqual(['conda-forge', 'bioconda']);
    expect(m.nodefaults).toBe(true);
    expect(m.platforms).toEqual(['linux-64', 'osx-arm64']);
    expect(m.dependencies.map((d) => `${d.file}:${d.spec.name}`)).toEqual(['a.yml:python', 'b.yml:pytest']);
    expect(m.go?.file).toBe('a.yml');
  });
  it('rejects the Go toolchain in two files', () => {
    const c = parseEnvironmentYaml('dependencies:\n  - go: "1.21.*"\n', 'c.yml');
    expect(() => mergeEnvironmentSpecs([a, c])).toThrow(/given in two files \(also at a\.yml:4\)/);
  });
  it('rejects defaults in one file with nodefaults in another', () => {
    const d = parseEnvironmentYaml('channels: [defaults]\ndependencies: [zlib]\n', 'd.yml');
    expect(() => mergeEnvironmentSpecs([b, d])).toThrow(/'defaults' and 'nodefaults'/);
  });
});
