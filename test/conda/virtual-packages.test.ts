import { describe, expect, it } from 'vitest';
import { KNOWN_PLATFORMS, type Platform } from '../../src/conda/platform.js';
import {
  checkOverride,
  defaultVirtualPackages,
  formatVirtualPackages,
  overrideFromValue,
  parseVirtualPackageOverrides,
  virtualPackagesByPlatform,
} from '../../src/conda/virtual-packages.js';
import { UsageError } from '../../src/errors.js';

const short = (p: Platform, o = parseVirtualPackageOverrides('')) => formatVirtualPackages(defaultVirtualPackages(p, o));

describe('defaultVirtualPackages', () => {
  const expected: Record<Platform, string> = {
    'linux-64': '__archspec=1=x86_64,__glibc=2.28=0,__linux=5.10=0,__unix=0=0',
    'linux-aarch64': '__archspec=1=aarch64,__glibc=2.28=0,__linux=5.10=0,__unix=0=0',
    'linux-ppc64le': '__archspec=1=ppc64le,__glibc=2.28=0,__linux=5.10=0,__unix=0=0',
    'osx-64': '__archspec=1=x86_64,__osx=10.15=0,__unix=0=0',
    'osx-arm64': '__archspec=1=arm64,__osx=11.0=0,__unix=0=0',
    'win-64': '__archspec=1=x86_64,__win=0=0',
    'win-arm64': '__archspec=1=arm64,__win=0=0',
  };
  it.each(KNOWN_PLATFORMS.map((p) => [p, expected[p]] as const))('%s → %s', (p, want) => {
    expect(short(p)).toBe(want);
  });
  it('records are well-formed package records for the platform', () => {
    for (const p of KNOWN_PLATFORMS) {
      for (const r of defaultVirtualPackages(p)) {
        expect(r).toEqual({ name: r.name, version: r.version, build: r.build, build_number: 0, subdir: p, depends: [], constrains: [] });
        expect(r.name.startsWith('__')).toBe(true);
      }
    }
  });
  it('has no __cuda by default anywhere', () => {
    for (const [, recs] of virtualPackagesByPlatform()) expect(recs.map((r) => r.name)).not.toContain('__cuda');
  });
  it('returns fresh objects (callers may mutate)', () => {
    const a = defaultVirtualPackages('linux-64');
    a[0]!.version = 'x';
    expect(defaultVirtualPackages('linux-64')[0]!.version).toBe('1');
  });
});

describe('overrides', () => {
  it('set a version only on the platforms the package belongs to', () => {
    const o = parseVirtualPackageOverrides('__glibc=2.17,__osx=12.0,__cuda=12.2');
    expect(short('linux-64', o)).toBe('__archspec=1=x86_64,__cuda=12.2=0,__glibc=2.17=0,__linux=5.10=0,__unix=0=0');
    expect(short('osx-arm64', o)).toBe('__archspec=1=arm64,__osx=12.0=0,__unix=0=0');
    expect(short('osx-64', o)).toBe('__archspec=1=x86_64,__osx=12.0=0,__unix=0=0');
    expect(short('win-64', o)).toBe('__archspec=1=x86_64,__cuda=12.2=0,__win=0=0');
  });
  it('remove with an empty value', () => {
    const o = parseVirtualPackageOverrides(['__cuda=12.0', '__cuda=,__glibc=']);
    expect(short('linux-64', o)).toBe('__archspec=1=x86_64,__linux=5.10=0,__unix=0=0');
  });
  it('set a build string (archspec microarchitecture)', () => {
    const o = parseVirtualPackageOverrides('__archspec=1=x86_64_v3');
    expect(short('linux-64', o)).toContain('__archspec=1=x86_64_v3');
    // applies to every platform: the user asked for it
    expect(short('osx-arm64', o)).toContain('__archspec=1=x86_64_v3');
  });
  it('restrict to one platform with a prefix', () => {
    const o = parseVirtualPackageOverrides('linux-aarch64:__glibc=2.17');
    expect(short('linux-aarch64', o)).toContain('__glibc=2.17=0');
    expect(short('linux-64', o)).toContain('__glibc=2.28=0');
  });
  it('unknown virtual packages are added everywhere', () => {
    const o = parseVirtualPackageOverrides('__mpi=4.1');
    for (const p of KNOWN_PLATFORMS) expect(short(p, o)).toContain('__mpi=4.1=0');
  });
  it('later overrides win', () => {
    const o = parseVirtualPackageOverrides('__glibc=2.17,__glibc=2.34');
    expect(short('linux-64', o)).toContain('__glibc=2.34=0');
  });
  it('keeps the existing build when only the version changes', () => {
    expect(short('linux-64', [{ name: '__archspec', version: '2' }])).toContain('__archspec=2=x86_64');
  });
  it('explicit platforms override the OS rule', () => {
    expect(short('osx-64', [{ name: '__glibc', version: '2.17', platforms: ['osx-64'] }])).toContain('__glibc=2.17=0');
  });
});

describe('parseVirtualPackageOverrides errors', () => {
  it.each([
    ['glibc=2.17', /'glibc' is not a virtual package name/],
    ['__glibc', /must be name=version/],
    ['__glibc=2.17.*', /not a valid version/],
    ['__glibc=_2', /'_2' is not a valid version/],
    ['__glibc=1!', /'1!' is not a valid version/],
    ['__glibc=>=2.17', /not a valid version|too many/],
    ['__archspec=1=x86 64', /not a valid build|not a valid version/],
    ['__archspec=1=a=b', /too many '='/],
    ['linux-32:__glibc=2.17', /unknown platform 'linux-32'/],
  ])('%j', (input, re) => {
    expect(() => parseVirtualPackageOverrides(input)).toThrow(UsageError);
    expect(() => parseVirtualPackageOverrides(input)).toThrow(re);
  });
  it('names the flag', () => {
    expect(() => parseVirtualPackageOverrides('x=1', '--vp')).toThrow(/^--vp: /);
  });
  it('accepts epochs, local versions and letters', () => {
    expect(parseVirtualPackageOverrides('__a=2!1.0,__b=1.0+local,__c=1.0a1').map((o) => o.version)).toEqual(['2!1.0', '1.0+local', '1.0a1']);
  });
  it('ignores empty items', () => {
    expect(parseVirtualPackageOverrides(' , ,')).toEqual([]);
  });
});

describe('overrideFromValue (YAML values)', () => {
  it.each([
    ['2.17', { name: '__glibc', version: '2.17' }],
    ['1 x86_64_v2', { name: '__glibc', version: '1', build: 'x86_64_v2' }],
    ['1=x86_64_v2', { name: '__glibc', version: '1', build: 'x86_64_v2' }],
    ['', { name: '__glibc', remove: true }],
    [null, { name: '__glibc', remove: true }],
  ])('%j', (value, want) => {
    expect(overrideFromValue('__glibc', value)).toEqual(want);
    expect(checkOverride(overrideFromValue('__glibc', value))).toBeUndefined();
  });
  it('rejects three parts', () => {
    expect(checkOverride(overrideFromValue('__glibc', '1 2 3'))).toMatch(/not a valid version/);
  });
});
