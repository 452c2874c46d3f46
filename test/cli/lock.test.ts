/**
 * End to end: `lock`, `check`, `--update`, `diff`, `render` through the real CLI code, against the real
 * May-2024 conda-forge subchannel and go.dev/dl snapshots served by a local HTTP server.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLockfile } from '../../src/lockfile/read.js';
import { ChannelServer } from '../support/channel-server.js';
import { fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { runCli, startFixtureChannel } from './helpers.js';

describe.skipIf(!haveFixtures)(`lock end to end (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let server: ChannelServer;
  let dir: string;
  let cache: string;
  let releases: string;

  beforeAll(async () => {
    ({ server, releases } = await startFixtureChannel());
    dir = mkdtempSync(join(tmpdir(), 'cgl-lock-'));
    cache = join(dir, 'cache');
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function writeEnv(name: string, deps: string[], extra = ''): string {
    const file = join(dir, name);
    writeFileSync(
      file,
      `name: demo\nchannels:\n  - ${server.url('/conda-forge')}\ndependencies:\n${deps.map((d) => `  - ${d}`).join('\n')}\n${extra}`,
    );
    return file;
  }

  const lockArgs = (env: string, lockfile: string, ...more: string[]) => [
    'lock', '-f', env, '--lockfile', lockfile, '--cache-dir', cache, '--go-releases-url', releases, '-q', ...more,
  ];

  it('locks three platforms with python and a Go toolchain into one deterministic file', async () => {
    const env = writeEnv('env1.yml', ['python 3.9.*', 'pip'], 'go: "1.17.*"\n');
    const lf = join(dir, 'one.yml');
    const r = await runCli(lockArgs(env, lf, '-p', 'linux-64', '-p', 'osx-arm64', '-p', 'win-64'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lock = await readLockfile(lf);
    expect(lock.metadata.platforms).toEqual(['linux-64', 'osx-arm64', 'win-64']);
    for (const p of lock.metadata.platforms) {
      const python = lock.packages.find((x) => x.platform === p && x.name === 'python');
      expect(python, `python on ${p}`).toBeDefined();
      // The newest 3.9 in the snapshot is 3.9.19.
      expect(python!.version).toBe('3.9.19');
      expect(lock.packages.some((x) => x.platform === p && x.name === 'pip' && x.subdir === 'noarch')).toBe(true);
      const go = lock.go.find((g) => g.platform === p)!;
      expect(go.version).toBe('1.17.3');
      expect(go.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(go.url).toBe(server.url(`/dl/${go.filename}`));
    }
    expect(lock.go.find((g) => g.platform === 'win-64')!.filename).toBe('go1.17.3.windows-amd64.zip');
    expect(lock.go.find((g) => g.platform === 'osx-arm64')!.filename).toBe('go1.17.3.darwin-arm64.tar.gz');
    // Linux needs the glibc runtime; Windows gets ucrt/vc instead.
    expect(lock.packages.some((x) => x.platform === 'linux-64' && x.name === 'libgcc-ng')).toBe(true);
    expect(lock.packages.some((x) => x.platform === 'win-64' && x.name === 'libgcc-ng')).toBe(false);

    const first = readFileSync(lf);
    const requestsBefore = server.requests.length;
    // Unchanged inputs: nothing to do (like conda-lock), no request made, the file untouched.
    const noop = await runCli(lockArgs(env, lf).filter((a) => a !== '-q'));
    expect(noop.code).toBe(0);
    expect(noop.stderr).toContain('already up to date');
    expect(server.requests.length).toBe(requestsBefore);
    // Forced re-solve with the same repodata (now revalidated from the cache): byte-identical file.
    const again = await runCli(lockArgs(env, lf, '--force'));
    expect(again.code).toBe(0);
    expect(server.requests.length).toBeGreaterThan(requestsBefore);
    expect(readFileSync(lf).equals(first)).toBe(true);
    // Versions that YAML would read as numbers stay quoted.
    expect(first.toString()).toMatch(/version: '0\.1'/);
    // No temp files left beside it.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('check passes on a fresh lock and fails (exit 1, naming the platform) when the inputs change', async () => {
    const env = writeEnv('env2.yml', ['python 3.9.*']);
    const lf = join(dir, 'two.yml');
    expect((await runCli(lockArgs(env, lf, '-p', 'linux-64', '-p', 'osx-64'))).code).toBe(0);
    const ok = await runCli(['check', '-f', env, '--lockfile', lf, '--go-releases-url', releases]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('up to date');
    const before = readFileSync(lf);
    writeEnv('env2.yml', ['python 3.9.*', 'openssl 1.1.*']);
    const stale = await runCli(['check', '-f', env, '--lockfile', lf, '--go-releases-url', releases]);
    expect(stale.code).toBe(1);
    // One line for the platforms that changed the same way, not one identical line each.
    expect(stale.stderr).toContain('linux-64, osx-64: inputs changed');
    expect(stale.stderr.match(/inputs changed/g)).toHaveLength(1);
    const viaLock = await runCli(lockArgs(env, lf, '--check'));
    expect(viaLock.code).toBe(1);
    // check never writes.
    expect(readFileSync(lf).equals(before)).toBe(true);
    // A platform added on the command line is reported too.
    writeEnv('env2.yml', ['python 3.9.*']);
    const more = await runCli(['check', '-f', env, '--lockfile', lf, '-p', 'linux-64', '-p', 'osx-64', '-p', 'win-64', '--go-releases-url', releases]);
    expect(more.code).toBe(1);
    expect(more.stderr).toContain('platform win-64 is requested but not locked');
  });

  it('a lock made against a Go releases mirror stays up to date without repeating --go-releases-url', async () => {
    const env = writeEnv('env-mirror.yml', ['python 3.9.*'], 'go: "1.17.*"\n');
    const lf = join(dir, 'mirror.yml');
    expect((await runCli(lockArgs(env, lf, '-p', 'linux-64'))).code).toBe(0);
    const check = await runCli(['check', '-f', env, '--lockfile', lf]);
    expect(check.stderr).toContain('up to date');
    expect(check.code).toBe(0);
    const before = server.requests.length;
    const relock = await runCli(['lock', '-f', env, '--lockfile', lf, '--cache-dir', cache]);
    expect(relock.code).toBe(0);
    expect(relock.stderr).toContain('already up to date');
    expect(server.requests.length).toBe(before);
    // Without a TTY (as in CI) a forced lock still reports where it is, in plain lines.
    const forced = await runCli(['lock', '-f', env, '--lockfile', lf, '--cache-dir', cache, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/^Solving linux-64 \(\d+ candidate records\)$/m);
    expect(forced.stderr).toMatch(/^Solved linux-64: \d+ packages in \d+ ms$/m);
    // Naming another feed explicitly is a change of input.
    const other = await runCli(['check', '-f', env, '--lockfile', lf, '--go-releases-url', 'https://go.dev/dl/?mode=json&include=all']);
    expect(other.code).toBe(1);
  });

  it('--update moves only the named package and keeps the other pins', async () => {
    const env = writeEnv('env3.yml', ['python >=3.9,<3.9.10', 'openssl']);
    const lf = join(dir, 'three.yml');
    expect((await runCli(lockArgs(env, lf, '-p', 'linux-64'))).code).toBe(0);
    const old = await readLockfile(lf);
    const oldPython = old.packages.find((p) => p.name === 'python')!;
    expect(oldPython.version).toBe('3.9.9');

    // Widen the spec: a fresh lock would take python 3.9.19 ...
    writeEnv('env3.yml', ['python 3.9.*', 'openssl']);
    // ... but updating only `tzdata` keeps python (and everything else that still fits) where it was.
    expect((await runCli(lockArgs(env, lf, '--update', 'tzdata'))).code).toBe(0);
    const updated = await readLockfile(lf);
    expect(updated.packages.find((p) => p.name === 'python')!.version).toBe('3.9.9');
    const unchanged = old.packages.filter((p) => p.name !== 'tzdata');
    for (const p of unchanged) {
      const q = updated.packages.find((x) => x.name === p.name);
      expect(q?.sha256, p.name).toBe(p.sha256);
    }
    // Updating python moves it to the newest allowed.
    expect((await runCli(lockArgs(env, lf, '--update', 'python'))).code).toBe(0);
    const moved = await readLockfile(lf);
    expect(moved.packages.find((p) => p.name === 'python')!.version).toBe('3.9.19');

    const unknown = await runCli(lockArgs(env, lf, '--update', 'not-a-package'));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('not-a-package');
  });

  it('diff reports upgrades between two locks', async () => {
    const env = writeEnv('env4.yml', ['python 3.9.7']);
    const a = join(dir, 'a.yml');
    const b = join(dir, 'b.yml');
    expect((await runCli(lockArgs(env, a, '-p', 'linux-64'))).code).toBe(0);
    writeEnv('env4.yml', ['python 3.9.19']);
    expect((await runCli(lockArgs(env, b, '-p', 'linux-64'))).code).toBe(0);
    const text = await runCli(['diff', a, b]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/python\s+3\.9\.7\S*\s+.*3\.9\.19/);
    const md = await runCli(['diff', '--format', 'markdown', '--exit-code', a, b]);
    expect(md.code).toBe(1);
    expect(md.stdout).toContain('| python |');
    expect(md.stdout).toContain('linux-64');
  });

  it('render writes @EXPLICIT files with url#sha256 in dependency order, a conda-lock v1 file and a pinned env', async () => {
    const env = writeEnv('env5.yml', ['python 3.9.*']);
    const lf = join(dir, 'five.yml');
    expect((await runCli(lockArgs(env, lf, '-p', 'linux-64', '-p', 'win-64'))).code).toBe(0);
    const out = join(dir, 'rendered');
    expect((await runCli(['render', '--lockfile', lf, '-o', `${out}/`])).code).toBe(0);
    const explicit = readFileSync(join(out, 'conda-linux-64.lock'), 'utf8');
    const lines = explicit.split('\n');
    expect(lines).toContain('@EXPLICIT');
    const urls = lines.filter((l) => l.startsWith('http'));
    const lock = await readLockfile(lf);
    expect(urls).toHaveLength(lock.packages.filter((p) => p.platform === 'linux-64').length);
    for (const u of urls) expect(u).toMatch(/\.(conda|tar\.bz2)#[0-9a-f]{64}$/);
    const idx = (n: string) => urls.findIndex((u) => u.includes(`/${n}-`));
    expect(idx('python')).toBeGreaterThan(idx('openssl'));
    expect(existsSync(join(out, 'conda-win-64.lock'))).toBe(true);

    const cl = await runCli(['render', '--kind', 'conda-lock', '--lockfile', lf, '-o', '-']);
    expect(cl.code).toBe(0);
    expect(cl.stdout).toMatch(/^version: 1$/m);
    expect(cl.stdout).toContain('manager: conda');
    const envOut = await runCli(['render', '--kind', 'env', '--lockfile', lf, '-p', 'linux-64', '-o', '-']);
    expect(envOut.stdout).toMatch(/python=3\.9\.19=/);
  });
});
