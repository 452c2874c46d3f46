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
