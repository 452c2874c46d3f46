/**
 * Messages that tell a user coming from conda / conda-lock / micromamba what went wrong and what to
 * do: `-p` meaning the prefix in install/verify/shell-hook, `--update NAME...` swallowing a file
 * name, a bad `--go` spec, the Go release URL, a prefix without Go, short retry lines.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkError } from '../../src/errors.js';
import { retryLine, installNetworkAdvice } from '../../src/cli/messages.js';
import { ChannelServer } from '../support/channel-server.js';
import { fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { runCli, startFixtureChannel } from './helpers.js';

describe('prefix commands', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-guide-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const command of ['install', 'verify', 'shell-hook']) {
    it(`${command} -p <platform name> is a usage error pointing at --platform, and creates nothing`, async () => {
      const r = await runCli([command, '-p', 'osx-arm64'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('error[E_USAGE]');
      expect(r.stderr).toContain('--platform osx-arm64');
      expect(existsSync(join(dir, 'osx-arm64'))).toBe(false);
    });
  }

  it('a directory that happens to be named like a platform is still a prefix', async () => {
    mkdirSync(join(dir, 'linux-64'));
    const r = await runCli(['shell-hook', '-p', 'linux-64'], { cwd: dir });
    expect(r.stderr).not.toContain('E_USAGE');
    expect(r.stderr).toContain('E_NO_GO_TOOLCHAIN');
  });

  it('shell-hook on a missing prefix says to install it', async () => {
    const r = await runCli(['shell-hook', '-p', join(dir, 'nope')]);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('does not exist');
    expect(r.stderr).toContain('conda-go-lock install -p');
  });

  it('shell-hook on a prefix installed with --no-go, or from a lockfile without Go, says which', async () => {
    const state = (extra: object) => ({ tool: 'conda-go-lock', state_version: 1, platform: 'linux-64', content_hash: null, packages_hash: 'x', only_go: false, go: null, ...extra });
    const noGo = join(dir, 'skipped');
    mkdirSync(join(noGo, 'conda-meta'), { recursive: true });
    writeFileSync(join(noGo, 'conda-meta', 'conda-go-lock'), JSON.stringify(state({ skip_go: true })));
    const a = await runCli(['shell-hook', '-p', noGo]);
    expect(a.code).toBe(8);
    expect(a.stderr).toContain('installed with --no-go');

    const none = join(dir, 'nogo-lock');
    mkdirSync(join(none, 'conda-meta'), { recursive: true });
    writeFileSync(join(none, 'conda-meta', 'conda-go-lock'), JSON.stringify(state({})));
    const b = await runCli(['shell-hook', '-p', none]);
    expect(b.code).toBe(8);
    expect(b.stderr).toContain('pins no Go toolchain');
    expect(b.stderr).toContain('go:');
  });

  it('check without a lockfile: E_LOCKFILE_NOT_FOUND (the documented code), exit 7', async () => {
    writeFileSync(join(dir, 'environment.yml'), 'channels: [conda-forge]\ndependencies: [python]\n');
    const r = await runCli(['check', '--lockfile', join(dir, 'missing.yml'), '-f', join(dir, 'environment.yml')]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('error[E_LOCKFILE_NOT_FOUND]');
  });

  it('a malformed --go spec is an input error (exit 3) before any network', async () => {
    const dead = new ChannelServer();
    await dead.start();
    const url = dead.url('/chan');
    await dead.stop();
    writeFileSync(join(dir, 'go-env.yml'), `channels: [${url}]\ndependencies: [python]\n`);
    const r = await runCli(['lock', '-f', join(dir, 'go-env.yml'), '--lockfile', join(dir, 'go-lock.yml'), '-p', 'linux-64', '--go', 'banana', '-q']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error[E_GO_SPEC]: --go:');
    expect(r.stderr).toContain("'banana'");
    expect(r.stderr).not.toContain('E_NETWORK');
  });
});

describe('help', () => {
  it('says what -p means for each command, where caches go, and shows examples', async () => {
    const install = await runCli(['install', '--help']);
    expect(install.code).toBe(0);
    expect(install.stdout).toMatch(/-p, --prefix <dir>\s+environment directory/);
    expect(install.stdout).toContain('CONDA_GO_LOCK_CACHE');
    expect(install.stdout).toContain('Examples:');
    const lock = await runCli(['lock', '--help']);
    expect(lock.stdout).toMatch(/-p, --platform <platform>/);
    expect(lock.stdout).toContain('CONDA_GO_LOCK_GO_RELEASES_URL');
    expect(lock.stdout).toContain('conda-go-lock lock --update numpy');
    const verify = await runCli(['verify', '--help']);
    expect(verify.stdout.replace(/\s+/g, ' ')).toContain('the one the prefix was installed for');
  });
});

describe('retry lines', () => {
  it('name the URL once, the cause, the delay, and no advice', () => {
    const url = 'http://127.0.0.1:1/conda-forge/linux-64/repodata.json';
    const line = retryLine({
      url,
      attempt: 2,
      delayMs: 480,
      reason: `request to ${url} failed: connect ECONNREFUSED 127.0.0.1:1 — check the network connection, proxy and URL (or use --offline with a filled cache)`,
    });
    expect(line).toBe(`retrying ${url} in 0.5s (attempt 2 failed: connect ECONNREFUSED 127.0.0.1:1)`);
    expect(retryLine({ url, attempt: 1, delayMs: 250, reason: `HTTP 503 Service Unavailable for ${url}` })).toBe(
      `retrying ${url} in 0.3s (attempt 1 failed: HTTP 503 Service Unavailable)`,
    );
  });

  it('install errors do not point at --offline, which install does not have', () => {
    const err = new NetworkError('request to http://h/x failed: connect ECONNREFUSED — check the network connection, proxy and URL (or use --offline with a filled cache) (after 4 attempts)');
    expect((installNetworkAdvice(err) as Error).message).toBe('request to http://h/x failed: connect ECONNREFUSED — check the network connection, proxy and URL (after 4 attempts)');
  });

  it('install: a 404 on a locked URL says the file is gone and to re-lock, not to check a channel name', () => {
    const err = new NetworkError('not found (HTTP 404): http://h/c/linux-64/a-1-0.conda — check the channel/package name, the platform, and the URL', { status: 404, code: 'E_NOT_FOUND' });
    const msg = (installNetworkAdvice(err) as Error).message;
    expect(msg).toContain('not found (HTTP 404): http://h/c/linux-64/a-1-0.conda — the lockfile pins a file the server no longer has');
    expect(msg).toContain('conda-go-lock lock --force');
    expect(msg).not.toContain('channel/package name');
  });
});

describe.skipIf(!haveFixtures)(`lock guidance (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let server: ChannelServer;
  let releases: string;
  let dir: string;
  beforeAll(async () => {
    ({ server, releases } = await startFixtureChannel());
    dir = mkdtempSync(join(tmpdir(), 'cgl-guide-lock-'));
    writeFileSync(join(dir, 'environment.yml'), `channels:\n  - ${server.url('/conda-forge')}\ndependencies:\n  - python 3.9.*\n  - six\n`);
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const lock = (...more: string[]) =>
    runCli(['lock', '-p', 'linux-64', '--cache-dir', join(dir, 'cache'), '--go-releases-url', releases, '-q', ...more], { cwd: dir });

  it('--update NAME FILE: the file is named as such, with the order that works', async () => {
    expect((await lock()).code).toBe(0);
    const r = await lock('--update', 'six', 'environment.yml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'environment.yml' is a file, not a package name");
    expect(r.stderr).toContain('conda-go-lock lock -f environment.yml --update six');
  });

  it('check / lock without -f and without environment.yml name the files the lockfile was made from', async () => {
    const sub = join(dir, 'named');
    mkdirSync(sub);
    writeFileSync(join(sub, 'base.yml'), `channels:\n  - ${server.url('/conda-forge')}\ndependencies:\n  - python 3.9.*\n`);
    writeFileSync(join(sub, 'extra.yml'), 'dependencies:\n  - six\n');
    const made = await runCli(['lock', '-f', 'base.yml', '-f', 'extra.yml', '-p', 'linux-64', '--cache-dir', join(dir, 'cache'), '-q'], { cwd: sub });
    expect(made.code).toBe(0);
    for (const command of ['check', 'lock']) {
      const r = await runCli([command], { cwd: sub });
      expect(r.code, command).toBe(2);
      expect(r.stderr).toContain('conda-go-lock.yml was made from base.yml, extra.yml: pass -f base.yml -f extra.yml');
    }
  });

  it('a package built for some platforms only: names where it is missing and where it is not, no spelling advice', async () => {
    const r = await runCli(['lock', '-p', 'linux-64', '-p', 'win-arm64', '--lockfile', 'partial.yml', '--cache-dir', join(dir, 'cache'), '-q'], { cwd: dir });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("environment.yml:4: package 'python' (requested as 'python 3.9.*') is not available for win-arm64");
    expect(r.stderr).toContain('though it is for linux-64');
    expect(r.stderr).toContain('selector');
    expect(r.stderr).not.toContain('spelling');
    expect(existsSync(join(dir, 'partial.yml'))).toBe(false);
  });

  it('a --go-releases-url that 404s names the Go release metadata, not a channel', async () => {
    const r = await lock('--force', '--go', '1.17.*', '--go-releases-url', server.url('/godl/no-such.json'));
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('error[E_NOT_FOUND]: Go release metadata not found (HTTP 404)');
    expect(r.stderr).toContain('--go-releases-url');
    expect(r.stderr).not.toContain('channel/package name');
  });
});
