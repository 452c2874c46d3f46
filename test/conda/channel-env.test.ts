/** `$VAR` / `${VAR}` credentials in channel URLs: expansion, templates, where variables may sit. */
import { describe, expect, it } from 'vitest';
import { Channel, expandChannels } from '../../src/conda/channel.js';
import { canonicalTemplate, envVarNames, expandEnvVars, hasEnvVars, unsetEnvVars } from '../../src/conda/channel-env.js';
import { InputError } from '../../src/errors.js';
import { redactUrl } from '../../src/net/redact.js';

const ENV = { MY_TOKEN: 'tk-123', USER_NAME: 'me-user', PASS: 'p@ss:w/rd' };

describe('channel-env helpers', () => {
  it('finds $NAME and ${NAME}, sorted and once', () => {
    expect(envVarNames('https://$B:${A}@h/t/${B}/c')).toEqual(['A', 'B']);
    expect(hasEnvVars('https://h/c')).toBe(false);
    expect(hasEnvVars('https://h/t/$X/c')).toBe(true);
    expect(hasEnvVars('cost $5')).toBe(false);
  });
  it('hasEnvVars before envVarNames does not make it skip the first variable (a PyPI index template)', () => {
    const t = 'http://${PYPI_USER}:${PYPI_PASSWORD}@127.0.0.1/simple';
    expect(hasEnvVars(t)).toBe(true);
    expect(envVarNames(t)).toEqual(['PYPI_PASSWORD', 'PYPI_USER']);
  });
  it('canonical template writes ${NAME}', () => {
    expect(canonicalTemplate('https://$U:${P}@h/t/$T/c')).toBe('https://${U}:${P}@h/t/${T}/c');
  });
  it('expands with percent-encoding; empty counts as unset', () => {
    expect(expandEnvVars('https://${USER_NAME}:${PASS}@h/c', ENV)).toBe('https://me-user:p%40ss%3Aw%2Frd@h/c');
    expect(unsetEnvVars(['A', 'B', 'MY_TOKEN'], { A: '', ...ENV })).toEqual(['A', 'B']);
    expect(() => expandEnvVars('$NOPE', {})).toThrow(/NOPE/);
  });
});

describe('Channel.parse with environment variables', () => {
  // input, template, variables, subdirUrl('osx-64') with ENV
  const table: Array<[string, string, string[], string]> = [
    ['https://host/t/${MY_TOKEN}/chan', 'https://host/t/${MY_TOKEN}/chan', ['MY_TOKEN'], 'https://host/t/tk-123/chan/osx-64'],
    ['https://host/t/$MY_TOKEN/chan/', 'https://host/t/${MY_TOKEN}/chan', ['MY_TOKEN'], 'https://host/t/tk-123/chan/osx-64'],
    ['https://host/t/${MY_TOKEN}/chan/linux-64', 'https://host/t/${MY_TOKEN}/chan', ['MY_TOKEN'], 'https://host/t/tk-123/chan/osx-64'],
    ['https://${USER_NAME}:${PASS}@host/chan', 'https://${USER_NAME}:${PASS}@host/chan', ['PASS', 'USER_NAME'], 'https://me-user:p%40ss%3Aw%2Frd@host/chan/osx-64'],
    ['https://$MY_TOKEN@host:8443/a/b', 'https://${MY_TOKEN}@host:8443/a/b', ['MY_TOKEN'], 'https://tk-123@host:8443/a/b/osx-64'],
  ];
  it.each(table)('%s', (input, template, vars, subdirUrl) => {
    const bare = Channel.parse(input);
    expect(bare.urlTemplate).toBe(template);
    expect(bare.usedEnvVars).toEqual(vars);
    expect(bare.hasCredentials).toBe(false);
    expect(bare.subdirUrl('osx-64')).toBe(`${bare.baseUrl}/osx-64`);
    const c = Channel.parse(input, { env: ENV });
    expect(c.urlTemplate).toBe(template);
    expect(c.baseUrl).toBe(bare.baseUrl);
    expect(c.baseUrl).not.toMatch(/\$|tk-123|me:/);
    expect(c.hasCredentials).toBe(true);
    expect(c.subdirUrl('osx-64')).toBe(subdirUrl);
    expect(c.credentialedUrl(`${c.baseUrl}/osx-64/x-1-0.conda`)).toBe(`${subdirUrl}/x-1-0.conda`);
    expect(c.credentialedUrl('https://elsewhere/osx-64/x-1-0.conda')).toBe('https://elsewhere/osx-64/x-1-0.conda');
    expect(JSON.stringify(c)).not.toContain('tk-123');
    expect(c.redacted).toContain('********');
  });

  it('a channel name under an alias with a variable token inherits the template', () => {
    const c = Channel.parse('conda-forge', { channelAlias: 'https://mirror/t/${MY_TOKEN}', env: ENV });
    expect(c.name).toBe('conda-forge');
    expect(c.baseUrl).toBe('https://mirror/conda-forge');
    expect(c.urlTemplate).toBe('https://mirror/t/${MY_TOKEN}/conda-forge');
    expect(c.subdirUrl('noarch')).toBe('https://mirror/t/tk-123/conda-forge/noarch');
    // a full URL does not take the alias's variables
    expect(Channel.parse('https://other/chan', { channelAlias: 'https://mirror/t/${NOT_SET}', env: {} }).urlTemplate).toBeUndefined();
  });

  it('expandChannels passes the environment on', () => {
    const [a, b] = expandChannels(['https://host/t/${MY_TOKEN}/chan', 'conda-forge'], { env: ENV });
    expect(a!.subdirUrl('noarch')).toBe('https://host/t/tk-123/chan/noarch');
    expect(b!.urlTemplate).toBeUndefined();
  });

  it('an unset variable is E_CHANNEL_ENV_UNSET naming every unset variable, never a value', () => {
    const err = (() => {
      try {
        Channel.parse('https://${USER_NAME}:${OTHER}@host/t/${THIRD}/chan', { env: ENV });
      } catch (e) {
        return e as InputError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err.code).toBe('E_CHANNEL_ENV_UNSET');
    expect(err.message).toContain('OTHER and THIRD');
    expect(err.message).toContain('https://${USER_NAME}:${OTHER}@host/t/${THIRD}/chan');
    expect(err.message).not.toContain('me-user');
  });

  it.each([
    ['https://${HOST}/chan', /token .* or the user:password@ part/],
    ['https://host/${PATH_PART}/chan', /token .* or the user:password@ part/],
    ['https://host/t/tk-${MY_TOKEN}/chan', /exactly one variable/],
    ['https://literal-user:${PASS}@host/chan', /mixes a literal credential/],
    ['https://${USER_NAME}:literal@host/chan', /mixes a literal credential/],
    ['https://${USER_NAME}@host/t/literal-token/chan', /mixes a literal credential/],
  ])('rejects %s', (input, why) => {
    expect(() => Channel.parse(input, { env: ENV })).toThrow(why);
    expect(() => Channel.parse(input)).toThrow(why);
  });

  it('channels without variables are unchanged', () => {
    const c = Channel.parse('https://host/t/literal-tk/chan');
    expect(c.urlTemplate).toBeUndefined();
    expect(c.usedEnvVars).toEqual([]);
    expect(c.subdirUrl('noarch')).toBe('https://host/t/literal-tk/chan/noarch');
  });

  it('redactUrl keeps variable references (no secret) and masks values', () => {
    expect(redactUrl('https://host/t/${MY_TOKEN}/chan')).toBe('https://host/t/${MY_TOKEN}/chan');
    expect(redactUrl('https://$U:${P}@host/chan')).toBe('https://$U:${P}@host/chan');
    expect(redactUrl('https://host/t/tk-123/chan')).toBe('https://host/t/********/chan');
    expect(redactUrl('https://me:${P}@host/chan')).toBe('https://********@host/chan');
  });
});
