import { describe, expect, it } from 'vitest';
import { globToRegExp, isGlob, matchGlob } from '../../src/conda/glob.js';
import { MatchSpec } from '../../src/conda/matchspec.js';
import { VersionSpec } from '../../src/conda/version-spec.js';
import { NumberSpec } from '../../src/conda/matchspec.js';

describe('conda globs', () => {
  it.each([
    ['*', 'anything', true],
    ['*', '', true],
    ['py39_*', 'py39_0', true],
    ['py39_*', 'py39', false],
    ['*_cuda', 'h123_cuda', true],
    ['*_cuda', 'h123_cuda_0', false],
    ['*cuda*', 'cuda', true],
    ['*cuda*', 'h1_cuda112_0', true],
    ['*cuda*', 'cpu', false],
    ['py3*_2', 'py36h1_2', true],
    ['py3*_2', 'py27h1_2', false],
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false],
    ['a+b*', 'a+bc', true],
    ['(x)*', '(x)y', true],
    ['^py[0-9]+_0$', 'py39_0', true],
    ['^py[0-9]+_0$', 'pyx_0', false],
    ['h1', 'h1', true],
    ['h1', 'h12', false],
    ['*_*_*', 'a_b_c', true],
    ['*_*_*', 'a_b', false],
  ])('%s ~ %s: %s', (pattern, value, want) => {
    expect(matchGlob(pattern, value)).toBe(want);
    expect(globToRegExp(pattern).test(value)).toBe(want);
  });

  it('isGlob', () => {
    expect(isGlob('py39_0')).toBe(false);
    expect(isGlob('py*')).toBe(true);
    expect(isGlob('^x$')).toBe(true);
    expect(isGlob('^x')).toBe(false);
  });
});

describe('MatchSpec canonical text round-trips (property, seeded)', () => {
  let seed = 424242;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  const names = ['python', 'numpy', 'libgcc-ng', '_libgcc_mutex', 'zope.interface', 'r-base', '__glibc', 'py*', '*'];
  const versions = [undefined, '*', '1.2', '==1.2', '1.2.*', '=1.2', '>=1.2,<2', '>=1.2,<2|3.1.*', '(>=1|<0.5),!=0.7', '~=1.4.5', '!=1.2.*', '>=1!2.0', '1.0.1_', '^1\\.2$', '1.*.1'];
  const builds = [undefined, '*', 'py39_0', '*_cpython', 'cuda*', 'h1234567_0', 'a b', 'x>y'];
  const channels = [undefined, 'conda-forge', 'pkgs/main', 'https://conda.anaconda.org/conda-forge', 'http://127.0.0.1:9/c'];
  const subdirs = [undefined, 'linux-64', 'noarch', 'osx-arm64'];
  const numbers = [undefined, '3', '>=3', '>=1,<4', '1|2'];
  it('500 random field combinations: parse(toString()) has the same key and fields', () => {
    for (let i = 0; i < 500; i++) {
      const v = pick(versions);
      const m = new MatchSpec({
        name: pick(names),
        version: v === undefined ? undefined : VersionSpec.parse(v),
        build: pick(builds),
        buildNumber: (() => {
          const n = pick(numbers);
          return n === undefined ? undefined : NumberSpec.parse(n);
        })(),
        channel: pick(channels),
        subdir: pick(subdirs),
        md5: rand(4) === 0 ? '0123456789abcdef0123456789abcdef' : undefined,
        license: rand(5) === 0 ? 'MIT' : undefined,
        trackFeatures: rand(6) === 0 ? ['mkl'] : undefined,
      });
      const text = m.toString();
      const again = MatchSpec.parse(text);
      expect([text, again.toString()]).toEqual([text, text]);
      expect(again.version?.toString()).toBe(m.version?.toString());
      expect(again.build).toBe(m.build);
      expect(again.channel).toBe(m.channel);
      expect(again.subdir).toBe(m.subdir);
      expect(again.buildNumber?.toString()).toBe(m.buildNumber?.toString());
    }
  });
});
