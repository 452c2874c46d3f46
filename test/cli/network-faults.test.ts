/**
 * Issue 8 §5/§6 through the CLI: a hung mirror (1 byte per interval) fails with E_TOO_SLOW after the
 * minimum-speed window instead of hanging, and a redirect loop is named as such (E_REDIRECT), for
 * `lock` (repodata) and `install` (a package), both exit 5, with nothing half-written left behind.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { lockTestEnv, runCli } from './helpers.js';

let server: ChannelServer;
let dir: string;
let lockfile: string;
let seq = 0;
/** A rule strict enough to fail a trickle in well under a second per attempt. */
const SLOW_ENV = { CONDA_GO_LOCK_MIN_SPEED: '50000', CONDA_GO_LOCK_MIN_SPEED_TIME: '0.3' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-netfaults-'));
  await writeChannel(join(dir, 'chan'), [{ name: 'zlib', version: '1.2.11', files: { 'lib/libz.so.1.2.11': 'zlib\n'.repeat(4000) } }]);
  server = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
  lockfile = await lockTestEnv(dir, server.url('/chan'), 'base', ['zlib']);
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => server.clearFaults());

const install = (prefix: string, cacheDir: string, env: Record<string, string> = {}) =>
  runCli(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cacheDir, '-q'], { env });

/** Every file under `root` whose name marks it as one of our temporaries. */
function temps(root: string): string[] {
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true }) as string[]).filter((p) => /\.part\b|\.tmp-|\.cgl-/.test(p));
}

describe('a hung mirror', () => {
  it('install: a package served 1 byte per 50 ms fails with E_TOO_SLOW (exit 5) after the retries, naming the URL; no prefix, no partial file', async () => {
    server.fault({ path: /\.tar\.bz2$/, fault: { kind: 'trickle', bytes: 1, intervalMs: 50 } });
    const prefix = join(dir, `env-${seq++}`);
    const cacheDir = join(dir, `cache-${seq++}`);
    const r = await install(prefix, cacheDir, SLOW_ENV);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/E_TOO_SLOW/);
    expect(r.stderr).toMatch(/zlib-1\.2\.11-[^ ]*\.tar\.bz2/);
    expect(r.stderr).not.toMatch(/\n\s+at .*\.(ts|js):\d+/); // no stack trace
    // retried like any other fault: more than one request for the archive
    expect(server.requests.filter((q) => q.path.endsWith('.tar.bz2')).length).toBeGreaterThan(1);
    expect(existsSync(prefix)).toBe(false);
    expect(temps(cacheDir)).toEqual([]);

    // The mirror recovers: the same command now installs.
    server.clearFaults();
    const ok = await install(prefix, cacheDir, SLOW_ENV);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(readFileSync(join(prefix, 'lib/libz.so.1.2.11'), 'utf8')).toBe('zlib\n'.repeat(4000));
  });

  it('lock: repodata served 1 byte per 50 ms fails with E_TOO_SLOW (exit 5); the old lockfile is untouched', async () => {
    // A changed spec, so the lock must fetch repodata again (an up-to-date lock fetches nothing)
    const old = join(dir, `old-${seq++}.yml`);
    writeFileSync(old, readFileSync(lockfile));
    const before = readFileSync(old);
    const env = join(dir, `changed-${seq++}.environment.yml`);
    writeFileSync(env, `channels:\n  - ${server.url('/chan')}\ndependencies:\n  - "zlib >=1.2"\n`);
    server.fault({ path: /\/repodata\.json/, fault: { kind: 'trickle', bytes: 1, intervalMs: 50 } });
    const r = await runCli(['lock', '-f', env, '--lockfile', old, '-p', 'linux-64', '--cache-dir', join(dir, `repocache-${seq++}`), '-q'], {
      env: SLOW_ENV,
    });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/E_TOO_SLOW/);
    expect(readFileSync(old).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.startsWith(`.old-`) || n.includes('.tmp'))).toEqual([]);
  });
});

describe('a redirect loop', () => {
  it('install: a package URL redirecting to itself is E_REDIRECT "redirect loop at URL" (exit 5), not retried, nothing installed', async () => {
    server.fault({ path: /\.tar\.bz2$/, fault: { kind: 'redirect', to: '/chan/loop/a' } });
    server.fault({ path: '/chan/loop/a', fault: { kind: 'redirect', to: '/chan/loop/b' } });
    server.fault({ path: '/chan/loop/b', fault: { kind: 'redirect', to: '/chan/loop/a' } });
    const prefix = join(dir, `env-${seq++}`);
    const cacheDir = join(dir, `cache-${seq++}`);
    const r = await install(prefix, cacheDir);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/E_REDIRECT/);
    expect(r.stderr).toMatch(/redirect loop at http:\/\/127\.0\.0\.1:\d+\/chan\/loop\/a/);
    expect(r.stderr).not.toMatch(/UND_ERR|Agent/);
    expect(existsSync(prefix)).toBe(false);
    expect(temps(cacheDir)).toEqual([]);
  });

  it('lock: repodata redirecting in a loop is E_REDIRECT (exit 5) naming the URL', async () => {
    server.fault({ path: /\/repodata\.json/, fault: { kind: 'redirect', to: '/chan/linux-64/loop.json' } });
    server.fault({ path: '/chan/linux-64/loop.json', fault: { kind: 'redirect', to: '/chan/linux-64/loop.json' } });
    const out = join(dir, `loop-${seq++}.yml`);
    const r = await runCli(['lock', '-f', join(dir, 'base.environment.yml'), '--lockfile', out, '-p', 'linux-64', '--cache-dir', join(dir, `repocache-${seq++}`), '-q']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/redirect loop at http:\/\/127\.0\.0\.1:\d+\/chan\/linux-64\/loop\.json/);
    expect(existsSync(out)).toBe(false);
  });
});
