/** Environment variables in `channels:` of an environment file. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parseEnvironmentYaml } from '../../src/spec/environment.js';

const text = 'channels:\n  - conda-forge\n  - https://repo.example.com/t/${PRIV_TOKEN}/private\n  - https://$PRIV_USER:$PRIV_PASS@repo.example.com/basic\ndependencies:\n  - zlib\n';

function parseError(yaml: string, env?: Record<string, string>): InputError {
  try {
    parseEnvironmentYaml(yaml, 'env.yml', env ? { env } : {});
  } catch (e) {
    return e as InputError;
  }
  throw new Error('no error');
}

describe('channels with ${VAR} credentials', () => {
  it('are kept as written; without an environment only their shape is checked', () => {
    expect(parseEnvironmentYaml(text, 'env.yml').channels).toEqual([
      'conda-forge',
      'https://repo.example.com/t/${PRIV_TOKEN}/private',
      'https://$PRIV_USER:$PRIV_PASS@repo.example.com/basic',
    ]);
  });

  it('with an environment every variable must be set', () => {
    const env = { PRIV_TOKEN: 'a', PRIV_USER: 'b', PRIV_PASS: 'c' };
    expect(parseEnvironmentYaml(text, 'env.yml', { env }).channels).toHaveLength(3);
    const err = parseError(text, { PRIV_USER: 'b' });
    expect(err.code).toBe('E_CHANNEL_ENV_UNSET');
    // the first problem names its file and line; the second is listed after it
    expect(err.message).toMatch(/^env\.yml:3:5: channel 'https:\/\/repo\.example\.com\/t\/\$\{PRIV_TOKEN\}\/private' uses environment variable PRIV_TOKEN, which is not set/);
    expect(err.message).toMatch(/env\.yml:4:5: channel 'https:\/\/\$\{PRIV_USER\}:\$\{PRIV_PASS\}@repo\.example\.com\/basic' uses environment variable PRIV_PASS/);
  });

  it('a variable outside the credentials is an error at its line', () => {
    const err = parseError('channels:\n  - https://${REPO_HOST}/chan\ndependencies:\n  - zlib\n');
    expect(err.code).toBe('E_ENV_CHANNEL');
    expect(err.message).toMatch(/^env\.yml:2:5: .*may stand only for the token/);
  });
});
