/** A JSON list of another shape (actions/go-versions' manifest) is named as the wrong feed, not "no release matches". */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GoToolchainError } from '../../src/errors.js';
import { parseGoReleases } from '../../src/go/releases.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

describe('parseGoReleases on a feed that is not go.dev/dl', () => {
  it('entries that are all non-Go names → E_GO_RELEASES naming the right feed', () => {
    const json = [{ version: '1.22.5', stable: true, files: [{ filename: 'go-1.22.5-linux-x64.tar.gz' }] }];
    let err: unknown;
    try {
      parseGoReleases(json, 'manifest.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GoToolchainError);
    expect((err as GoToolchainError).code).toBe('E_GO_RELEASES');
    expect((err as Error).message).toContain('manifest.json');
    expect((err as Error).message).toContain('"1.22.5"');
    expect((err as Error).message).toContain('https://go.dev/dl/?mode=json&include=all');
  });

  it.skipIf(!haveFixtures)("actions/go-versions' real manifest is refused the same way", () => {
    const json = JSON.parse(readFileSync(fixture('go', 'actions-go-versions__versions-manifest.json'), 'utf8')) as unknown;
    expect(() => parseGoReleases(json, 'versions-manifest.json')).toThrow(/none of its \d+ entries is a go\.dev\/dl release/);
  });

  it('an empty list is still accepted (no release matches later, with its own message)', () => {
    expect(parseGoReleases([])).toEqual([]);
  });
});

describe('resolveGoToolchain with a feed URL that lacks include=all', () => {
  it('a spec only older releases match says to add include=all', async () => {
    const { resolveGoToolchain } = await import('../../src/go/resolve.js');
    const newest = [
      {
        version: 'go1.23.1',
        stable: true,
        files: [{ filename: 'go1.23.1.linux-amd64.tar.gz', os: 'linux', arch: 'amd64', version: 'go1.23.1', sha256: 'a'.repeat(64), size: 1, kind: 'archive' }],
      },
    ];
    const http = { getJson: async <T>() => newest as T };
    const run = (url: string) => resolveGoToolchain({ spec: '1.21.*', platforms: ['linux-64'], http, releasesUrl: url });
    await expect(run('https://go.dev/dl/?mode=json')).rejects.toThrow(/add &include=all/);
    await expect(run('https://go.dev/dl/?mode=json&include=all')).rejects.toThrow(/no Go release matches '1\.21\.\*'/);
    await expect(run('https://go.dev/dl/?mode=json&include=all')).rejects.not.toThrow(/include=all, so/);
  });
});
