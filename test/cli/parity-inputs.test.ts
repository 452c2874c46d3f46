/**
 * conda-lock parity of the inputs, through the CLI against the fixture channel on 127.0.0.1:
 * bracketed plain comments, micromamba sel(), -c/--channel, --channel-priority and check -q.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLockfile } from '../../src/lockfile/read.js';
import type { ChannelServer } from '../support/channel-server.js';
import { fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { runCli, startFixtureChannel } from './helpers.js';

/** A one-record channel whose zlib is newer than anything conda-forge has. */
function writeExtraChannel(dir: string): void {
  const rec = {
    name: 'zlib', version: '99.0', build: 'h0_0', build_number: 0, depends: [], constrains: [], subdir: 'linux-64',
    md5: '0'.repeat(32), sha256: '1'.repeat(64), size: 1234, timestamp: 1700000000000, license: 'Zlib',
  };
  mkdirSync(join(dir, 'linux-64'), { recursive: true });
  mkdirSync(join(dir, 'noarch'), { recursive: true });
  writeFileSync(join(dir, 'linux-64', 'repodata.json'), JSON.stringify({ info: { subdir: 'linux-64' }, packages: { 'zlib-99.0-h0_0.tar.bz2': rec } }));
  writeFileSync(join(dir, 'noarch', 'repodata.json'), JSON.stringify({ info: { subdir: 'noarch' }, packages: {} }));
}

describe.skipIf(!haveFixtures)(`input parity (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let server: ChannelServer;
  let dir: string;
  let cache: string;
  let releases: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-parity-inputs-'));
    cache = join(dir, 'cache');
    writeExtraChannel(join(dir, 'extra'));
    ({ server, releases } = await startFixtureChannel());
    server.mount('/extra', join(dir, 'extra'));
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const lock = (...args: string[]) => runCli(['lock', '--cache-dir', cache, '--go-releases-url', releases, '-q', ...args]);

  it('a comment ending in brackets is a comment; sel(linux) and # [win] select platforms', async () => {
    const env = join(dir, 'comments.yml');
    writeFileSync(env, [
      'channels:', `  - ${server.url('/conda-forge')}`, 'platforms: [linux-64, win-64]', 'dependencies:',
      '  - python 3.9.*',
      '  - zlib  # needed for sphinx-gallery[parallel]',
      '  - sel(linux): libgcc-ng',
      '  - ucrt  # [win]', '',
    ].join('\n'));
    const lf = join(dir, 'comments.lock.yml');
    const r = await lock('-f', env, '--lockfile', lf);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const l = await readLockfile(lf);
    const names = (p: string) => new Set(l.packages.filter((x) => x.platform === p).map((x) => x.name));
    expect(names('linux-64').has('zlib') && names('win-64').has('zlib')).toBe(true);
    expect(l.metadata.specs).toEqual(['python 3.9.*', 'zlib', 'libgcc-ng', 'ucrt']);
    expect(names('linux-64').has('ucrt')).toBe(false);
    expect(names('win-64').has('ucrt')).toBe(true);
    // libgcc-ng is requested on linux only (win-64 has a libgcc but no libgcc-ng).
    expect(names('linux-64').has('libgcc-ng')).toBe(true);
    expect(names('win-64').has('libgcc-ng')).toBe(false);

    // render --kind explicit: sha256 anchors by default (the header says who reads them), python before pip.
    const r2 = await runCli(['render', '--lockfile', lf, '-p', 'linux-64', '-o', '-']);
    expect(r2.code).toBe(0);
    const [header, body] = r2.stdout.split('@EXPLICIT\n');
    expect(header).toContain('conda >= 24.9');
    const urls = body!.trimEnd().split('\n');
    for (const u of urls) expect(u).toMatch(/#[0-9a-f]{64}$/);
    const at = (n: string) => urls.findIndex((u) => u.includes(`/${n}-`));
    expect(at('pip')).toBeGreaterThan(at('python'));
    expect(at('python')).toBeGreaterThan(-1);
    const md5 = await runCli(['render', '--lockfile', lf, '-p', 'linux-64', '-o', '-', '--hash', 'md5']);
    for (const u of md5.stdout.split('@EXPLICIT\n')[1]!.trimEnd().split('\n')) expect(u).toMatch(/#[0-9a-f]{32}$/);
  });

  it('-c replaces the file\'s channels; check needs the same -c and is silent with -q', async () => {
    const env = join(dir, 'chan.yml');
    // The file's channel is unreachable: only -c's is used.
    writeFileSync(env, 'channels:\n  - http://127.0.0.1:1/nowhere\nplatforms: [linux-64]\ndependencies:\n  - zlib\n');
    const lf = join(dir, 'chan.lock.yml');
    const r = await lock('-f', env, '--lockfile', lf, '-c', server.url('/conda-forge'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await readLockfile(lf)).metadata.channels.map((c) => c.url)).toEqual([server.url('/conda-forge')]);

    const same = await runCli(['check', '-f', env, '--lockfile', lf, '-c', server.url('/conda-forge'), '-q']);
    expect(same).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const loud = await runCli(['check', '-f', env, '--lockfile', lf, '-c', server.url('/conda-forge')]);
    expect(loud.stderr).toContain('is up to date');
    const without = await runCli(['check', '-f', env, '--lockfile', lf, '-q']);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('channels (in priority order)');
    expect(without.stderr).toContain('http://127.0.0.1:1/nowhere');
  });

  it('--channel-priority: strict (default) explains that flexible would help; flexible takes the lower channel\'s package', async () => {
    const env = join(dir, 'prio.yml');
    writeFileSync(env, `channels:\n  - ${server.url('/conda-forge')}\n  - ${server.url('/extra')}\nplatforms: [linux-64]\ndependencies:\n  - zlib >=99\n`);
    const lf = join(dir, 'prio.lock.yml');
    const strict = await lock('-f', env, '--lockfile', lf);
    expect(strict.code).toBe(4);
    expect(strict.stderr).toContain('strict channel priority');
    expect(strict.stderr).toContain('--channel-priority flexible would consider them');

    const flexible = await lock('-f', env, '--lockfile', lf, '--channel-priority', 'flexible');
    expect(flexible.stderr).toBe('');
    expect(flexible.code).toBe(0);
    const zlib = (await readLockfile(lf)).packages.find((p) => p.name === 'zlib')!;
    expect([zlib.version, zlib.channel]).toEqual(['99.0', server.url('/extra')]);

    // The priority is an input recorded in the metadata: check (and lock) without the flag use the
    // lockfile's; another --channel-priority makes it stale and says so.
    expect((await readLockfile(lf)).metadata.channel_priority).toBe('flexible');
    expect((await runCli(['check', '-f', env, '--lockfile', lf, '--channel-priority', 'flexible'])).code).toBe(0);
    expect((await runCli(['check', '-f', env, '--lockfile', lf])).code).toBe(0);
    const stale = await runCli(['check', '-f', env, '--lockfile', lf, '--channel-priority', 'strict']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('channel priority: flexible → strict (--channel-priority)');
    const again = await lock('-f', env, '--lockfile', lf);
    expect(again.code).toBe(0);
    expect((await readLockfile(lf)).metadata.channel_priority).toBe('flexible');

    const bad = await lock('-f', env, '--lockfile', lf, '--channel-priority', 'loose');
    expect(bad.code).toBe(2);
  });
});
