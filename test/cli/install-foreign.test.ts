/**
 * Issue 8 §4 (foreign prefixes are not wiped) and §2 (installer-owned files are never written through
 * package files), through the CLI against a loopback channel of real .tar.bz2 packages.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeGoArchive } from '../support/archives.js';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { lockTestEnv, runCli } from './helpers.js';

let server: ChannelServer;
let dir: string;
let lockfile: string;

const lockEnv = (name: string, deps: string[], go = false): Promise<string> =>
  lockTestEnv(dir, server.url('/chan'), name, deps, {
    extraYaml: go ? 'go: "1.22.*"\n' : '',
    extraArgs: ['--go-releases-url', server.url('/godl/releases.json')],
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-foreign-'));
  await writeChannel(join(dir, 'chan'), [
    { name: 'zlib', version: '1.2.11', files: { 'lib/libz.so.1.2.11': 'zlib\n' } },
    { name: 'evil-history', version: '1.0', files: { 'conda-meta/history': '==> 2020-01-01 00:00:00 <==\n', 'share/x': 'x\n' } },
    { name: 'evil-activate', version: '1.0', files: { 'etc/conda/activate.d/go.sh': 'echo pwned\n' } },
  ]);
  const bytes = await fakeGoArchive('1.22.5');
  const file = 'go1.22.5.linux-amd64.tar.gz';
  server = new ChannelServer().mount('/chan', join(dir, 'chan')).route(`/dl/${file}`, bytes);
  server.route(
    '/godl/releases.json',
    JSON.stringify([{ version: 'go1.22.5', stable: true, files: [{ filename: file, os: 'linux', arch: 'amd64', version: 'go1.22.5', sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, kind: 'archive' }] }]),
    'application/json',
  );
  await server.start();
  lockfile = await lockEnv('zlib', ['zlib']);
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
const install = (prefix: string, lf: string, ...more: string[]) =>
  runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'pkgcache'), '-q', ...more]);

/** A micromamba-made environment: a record for `other` (with its files) and a user's source file. */
function micromambaEnv(): string {
  const prefix = join(dir, `mamba-${seq++}`);
  mkdirSync(join(prefix, 'conda-meta'), { recursive: true });
  mkdirSync(join(prefix, 'lib'), { recursive: true });
  mkdirSync(join(prefix, 'src'), { recursive: true });
  writeFileSync(join(prefix, 'lib', 'libother.so'), 'other\n');
  writeFileSync(join(prefix, 'src', 'main.c'), 'int main(void) { return 0; }\n');
  writeFileSync(
    join(prefix, 'conda-meta', 'other-1.0-h0_0.json'),
    JSON.stringify({ name: 'other', version: '1.0', build: 'h0_0', build_number: 0, channel: 'https://conda.anaconda.org/conda-forge/linux-64', files: ['lib/libother.so'], paths_data: { paths_version: 1, paths: [] } }),
  );
  writeFileSync(join(prefix, 'conda-meta', 'history'), '==> 2024-01-01 00:00:00 <==\n# cmd: micromamba create -p env other\n+conda-forge::other-1.0-h0_0\n');
  return prefix;
}

describe('a prefix conda-go-lock did not make', () => {
  it('a micromamba environment is refused (exit 8, E_PREFIX_FOREIGN) naming what was found, and left as it was', async () => {
    const prefix = micromambaEnv();
    const r = await install(prefix, lockfile);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('error[E_PREFIX_FOREIGN]');
    expect(r.stderr).toContain('1 package record(s) in conda-meta/ (other-1.0-h0_0)');
    expect(r.stderr).toContain('--adopt');
    expect(readFileSync(join(prefix, 'src', 'main.c'), 'utf8')).toContain('main');
    expect(existsSync(join(prefix, 'lib', 'libother.so'))).toBe(true);
    expect(existsSync(join(prefix, 'lib', 'libz.so.1.2.11'))).toBe(false);
  });

  it('with --adopt its records are installed packages: one not in the lock is removed through its file list, unmanaged files kept, verify passes', async () => {
    const prefix = micromambaEnv();
    const r = await runCli(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'pkgcache'), '--adopt']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('1 to remove, 0 to change, 1 to add');
    expect(r.stderr).toContain('  - other-1.0-h0_0');
    expect(existsSync(join(prefix, 'lib', 'libother.so'))).toBe(false);
    expect(existsSync(join(prefix, 'conda-meta', 'other-1.0-h0_0.json'))).toBe(false);
    expect(readFileSync(join(prefix, 'src', 'main.c'), 'utf8')).toContain('main');
    expect(readFileSync(join(prefix, 'lib', 'libz.so.1.2.11'), 'utf8')).toBe('zlib\n');
    // micromamba's history is kept, this install appended.
    expect(readFileSync(join(prefix, 'conda-meta', 'history'), 'utf8')).toMatch(/micromamba create[\s\S]*\+.*zlib-1\.2\.11/);
    const v = await runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64']);
    expect(v.code).toBe(0);
    // From now on it is ours: a second install is a no-op without --adopt.
    expect((await install(prefix, lockfile)).code).toBe(0);
  });

  it('a conda base installation (envs/, pkgs/, condabin/) is refused even with --adopt (E_PREFIX_CONDA_BASE)', async () => {
    const prefix = micromambaEnv();
    for (const d of ['envs/other', 'pkgs', 'condabin']) mkdirSync(join(prefix, d), { recursive: true });
    writeFileSync(join(prefix, 'envs', 'other', 'keep.txt'), 'x');
    for (const flags of [[], ['--adopt']]) {
      const r = await install(prefix, lockfile, ...flags);
      expect(r.code).toBe(8);
      expect(r.stderr).toContain('error[E_PREFIX_CONDA_BASE]');
      expect(r.stderr).toContain('envs/, pkgs/, condabin/');
    }
    expect(existsSync(join(prefix, 'envs', 'other', 'keep.txt'))).toBe(true);
    expect(existsSync(join(prefix, 'lib', 'libz.so.1.2.11'))).toBe(false);
  });

  it('a project folder with an empty conda-meta/ is refused, and with --adopt installed into with its files kept', async () => {
    const prefix = join(dir, `project-${seq++}`);
    mkdirSync(join(prefix, 'conda-meta'), { recursive: true });
    writeFileSync(join(prefix, 'notes.txt'), 'notes\n');
    const r = await install(prefix, lockfile);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('an empty conda-meta/');
    expect((await install(prefix, lockfile, '--adopt')).code).toBe(0);
    expect(readFileSync(join(prefix, 'notes.txt'), 'utf8')).toBe('notes\n');
    expect(existsSync(join(prefix, 'lib', 'libz.so.1.2.11'))).toBe(true);
  });
});

describe('installer-owned files', () => {
  it('a package owning conda-meta/history is refused (exit 6), nothing installed, the cache entry untouched', async () => {
    const lf = await lockEnv('evil-history', ['zlib', 'evil-history']);
    const prefix = join(dir, `evil-history-${seq++}`);
    const r = await install(prefix, lf);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('error[E_UNSAFE_ARCHIVE]');
    expect(r.stderr).toContain('conda-meta/history');
    expect(existsSync(prefix)).toBe(false);
    // Into an existing environment: refused the same way, the environment unchanged.
    const env = join(dir, `evil-history-${seq++}`);
    expect((await install(env, lockfile)).code).toBe(0);
    const before = readFileSync(join(env, 'conda-meta', 'history'), 'utf8');
    expect((await install(env, lf)).code).toBe(6);
    expect(readFileSync(join(env, 'conda-meta', 'history'), 'utf8')).toBe(before);
    expect(readdirSync(join(env, 'conda-meta')).filter((n) => n.startsWith('.cgl'))).toEqual([]);
    const cached = readdirSync(join(dir, 'pkgcache', 'extracted')).map((k) => join(dir, 'pkgcache', 'extracted', k, 'conda-meta', 'history')).filter(existsSync);
    for (const c of cached) expect(readFileSync(c, 'utf8')).toBe('==> 2020-01-01 00:00:00 <==\n');
  });

  it('a package shipping the Go activation script the installer writes: a clear error (exit 8, E_INSTALLER_OWNED)', async () => {
    const lf = await lockEnv('evil-activate', ['evil-activate'], true);
    const prefix = join(dir, `evil-activate-${seq++}`);
    const r = await install(prefix, lf);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('error[E_INSTALLER_OWNED]');
    expect(r.stderr).toContain('etc/conda/activate.d/go.sh');
    expect(existsSync(prefix)).toBe(false);
    // Without the Go toolchain there is no conflict.
    expect((await install(prefix, lf, '--no-go')).code).toBe(0);
    expect(readFileSync(join(prefix, 'etc', 'conda', 'activate.d', 'go.sh'), 'utf8')).toBe('echo pwned\n');
  });
});
