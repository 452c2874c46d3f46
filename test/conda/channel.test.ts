import { inspect } from 'node:util';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, DEFAULT_CHANNEL_ALIAS, expandChannels } from '../../src/conda/channel.js';
import { InputError } from '../../src/errors.js';
import { ChannelServer } from '../support/channel-server.js';

describe('Channel.parse: names and URLs', () => {
  // input, options, expected name, expected baseUrl, expected subdirUrl('linux-64')
  const table: Array<[string, { channelAlias?: string }, string, string, string]> = [
    ['conda-forge', {}, 'conda-forge', 'https://conda.anaconda.org/conda-forge', 'https://conda.anaconda.org/conda-forge/linux-64'],
    [' bioconda ', {}, 'bioconda', 'https://conda.anaconda.org/bioconda', 'https://conda.anaconda.org/bioconda/linux-64'],
    ['conda-forge/label/dev', {}, 'conda-forge/label/dev', 'https://conda.anaconda.org/conda-forge/label/dev', 'https://conda.anaconda.org/conda-forge/label/dev/linux-64'],
    ['https://conda.anaconda.org/conda-forge/', {}, 'conda-forge', 'https://conda.anaconda.org/conda-forge', 'https://conda.anaconda.org/conda-forge/linux-64'],
    ['https://repo.prefix.dev/conda-forge', {}, 'https://repo.prefix.dev/conda-forge', 'https://repo.prefix.dev/conda-forge', 'https://repo.prefix.dev/conda-forge/linux-64'],
    ['http://127.0.0.1:1234/conda-forge', {}, 'http://127.0.0.1:1234/conda-forge', 'http://127.0.0.1:1234/conda-forge', 'http://127.0.0.1:1234/conda-forge/linux-64'],
    ['conda-forge', { channelAlias: 'http://127.0.0.1:1234/' }, 'conda-forge', 'http://127.0.0.1:1234/conda-forge', 'http://127.0.0.1:1234/conda-forge/linux-64'],
    ['http://127.0.0.1:1234/conda-forge', { channelAlias: 'http://127.0.0.1:1234' }, 'conda-forge', 'http://127.0.0.1:1234/conda-forge', 'http://127.0.0.1:1234/conda-forge/linux-64'],
    ['conda-forge', { channelAlias: 'https://mirror.example.com/conda' }, 'conda-forge', 'https://mirror.example.com/conda/conda-forge', 'https://mirror.example.com/conda/conda-forge/linux-64'],
    ['http://127.0.0.1:1234', {}, 'http://127.0.0.1:1234', 'http://127.0.0.1:1234', 'http://127.0.0.1:1234/linux-64'],
    ['file:///srv/channels/local/', {}, 'file:///srv/channels/local', 'file:///srv/channels/local', 'file:///srv/channels/local/linux-64'],
    ['/srv/channels/my chan', {}, 'file:///srv/channels/my%20chan', 'file:///srv/channels/my%20chan', 'file:///srv/channels/my%20chan/linux-64'],
    ['C:\\Users\\me\\chan', {}, 'file:///C:/Users/me/chan', 'file:///C:/Users/me/chan', 'file:///C:/Users/me/chan/linux-64'],
  ];
  it.each(table)('%j %j', (input, opts, name, baseUrl, linux64) => {
    const c = Channel.parse(input, opts);
    expect(c.name).toBe(name);
    expect(c.baseUrl).toBe(baseUrl);
    expect(c.subdirUrl('linux-64')).toBe(linux64);
    expect(c.toString()).toBe(name);
    expect(c.hasCredentials).toBe(false);
    expect(c.redacted).toBe(baseUrl);
  });

  it('resolves relative paths against cwd', () => {
    expect(Channel.parse('./chan', { cwd: '/work/x' }).baseUrl).toBe('file:///work/x/chan');
    expect(Channel.parse('../chan', { cwd: '/work/x' }).baseUrl).toBe('file:///work/chan');
  });

  it.each([
    ['conda-forge/linux-64', 'conda-forge', 'linux-64'],
    ['conda-forge/noarch', 'conda-forge', 'noarch'],
    ['https://host.example/chan/osx-arm64/', 'https://host.example/chan', 'osx-arm64'],
  ])('strips a trailing subdir from %s', (input, name, platform) => {
    const c = Channel.parse(input);
    expect(c.name).toBe(name);
    expect(c.platform).toBe(platform);
  });

  it('equals compares base URLs', () => {
    expect(Channel.parse('conda-forge').equals(Channel.parse('https://conda.anaconda.org/conda-forge/'))).toBe(true);
    expect(Channel.parse('conda-forge').equals(Channel.parse('bioconda'))).toBe(false);
    expect(Channel.parse('https://conda.anaconda.org/t/tk-1/conda-forge').equals(Channel.parse('conda-forge'))).toBe(true);
  });

  it('DEFAULT_CHANNEL_ALIAS is anaconda.org', () => {
    expect(DEFAULT_CHANNEL_ALIAS).toBe('https://conda.anaconda.org');
  });
});

describe('Channel.parse: rejects', () => {
  it.each([
    ['', /empty channel name/],
    ['   ', /empty channel name/],
    ['defaults', /not a single channel/],
    ['nodefaults', /not a single channel/],
    ['conda forge', /may contain letters/],
    ['conda-forge::numpy', /may contain letters/],
    ['ftp://host/chan', /unsupported scheme 'ftp:'/],
    ['s3://bucket/chan', /unsupported scheme 's3:'/],
    ['https://host/chan?x=1', /query string/],
    ['https://', /not a valid URL/],
  ])('%j', (input, re) => {
    let err: unknown;
    try {
      Channel.parse(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('E_INVALID_CHANNEL');
    expect((err as Error).message).toMatch(re);
  });

  it('does not echo a token or password in the error message', () => {
    expect(() => Channel.parse('ftp://u:hunter2@host/t/sekret-tok/chan')).toThrow(InputError);
    try {
      Channel.parse('ftp://u:hunter2@host/t/sekret-tok/chan');
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
      expect((e as Error).message).not.toContain('sekret-tok');
    }
  });
});

describe('Channel: tokens and credentials never leak', () => {
  const TOKEN = 'xy-1234567890abcdef';
  const cases: Array<[string, { channelAlias?: string }, string, string, string]> = [
    // input, opts, baseUrl, subdirUrl('noarch'), redacted
    [
      `https://conda.anaconda.org/t/${TOKEN}/conda-forge`,
      {},
      'https://conda.anaconda.org/conda-forge',
      `https://conda.anaconda.org/t/${TOKEN}/conda-forge/noarch`,
      'https://conda.anaconda.org/t/********/conda-forge',
    ],
    [
      'private-chan',
      { channelAlias: `https://conda.example.com/t/${TOKEN}/` },
      'https://conda.example.com/private-chan',
      `https://conda.example.com/t/${TOKEN}/private-chan/noarch`,
      'https://conda.example.com/t/********/private-chan',
    ],
    [
      `https://mirror.example.com/prefix/t/${TOKEN}/chan/linux-64`,
      {},
      'https://mirror.example.com/prefix/chan',
      `https://mirror.example.com/prefix/t/${TOKEN}/chan/noarch`,
      'https://mirror.example.com/prefix/t/********/chan',
    ],
    [
      `http://alice:${TOKEN}@127.0.0.1:8080/chan`,
      {},
      'http://127.0.0.1:8080/chan',
      `http://alice:${TOKEN}@127.0.0.1:8080/chan/noarch`,
      'http://********@127.0.0.1:8080/chan',
    ],
    [
      `https://bob:${TOKEN}@host.example/t/${TOKEN}/chan`,
      {},
      'https://host.example/chan',
      `https://bob:${TOKEN}@host.example/t/${TOKEN}/chan/noarch`,
      'https://********@host.example/t/********/chan',
    ],
  ];
  it.each(cases)('%s', (input, opts, baseUrl, noarchUrl, redacted) => {
    const c = Channel.parse(input, opts);
    expect(c.baseUrl).toBe(baseUrl);
    expect(c.subdirUrl('noarch')).toBe(noarchUrl);
    expect(c.fileUrl('noarch', 'repodata.json')).toBe(`${noarchUrl}/repodata.json`);
    expect(c.publicFileUrl('noarch', 'repodata.json')).toBe(`${baseUrl}/noarch/repodata.json`);
    expect(c.redacted).toBe(redacted);
    expect(c.hasCredentials).toBe(true);
    for (const shown of [c.name, c.baseUrl, c.toString(), String(c), `${c}`, JSON.stringify(c), JSON.stringify({ c }), inspect(c), inspect(c, { showHidden: true, depth: 5 }), c.redacted, Object.keys(c).join(), JSON.stringify(Object.entries(c))]) {
      expect(shown).not.toContain(TOKEN);
    }
    expect(JSON.parse(JSON.stringify(c))).toEqual({ name: c.name, baseUrl });
  });

  it('redacted renders like src/net redactUrl of the authenticated URL', async () => {
    const { redactUrl } = await import('../../src/net/redact.js');
    for (const input of [`https://u:${TOKEN}@host.example/t/${TOKEN}/chan`, `https://conda.anaconda.org/t/${TOKEN}/conda-forge`]) {
      const c = Channel.parse(input);
      expect(c.redacted).toBe(redactUrl(c.subdirUrl('noarch')).replace(/\/noarch$/, ''));
    }
  });

  it('basicAuth encodes user:password (percent-decoded) for an Authorization header', () => {
    const c = Channel.parse('https://alice:p%40ss:word@host.example/chan');
    expect(c.basicAuth()).toBe(`Basic ${Buffer.from('alice:p@ss:word').toString('base64')}`);
    expect(Channel.parse('conda-forge').basicAuth()).toBeUndefined();
  });
});

describe('expandChannels', () => {
  it('expands defaults, drops nodefaults and duplicates, keeps priority order', () => {
    const chans = expandChannels(['conda-forge', 'nodefaults', 'https://conda.anaconda.org/conda-forge', 'defaults', 'bioconda']);
    expect(chans.map((c) => c.baseUrl)).toEqual([
      'https://conda.anaconda.org/conda-forge',
      'https://repo.anaconda.com/pkgs/main',
      'https://repo.anaconda.com/pkgs/r',
      'https://conda.anaconda.org/bioconda',
    ]);
  });
  it('adds msys2 on request', () => {
    expect(expandChannels(['defaults'], { includeMsys2: true }).map((c) => c.name)).toContain('https://repo.anaconda.com/pkgs/msys2');
  });
  it('passes the alias through', () => {
    expect(expandChannels(['a'], { channelAlias: 'http://127.0.0.1:9' })[0]!.baseUrl).toBe('http://127.0.0.1:9/a');
  });
});

describe('Channel URLs are fetchable', () => {
  const server = new ChannelServer();
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-channel-'));
    mkdirSync(join(dir, 'noarch'));
    writeFileSync(join(dir, 'noarch', 'repodata.json'), '{"packages":{}}');
    server.mount('/my-channel', dir);
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('subdirUrl of an alias channel on the local server serves repodata', async () => {
    const c = Channel.parse('my-channel', { channelAlias: server.baseUrl });
    expect(c.name).toBe('my-channel');
    const res = await fetch(c.fileUrl('noarch', 'repodata.json'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ packages: {} });
    expect(server.requests.at(-1)?.path).toBe('/my-channel/noarch/repodata.json');
  });

  it('a local directory channel maps back to the directory', () => {
    const c = Channel.parse(dir);
    expect(fileURLToPath(c.fileUrl('noarch', 'repodata.json'))).toBe(join(dir, 'noarch', 'repodata.json'));
  });
});
