/**
 * Bad input through the CLI: each gets a clear error naming the cause and the documented exit
 * status, and an existing lockfile is never touched.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { runCli, startFixtureChannel } from './helpers.js';

describe('CLI usage errors', () => {
  it('an unknown subcommand or option exits 2', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['lock', '--no-such-flag'])).code).toBe(2);
  });
  it('--help and --version exit 0', async () => {
    expect((await runCli(['--help'])).code).toBe(0);
    expect((await runCli(['lock', '--help'])).code).toBe(0);
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
  it('diff of a missing lockfile names the file (exit 7)', async () => {
    const r = await runCli(['diff', '/nonexistent/a.yml', '/nonexistent/b.yml']);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('/nonexistent/a.yml');
  });
});

describe.skipIf(!haveFixtures)(`lock errors (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let server: ChannelServer;
  let dir: string;
  let releases: string;
  const lockfile = () => join(dir, 'conda-go-lock.yml');
  const GOOD = '# existing lockfile: must survive every failed lock\n';

  beforeAll(async () => {
    ({ server, releases } = await startFixtureChannel());
    dir = mkdtempSync(join(tmpdir(), 'cgl-err-'));
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function lockWith(envText: string, ...more: string[]) {
    const env = join(dir, 'environment.yml');
    writeFileSync(env, envText);
    writeFileSync(lockfile(), GOOD);
    const r = await runCli([
      'lock', '-f', env, '--lockfile', lockfile(), '--cache-dir', join(dir, 'cache'), '--go-releases-url', releases, '-q', ...more,
    ]);
    // Whatever failed, the old lockfile is intact and no temp file is left.
    expect(readFileSync(lockfile(), 'utf8')).toBe(GOOD);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    return r;
  }
  const channel = () => `channels:\n  - ${server.url('/conda-forge')}\n`;

  it('unknown platform: exit 2 listing the valid ones', async () => {
    const r = await lockWith(`${channel()}dependencies:\n  - python\n`, '-p', 'linux-65');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('linux-65');
    expect(r.stderr).toContain('linux-64');
  });

  it('malformed YAML: exit 3 naming file and line', async () => {
    const r = await lockWith(`${channel()}dependencies:\n  - python\n  bad: [unclosed\n`, '-p', 'linux-64');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/environment\.yml:\d+/);
  });

  it('a git+ pip line: exit 3 naming the line (direct URL / VCS requirements are not locked)', async () => {
    const r = await lockWith(`${channel()}dependencies:\n  - python\n  - pip:\n      - git+https://github.com/psf/requests.git\n`, '-p', 'linux-64');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/environment\.yml:6:9: 'git\+https:\/\/github\.com\/psf\/requests\.git': direct URL/);
  });

  it('a version that no channel has: exit 4 listing the versions there are', async () => {
    const r = await lockWith(`${channel()}dependencies:\n  - python 3.9.*\n  - openssl 0.9.*\n`, '-p', 'linux-64');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('openssl 0.9.*');
    expect(r.stderr).toContain('3.3.0');
    expect(r.stderr).not.toContain('….');
  });

  it('unknown package: exit 4 naming the package, the platform and where it was requested', async () => {
    const r = await lockWith(`${channel()}dependencies:\n  - python 3.9.*\n  - numpyy\n`, '-p', 'linux-64');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("'numpyy'");
    expect(r.stderr).toContain('linux-64');
    expect(r.stderr).toMatch(/environment\.yml:5/);
  });

  it('unsatisfiable specs: exit 4 with an explanation naming the requested specs', async () => {
    const r = await lockWith(`${channel()}dependencies:\n  - python 3.9.*\n  - openssl 1.0.*\n`, '-p', 'linux-64');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('E_UNSATISFIABLE');
    expect(r.stderr).toContain('openssl 1.0.*');
    expect(r.stderr).toContain('python 3.9.*');
    expect(r.stderr).toContain('linux-64');
  });

  it('a Go version that does not exist: exit 4 naming the spec', async () => {
    const r = await lockWith(`${channel()}dependencies:\n  - python 3.9.*\ngo: "1.99.*"\n`, '-p', 'linux-64');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('1.99');
  });

  it('a platform with no Go archive (darwin/arm64 before go1.16): exit 4 naming it', async () => {
    const r = await lockWith(`${channel()}dependencies:\n  - python 3.9.*\ngo: "1.15.*"\n`, '-p', 'osx-arm64');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/darwin\/arm64|osx-arm64/);
  });

  it('unreachable channel (nothing listens): exit 5 naming the channel URL', async () => {
    const dead = new ChannelServer();
    await dead.start();
    const url = dead.url('/gone');
    await dead.stop();
    const r = await lockWith(`channels:\n  - ${url}\ndependencies:\n  - python\n`, '-p', 'linux-64');
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(url.replace(/\/gone$/, ''));
  });

  it('a channel that does not exist on the server: exit 5', async () => {
    const r = await lockWith(`channels:\n  - ${server.url('/no-such-channel')}\ndependencies:\n  - python\n`, '-p', 'linux-64');
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('E_CHANNEL_NOT_FOUND');
    // Named once, not as "URL (URL)".
    expect(r.stderr.split(server.url('/no-such-channel')).length - 1).toBe(1);
  });

  it('a token in the channel URL never reaches the lockfile or the messages', async () => {
    const env = join(dir, 'tok.yml');
    const lf = join(dir, 'tok-lock.yml');
    // The fixture server ignores the token path only if mounted there; mount the channel under /t/<token>/ too.
    server.mount('/t/sekrit-token-123/conda-forge', fixture('repodata', 'conda-forge-subchannel-py39-2024-05'));
    writeFileSync(env, `channels:\n  - ${server.url('/t/sekrit-token-123/conda-forge')}\ndependencies:\n  - python 3.9.*\n`);
    const r = await runCli(['lock', '-f', env, '--lockfile', lf, '--cache-dir', join(dir, 'cache'), '-p', 'linux-64']);
    expect(r.code).toBe(0);
    expect(existsSync(lf)).toBe(true);
    expect(readFileSync(lf, 'utf8')).not.toContain('sekrit');
    expect(r.stderr).not.toContain('sekrit');
  });
});
