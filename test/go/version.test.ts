import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GoToolchainError } from '../../src/errors.js';
import { GoVersion, compareGoVersionStrings } from '../../src/go/version.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

describe('GoVersion ordering (Go rules)', () => {
  it.each([
    ['go1.21rc2', 'go1.21.0', -1],
    ['go1.21rc1', 'go1.21rc2', -1],
    ['go1.20beta1', 'go1.20rc1', -1],
    ['go1.20rc1', 'go1.20', -1],
    ['go1.20', 'go1.20.0', 0],
    ['1.20.0', 'go1.20', 0],
    ['go1.9', 'go1.10', -1],
    ['go1.9.7', 'go1.10beta1', -1],
    ['go1.9.2rc2', 'go1.9.2', -1],
    ['go1.9.2rc2', 'go1.9.1', 1],
    ['go1', 'go1.2.2', -1],
    ['go1', '1.0.0', 0],
    ['go1.22.10', 'go1.22.9', 1],
    ['go1.21.0', 'go1.20.14', 1],
    ['go2', 'go1.99.99', 1],
  ] as const)('%s vs %s → %i', (a, b, expected) => {
    expect(compareGoVersionStrings(a, b)).toBe(expected);
    expect(compareGoVersionStrings(b, a)).toBe(-expected === 0 ? 0 : -expected);
  });

  it.each([
    ['go1.22.5', { major: 1, minor: 22, patch: 5, hasPatch: true, pre: undefined, text: '1.22.5' }],
    ['1.21rc2', { major: 1, minor: 21, patch: 0, hasPatch: false, pre: 'rc2', text: '1.21rc2' }],
    ['go1.20beta1', { major: 1, minor: 20, patch: 0, hasPatch: false, pre: 'beta1', text: '1.20beta1' }],
    ['go1', { major: 1, minor: 0, patch: 0, hasPatch: false, pre: undefined, text: '1' }],
    ['go1.9.2rc2', { major: 1, minor: 9, patch: 2, hasPatch: true, pre: 'rc2', text: '1.9.2rc2' }],
  ])('parses %s', (s, want) => {
    const v = GoVersion.parse(s);
    expect({
      major: v.major,
      minor: v.minor,
      patch: v.patch,
      hasPatch: v.hasPatch,
      pre: v.prerelease ? `${v.prerelease.kind}${v.prerelease.n}` : undefined,
      text: v.text,
    }).toEqual(want);
    expect(v.isPrerelease).toBe(want.pre !== undefined);
  });

  it.each(['', 'go', 'gox', '1.x', '1rc1', 'go1.21.0.1', 'v1.22.5', '1.22-rc1', '1.22.5 '.repeat(2)])(
    'rejects %j with GoToolchainError',
    (s) => {
      expect(GoVersion.tryParse(s)).toBeUndefined();
      expect(() => GoVersion.parse(s)).toThrow(GoToolchainError);
    },
  );
});

describe.skipIf(!haveFixtures)('ordering against real release lists', () => {
  it('sorting the go.dev include=all list reproduces the server order (versionLess, newest first)', () => {
    const json = JSON.parse(readFileSync(fixture('go', 'go-dl-include-all-2021-11-08.json'), 'utf8')) as Array<{ version: string }>;
    const names = json.map((r) => r.version);
    expect(names.length).toBe(202);
    const sorted = [...names].sort((a, b) => compareGoVersionStrings(b, a));
    expect(sorted).toEqual(names);
  });

  it('sorting the actions/go-versions manifest (semver names, 1.27.0 … 1.9.7) reproduces its order', () => {
    const json = JSON.parse(readFileSync(fixture('go', 'actions-go-versions__versions-manifest.json'), 'utf8')) as Array<{ version: string }>;
    const names = json.map((r) => r.version);
    const sorted = [...names].sort((a, b) => compareGoVersionStrings(b, a));
    expect(sorted).toEqual(names);
  });
});
