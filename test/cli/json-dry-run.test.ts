/**
 * Issue 14's CLI items on a loopback channel of real .tar.bz2 packages: `--json` on lock, check,
 * diff, verify and install (shapes in docs/json.md), `lock --dry-run` (solve, print the diff, write
 * nothing) and `install -n NAME` (named environments resolved as conda / micromamba do).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { runCli } from './helpers.js';
import { namedEnvironmentPrefix } from '../../src/install/named-env.js';

let server: ChannelServer;
let dir: string;
let env: string;
let lf: string;

const lock = (...more: string[]) => runCli(['lock', '-f', env, '-p', 'linux-64', '--cache-dir', join(dir, 'repocache'), '-q', ...more]);
const json = (s: string) => JSON.parse(s) as Record<string, any>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-json-'));
  await writeChannel(join(dir, 'chan'), [
    { name: 'libcore', version: '1.0', files: { 'lib/libcore.so': 'core 1\n' } },
    { name: 'libcore', version: '1.1', files: { 'lib/libcore.so': 'core 1.1\n' } },
    { name: 'app', version: '2.0', depends: ['libcore'], files: { 'bin/app': 'app\n' } },
    { name: 'extra', version: '0.1', files: { 'share/extra': 'extra\n' } },
  ]);
  server = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
  env = join(dir, 'environment.yml');
  writeFileSync(env, `channels: [${server.url('/chan')}]\ndependencies:\n  - app\n  - libcore 1.0\n`);
  lf = join(dir, 'conda-go-lock.yml');
  const r = await lock('--lockfile', lf, '--json');
  expect(r.code).toBe(0);
  const doc = json(r.stdout);
  expect(doc).toMatchObject({ json_version: 1, command: 'lock', lockfile: lf, up_to_date: false, written: true, dry_run: false, changes: null });
  expect(doc.platforms['linux-64']).toEqual({ packages: 2, pypi: 0, go: null });
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('lock --dry-run', () => {
  it('solves and prints what would change against the current lockfile, writing nothing', async () => {
    writeFileSync(env, `channels: [${server.url('/chan')}]\ndependencies:\n  - app\n  - libcore 1.1\n  - extra\n`);
    const before = readFileSync(lf, 'utf8');
    const mtime = statSync(lf).mtimeMs;
    const r = await lock('--lockfile', lf, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\+ extra\s+0\.1 h0_0\s+added/);
    expect(r.stdout).toMatch(/~ libcore\s+1\.0 h0_0\s+->\s+1\.1 h0_0\s+upgraded/);
    expect(r.stdout).toContain('1 upgraded, 1 added across 1 platform');
    expect(readFileSync(lf, 'utf8')).toBe(before);
    expect(statSync(lf).mtimeMs).toBe(mtime);
    // Still stale: nothing was written.
    expect((await runCli(['check', '-f', env, '-p', 'linux-64', '--lockfile', lf, '-q'])).code).toBe(1);

    const j = json((await lock('--lockfile', lf, '--dry-run', '--json')).stdout);
    expect(j).toMatchObject({ command: 'lock', written: false, dry_run: true, changes: { empty: false, counts: { added: 1, upgraded: 1 } } });
    expect(j.changes.platforms[0].changes.map((c: any) => [c.name, c.kind])).toEqual([['extra', 'added'], ['libcore', 'upgraded']]);

    // A first lock: everything added, no file created (its directory need not even exist).
    const fresh = join(dir, 'not-yet', 'conda-go-lock.yml');
    const f = await lock('--lockfile', fresh, '--dry-run');
    expect(f.code).toBe(0);
    expect(f.stdout).toContain('3 added');
    expect(existsSync(join(dir, 'not-yet'))).toBe(false);
    // Each added package says which requested specs pull it in (a dependency: through its dependents).
    const fj = json((await lock('--lockfile', fresh, '--dry-run', '--json')).stdout);
    const by = Object.fromEntries(fj.changes.platforms[0].changes.map((c: any) => [c.name, c.brought_in_by]));
    expect(by).toEqual({ app: ['app'], extra: ['extra'], libcore: ['app', 'libcore ==1.1'] });
  });
});

describe('--json', () => {
  it('check: {up_to_date, reasons} with exit 1 when stale, nothing else on stdout', async () => {
    const stale = await runCli(['check', '-f', env, '-p', 'linux-64', '--lockfile', lf, '--json']);
    expect(stale.code).toBe(1);
    const doc = json(stale.stdout);
    expect(doc).toMatchObject({ json_version: 1, command: 'check', lockfile: lf, up_to_date: false });
    expect(doc.reasons.join('\n')).toContain("specs: added 'libcore ==1.1', 'extra' and removed 'libcore ==1.0'");
    expect(stale.stderr).toBe('');
  });

  it('lock then diff --json: old/new summaries per change; --format json is the same', async () => {
    const old = join(dir, 'old.yml');
    writeFileSync(old, readFileSync(lf, 'utf8'));
    expect((await lock('--lockfile', lf)).code).toBe(0);
    const ok = json((await runCli(['check', '-f', env, '-p', 'linux-64', '--lockfile', lf, '--json'])).stdout);
    expect(ok).toMatchObject({ up_to_date: true, reasons: [] });
    const d = await runCli(['diff', old, lf, '--json']);
    expect(d.code).toBe(0);
    const doc = json(d.stdout);
    expect(doc).toMatchObject({ command: 'diff', old, new: lf, empty: false, counts: { added: 1, upgraded: 1, removed: 0 } });
    const libcore = doc.platforms[0].changes.find((c: any) => c.name === 'libcore');
    expect(libcore).toMatchObject({ kind: 'upgraded', manager: 'conda', old: { version: '1.0', build: 'h0_0' }, new: { version: '1.1', build: 'h0_0' } });
    expect(libcore.new.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await runCli(['diff', old, lf, '--format', 'json'])).stdout).toBe(d.stdout);
    const mdOut = (await runCli(['diff', old, lf, '--format', 'markdown'])).stdout;
    expect(mdOut).toContain('| extra | — | `0.1 h0_0` | added (by `extra`) |');
    expect(mdOut).toMatch(/\| libcore \| `1\.0 h0_0` \| `1\.1 h0_0` \| upgraded \|/);
  });

  it('install and verify: what was installed, then {ok, checked_files, problems}', async () => {
    const prefix = join(dir, 'env-json');
    const r = await runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'pkgcache'), '-q', '--json']);
    expect(r.code).toBe(0);
    const doc = json(r.stdout);
    expect(doc).toMatchObject({ command: 'install', prefix, platform: 'linux-64', categories: ['main'], up_to_date: false, removed: [], go: null, downloaded: 3, reused: 0 });
    expect([...doc.installed].sort()).toEqual(['app-2.0-h0_0', 'extra-0.1-h0_0', 'libcore-1.1-h0_0']);
    const again = json((await runCli(['install', '--lockfile', lf, '-p', prefix, '--cache-dir', join(dir, 'pkgcache'), '-q', '--json'])).stdout);
    expect(again).toMatchObject({ up_to_date: true, installed: [] });

    const v = await runCli(['verify', '--lockfile', lf, '-p', prefix, '--json']);
    expect(v.code).toBe(0);
    expect(json(v.stdout)).toMatchObject({ command: 'verify', ok: true, platform: 'linux-64', problems: [] });
    writeFileSync(join(prefix, 'bin', 'app'), 'tampered\n');
    const bad = await runCli(['verify', '--lockfile', lf, '-p', prefix, '--json']);
    expect(bad.code).toBe(1);
    expect(json(bad.stdout).problems).toEqual([expect.objectContaining({ kind: 'modified-file', package: 'app-2.0-h0_0', path: 'bin/app' })]);
    const missing = await runCli(['verify', '--lockfile', lf, '-p', join(dir, 'nowhere'), '--platform', 'linux-64', '--json']);
    expect(missing.code).toBe(1);
    expect(json(missing.stdout)).toMatchObject({ ok: false, problems: [{ kind: 'missing-prefix' }] });
  });
});

describe('install -n NAME', () => {
  it('installs into the named environment under $CONDA_GO_LOCK_ENVS_DIR and says where; verify -n finds it', async () => {
    const envs = join(dir, 'envs');
    const r = await runCli(['install', '--lockfile', lf, '-n', 'web', '--platform', 'linux-64', '--cache-dir', join(dir, 'pkgcache')], { env: { CONDA_GO_LOCK_ENVS_DIR: envs } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`environment 'web': ${join(envs, 'web')} (from $CONDA_GO_LOCK_ENVS_DIR)`);
    expect(existsSync(join(envs, 'web', 'bin', 'app'))).toBe(true);
    expect((await runCli(['verify', '--lockfile', lf, '-n', 'web'], { env: { CONDA_GO_LOCK_ENVS_DIR: envs } })).code).toBe(0);
  });

  it('bad names, base, both -p and -n, and neither are usage errors (exit 2)', async () => {
    for (const args of [['-n', '../x'], ['-n', 'a b'], ['-n', 'base'], ['-n', 'x', '-p', join(dir, 'p')], []]) {
      const r = await runCli(['install', '--lockfile', lf, ...args]);
      expect(r.code).toBe(2);
    }
  });

  it('the rule: CONDA_GO_LOCK_ENVS_DIR, else the first CONDA_ENVS_PATH entry, else MAMBA_ROOT_PREFIX/envs, else ~/.conda/envs', () => {
    const home = '/home/u';
    expect(namedEnvironmentPrefix('e', { CONDA_GO_LOCK_ENVS_DIR: '/a', CONDA_ENVS_PATH: '/b', MAMBA_ROOT_PREFIX: '/m' }, home).prefix).toBe(join('/a', 'e'));
    expect(namedEnvironmentPrefix('e', { CONDA_ENVS_PATH: `/b${process.platform === 'win32' ? ';' : ':'}/c`, MAMBA_ROOT_PREFIX: '/m' }, home).prefix).toBe(join('/b', 'e'));
    expect(namedEnvironmentPrefix('e', { MAMBA_ROOT_PREFIX: '/m' }, home).prefix).toBe(join('/m', 'envs', 'e'));
    expect(namedEnvironmentPrefix('e', {}, home)).toEqual({ prefix: join(home, '.conda', 'envs', 'e'), rule: '~/.conda/envs' });
  });
});
