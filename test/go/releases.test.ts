import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GoToolchainError } from '../../src/errors.js';
import { type GoRelease, parseGoReleases, parseGoSpec, selectGoRelease } from '../../src/go/releases.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

function load(name: string): unknown {
  return JSON.parse(readFileSync(fixture('go', name), 'utf8'));
}

function selectErr(releases: GoRelease[], spec: string, prerelease = false): GoToolchainError {
  try {
    selectGoRelease(releases, spec, { prerelease, source: 'fixture' });
  } catch (err) {
    expect(err).toBeInstanceOf(GoToolchainError);
    return err as GoToolchainError;
  }
  throw new Error(`expected no match for ${spec}`);
}

describe('parseGoSpec', () => {
  it.each(['banana', '>=', '1.22,,1.23', 'toolchain default', 'toolchain 1.22.5', 'go go1.22', '~1.22', '>=1.22 <1.23'])(
    'rejects %j with E_GO_SPEC',
    (s) => {
      expect(() => parseGoSpec(s)).toThrow(expect.objectContaining({ code: 'E_GO_SPEC' }));
    },
  );

  it('marks specs naming a pre-release', () => {
    expect(parseGoSpec('1.21rc2')).toMatchObject({ kind: 'constraints', namesPrerelease: true });
    expect(parseGoSpec('>=1.21beta1,<1.22')).toMatchObject({ namesPrerelease: true });
    expect(parseGoSpec('1.21.*')).toMatchObject({ namesPrerelease: false });
    expect(parseGoSpec('toolchain go1.21rc3')).toMatchObject({ namesPrerelease: true });
  });
});

describe.skipIf(!haveFixtures)('selectGoRelease on go.dev include=all (2021-11-08)', () => {
  let releases: GoRelease[];
  beforeAll(() => {
    releases = parseGoReleases(load('go-dl-include-all-2021-11-08.json'));
  });

  it('parses all 202 releases, newest first, keeping files and hashes', () => {
    expect(releases).toHaveLength(202);
    expect(releases[0]!.version).toBe('go1.17.3');
    expect(releases.at(-1)!.version).toBe('go1');
    const r = releases.find((x) => x.version === 'go1.16.5')!;
    expect(r.stable).toBe(true);
    expect(r.files.some((f) => f.kind === 'source' && f.os === '')).toBe(true);
    expect(r.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
  });

  it.each([
    ['1.17.*', false, 'go1.17.3'],
    ['1.16', false, 'go1.16.10'],
    ['1.16.*', false, 'go1.16.10'],
    ['>=1.15,<1.17', false, 'go1.16.10'],
    ['>=1.15.3, <=1.15.8', false, 'go1.15.8'],
    ['1.16.5', false, 'go1.16.5'],
    ['go1.16.5', false, 'go1.16.5'],
    ['==1.16.5', false, 'go1.16.5'],
    ['1.16.0', false, 'go1.16'],
    ['go1.16', false, 'go1.16'],
    ['go1.16.*', false, 'go1.16.10'],
    ['1.16', false, 'go1.16.10'],
    ['stable', false, 'go1.17.3'],
    ['latest', false, 'go1.17.3'],
    ['STABLE', true, 'go1.17.3'],
    ['1.*', false, 'go1.17.3'],
    ['!=1.17.*', false, 'go1.16.10'],
    ['<1.17', false, 'go1.16.10'],
    ['<1.17', true, 'go1.17rc2'],
    ['1.17rc2', false, 'go1.17rc2'],
    ['go1.17beta1', false, 'go1.17beta1'],
    ['>=1.17rc1,<1.17', false, 'go1.17rc2'],
    ['1.9', false, 'go1.9.7'],
    ['1.9.2', false, 'go1.9.2'],
    ['toolchain go1.15.2', false, 'go1.15.2'],
    ['go 1.15', false, 'go1.15.15'],
    ['go 1.16.3', false, 'go1.16.10'],
    ['go 1.17', false, 'go1.17.3'],
  ] as const)('%j (prerelease=%s) → %s', (spec, prerelease, expected) => {
    expect(selectGoRelease(releases, spec, { prerelease }).version).toBe(expected);
  });

  it('pre-releases are skipped unless named or allowed (1.18.* has only none; 1.17 line rcs are older than 1.17)', () => {
    const err = selectErr(releases, '1.18.*');
    expect(err.code).toBe('E_GO_NO_MATCH');
    expect(err.message).toContain("'1.18.*'");
    expect(err.message).toContain('in fixture');
    expect(err.message).toMatch(/nearest available: 1\.17\.3, 1\.17\.2, 1\.17\.1/);
  });

  it('no match lists the releases around the requested version', () => {
    const err = selectErr(releases, '1.16.99');
    expect(err.message).toMatch(/nearest available: .*1\.17\b.*1\.16\.10/);
    expect(err.message.split('nearest available:')[1]).not.toMatch(/rc|beta/);
    expect(err.message).not.toContain('pre-release');
  });

  it('an exact pre-release that does not exist names rc neighbours', () => {
    const err = selectErr(releases, '1.17rc9');
    expect(err.message).toContain('1.17rc2');
  });

  it('the go directive never jumps to the next minor', () => {
    expect(() => selectGoRelease(releases, 'go 1.17.9')).toThrow(/no Go release matches 'go 1.17.9'/);
  });
});

describe.skipIf(!haveFixtures)('selectGoRelease on the setup-go snapshot (2020-02)', () => {
  it('stable ignores go1.14rc1, latest with prereleases picks it', () => {
    const releases = parseGoReleases(load('setup-go__golang-dl.json'));
    expect(releases).toHaveLength(91);
    expect(selectGoRelease(releases, 'stable').version).toBe('go1.13.7');
    expect(selectGoRelease(releases, 'stable', { prerelease: true }).version).toBe('go1.13.7');
    expect(selectGoRelease(releases, 'latest', { prerelease: true }).version).toBe('go1.14rc1');
    expect(selectGoRelease(releases, '1.14.*', { prerelease: true }).version).toBe('go1.14rc1');
    expect(() => selectGoRelease(releases, '1.14.*')).toThrow(/pre-release 1\.14rc1 matches/);
  });

  it('agrees with the include=all data for every release both contain', () => {
    const small = parseGoReleases(load('setup-go__golang-dl.json'));
    const big = new Map(parseGoReleases(load('go-dl-include-all-2021-11-08.json')).map((r) => [r.version, r]));
    for (const r of small) expect(big.get(r.version)?.files).toEqual(r.files);
  });
});

describe('parseGoReleases input checks', () => {
  it.each([
    [{}, /expected a JSON array/],
    [[1], /release \[0\] is not an object/],
    [[{ version: 'go1.2' }], /lacks a version string or a files array/],
    [[{ version: 'go1.2', files: [{}] }], /file \[0\] has no filename/],
  ])('rejects %j', (json, re) => {
    expect(() => parseGoReleases(json)).toThrow(re);
  });

  it('skips names that are not Go releases and lower-cases sha256', () => {
    const r = parseGoReleases([
      { version: 'weekly.2012-03-04', stable: true, files: [] },
      { version: 'go1.2', stable: true, files: [{ filename: 'go1.2.linux-amd64.tar.gz', os: 'linux', arch: 'amd64', sha256: 'AB'.repeat(32), size: 1, kind: 'archive' }] },
    ]);
    expect(r.map((x) => x.version)).toEqual(['go1.2']);
    expect(r[0]!.files[0]!.sha256).toBe('ab'.repeat(32));
  });
});
