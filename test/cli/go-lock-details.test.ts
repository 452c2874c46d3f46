/**
 * Go lock details through the CLI against a local server: the archive mirror
 * (--go-download-base-url) is recorded without credentials, reused by --force and --update go, and
 * a different one makes `check` fail; `go: {cgo: false}` is recorded, noticed by `check`, and gives
 * an activation without the cgo variables.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLockfile } from '../../src/lockfile/read.js';
import { fakeGoArchive } from '../support/archives.js';
import { ChannelServer } from '../support/channel-server.js';
import { runCli } from './helpers.js';

describe('Go lock details', () => {
  let server: ChannelServer;
  let dir: string;
  const file = 'go1.22.5.linux-amd64.tar.gz';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-go-details-'));
    const bytes = await fakeGoArchive('1.22.5');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const releases = [{ version: 'go1.22.5', stable: true, files: [{ filename: file, os: 'linux', arch: 'amd64', version: 'go1.22.5', sha256, size: bytes.length, kind: 'archive' }] }];
    server = await new ChannelServer()
      .route('/godl/releases.json', JSON.stringify(releases), 'application/json')
      .route(`/mirror/${file}`, bytes)
      .route(`/other/${file}`, bytes)
      .route(`/dl/${file}`, bytes)
      .start();
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const envFile = (name: string, go: string) => {
    const p = join(dir, name);
    writeFileSync(p, `go: ${go}\n`);
    return p;
  };
  const lock = (env: string, lf: string, ...more: string[]) =>
    runCli(['lock', '-f', env, '--lockfile', lf, '-p', 'linux-64', '--cache-dir', join(dir, 'cache'), '--go-releases-url', server.url('/godl/releases.json'), '-q', ...more]);
  const check = (env: string, lf: string, ...more: string[]) => runCli(['check', '-f', env, '--lockfile', lf, ...more]);

  it('--go-download-base-url is recorded without credentials and kept by --force, --update go and check', async () => {
    const env = envFile('mirror.yml', '"1.22.*"');
    const lf = join(dir, 'mirror.lock.yml');
    const mirror = server.url('/mirror/');
    const withSecret = mirror.replace('http://', 'http://user:s3cret@');
    const r = await lock(env, lf, '--go-download-base-url', withSecret);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const text = readFileSync(lf, 'utf8');
    expect(text).not.toContain('s3cret');
    let l = await readLockfile(lf);
    expect(l.metadata.go?.download_base_url).toBe(mirror);
    expect(l.go[0]!.url).toBe(`${mirror}${file}`);

    // Re-locking without the flag keeps the mirror (it used to switch back to <releases origin>/dl/).
    expect((await lock(env, lf, '--force')).code).toBe(0);
    l = await readLockfile(lf);
    expect(l.metadata.go?.download_base_url).toBe(mirror);
    expect(l.go[0]!.url).toBe(`${mirror}${file}`);
    expect((await lock(env, lf, '--update', 'go')).code).toBe(0);
    expect((await readLockfile(lf)).go[0]!.url).toBe(`${mirror}${file}`);

    // check: the recorded mirror is the default; another one (flag or environment variable) is a change.
    expect((await check(env, lf)).code).toBe(0);
    const other = server.url('/other/');
    const changed = await check(env, lf, '--go-download-base-url', other);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain(`Go archive base URL: ${mirror} → ${other}`);
    const viaEnv = await check(env, lf);
    expect(viaEnv.code).toBe(0);
    expect((await runCli(['check', '-f', env, '--lockfile', lf], { env: { CONDA_GO_LOCK_GO_DOWNLOAD_BASE_URL: other } })).code).toBe(1);

    // Moving to the other mirror on purpose re-pins the URLs.
    expect((await lock(env, lf, '--go-download-base-url', other)).code).toBe(0);
    expect((await readLockfile(lf)).go[0]!.url).toBe(`${other}${file}`);
  });

  it('go: {cgo: false} is recorded, check notices a change, and the activation leaves cgo alone', async () => {
    const env = envFile('nocgo.yml', '{version: "1.22.*", cgo: false}');
    const lf = join(dir, 'nocgo.lock.yml');
    expect((await lock(env, lf)).code).toBe(0);
    expect((await readLockfile(lf)).metadata.go?.cgo).toBe(false);
    expect((await check(env, lf)).code).toBe(0);

    const prefix = join(dir, 'nocgo-env');
    const inst = await runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'pkgs'), '-q']);
    expect(inst.stderr).toBe('');
    expect(inst.code).toBe(0);
    const script = readFileSync(join(prefix, 'etc/conda/activate.d/go.sh'), 'utf8');
    expect(script).toContain('export GOROOT=');
    expect(script).not.toContain('-Wl,-rpath');
    const hook = await runCli(['shell-hook', '-p', prefix]);
    expect(hook.stdout).not.toContain('-Wl,-rpath');

    // Turning cgo back on is a changed input; after re-locking, install rewrites the activation.
    writeFileSync(env, 'go: "1.22.*"\n');
    const stale = await check(env, lf);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('Go cgo activation: off → on');
    expect((await lock(env, lf)).code).toBe(0);
    expect((await readLockfile(lf)).metadata.go?.cgo).toBeUndefined();
    const again = await runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'pkgs'), '-q']);
    expect(again.code).toBe(0);
    expect(readFileSync(join(prefix, 'etc/conda/activate.d/go.sh'), 'utf8')).toContain('-Wl,-rpath');
  });

  it("an environment file's go: {cgo: false} without a version is refused naming the line", async () => {
    const env = envFile('bad.yml', '{cgo: false}');
    const r = await lock(env, join(dir, 'bad.lock.yml'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("needs 'version:' or 'gomod:'");
    expect(r.stderr).toContain('bad.yml');
  });
});
