/**
 * Issue 8 §6: a full disk is one clear error (E_DISK_FULL, exit 8) naming the path, with nothing
 * half-written: through the CLI on a small tmpfs (needs root to mount; skipped with a message
 * otherwise), and with an injected ENOSPC through installLockfile (runs everywhere).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, NetworkError } from '../../src/errors.js';
import { installLockfile } from '../../src/install/install.js';
import { readLockfile } from '../../src/lockfile/read.js';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { lockTestEnv, runCli } from './helpers.js';

let server: ChannelServer;
let dir: string;
let smallLock: string;
let bigLock: string;
let seq = 0;
const mounts: string[] = [];

const lockEnv = (name: string, deps: string[]): Promise<string> => lockTestEnv(dir, server.url('/chan'), name, deps);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-diskfull-'));
  await writeChannel(join(dir, 'chan'), [
    { name: 'zlib', version: '1.2.11', files: { 'lib/libz.so.1.2.11': 'zlib\n' } },
    // 1 MiB that bzip2 cannot shrink: more than the 512 KiB tmpfs below holds.
    { name: 'big', version: '1.0', files: { 'share/big.bin': randomBytes(1 << 20) } },
  ]);
  server = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
  smallLock = await lockEnv('small', ['zlib']);
  bigLock = await lockEnv('big', ['zlib', 'big']);
}, 60_000);
afterAll(async () => {
  for (const m of mounts) spawnSync('umount', [m]);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const install = (prefix: string, lf: string, cacheDir: string) =>
  runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cacheDir, '-q']);

/** Whether this process may mount a tmpfs (root in a container). */
const canMount = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'cgl-mount-probe-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' }).status === 0;
  if (ok) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
})();
if (!canMount) console.warn('install-disk-full: skipping the tmpfs tests (mounting a tmpfs needs root); the injected-ENOSPC test still runs');

function smallTmpfs(): string {
  const mnt = join(dir, `tmpfs-${seq++}`);
  mkdirSync(mnt);
  expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt], { stdio: 'ignore' }).status).toBe(0);
  mounts.push(mnt);
  return mnt;
}

const ours = (d: string) => (existsSync(d) ? readdirSync(d).filter((n) => /\.cgl-|\.part|\.tmp/.test(n)) : []);

describe.skipIf(!canMount)('disk full on a 512 KiB tmpfs, through the CLI', () => {
  it('ENOSPC copying into an existing environment: one E_DISK_FULL line naming the path, exit 8, the old environment intact', async () => {
    const mnt = smallTmpfs();
    const prefix = join(mnt, 'env');
    const cacheDir = join(dir, `cache-${seq++}`);
    expect((await install(prefix, smallLock, cacheDir)).code).toBe(0);
    const r = await install(prefix, bigLock, cacheDir);
    expect(r.code).toBe(ExitCode.install);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error\[E_DISK_FULL\]: disk full \(ENOSPC: no space left on the device\) writing /);
    expect(r.stderr).toContain(mnt);
    expect(r.stderr).toContain('the environment was not changed');
    expect(readdirSync(join(prefix, 'conda-meta')).filter((n) => n.startsWith('.cgl'))).toEqual([]);
    expect(ours(mnt)).toEqual([]);
    expect((await runCli(['verify', '--lockfile', smallLock, '-p', prefix, '--platform', 'linux-64'])).code).toBe(0);
  });

  it('ENOSPC building a new prefix: E_DISK_FULL, no prefix and no staging directory left', async () => {
    const mnt = smallTmpfs();
    const prefix = join(mnt, 'env');
    const r = await install(prefix, bigLock, join(dir, `cache-${seq++}`));
    expect(r.code).toBe(ExitCode.install);
    expect(r.stderr).toContain('error[E_DISK_FULL]');
    expect(readdirSync(mnt)).toEqual([]);
  });

  it('ENOSPC writing the package cache: the same disk-full error, not E_NETWORK, and no partial download left', async () => {
    const mnt = smallTmpfs();
    const cacheDir = join(mnt, 'cache');
    const r = await install(join(dir, `env-${seq++}`), bigLock, cacheDir);
    expect(r.code).toBe(ExitCode.install);
    expect(r.stderr).toContain('error[E_DISK_FULL]');
    expect(r.stderr).toContain(cacheDir);
    expect(r.stderr).not.toContain('E_NETWORK');
    const left: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : left.push(e.name);
    };
    walk(cacheDir);
    expect(left.filter((n) => /\.part|\.tmp/.test(n))).toEqual([]);
  });

  it('ENOSPC writing the lockfile: E_DISK_FULL, the old lockfile unchanged, no temp file beside it', async () => {
    const mnt = smallTmpfs();
    const out = join(mnt, 'conda-go-lock.yml');
    writeFileSync(out, readFileSync(smallLock));
    // Fill the rest of the filesystem.
    spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=4k'], { stdio: 'ignore' });
    const r = await runCli(['lock', '-f', join(dir, 'big.environment.yml'), '--lockfile', out, '-p', 'linux-64', '--cache-dir', join(dir, 'repocache'), '-q', '--force']);
    expect(r.code).toBe(ExitCode.install);
    expect(r.stderr).toContain('error[E_DISK_FULL]');
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(smallLock, 'utf8'));
    expect(readdirSync(mnt).sort()).toEqual(['conda-go-lock.yml', 'filler']);
  });
});

describe('disk full, injected', () => {
  it('an ENOSPC inside a NetworkError from the downloader is E_DISK_FULL naming the path; nothing is created', async () => {
    const lockfile = await readLockfile(smallLock);
    const prefix = join(dir, `env-injected-${seq++}`);
    const cacheDir = join(dir, `cache-injected-${seq++}`);
    const http = {
      download: async (url: string, dest: string) => {
        const cause = Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', path: dest });
        throw new NetworkError(`download of ${url} failed`, { cause });
      },
    };
    const err = await installLockfile({ lockfile, platform: 'linux-64', prefix, http, cacheDir }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_DISK_FULL', exitCode: ExitCode.install });
    expect((err as Error).message).toContain(cacheDir);
    expect((err as Error).message).toContain('the environment was not changed');
    expect(existsSync(prefix)).toBe(false);
    expect(ours(dir).filter((n) => n.startsWith('env-injected'))).toEqual([]);
  });
});
