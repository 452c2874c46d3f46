/**
 * Issue 8 §1: no file outside the prefix, whatever the lockfile or the channel says. A record's
 * name/version/build/subdir/fn become file names (conda-meta/<dist>.json, the package cache), so a
 * build string like `h7b6447c_3/../../../tmp/x/victim` must be refused where it enters: the channel's
 * repodata (dropped with one warning), the lockfile reader, and install itself; and an archive whose
 * info/index.json names another package is refused before anything is linked.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installLockfile } from '../../src/install/install.js';
import { parseLockfile } from '../../src/lockfile/read.js';
import { HttpClient } from '../../src/net/http.js';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { runCli } from './helpers.js';

let server: ChannelServer;
let dir: string;
let lockfile: string;
let victimDir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-names-'));
  victimDir = join(dir, 'x');
  const chan = join(dir, 'chan');
  await writeChannel(chan, [
    { name: 'zlib', version: '1.2.11', build: 'h7b6447c_3', files: { 'lib/libz.txt': 'zlib\n' } },
    // An archive whose info/index.json says it is another build than its repodata record.
    { name: 'liar', version: '1.0', build: 'h0_0', files: { 'share/liar.txt': 'x\n' }, index: { build: 'h1_1' } },
  ]);
  server = await new ChannelServer().mount('/chan', chan).start();
  writeFileSync(join(dir, 'environment.yml'), `channels:\n  - ${server.url('/chan')}\ndependencies:\n  - zlib\n`);
  lockfile = join(dir, 'conda-go-lock.yml');
  const r = await runCli(['lock', '-f', join(dir, 'environment.yml'), '--lockfile', lockfile, '-p', 'linux-64', '--cache-dir', join(dir, 'cache'), '-q']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The build string of the report: climbs from PREFIX/conda-meta to `<dir>/x/victim`. */
const hostileBuild = () => `h7b6447c_3/../../../x/victim`;

describe('a hostile build string ../../../tmp/x/victim', () => {
  it('in the lockfile: the reader refuses it (exit 7 naming the field) and nothing is written outside the prefix', async () => {
    const text = readFileSync(lockfile, 'utf8').replace(/build: 'h7b6447c_3'/, `build: '${hostileBuild()}'`);
    expect(text).toContain('victim');
    const bad = join(dir, 'hostile-lock.yml');
    writeFileSync(bad, text);
    const prefix = join(dir, 'env-hostile-lock');
    const r = await runCli(['install', '--lockfile', bad, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'cache'), '-q']);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('E_LOCKFILE_SCHEMA');
    expect(r.stderr).toContain('build');
    expect(r.stderr).toContain('no path separators');
    expect(existsSync(join(victimDir, 'victim.json'))).toBe(false);
    expect(existsSync(prefix)).toBe(false);
  });

  it('in an in-memory lockfile passed to installLockfile: refused before anything is fetched (defence in depth)', async () => {
    const lf = parseLockfile(readFileSync(lockfile, 'utf8'), lockfile);
    const hostile = { ...lf, packages: lf.packages.map((p) => ({ ...p, build: hostileBuild() })) };
    const before = server.requests.length;
    const prefix = join(dir, 'env-hostile-api');
    await expect(
      installLockfile({ lockfile: hostile, platform: 'linux-64', prefix, http: new HttpClient({ retries: 0 }), cacheDir: join(dir, 'cache-api') }),
    ).rejects.toMatchObject({ code: 'E_LOCKFILE_INVALID', exitCode: 7 });
    expect(server.requests.length).toBe(before);
    expect(existsSync(join(victimDir, 'victim.json'))).toBe(false);
    expect(existsSync(prefix)).toBe(false);
  });

  it('in a channel\'s repodata: lock drops the record with one warning naming the channel, and locks a safe build', async () => {
    const chan = join(dir, 'hostile-chan');
    await writeChannel(chan, [
      { name: 'zlib', version: '1.2.11', build: 'h7b6447c_3', files: { 'lib/libz.txt': 'zlib\n' } },
      // Newer, so the solver would pick it if it were kept.
      { name: 'zlib', version: '1.3.1', build: 'h0_0', files: { 'lib/libz.txt': 'zlib 1.3\n' }, record: { build: hostileBuild() } },
      { name: 'zlib', version: '1.3.2', build: 'h0_0', files: { 'lib/libz.txt': 'zlib 1.3\n' }, record: { fn: '../../../x/victim.tar.bz2' } },
    ]);
    server.mount('/hostile', chan);
    const env = join(dir, 'hostile-env.yml');
    writeFileSync(env, `channels:\n  - ${server.url('/hostile')}\ndependencies:\n  - zlib\n`);
    const out = join(dir, 'hostile-chan-lock.yml');
    const r = await runCli(['lock', '-f', env, '--lockfile', out, '-p', 'linux-64', '--cache-dir', join(dir, 'cache-hostile')]);
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('unsafe names'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(server.url('/hostile'));
    expect(warnings[0]).toContain('linux-64');
    const locked = readFileSync(out, 'utf8');
    expect(locked).not.toContain('victim');
    expect(locked).toContain("version: '1.2.11'");
  });
});

describe("the downloaded archive's info/index.json", () => {
  it('naming another build than the lockfile: integrity error (exit 6) and nothing installed', async () => {
    const env = join(dir, 'liar-env.yml');
    writeFileSync(env, `channels:\n  - ${server.url('/chan')}\ndependencies:\n  - liar\n`);
    const lf = join(dir, 'liar-lock.yml');
    expect((await runCli(['lock', '-f', env, '--lockfile', lf, '-p', 'linux-64', '--cache-dir', join(dir, 'cache'), '-q'])).code).toBe(0);
    const prefix = join(dir, 'env-liar');
    const r = await runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'cache'), '-q']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('error[E_INTEGRITY]');
    expect(r.stderr).toContain('build "h1_1" (lockfile: "h0_0")');
    expect(existsSync(prefix)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.startsWith('env-liar'))).toEqual([]);
  });
});
