/** A conda-lock lockfile given with -f is named, and the hint says where it can be used instead. */
import { describe, expect, it } from 'vitest';
import { parseEnvironmentYaml } from '../../src/spec/environment.js';

describe('a conda-lock lockfile given as the environment file', () => {
  it('says to lock from its environment.yml, or to install it with --lockfile', () => {
    const text = 'version: 1\nmetadata:\n  platforms: [linux-64]\npackage: []\n';
    let message = '';
    try {
      parseEnvironmentYaml(text, 'conda-lock.yml');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/conda-lock lockfile, not an environment file/);
    expect(message).toContain('environment.yml');
    expect(message).toContain('install --lockfile');
  });
});
