/**
 * Issue 8 §5 (leftovers, signals) and §6 (clear errors instead of stack traces), each its own test,
 * through the CLI against loopback servers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { projectRoot } from '../support/fixtures.js';
import { lockTestEnv, runCli } from './helpers.js';

let server: ChannelServer;
let dir: string;
let lockfile: string;
let bigLock: string;
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');

const lockEnv = (name: string, deps: string[]): Promise<string> => lockTestEnv(dir, server.url('/chan'), name, deps);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-errors-'));
  await writeChannel(join(dir, 'chan'), [
    { name: 'zlib', version: '1.2.11', files: { 'lib/libz.so.1.2.11': 'zlib\n' } },
    // ~1 MB that bzip2 cannot shrink: more than the small tmpfs below holds.
    { name: 'big', version: '1.0', files: { 'share/big.bin': randomBytes(1 << 20) } },
    { name: 'hostile', version: '1.0', files: { 'share/\u001b]0;pwned\u0007\u202etxt.exe': 'x\n' } },
  ]);
  server = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
  lockfile = await lockEnv('zlib', ['zlib']);
  bigLock = await lockEnv('big', ['zlib', 'big']);
}, 60_000);
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
const install = (prefix: string, lf: string, cacheDir = join(dir, 'pkgcache'), ...more: string[]) =>
  runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cacheDir, '-q', ...more]);

describe('leftovers of killed downloads', () => {
  it("the HTTP client's temp (.<fn>.part-<pid>@<host>-<hex>.<hex>.part) of a dead process is removed by the next install; a live process's and another host's are left alone", async () => {
    const cacheDir = join(dir, `cache-leftover-${seq++}`);
    expect((await install(join(dir, `env-leftover-${seq++}`), lockfile, cacheDir)).code).toBe(0);
    const pkgDir = join(cacheDir, 'pkgs', readdirSync(join(cacheDir, 'pkgs'))[0]!);
    const fn = readdirSync(pkgDir).find((n) => n.endsWith('.tar.bz2'))!;
    // A pid that is surely gone (a child that exited) and one that is alive (a sleeping child).
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const alive = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const staleHttp = `.${fn}.part-${dead}@${HOST}-0badcafe.0123456789ab.part`;
      const staleOuter = `${fn}.part-${dead}@${HOST}-0badcafe`;
      const live = `.${fn}.part-${alive.pid}@${HOST}-0badcafe.0123456789ab.part`;
      const otherHost = `.${fn}.part-${dead}@not-${HOST}-0badcafe.0123456789ab.part`;
      for (const n of [staleHttp, staleOuter, live, otherHost]) writeFileSync(join(pkgDir, n), 'partial');
      rmSync(join(pkgDir, fn)); // so the next install downloads (and cleans the directory) again
      expect((await install(join(dir, `env-leftover-${seq++}`), lockfile, cacheDir)).code).toBe(0);
      expect(readdirSync(pkgDir).sort()).toEqual([fn, live, otherHost].sort());
    } finally {
      alive.kill();
    }
  });
});

describe('clear input errors', () => {
  it('a YAML alias bomb in environment.yml: exit 3 naming the file, no stack trace', async () => {
    const env = join(dir, 'bomb.yml');
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
    lines.push('dependencies: [zlib]');
    writeFileSync(env, lines.join('\n') + '\n');
    const r = await runCli(['lock', '-f', env, '--lockfile', join(dir, 'bomb-lock.yml'), '-p', 'linux-64', '--cache-dir', join(dir, 'repocache')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`error[E_YAML]: ${env}`);
    expect(r.stderr).toContain('alias bomb');
    expect(r.stderr).not.toContain('internal error');
  });

  it.each([
    ['flow sequences 50,000 deep', `dependencies: ${'['.repeat(50_000)}zlib${']'.repeat(50_000)}\n`, 1],
    ['flow mappings 50,000 deep', `dependencies: ${'{a: '.repeat(50_000)}zlib${'}'.repeat(50_000)}\n`, 1],
    ['compact block sequences 50,000 deep', `dependencies:\n  ${'- '.repeat(50_000)}zlib\n`, 2],
    // Shallow enough for the parser, too deep for anything after it.
    ['flow sequences 150 deep', `dependencies: ${'['.repeat(150)}zlib${']'.repeat(150)}\n`, 1],
  ])('YAML nesting (%s) in environment.yml: E_YAML, exit 3, naming the file and line', async (_what, text, line) => {
    const env = join(dir, `deep-${seq++}.yml`);
    writeFileSync(env, text);
    const r = await runCli(['lock', '-f', env, '--lockfile', join(dir, 'deep-lock.yml'), '-p', 'linux-64', '--cache-dir', join(dir, 'repocache')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`error[E_YAML]: ${env}:${line}:`);
    expect(r.stderr).toContain('nested');
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).not.toContain('call stack');
    expect(existsSync(join(dir, 'deep-lock.yml'))).toBe(false);
  });

  it('a selector nested 50,000 deep: exit 3 naming the file', async () => {
    const env = join(dir, 'deep-selector.yml');
    writeFileSync(env, `channels: [${server.url('/chan')}]\ndependencies:\n  - zlib  # [${'('.repeat(50_000)}linux${')'.repeat(50_000)}]\n`);
    const r = await runCli(['lock', '-f', env, '--lockfile', join(dir, 'deep-sel-lock.yml'), '-p', 'linux-64', '--cache-dir', join(dir, 'repocache')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(env);
    expect(r.stderr).not.toContain('internal error');
  });

  it('a 100,000-digit Go version: an input error (exit 3) showing the start of it, not 1.Infinity.*', async () => {
    const huge = `1.${'9'.repeat(100_000)}`;
    const env = join(dir, 'huge-go.yml');
    writeFileSync(env, `channels: [${server.url('/chan')}]\ndependencies: [zlib]\ngo: "${huge}"\n`);
    const common = ['--lockfile', join(dir, 'huge-go-lock.yml'), '-p', 'linux-64', '--cache-dir', join(dir, 'repocache'), '--go-releases-url', server.url('/none.json')];
    // In the environment file: its go: entry is at fault (E_ENV_GO, file:line named) ...
    const r = await runCli(['lock', '-f', env, ...common]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error[E_ENV_GO]');
    expect(r.stderr).toContain(`${env}:3:`);
    expect(r.stderr).toContain('(100002 characters)');
    expect(r.stderr).not.toContain('Infinity');
    expect(r.stderr.length).toBeLessThan(2000);
    // ... and as --go: E_GO_SPEC.
    writeFileSync(env, `channels: [${server.url('/chan')}]\ndependencies: [zlib]\n`);
    for (const spec of [huge, `>=${huge}`, `${huge}.*`, `go${huge}`]) {
      const g = await runCli(['lock', '-f', env, '--go', spec, ...common]);
      expect(g.code).toBe(3);
      expect(g.stderr).toContain('error[E_GO_SPEC]');
      expect(g.stderr).not.toContain('Infinity');
      expect(g.stderr.length).toBeLessThan(2000);
    }
  });

  it('-p "" is a usage error, not the current directory', async () => {
    for (const cmd of ['install', 'verify']) {
      const r = await runCli([cmd, '--lockfile', lockfile, '-p', '', '--platform', 'linux-64']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--prefix is empty');
    }
  });

  it('--cache-dir inside a prefix that does not exist yet: a clear usage error, nothing created', async () => {
    const prefix = join(dir, `env-cache-inside-${seq++}`);
    const r = await install(prefix, lockfile, join(prefix, 'pkgs-cache'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is inside the prefix');
    expect(existsSync(prefix)).toBe(false);
  });
});

describe('control characters are escaped', () => {
  it("in verify output: a hostile package path cannot set the terminal title or reverse the text", async () => {
    const lf = await lockEnv('hostile', ['hostile']);
    const prefix = join(dir, `env-hostile-${seq++}`);
    expect((await install(prefix, lf)).code).toBe(0);
    const file = readdirSync(join(prefix, 'share')).find((n) => n.includes('pwned'))!;
    writeFileSync(join(prefix, 'share', file), 'changed\n');
    const v = await runCli(['verify', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64']);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('\\e]0;pwned\\x07\\u{202e}txt.exe');
    expect(v.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
  });

  it('in error messages: a spec with ESC, NUL and newline is shown escaped', async () => {
    const env = join(dir, 'ctrl.yml');
    writeFileSync(env, `channels: [${server.url('/chan')}]\ndependencies:\n  - "zlib\\e]0;x\\a >=\\0 1"\n`);
    const r = await runCli(['lock', '-f', env, '--lockfile', join(dir, 'ctrl-lock.yml'), '-p', 'linux-64', '--cache-dir', join(dir, 'repocache')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(r.stderr).toMatch(/\\e|\\x1b/);
  });
});
