import { describe, expect, it } from 'vitest';
import {
  CONDA_SUBDIRS,
  isCondaSubdir,
  KNOWN_PLATFORMS,
  KNOWN_SUBDIRS,
  hostPlatform,
  isPlatform,
  isSubdir,
  isUnix,
  isWindows,
  parsePlatform,
  parsePlatforms,
  parseSubdir,
  platformArch,
  platformOs,
  sortPlatforms,
  type Platform,
} from '../../src/conda/platform.js';
import { UsageError } from '../../src/errors.js';

describe('platform table', () => {
  const table: Array<[Platform, string, string, boolean]> = [
    ['linux-64', 'linux', 'x86_64', false],
    ['linux-aarch64', 'linux', 'aarch64', false],
    ['linux-ppc64le', 'linux', 'ppc64le', false],
    ['osx-64', 'osx', 'x86_64', false],
    ['osx-arm64', 'osx', 'arm64', false],
    ['win-64', 'win', 'x86_64', true],
    ['win-arm64', 'win', 'arm64', true],
  ];
  it('lists exactly the seven target platforms', () => {
    expect([...KNOWN_PLATFORMS].sort()).toEqual(table.map((r) => r[0]).sort());
  });
  it.each(table)('%s → os %s, arch %s, windows %s', (p, os, arch, win) => {
    expect(parsePlatform(p)).toBe(p);
    expect(platformOs(p)).toBe(os);
    expect(platformArch(p)).toBe(arch);
    expect(isWindows(p)).toBe(win);
    expect(isUnix(p)).toBe(!win);
  });
});

describe('parsePlatform', () => {
  it('accepts surrounding whitespace and upper case', () => {
    expect(parsePlatform(' Linux-64 ')).toBe('linux-64');
  });
  it.each([
    ['linux-arm64', 'linux-aarch64'],
    ['osx-aarch64', 'osx-arm64'],
    ['darwin-arm64', 'osx-arm64'],
    ['win-amd64', 'win-64'],
  ])('rejects %s with a hint to %s', (input, hint) => {
    expect(() => parsePlatform(input)).toThrow(UsageError);
    expect(() => parsePlatform(input)).toThrow(`did you mean '${hint}'`);
  });
  it('names every valid platform in the error', () => {
    let err: unknown;
    try {
      parsePlatform('solaris-sparc', '--platform');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const msg = (err as Error).message;
    expect(msg).toContain("unknown --platform 'solaris-sparc'");
    for (const p of KNOWN_PLATFORMS) expect(msg).toContain(p);
    expect(msg).not.toContain('did you mean');
    expect((err as UsageError).code).toBe('E_USAGE');
  });
  it('rejects noarch as a target with an explanation', () => {
    expect(() => parsePlatform('noarch')).toThrow(/channel subdir, not a platform/);
  });
  it.each(['', 'linux', 'win-32', 'linux-armv7l', 'osx-arm64 x'])('rejects %j', (s) => {
    expect(() => parsePlatform(s)).toThrow(UsageError);
  });
});

describe('subdirs', () => {
  it('noarch is a subdir but not a platform', () => {
    expect(isSubdir('noarch')).toBe(true);
    expect(isPlatform('noarch')).toBe(false);
    expect(parseSubdir('noarch')).toBe('noarch');
    expect(KNOWN_SUBDIRS).toHaveLength(KNOWN_PLATFORMS.length + 1);
    expect(KNOWN_SUBDIRS.at(-1)).toBe('noarch');
  });
  it('rejects unknown subdirs', () => {
    expect(() => parseSubdir('win-32')).toThrow(/unknown subdir 'win-32'/);
  });
});

describe('parsePlatforms', () => {
  it('splits commas, drops duplicates and sorts into the canonical order', () => {
    expect(parsePlatforms(['win-64,linux-64', 'osx-arm64', 'linux-64', ''])).toEqual(['linux-64', 'osx-arm64', 'win-64']);
  });
  it('fails on the first bad entry', () => {
    expect(() => parsePlatforms(['linux-64', 'bogus'])).toThrow(/unknown platform 'bogus'/);
  });
  it('sortPlatforms is independent of input order', () => {
    const shuffled: Platform[] = ['win-arm64', 'linux-ppc64le', 'osx-64', 'linux-64'];
    expect(sortPlatforms(shuffled)).toEqual(['linux-64', 'linux-ppc64le', 'osx-64', 'win-arm64']);
    expect(sortPlatforms([...shuffled].reverse())).toEqual(sortPlatforms(shuffled));
  });
});

describe('hostPlatform', () => {
  it.each([
    ['linux', 'x64', 'linux-64'],
    ['linux', 'arm64', 'linux-aarch64'],
    ['linux', 'ppc64', 'linux-ppc64le'],
    ['darwin', 'x64', 'osx-64'],
    ['darwin', 'arm64', 'osx-arm64'],
    ['win32', 'x64', 'win-64'],
    ['win32', 'arm64', 'win-arm64'],
  ])('%s/%s → %s', (os, arch, expected) => {
    expect(hostPlatform(os, arch)).toBe(expected);
  });
  it.each([
    ['freebsd', 'x64'],
    ['linux', 'ia32'],
    ['linux', 's390x'],
    ['darwin', 'ppc64'],
  ])('%s/%s is not a conda platform', (os, arch) => {
    expect(() => hostPlatform(os, arch)).toThrow(/pass --platform/);
  });
  it('defaults to the running process', () => {
    const p = hostPlatform();
    expect(isPlatform(p)).toBe(true);
    expect(platformOs(p)).toBe(process.platform === 'darwin' ? 'osx' : process.platform === 'win32' ? 'win' : 'linux');
  });
});

describe('CONDA_SUBDIRS: the one list of subdirs conda knows', () => {
  it('holds every lockable subdir and the ones we only recognise', () => {
    for (const s of KNOWN_SUBDIRS) expect(isCondaSubdir(s)).toBe(true);
    for (const s of ['win-32', 'linux-armv7l', 'linux-s390x', 'emscripten-wasm32', 'wasi-wasm32', 'zos-z']) expect(isCondaSubdir(s)).toBe(true);
    expect(isCondaSubdir('linux-65')).toBe(false);
    expect(isCondaSubdir('label')).toBe(false);
    expect(CONDA_SUBDIRS.size).toBe(18);
  });
});
