/**
 * Edge cases of `lock --update` and `check` through the real CLI, against the May-2024 conda-forge
 * subchannel and go.dev/dl snapshots served by a local HTTP server.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLockfile } from '../../src/lockfile/read.js';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { runCli, startFixtureChannel } from './helpers.js';

describe.skipIf(!haveFixtures)(`lock/check edge cases (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let server: ChannelServer;
  let dir: string;
  let cache: string;
  let releases: string;

  beforeAll(async () => {
    ({ server, releases } = await startFixtureChannel(['/t/tk-SECRET123/conda-forge', '/mirror/conda-forge']));
    dir = mkdtempSync(join(tmpdir(), 'cgl-lock-update-check-'));
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
      `name: demo\nchannels:\n  - ${server.url('/conda-forge')}\nplatforms: [linux-64]\ndependencies:\n${deps.map((d) => `  - ${d}`).join('\n')}\n${extra}`,
    );
    return file;
  }

  const lockArgs = (env: string, lockfile: string, ...more: string[]) => [
    'lock', '-f', env, '--lockfile', lockfile, '--cache-dir', cache, '--go-releases-url', releases, '-q', ...more,
  ];
  const checkArgs = (env: string, lockfile: string, ...more: string[]) => [
    'check', '-f', env, '--lockfile', lockfile, '--go-releases-url', releases, ...more,
  ];

  it('--update accepts a package just added to the environment file and keeps the other pins', async () => {
    const env = writeEnv('add.yml', ['python >=3.9,<3.9.10']);
    const lf = join(dir, 'add.lock.yml');
    expect((await runCli(lockArgs(env, lf))).code).toBe(0);
    const old = await readLockfile(lf);
    expect(old.packages.some((p) => p.name === 'lz4-c')).toBe(false);

    writeEnv('add.yml', ['python 3.9.*', 'lz4-c']);
    const r = await runCli(lockArgs(env, lf, '--update', 'lz4-c'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const updated = await readLockfile(lf);
    expect(updated.packages.some((p) => p.name === 'lz4-c')).toBe(true);
    // python stays where it was although 3.9.* would now allow 3.9.19.
    expect(updated.packages.find((p) => p.name === 'python')!.version).toBe('3.9.9');

    // A name that is neither locked nor requested is still a usage error naming it.
    const bad = await runCli(lockArgs(env, lf, '--update', 'not-a-package'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not-a-package');
    // A spec instead of a name says so.
    const spec = await runCli(lockArgs(env, lf, '--update', 'python=3.9.19'));
    expect(spec.code).toBe(2);
    expect(spec.stderr).toContain('takes package names, not specs');
    expect(spec.stderr).toContain('--update python`');
  });

  it('check says what changed: specs, virtual packages, Go spec, Go release URL', async () => {
    const env = writeEnv('what.yml', ['python 3.9.*', 'zlib'], 'go: "1.17.*"\n');
    const lf = join(dir, 'what.lock.yml');
    expect((await runCli(lockArgs(env, lf))).code).toBe(0);
    expect((await runCli(checkArgs(env, lf))).code).toBe(0);

    writeEnv('what.yml', ['python 3.9.*', 'xz 5.*'], 'go: "1.17.*"\n');
    const specs = await runCli(checkArgs(env, lf));
    expect(specs.code).toBe(1);
    expect(specs.stderr).toContain('linux-64: inputs changed');
    expect(specs.stderr).toContain('error[E_STALE_LOCKFILE]');
    expect(specs.stderr).toContain("specs: added 'xz 5.*' and removed 'zlib'");

    writeEnv('what.yml', ['python 3.9.*', 'zlib'], 'go: "1.17.*"\n');
    const vp = await runCli(checkArgs(env, lf, '--virtual-packages', '__glibc=2.17'));
    expect(vp.code).toBe(1);
    expect(vp.stderr).toContain("virtual packages: added '__glibc 2.17 0' and removed '__glibc 2.28 0'");
    expect(vp.stderr).toContain('--virtual-packages or --virtual-package-spec, pass the same options here');

    const go = await runCli(checkArgs(env, lf, '--go', '1.17.2'));
    expect(go.code).toBe(1);
    expect(go.stderr).toContain("Go spec: '1.17.*' → '1.17.2'");

    // Locked with --go, checked without it: the message says to pass it.
    const viaFlag = join(dir, 'what-go.lock.yml');
    const plain = writeEnv('what-go.yml', ['zlib']);
    expect((await runCli(lockArgs(plain, viaFlag, '--go', '1.17.*'))).code).toBe(0);
    expect((await runCli(checkArgs(plain, viaFlag, '--go', '1.17.*'))).code).toBe(0);
    const noFlag = await runCli(checkArgs(plain, viaFlag));
    expect(noFlag.code).toBe(1);
    expect(noFlag.stderr).toContain("the lock was made with --go '1.17.*'");

    // Without --go-releases-url, check uses the URL the lock was made with; naming another one is a change.
    expect((await runCli(['check', '-f', env, '--lockfile', lf])).code).toBe(0);
    const url = await runCli(['check', '-f', env, '--lockfile', lf, '--go-releases-url', 'https://go.dev/dl/?mode=json&include=all']);
    expect(url.code).toBe(1);
    expect(url.stderr).toContain(`Go release metadata URL: ${releases} → https://go.dev/dl/`);
    expect(url.stderr).toContain('--go-releases-url');
    expect(url.stderr).toContain('CONDA_GO_LOCK_GO_RELEASES_URL');
    // The environment variable counts like the flag.
    const viaEnv = await runCli(['check', '-f', env, '--lockfile', lf], { env: { CONDA_GO_LOCK_GO_RELEASES_URL: 'https://go.dev/dl/?mode=json&include=all' } });
    expect(viaEnv.code).toBe(1);
    const sameViaEnv = await runCli(['check', '-f', env, '--lockfile', lf], { env: { CONDA_GO_LOCK_GO_RELEASES_URL: releases } });
    expect(sameViaEnv.code).toBe(0);
  });

  it('check accepts --go-prerelease, so a lock made with it can be checked', async () => {
    const env = writeEnv('pre.yml', ['zlib'], 'go: "1.17.*"\n');
    const lf = join(dir, 'pre.lock.yml');
    expect((await runCli(lockArgs(env, lf, '--go-prerelease'))).code).toBe(0);
    const ok = await runCli(checkArgs(env, lf, '--go-prerelease'));
    expect(ok.stderr).toContain('up to date');
    expect(ok.code).toBe(0);
    expect((await runCli(checkArgs(env, lf))).code).toBe(1);
  });

  it('a go.mod toolchain line change makes the lock stale; a comment or require change does not', async () => {
    const gomod = join(dir, 'go.mod');
    writeFileSync(gomod, 'module example.com/x\n\ngo 1.17\n\ntoolchain go1.17.2\n');
    const env = writeEnv('gomod.yml', ['zlib'], 'go: {gomod: ./go.mod}\n');
    const lf = join(dir, 'gomod.lock.yml');
    expect((await runCli(lockArgs(env, lf))).code).toBe(0);
    expect((await readLockfile(lf)).go[0]!.version).toBe('1.17.2');

    writeFileSync(gomod, '// a comment\nmodule example.com/x\n\ngo 1.17\n\ntoolchain go1.17.2 // pinned\n\nrequire example.com/y v1.0.0\n');
    expect((await runCli(checkArgs(env, lf))).code).toBe(0);

    writeFileSync(gomod, 'module example.com/x\n\ngo 1.17\n\ntoolchain go1.17.3\n');
    const stale = await runCli(checkArgs(env, lf));
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('Go spec');
    expect(stale.stderr).toContain('1.17.3');
  });

  it('a token in a spec\'s channel URL (`https://host/t/<token>/chan::pkg`) reaches neither the lockfile nor messages', async () => {
    const tokened = server.url('/t/tk-SECRET123/conda-forge');
    const env = writeEnv('tokspec.yml', [`${tokened}::zlib`]);
    const lf = join(dir, 'tokspec.lock.yml');
    const r = await runCli(lockArgs(env, lf));
    expect(r.code).toBe(0);
    const text = readFileSync(lf, 'utf8');
    expect(text).not.toContain('SECRET123');
    expect(text).toContain(`${server.url('/conda-forge')}::zlib`);
    // The hash ignores the token: another token is not an input change.
    expect((await runCli(checkArgs(env, lf))).code).toBe(0);
    writeEnv('tokspec.yml', [`${server.url('/t/tk-OTHER999/conda-forge')}::zlib`]);
    expect((await runCli(checkArgs(env, lf))).code).toBe(0);

    writeEnv('tokspec.yml', [`${tokened}::zlib 99.*`]);
    const bad = await runCli(lockArgs(env, join(dir, 'tokspec2.lock.yml')));
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain('zlib');
    expect(bad.stderr).not.toContain('SECRET123');
  });

  it('a releases URL that is not JSON is exit 5 naming the feed, and nothing broken is cached for --offline', async () => {
    server.route('/godl/page.html', '<!doctype html><title>Downloads</title>', 'text/html');
    const env = writeEnv('html.yml', ['zlib'], 'go: "1.17.*"\n');
    const lf = join(dir, 'html.lock.yml');
    const htmlUrl = server.url('/godl/page.html');
    const online = await runCli(['lock', '-f', env, '--lockfile', lf, '--cache-dir', cache, '--go-releases-url', htmlUrl, '-q']);
    expect(online.code).toBe(5);
    expect(online.stderr).toContain('is not JSON');
    expect(online.stderr).toContain('mode=json');
    const offline = await runCli(['lock', '-f', env, '--lockfile', lf, '--cache-dir', cache, '--go-releases-url', htmlUrl, '-q', '--offline']);
    expect(offline.stderr).not.toContain('internal error');
    expect(offline.code).toBe(5);
    expect(offline.stderr).toContain('E_OFFLINE_CACHE_MISS');
  });

  it('--update after a channel switch keeps no pin from the channel that was removed', async () => {
    const env = writeEnv('switch.yml', ['python >=3.9,<3.9.10']);
    const lf = join(dir, 'switch.lock.yml');
    expect((await runCli(lockArgs(env, lf))).code).toBe(0);
    const mirror = server.url('/mirror/conda-forge');
    writeFileSync(env, `channels:\n  - ${mirror}\nplatforms: [linux-64]\ndependencies:\n  - python >=3.9,<3.9.10\n`);
    const r = await runCli(lockArgs(env, lf, '--update', 'tzdata'));
    expect(r.code).toBe(0);
    const lock = await readLockfile(lf);
    expect(lock.metadata.channels).toEqual([{ url: mirror }]);
    const stray = lock.packages.filter((p) => p.channel !== mirror).map((p) => `${p.name} from ${p.channel}`);
    expect(stray).toEqual([]);
  });

  it('credentials in --go-download-base-url are not written to the lockfile', async () => {
    const env = writeEnv('gomirror.yml', ['zlib'], 'go: "1.17.*"\n');
    const lf = join(dir, 'gomirror.lock.yml');
    const r = await runCli(lockArgs(env, lf, '--go-download-base-url', 'https://gouser:GOPASS@mirror.example/t/GOTOK/dl/'));
    expect(r.code).toBe(0);
    const text = readFileSync(lf, 'utf8');
    expect(text).not.toMatch(/GOPASS|GOTOK|gouser/);
    expect((await readLockfile(lf)).go[0]!.url).toBe('https://mirror.example/dl/go1.17.3.linux-amd64.tar.gz');
  });

  it('never overwrites an input file or a file that is not a conda-go-lock lockfile', async () => {
    const env = writeEnv('own.yml', ['zlib']);
    const envText = readFileSync(env, 'utf8');
    const same = await runCli(lockArgs(env, env));
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('is also an input file');
    expect(readFileSync(env, 'utf8')).toBe(envText);

    // Some other tool's file (here a conda-lock lockfile) at the lockfile path.
    const foreign = join(dir, 'conda-lock.yml');
    const foreignText = 'version: 1\nmetadata:\n  platforms: [linux-64]\npackage: []\n';
    writeFileSync(foreign, foreignText);
    const r = await runCli(lockArgs(env, foreign));
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('E_LOCKFILE_FOREIGN');
    expect(r.stderr).toContain('not a conda-go-lock lockfile');
    expect(readFileSync(foreign, 'utf8')).toBe(foreignText);

    // Our own lockfile, damaged (e.g. a bad merge), or an empty file: replaced with a warning.
    const ours = join(dir, 'own.lock.yml');
    expect((await runCli(lockArgs(env, ours))).code).toBe(0);
    const good = readFileSync(ours, 'utf8');
    writeFileSync(ours, good.replace(/sha256: [0-9a-f]{64}/, 'sha256: <<<<<<< HEAD'));
    const damaged = await runCli(['lock', '-f', env, '--lockfile', ours, '--cache-dir', cache, '--go-releases-url', releases]);
    expect(damaged.code).toBe(0);
    expect(damaged.stderr).toContain('will be replaced');
    expect(readFileSync(ours, 'utf8')).toBe(good);
    writeFileSync(ours, '');
    expect((await runCli(lockArgs(env, ours))).code).toBe(0);
    expect(readFileSync(ours, 'utf8')).toBe(good);
  });

  it('--update NAME keeps the Go pin when go.dev has a newer patch; --update go moves it', async () => {
    const all = JSON.parse(readFileSync(fixture('go', 'go-dl-include-all-2021-11-08.json'), 'utf8')) as Array<{ version: string }>;
    const feed = server.url('/godl/moving-feed.json');
    server.route('/godl/moving-feed.json', JSON.stringify(all.filter((r) => r.version !== 'go1.17.3')), 'application/json');
    const env = writeEnv('gokeep.yml', ['zlib', 'xz'], 'go: "1.17.*"\n');
    const lf = join(dir, 'gokeep.lock.yml');
    const args = (...more: string[]) => ['lock', '-f', env, '--lockfile', lf, '--cache-dir', cache, '--go-releases-url', feed, '-q', ...more];
    expect((await runCli(args())).code).toBe(0);
    expect((await readLockfile(lf)).go[0]!.version).toBe('1.17.2');

    // go1.17.3 is published.
    server.route('/godl/moving-feed.json', JSON.stringify(all), 'application/json');
    expect((await runCli(args('--update', 'xz'))).code).toBe(0);
    expect((await readLockfile(lf)).go[0]!.version).toBe('1.17.2');
    const moved = await runCli(args('--update', 'go'));
    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    expect((await readLockfile(lf)).go[0]!.version).toBe('1.17.3');
  });

  it('the Go release list goes through the cached GET: a re-lock revalidates it with If-None-Match (304)', async () => {
    const env = writeEnv('gorevalidate.yml', ['zlib'], 'go: "1.17.*"\n');
    const lf = join(dir, 'gorevalidate.lock.yml');
    const own = join(dir, 'gorevalidate-cache');
    const path = new URL(releases).pathname;
    const args = (...more: string[]) => ['lock', '-f', env, '--lockfile', lf, '--cache-dir', own, '--go-releases-url', releases, '-q', ...more];
    const before = server.requestsTo(path).length;
    expect((await runCli(args())).code).toBe(0);
    expect((await runCli(args('--force'))).code).toBe(0);
    const goRequests = server.requestsTo(path).slice(before);
    expect(goRequests.map((r) => [r.status, typeof r.headers['if-none-match']])).toEqual([
      [200, 'undefined'],
      [304, 'string'],
    ]);
    expect((await runCli(args('--force', '--offline'))).code).toBe(0);
    expect(server.requestsTo(path).length).toBe(before + 2);
  });

  it('--offline reads a file: Go releases URL directly (no cache needed), like a file: channel', async () => {
    const { pathToFileURL } = await import('node:url');
    const env = join(dir, 'fileurls.yml');
    writeFileSync(env, `channels:\n  - ${pathToFileURL(fixture('repodata', 'conda-forge-subchannel-py39-2024-05')).href}\nplatforms: [linux-64]\ndependencies: [zlib]\ngo: "1.17.*"\n`);
    const lf = join(dir, 'fileurls.lock.yml');
    const emptyCache = join(dir, 'never-filled-cache');
    const r = await runCli([
      'lock', '-f', env, '--lockfile', lf, '--cache-dir', emptyCache, '-q', '--offline',
      '--go-releases-url', pathToFileURL(fixture('go', 'go-dl-include-all-2021-11-08.json')).href,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await readLockfile(lf)).go[0]!.version).toBe('1.17.3');
  });

  it('a lockfile in a directory that does not exist fails at once (exit 7), before any download', async () => {
    const env = writeEnv('nodir.yml', ['zlib']);
    server.requests.length = 0;
    const r = await runCli(lockArgs(env, join(dir, 'no-such-dir', 'lock.yml')));
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('no-such-dir');
    expect(r.stderr).toContain('does not exist');
    expect(server.requests).toHaveLength(0);
  });

  it('check ignores comments, whitespace, dependency order and spelling of the same spec; channel order matters', async () => {
    const mirror = server.url('/mirror/conda-forge');
    const cf = server.url('/conda-forge');
    const env = join(dir, 'cosmetic.yml');
    writeFileSync(env, `channels:\n  - ${cf}\n  - ${mirror}\nplatforms: [linux-64]\ndependencies:\n  - python 3.9.*\n  - zlib\n`);
    const lf = join(dir, 'cosmetic.lock.yml');
    expect((await runCli(lockArgs(env, lf))).code).toBe(0);
    writeFileSync(
      env,
      `# my env\nchannels:\n  - ${cf}   # main\n  - ${mirror}\n\nplatforms: [linux-64]\ndependencies:\n  - zlib   # compression\n  -   python=3.9\n`,
    );
    const same = await runCli(checkArgs(env, lf));
    expect(same.stderr).toContain('up to date');
    expect(same.code).toBe(0);
    writeFileSync(env, `channels:\n  - ${mirror}\n  - ${cf}\nplatforms: [linux-64]\ndependencies:\n  - python 3.9.*\n  - zlib\n`);
    const swapped = await runCli(checkArgs(env, lf));
    expect(swapped.code).toBe(1);
    expect(swapped.stderr).toContain('channels (in priority order)');
  });

  it('--virtual-package-spec reads a conda-lock virtual-packages.yml, for lock and check', async () => {
    const spec = join(dir, 'virtual-packages.yml');
    writeFileSync(spec, 'subdirs:\n  linux-64:\n    packages:\n      __glibc: "2.17"\n');
    const env = writeEnv('vpspec.yml', ['zlib']);
    const lf = join(dir, 'vpspec.lock.yml');
    const r = await runCli(lockArgs(env, lf, '--virtual-package-spec', spec));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await readLockfile(lf)).metadata.virtual_packages['linux-64']).toContain('__glibc 2.17 0');
    expect((await runCli(checkArgs(env, lf, '--virtual-package-spec', spec))).code).toBe(0);
    const without = await runCli(checkArgs(env, lf));
    expect(without.code).toBe(1);
    expect(without.stderr).toContain("removed '__glibc 2.17 0'");

    // The environment-file reader's hint for such a file names this option, and it exists.
    const misuse = await runCli(lockArgs(spec, join(dir, 'vpspec2.lock.yml')));
    expect(misuse.code).toBe(3);
    expect(misuse.stderr).toContain('--virtual-package-spec');
  });

  it('a Go-only environment (no conda dependencies) needs no channels', async () => {
    const env = join(dir, 'goonly.yml');
    writeFileSync(env, 'platforms: [linux-64, win-64]\ngo: "1.17.*"\n');
    const lf = join(dir, 'goonly.lock.yml');
    const r = await runCli(lockArgs(env, lf));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lock = await readLockfile(lf);
    expect(lock.packages).toEqual([]);
    expect(lock.go.map((g) => `${g.platform} ${g.version}`)).toEqual(['linux-64 1.17.3', 'win-64 1.17.3']);
    expect((await runCli(checkArgs(env, lf))).code).toBe(0);
    // With conda dependencies, channels are still required.
    writeFileSync(env, 'platforms: [linux-64]\ndependencies: [zlib]\n');
    const noChan = await runCli(lockArgs(env, lf));
    expect(noChan.code).toBe(3);
    expect(noChan.stderr).toContain('no channels');
  });
});

