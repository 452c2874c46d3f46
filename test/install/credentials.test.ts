/** install: credentials of channels with a url_template are put back into package URLs from the environment. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, NetworkError } from '../../src/errors.js';
import { channelCredentials } from '../../src/install/credentials.js';
import type { LockfileChannel } from '../../src/lockfile/model.js';
import { HttpClient } from '../../src/net/http.js';
import { ChannelServer } from '../support/channel-server.js';

const TOKEN_CH: LockfileChannel = { url: 'https://repo.example.com/private', used_env_vars: ['PRIV_TOKEN'], url_template: 'https://repo.example.com/t/${PRIV_TOKEN}/private' };
const BASIC_CH: LockfileChannel = { url: 'https://repo.example.com/basic', used_env_vars: ['PRIV_PASS', 'PRIV_USER'], url_template: 'https://${PRIV_USER}:${PRIV_PASS}@repo.example.com/basic' };
const PUBLIC_CH: LockfileChannel = { url: 'https://conda.anaconda.org/conda-forge' };
const pkg = (channel: string, file = 'zlib-1.3-0.conda') => ({ channel, url: `${channel}/linux-64/${file}` });
const ENV = { PRIV_TOKEN: 'tk-1', PRIV_USER: 'me-user', PRIV_PASS: 'p@ss' };

describe('channelCredentials', () => {
  const channels = [TOKEN_CH, BASIC_CH, PUBLIC_CH];

  it('puts the token / user:password back for template channels only', () => {
    const c = channelCredentials(channels, [pkg(TOKEN_CH.url), pkg(BASIC_CH.url), pkg(PUBLIC_CH.url)], ENV);
    expect(c.downloadUrl(pkg(TOKEN_CH.url))).toBe('https://repo.example.com/t/tk-1/private/linux-64/zlib-1.3-0.conda');
    expect(c.downloadUrl(pkg(BASIC_CH.url))).toBe('https://me-user:p%40ss@repo.example.com/basic/linux-64/zlib-1.3-0.conda');
    expect(c.downloadUrl(pkg(PUBLIC_CH.url))).toBe(pkg(PUBLIC_CH.url).url);
  });

  it('names every unset variable with its channel, and needs only the channels the packages use', () => {
    let err: InputError | undefined;
    try {
      channelCredentials(channels, [pkg(TOKEN_CH.url), pkg(BASIC_CH.url)], { PRIV_USER: 'me-user' });
    } catch (e) {
      err = e as InputError;
    }
    expect(err).toBeInstanceOf(InputError);
    expect(err!.code).toBe('E_CHANNEL_ENV_UNSET');
    expect(err!.message).toContain('PRIV_TOKEN (channel https://repo.example.com/private');
    expect(err!.message).toContain('PRIV_PASS (channel https://repo.example.com/basic');
    expect(err!.message).not.toContain('me-user');
    // nothing from the private channels: nothing needed
    expect(() => channelCredentials(channels, [pkg(PUBLIC_CH.url)], {})).not.toThrow();
  });

  it('a 401/403 gets a hint: how to add a template, or which variable to check', () => {
    const c = channelCredentials(channels, [pkg(TOKEN_CH.url)], ENV);
    const denied = new NetworkError('access denied (HTTP 401) for x', { code: 'E_HTTP_AUTH', status: 401 });
    const forPublic = c.explainDenied(denied, pkg(PUBLIC_CH.url)) as NetworkError;
    expect(forPublic.code).toBe('E_HTTP_AUTH');
    expect(forPublic.status).toBe(401);
    expect(forPublic.message).toMatch(/records no credentials for channel https:\/\/conda\.anaconda\.org\/conda-forge.*\$\{MY_TOKEN\}.*re-lock/);
    expect((c.explainDenied(denied, pkg(TOKEN_CH.url)) as Error).message).toMatch(/came from PRIV_TOKEN/);
    const other = new NetworkError('HTTP 500', { status: 500 });
    expect(c.explainDenied(other, pkg(PUBLIC_CH.url))).toBe(other);
  });
});

describe('user:password credentials reach the server as Basic auth', () => {
  let server: ChannelServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-cred-'));
    server = await new ChannelServer().route('/basic/linux-64/zlib-1.3-0.conda', 'bytes').start();
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('downloads with an Authorization header and no credentials in the path', async () => {
    const ch: LockfileChannel = { url: `${server.baseUrl}/basic`, used_env_vars: ['PRIV_PASS', 'PRIV_USER'], url_template: `http://\${PRIV_USER}:\${PRIV_PASS}@127.0.0.1:${new URL(server.baseUrl).port}/basic` };
    const p = pkg(ch.url);
    const c = channelCredentials([ch], [p], ENV);
    await new HttpClient({ retries: 0 }).download(c.downloadUrl(p), join(dir, 'x.conda'));
    const req = server.requestsTo('/basic/linux-64/zlib-1.3-0.conda')[0]!;
    expect(req.status).toBe(200);
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('me-user:p@ss').toString('base64')}`);
  });
});
