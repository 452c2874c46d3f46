/**
 * Issue 8 (edge of §3): a new package path where the existing environment holds a non-empty directory
 * (or a file where the new path needs a directory) is refused while preparing (E_PATH_CONFLICT, exit 8),
 * before anything changes — not after the commit, where every later run would fail the same way. A
 * directory that the removals of the same update empty is fine (an old version's directory replaced by a
 * new version's file).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { lockTestEnv, runCli } from './helpers.js';

let server: ChannelServer;
let dir: string;
let seq = 0;
const locks: Record<string, string> = {};

const lockEnv = (name: string, deps: string[]): Promise<string> => lockTestEnv(dir, server.url('/chan'), name, deps);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-pathconflict-'));
  await writeChannel(join(dir, 'chan'), [
    { name: 'zlib', version: '1.2.11', files: { 'lib/libz.so.1.2.11': 'zlib\n' } },
    { name: 'newpkg', version: '1.0', files: { 'share/newpkg/data': 'data file\n', 'share/other/x/y.txt': 'y\n' } },
    { name: 'shape', version: '1.0', files: { 'lib/thing/a.txt': 'a directory in 1.0\n' } },
    { name: 'shape', version: '2.0', files: { 'lib/thing': 'a file in 2.0\n' } },
  ]);
  server = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
  locks.base = await lockEnv('base', ['zlib']);
  locks.withNew = await lockEnv('with-new', ['zlib', 'newpkg']);
  locks.shape1 = await lockEnv('shape1', ['zlib', 'shape 1.0']);
  locks.shape2 = await lockEnv('shape2', ['zlib', 'shape 2.0']);
}, 60_000);
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cacheDir = () => join(dir, 'pkgcache');
const install = (prefix: string, lf: string) =>
  runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cacheDir(), '-q']);
const verify = (prefix: string, lf: string) => runCli(['verify', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64']);
const txnLeft = (prefix: string) => readdirSync(join(prefix, 'conda-meta')).filter((n) => n.startsWith('.cgl'));

describe('a new package path blocked in the prefix', () => {
  it('a non-empty directory of the user at a new file path: E_PATH_CONFLICT before anything changes; once moved away, the update succeeds', async () => {
    const prefix = join(dir, `env-${seq++}`);
    expect((await install(prefix, locks.base!)).code).toBe(0);
    mkdirSync(join(prefix, 'share', 'newpkg', 'data'), { recursive: true });
    writeFileSync(join(prefix, 'share', 'newpkg', 'data', 'mine.txt'), 'mine\n');
    const r = await install(prefix, locks.withNew!);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('error[E_PATH_CONFLICT]: cannot install share/newpkg/data:');
    expect(r.stderr).toContain('share/newpkg/data/mine.txt');
    expect(r.stderr).toContain('nothing was changed');
    expect(txnLeft(prefix)).toEqual([]);
    expect(readFileSync(join(prefix, 'share', 'newpkg', 'data', 'mine.txt'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(prefix, 'share', 'other'))).toBe(false);
    expect((await verify(prefix, locks.base!)).code).toBe(0);
    // The same again (no journal that fails on every run) ...
    expect((await install(prefix, locks.withNew!)).code).toBe(8);
    // ... until the user moves it away.
    rmSync(join(prefix, 'share', 'newpkg', 'data'), { recursive: true });
    expect((await install(prefix, locks.withNew!)).code).toBe(0);
    expect((await verify(prefix, locks.withNew!)).code).toBe(0);
  });

  it('an empty directory (nested empty ones too) at a new file path: it goes and the update succeeds — once, not a journal that fails on every run', async () => {
    const prefix = join(dir, `env-${seq++}`);
    expect((await install(prefix, locks.base!)).code).toBe(0);
    mkdirSync(join(prefix, 'share', 'newpkg', 'data', 'empty', 'deeper'), { recursive: true });
    const r = await install(prefix, locks.withNew!);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(prefix, 'share', 'newpkg', 'data'), 'utf8')).toBe('data file\n');
    expect(txnLeft(prefix)).toEqual([]);
    expect((await verify(prefix, locks.withNew!)).code).toBe(0);
  });

  it('a file of the user where a new path needs a directory: E_PATH_CONFLICT, nothing changed', async () => {
    const prefix = join(dir, `env-${seq++}`);
    expect((await install(prefix, locks.base!)).code).toBe(0);
    mkdirSync(join(prefix, 'share', 'other'), { recursive: true });
    writeFileSync(join(prefix, 'share', 'other', 'x'), 'my file\n');
    const r = await install(prefix, locks.withNew!);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('error[E_PATH_CONFLICT]: cannot install share/other/x/y.txt:');
    expect(r.stderr).toContain('is a file where the new package needs a directory');
    expect(txnLeft(prefix)).toEqual([]);
    expect(existsSync(join(prefix, 'share', 'newpkg'))).toBe(false);
    expect(readFileSync(join(prefix, 'share', 'other', 'x'), 'utf8')).toBe('my file\n');
    expect((await verify(prefix, locks.base!)).code).toBe(0);
  });

  it("an old version's directory replaced by the new version's file at the same path: the update succeeds and verifies", async () => {
    const prefix = join(dir, `env-${seq++}`);
    expect((await install(prefix, locks.shape1!)).code).toBe(0);
    expect(readFileSync(join(prefix, 'lib', 'thing', 'a.txt'), 'utf8')).toContain('1.0');
    const r = await install(prefix, locks.shape2!);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(prefix, 'lib', 'thing'), 'utf8')).toBe('a file in 2.0\n');
    expect(txnLeft(prefix)).toEqual([]);
    expect((await verify(prefix, locks.shape2!)).code).toBe(0);
    // And back: the file goes, the directory comes.
    expect((await install(prefix, locks.shape1!)).code).toBe(0);
    expect((await verify(prefix, locks.shape1!)).code).toBe(0);
  });
});
