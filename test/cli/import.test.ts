/**
 * `import`: a conda-lock v1 file (+ its environment.yml) → conda-go-lock.yml keeping every pin,
 * through the CLI against the fixture conda-forge channel on 127.0.0.1.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLockfile } from '../../src/lockfile/read.js';
import type { ChannelServer } from '../support/channel-server.js';
import { fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { runCli, startFixtureChannel } from './helpers.js';

describe.skipIf(!haveFixtures)(`import a conda-lock file (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let server: ChannelServer;
  let dir: string;
  let releases: string;
  let env: string;
  let condaLock: string;
  let original: Awaited<ReturnType<typeof readLockfile>>;
  const cache = () => join(dir, 'cache');

  beforeAll(async () => {
    ({ server, releases } = await startFixtureChannel());
    dir = mkdtempSync(join(tmpdir(), 'cgl-import-'));
    env = join(dir, 'environment.yml');
    writeFileSync(env, `channels:\n  - ${server.url('/conda-forge')}\nplatforms: [linux-64, osx-arm64]\ndependencies:\n  - python 3.9.*\n  - zlib\n`);
    const made = join(dir, 'made.lock.yml');
    const r = await runCli(['lock', '-f', env, '--lockfile', made, '--cache-dir', cache(), '--go-releases-url', releases, '-q']);
    expect(r.code).toBe(0);
    original = await readLockfile(made);
    // conda-lock's own file for these pins, with the sha256 lines removed (older conda-lock wrote md5 only).
    const rendered = await runCli(['render', '-k', 'conda-lock', '--lockfile', made, '-o', '-']);
    expect(rendered.code).toBe(0);
    condaLock = join(dir, 'conda-lock.yml');
    writeFileSync(condaLock, rendered.stdout.replace(/^\s+sha256: .*\n/gm, ''));
    expect(readFileSync(condaLock, 'utf8')).not.toContain('sha256');
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every pin with its full record; the next lock and check see it as up to date', async () => {
    const lf = join(dir, 'conda-go-lock.yml');
    const r = await runCli(['import', condaLock, '-f', env, '--lockfile', lf, '--cache-dir', cache(), '--go-releases-url', releases]);
    expect(r.stderr).toContain('Imported');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Imported');
    const imported = await readLockfile(lf);
    const key = (l: typeof original) => l.packages.map((p) => [p.platform, p.name, p.url, p.sha256, p.md5, p.size, p.depends.join(','), p.constrains.join(',')].join(' '));
    expect(key(imported)).toEqual(key(original));
    expect(imported.metadata.content_hash).toEqual(original.metadata.content_hash);

    const check = await runCli(['check', '-f', env, '--lockfile', lf, '--go-releases-url', releases]);
    expect(check.code).toBe(0);
    const again = await runCli(['lock', '-f', env, '--lockfile', lf, '--cache-dir', cache(), '--go-releases-url', releases]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already up to date');
    // --update moves only what is named.
    const upd = await runCli(['lock', '-f', env, '--lockfile', lf, '--cache-dir', cache(), '--go-releases-url', releases, '-q', '--update', 'zlib']);
    expect(upd.code).toBe(0);
    const py = (l: typeof original) => l.packages.filter((p) => p.name === 'python').map((p) => p.url);
    expect(py(await readLockfile(lf))).toEqual(py(original));

    // An existing lockfile is replaced only with --force.
    const twice = await runCli(['import', condaLock, '-f', env, '--lockfile', lf, '--cache-dir', cache(), '-q']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('--force');
  });

  it('refuses a pin whose md5 differs from the channel record, and pins that do not satisfy the environment', async () => {
    const text = readFileSync(condaLock, 'utf8');
    const md5 = /md5: ([0-9a-f]{32})/.exec(text)![1]!;
    const bad = join(dir, 'bad.conda-lock.yml');
    writeFileSync(bad, text.replace(md5, 'f'.repeat(32)));
    const r = await runCli(['import', bad, '-f', env, '--lockfile', join(dir, 'bad.lock.yml'), '--cache-dir', cache(), '-q']);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('E_LOCKFILE_IMPORT');
    expect(r.stderr).toContain(`md5 ${'f'.repeat(32)}`);

    const other = join(dir, 'other.yml');
    writeFileSync(other, `channels:\n  - ${server.url('/conda-forge')}\nplatforms: [linux-64]\ndependencies:\n  - python 3.9.*\n  - zlib\n  - xz >=99\n`);
    const u = await runCli(['import', condaLock, '-f', other, '--lockfile', join(dir, 'other.lock.yml'), '--cache-dir', cache(), '-q']);
    expect(u.code).toBe(7);
    expect(u.stderr).toContain("'xz >=99'");
  });
});
