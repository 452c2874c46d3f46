/** Files that are not our lockfile get a message naming what they are, not a list of schema errors. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LockfileError } from '../../src/errors.js';
import { parseLockfile } from '../../src/lockfile/read.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

function errorOf(text: string, path: string): LockfileError {
  try {
    parseLockfile(text, path);
  } catch (err) {
    expect(err).toBeInstanceOf(LockfileError);
    return err as LockfileError;
  }
  throw new Error('parsed');
}

describe('parseLockfile on files that are not ours', () => {
  it.skipIf(!haveFixtures)('a real conda-lock v1 file is named as such (not 7 schema errors)', () => {
    const path = fixture('environments', 'conda-lock-tests', 'test-explicit-toposorted', 'conda-lock.yml');
    const e = errorOf(readFileSync(path, 'utf8'), path);
    expect(e.message).toContain('this is a conda-lock lockfile');
    expect(e.message).not.toContain('schema errors');
  });

  it.skipIf(!haveFixtures)('a file written by conda-lock 3.0.3 is named as such too', () => {
    const path = fixture('environments', 'conda-lock-tests', 'test-v2-to-v3-upgrade', 'conda-lock-v3.0.3.yml');
    const e = errorOf(readFileSync(path, 'utf8'), path);
    expect(e.message).toContain('this is a conda-lock lockfile');
    expect(e.message).not.toContain('upgrade conda-go-lock');
  });

  it('an environment file given as the lockfile says to pass it with -f', () => {
    const e = errorOf('name: x\nchannels: [conda-forge]\ndependencies: [python]\n', 'environment.yml');
    expect(e.message).toContain('this is an environment file');
    expect(e.message).toContain('-f');
  });

  it('a conda-lock style `version: 2` without `package:` still gets the version message', () => {
    const e = errorOf('version: 2\nmetadata: {}\npackages: []\ngo: []\n', 'x.yml');
    expect(e.code).toBe('E_LOCKFILE_VERSION');
  });
});
