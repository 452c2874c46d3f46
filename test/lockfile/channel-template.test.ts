/** Lockfile channels with `${VAR}` credentials: schema, canonical form, read checks, content hash, conda-lock render. */
import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/conda/channel.js';
import { LockfileError } from '../../src/errors.js';
import { computeContentHash } from '../../src/lockfile/content-hash.js';
import type { Lockfile, LockfileChannel } from '../../src/lockfile/model.js';
import { normaliseLockfile } from '../../src/lockfile/normalise.js';
import { parseLockfile } from '../../src/lockfile/read.js';
import { toCondaLockV1 } from '../../src/lockfile/render/conda-lock.js';
import { schemaErrors } from '../../src/lockfile/schema.js';
import { assertValidLockfile, serializeLockfile } from '../../src/lockfile/write.js';
import { sampleLockfile } from './sample.js';

const PRIVATE: LockfileChannel = { url: 'https://repo.example.com/private', used_env_vars: ['PRIV_TOKEN'], url_template: 'https://repo.example.com/t/${PRIV_TOKEN}/private' };

function withChannels(channels: LockfileChannel[]): Lockfile {
  const lf = sampleLockfile();
  lf.metadata.channels = channels;
  return lf;
}

describe('metadata.channels[].url_template / used_env_vars', () => {
  it('round trips, sorted used_env_vars, keys url, used_env_vars, url_template', () => {
    const basic: LockfileChannel = { url_template: 'https://${B_USER}:${A_PASS}@repo.example.com/basic', used_env_vars: ['B_USER', 'A_PASS'], url: 'https://repo.example.com/basic' };
    const lf = withChannels([PRIVATE, basic, { url: 'https://conda.anaconda.org/conda-forge' }]);
    const text = serializeLockfile(lf);
    expect(text).toContain('  channels:\n    - url: https://repo.example.com/private\n      used_env_vars:\n        - PRIV_TOKEN\n      url_template: https://repo.example.com/t/${PRIV_TOKEN}/private\n');
    const back = parseLockfile(text, 'x.yml');
    expect(back).toStrictEqual(normaliseLockfile(lf));
    expect(back.metadata.channels[1]!.used_env_vars).toEqual(['A_PASS', 'B_USER']);
    expect(serializeLockfile(back)).toBe(text);
  });

  it('old lockfiles without the fields still read', () => {
    const text = serializeLockfile(sampleLockfile());
    expect(text).not.toContain('url_template');
    expect(parseLockfile(text).metadata.channels).toEqual([{ url: 'https://conda.anaconda.org/conda-forge' }]);
  });

  it.each([
    ['a literal token', 'https://repo.example.com/t/tk-1234abcd/private'],
    ['a literal token next to a variable user', 'https://${U}@repo.example.com/t/tk-1234abcd/private'],
    ['a token that is partly literal', 'https://repo.example.com/t/tk${PRIV_TOKEN}/private'],
    ['a literal password', 'https://${U}:hunter2@repo.example.com/private'],
    ['a literal user:password', 'https://me:hunter2@repo.example.com/private'],
    ['no variable at all', 'https://repo.example.com/private'],
    ['a bare $VAR (the template is always ${VAR})', 'https://repo.example.com/t/$PRIV_TOKEN/private'],
  ])('the schema rejects a template with %s', (_why, url_template) => {
    const lf = withChannels([{ ...PRIVATE, url_template }]);
    expect(schemaErrors(lf).length).toBeGreaterThan(0);
    expect(() => assertValidLockfile(lf)).toThrow(/metadata\.channels\[0\]\.url_template: must be an http\(s\) channel URL with \$\{NAME\} variables/);
  });

  it('the schema wants used_env_vars and url_template together, with variable names', () => {
    expect(schemaErrors(withChannels([{ url: PRIVATE.url, url_template: PRIVATE.url_template! }])).length).toBeGreaterThan(0);
    expect(schemaErrors(withChannels([{ url: PRIVATE.url, used_env_vars: ['PRIV_TOKEN'] }])).length).toBeGreaterThan(0);
    expect(schemaErrors(withChannels([{ ...PRIVATE, used_env_vars: ['not a name'] }])).length).toBeGreaterThan(0);
    expect(schemaErrors(withChannels([PRIVATE]))).toEqual([]);
  });

  it('reading checks that the template stands for its url and names exactly used_env_vars', () => {
    for (const bad of [
      { ...PRIVATE, url: 'https://repo.example.com/other' },
      { ...PRIVATE, used_env_vars: ['OTHER_TOKEN'] },
    ]) {
      const text = serializeLockfile(withChannels([bad]));
      expect(() => parseLockfile(text, 'x.yml')).toThrow(LockfileError);
      expect(() => parseLockfile(text, 'x.yml')).toThrow(/x\.yml:\d+:\d+: metadata\.channels\[0\]\.url_template .* does not match its channel/);
    }
  });

  it('render --kind conda-lock writes the template and used_env_vars like conda-lock', () => {
    const doc = toCondaLockV1(withChannels([PRIVATE, { url: 'https://conda.anaconda.org/conda-forge' }]));
    expect(doc.metadata.channels).toEqual([
      { url: 'https://repo.example.com/t/${PRIV_TOKEN}/private', used_env_vars: ['PRIV_TOKEN'] },
      { url: 'https://conda.anaconda.org/conda-forge', used_env_vars: [] },
    ]);
  });
});

describe('content hash of a channel with ${VAR} credentials', () => {
  const hash = (channels: Array<string | Channel>) => computeContentHash({ platform: 'linux-64', channels, specs: ['zlib'], virtualPackages: [] });
  const tpl = 'https://repo.example.com/t/${PRIV_TOKEN}/private';

  it('depends on the variable names, not their values', () => {
    const a = hash([Channel.parse(tpl, { env: { PRIV_TOKEN: 'one' } })]);
    expect(hash([Channel.parse(tpl, { env: { PRIV_TOKEN: 'two' } })])).toBe(a);
    expect(hash([Channel.parse(tpl)])).toBe(a);
    expect(hash([tpl])).toBe(a);
    expect(hash(['https://repo.example.com/t/$PRIV_TOKEN/private/'])).toBe(a);
    expect(hash([Channel.parse('https://repo.example.com/t/${OTHER}/private', { env: { OTHER: 'one' } })])).not.toBe(a);
  });

  it('channels without variables hash as before (a literal token is stripped)', () => {
    const plain = hash(['https://repo.example.com/private']);
    expect(hash([Channel.parse('https://repo.example.com/t/literal/private')])).toBe(plain);
    expect(hash([tpl])).not.toBe(plain);
  });
});
