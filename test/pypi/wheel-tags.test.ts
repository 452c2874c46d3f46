import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { TagRanking, macBinaryFormats, macPlatforms, manylinuxPlatforms, parseWheelFilename, platformTags, supportedTags } from '../../src/pypi/wheel.js';
import { fixture } from '../support/fixtures.js';
import { cases, haveVectors } from './vectors.js';

describe.skipIf(!haveVectors)('wheel file names against pypa/packaging vectors', () => {
  it('parse_wheel_filename: name, version, build tag, expanded tag set', () => {
    type W = { filename: string; name: string; version: { __repr__: string }; build: [number, string] | []; tags: { __set__: Array<{ __tag__: string }> } };
    for (const c of cases<W>('test_utils', 'test_parse_wheel_filename')) {
      const w = parseWheelFilename(c.filename);
      expect(w.name, c.filename).toBe(c.name);
      expect(`<Version('${w.version.toString()}')>`).toBe(c.version.__repr__);
      expect(w.build ?? []).toEqual(c.build);
      expect([...w.tags].sort()).toEqual(c.tags.__set__.map((t) => t.__tag__).sort());
    }
  });

  it('refuses the 14 invalid names', () => {
    const list = cases<{ filename: string }>('test_utils', 'test_parse_wheel_invalid_filename');
    expect(list.length).toBe(14);
    for (const c of list) expect(() => parseWheelFilename(c.filename), c.filename).toThrow(InputError);
  });

  it('macOS binary formats', () => {
    for (const c of cases<{ version: [number, number]; arch: string; expected: string[] }>('test_tags', 'TestMacOSPlatforms::test_binary_formats')) {
      expect(macBinaryFormats(c.version, c.arch), JSON.stringify(c)).toEqual(c.expected);
    }
  });
});

describe('supported tags for a lock target', () => {
  it('glibc 2.28 x86_64: manylinux_2_28 … 2_5 with the legacy aliases after their PEP 600 names, no linux_x86_64', () => {
    const p = manylinuxPlatforms([2, 28], 'x86_64');
    expect(p[0]).toBe('manylinux_2_28_x86_64');
    expect(p).toContain('manylinux2014_x86_64');
    expect(p.indexOf('manylinux2014_x86_64')).toBe(p.indexOf('manylinux_2_17_x86_64') + 1);
    expect(p.indexOf('manylinux2010_x86_64')).toBe(p.indexOf('manylinux_2_12_x86_64') + 1);
    expect(p.at(-1)).toBe('manylinux1_x86_64');
    expect(p).not.toContain('linux_x86_64');
    const a = manylinuxPlatforms([2, 17], 'aarch64');
    expect(a).toEqual(['manylinux_2_17_aarch64', 'manylinux2014_aarch64']);
  });

  it('macOS 11 arm64 takes universal2 and arm64 wheels but not x86_64; osx-64 10.15 takes 10.9 x86_64 wheels', () => {
    const arm = macPlatforms([13, 0], 'arm64');
    expect(arm.slice(0, 2)).toEqual(['macosx_13_0_arm64', 'macosx_13_0_universal2']);
    expect(arm).toContain('macosx_11_0_arm64');
    expect(arm).toContain('macosx_10_9_universal2');
    expect(arm.some((t) => t.endsWith('x86_64'))).toBe(false);
    const intel = platformTags({ platform: 'osx-64', osx: [10, 15] });
    expect(intel[0]).toBe('macosx_10_15_x86_64');
    expect(intel).toContain('macosx_10_9_x86_64');
    expect(intel).not.toContain('macosx_11_0_x86_64');
  });

  it('orders cp39 > abi3 > none > older abi3 > py3 > any, and ranks real numpy 1.25.1 file names', () => {
    const tags = supportedTags({ implementation: 'cpython', python: [3, 9], platforms: platformTags({ platform: 'linux-64', glibc: [2, 28] }) });
    expect(tags[0]).toBe('cp39-cp39-manylinux_2_28_x86_64');
    expect(tags.indexOf('cp39-abi3-manylinux_2_17_x86_64')).toBeGreaterThan(tags.indexOf('cp39-cp39-manylinux1_x86_64'));
    expect(tags.indexOf('cp36-abi3-manylinux2014_x86_64')).toBeGreaterThan(0);
    expect(tags.at(-1)).toBe('py30-none-any');
    expect(tags).toContain('py3-none-any');
    const rank = new TagRanking(tags);
    const w = parseWheelFilename('numpy-1.25.1-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl');
    expect(rank.best(w.tags)).toBeDefined();
    expect(rank.best(parseWheelFilename('numpy-1.25.1-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl').tags)).toBeUndefined();
    expect(rank.best(parseWheelFilename('numpy-1.25.1-cp39-cp39-musllinux_1_1_x86_64.whl').tags)).toBeUndefined();
    const win = new TagRanking(supportedTags({ implementation: 'cpython', python: [3, 11], platforms: platformTags({ platform: 'win-64' }) }));
    expect(win.best(['cp311-cp311-win_amd64'])).toBe(0);
    expect(win.best(['cp311-cp311-win32'])).toBeUndefined();
    expect(win.best(['py3-none-any'])).toBeDefined();
  });

  it('free-threaded 3.13 takes cp313t wheels and not abi3', () => {
    const tags = supportedTags({ implementation: 'cpython', python: [3, 13], freeThreaded: true, platforms: ['win_amd64'] });
    expect(tags[0]).toBe('cp313-cp313t-win_amd64');
    expect(tags.some((t) => t.includes('abi3'))).toBe(false);
  });

  it.skipIf(!haveVectors)("the uv test links' edge-case wheel names parse (compressed tag sets, build tags, abi3)", () => {
    const dir = fixture('pypi', 'dists', 'uv-test-links');
    const wheels = readdirSync(dir).filter((f) => f.endsWith('.whl'));
    expect(wheels.length).toBeGreaterThan(15);
    const tags = new TagRanking(supportedTags({ implementation: 'cpython', python: [3, 12], platforms: platformTags({ platform: 'linux-64', glibc: [2, 28] }) }));
    const ok = wheels.filter((f) => tags.best(parseWheelFilename(f).tags) !== undefined);
    expect(ok).toContain('tqdm-4.66.1-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl');
    expect(ok).toContain('abi3_package-1.0.0-cp37-abi3-manylinux_2_17_x86_64.whl');
    expect(ok).not.toContain('maturin-2.0.0-py3-none-linux_x86_64.whl');
    expect(ok).not.toContain('wheel_tag_test-0.1.0-py3-none-win_amd64.whl');
    expect(ok).not.toContain('cpython_package-1.0.0-cp314-cp314-manylinux_2_17_x86_64.whl');
    expect(parseWheelFilename('multi_abi_package-1.0.0-cp314-cp314t.abi3-manylinux_2_17_x86_64.whl').tags).toEqual(['cp314-cp314t-manylinux_2_17_x86_64', 'cp314-abi3-manylinux_2_17_x86_64']);
  });
});
