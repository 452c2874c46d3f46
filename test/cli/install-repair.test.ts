/**
 * `install --repair` on the real anaconda-defaults packages of late 2020 (see
 * ../shared/fixtures/SOURCES.md): files deleted, edited (with and without a prefix placeholder, text
 * and binary, a hard link edited in place so the cache changed too), replaced by a symbolic link are
 * put back from the verified cache — re-downloaded from `python3 -m http.server` when the cache is gone —
 * byte-identical to a fresh install; files no package owns stay; verify passes afterwards.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { haveDefaults2020, serveDefaultsChannel } from '../support/defaults-2020-channel.js';
import { fixturesSkipReason } from '../support/fixtures.js';
import { havePython3, pythonServerSkipReason } from '../support/python-server.js';
import { runCli, runCliKilledAt } from './helpers.js';

/** Packages without python (and what they pull in): xz, openssl (binary placeholder in libcrypto), sqlite, ncurses, tk. */
const SPECS = ['xz', 'openssl', 'sqlite', 'ncurses', 'tk'];

type Meta = { name: string; fn: string; files: string[]; paths_data: { paths: Array<{ _path: string; path_type: string; prefix_placeholder?: string; file_mode?: string }> } };

function metas(prefix: string): Meta[] {
  return readdirSync(join(prefix, 'conda-meta'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(prefix, 'conda-meta', f), 'utf8')) as Meta);
}

/** A file of package `name` with a prefix placeholder in `mode` (text / binary). */
function placeholderFile(prefix: string, name: string, mode: 'text' | 'binary'): string {
  const m = metas(prefix).find((x) => x.name === name)!;
  const e = m.paths_data.paths.find((p) => p.prefix_placeholder !== undefined && (p.file_mode ?? 'text') === mode && lstatSync(join(prefix, p._path)).isFile());
  if (!e) throw new Error(`${name} has no ${mode} placeholder file`);
  return e._path;
}

/** `a` read as latin1 with prefix A written as prefix B (same length, so binary placeholders line up). */
function asIfIn(buf: Buffer, from: string, to: string): Buffer {
  return Buffer.from(buf.toString('latin1').split(from).join(to), 'latin1');
}

describe.skipIf(!haveDefaults2020)(`install --repair on real defaults-2020 packages (${haveDefaults2020 ? 'fixtures present' : fixturesSkipReason})`, () => {
  const served = serveDefaultsChannel('repair');

  async function lock(label: string, channelUrl: string): Promise<string> {
    const { dir } = served;
    const env = join(dir, `${label}.yml`);
    writeFileSync(env, `channels:\n  - ${channelUrl}\ndependencies:\n${SPECS.map((n) => `  - ${n}\n`).join('')}`);
    const lockfile = join(dir, `${label}.lock.yml`);
    const l = await runCli(['lock', '-f', env, '--lockfile', lockfile, '-p', 'linux-64', '--cache-dir', join(dir, `${label}-repodata`), '-q']);
    expect(l.stderr).toBe('');
    expect(l.code).toBe(0);
    return lockfile;
  }
  const install = (lockfile: string, prefix: string, cache: string, ...more: string[]) =>
    runCli(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache, '--no-go', ...more]);
  const verify = (lockfile: string, prefix: string) => runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64']);
  const xzVersion = (prefix: string) =>
    spawnSync(join(prefix, 'bin', 'xz'), ['--version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }).stdout ?? '';

  /** A prefix installed from the node server's lockfile (made once) and cache. */
  async function installedFromNode(name: string): Promise<{ lockfile: string; cache: string; prefix: string }> {
    const { dir, node } = served;
    const lockfile = join(dir, 'node.lock.yml');
    if (!existsSync(lockfile)) await lock('node', node.url('/defaults'));
    const cache = join(dir, 'node-pkgs');
    const prefix = join(dir, name);
    expect((await install(lockfile, prefix, cache, '-q')).code).toBe(0);
    return { lockfile, cache, prefix };
  }

  it('puts back deleted, edited and replaced files byte-identical to a fresh install, keeps files no package owns', async () => {
    const { dir, node } = served;
    const lockfile = await lock('node', node.url('/defaults'));
    const cache = join(dir, 'node-pkgs');
    // Two prefixes with paths of the same length: the fresh one is the reference for the repaired one.
    const prefix = join(dir, 'envA');
    const fresh = join(dir, 'envB');
    // (another cache: a file edited in place below is edited in every prefix sharing its inode)
    for (const [p, c] of [[prefix, cache], [fresh, join(dir, 'fresh-pkgs')]] as const) {
      const i = await install(lockfile, p, c, '-q');
      expect(i.stderr).toBe('');
      expect(i.code).toBe(0);
    }
    expect(xzVersion(prefix)).toContain('xz (XZ Utils) 5.2.5');

    // Nothing damaged: nothing to repair, nothing changed.
    let r = await install(lockfile, prefix, cache, '--repair');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('is already up to date (linux-64): nothing to repair');

    const records = (p: string) => readdirSync(join(p, 'conda-meta')).filter((f) => f.endsWith('.json')).sort().map((f) => readFileSync(join(p, 'conda-meta', f), 'utf8'));
    const recordsBefore = records(prefix);
    const text = placeholderFile(prefix, 'openssl', 'text');
    const binary = placeholderFile(prefix, 'openssl', 'binary');
    const hardlinked = 'include/lzma.h';
    expect(lstatSync(join(prefix, hardlinked)).nlink).toBeGreaterThan(1); // shares its inode with the cache
    const damagedFiles = ['bin/xz', text, binary, hardlinked, 'bin/lzmainfo', 'bin/sqlite3'];
    const before = new Map(damagedFiles.map((f) => [f, { bytes: readFileSync(join(prefix, f)), mode: statSync(join(prefix, f)).mode }]));
    unlinkSync(join(prefix, 'bin/xz'));
    appendFileSync(join(prefix, text), '# edited by the user\n');
    const bin = readFileSync(join(prefix, binary));
    const mid = bin.length >> 1;
    bin[mid] = bin[mid]! ^ 0xff;
    writeFileSync(join(prefix, binary), bin);
    appendFileSync(join(prefix, hardlinked), '/* edited in place: the cache shares this inode */\n');
    unlinkSync(join(prefix, 'bin/lzmainfo'));
    symlinkSync('xzdec', join(prefix, 'bin/lzmainfo'));
    // The package's symbolic links: one pointed elsewhere, one replaced by a regular file.
    expect(readlinkSync(join(prefix, 'bin/unxz'))).toBe('xz');
    unlinkSync(join(prefix, 'bin/unxz'));
    symlinkSync('/etc/passwd', join(prefix, 'bin/unxz'));
    unlinkSync(join(prefix, 'bin/lzcat'));
    writeFileSync(join(prefix, 'bin/lzcat'), '#!/bin/sh\necho not xz\n');
    // A chmod of a hard-linked file changes the cache's copy too.
    expect(statSync(join(prefix, 'bin/sqlite3')).mode & 0o111).not.toBe(0);
    chmodSync(join(prefix, 'bin/sqlite3'), 0o644);
    // Files no package owns: the user's, and a pip-style dist-info.
    writeFileSync(join(prefix, 'bin', 'my-tool'), '#!/bin/sh\necho mine\n');
    const sp = join(prefix, 'lib', 'python3.9', 'site-packages');
    mkdirSync(join(sp, 'foo-1.0.dist-info'), { recursive: true });
    mkdirSync(join(sp, 'foo'), { recursive: true });
    writeFileSync(join(sp, 'foo', '__init__.py'), 'X = 1\n');
    writeFileSync(join(sp, 'foo-1.0.dist-info', 'RECORD'), 'foo/__init__.py,,\n');
    writeFileSync(join(sp, 'foo-1.0.dist-info', 'INSTALLER'), 'pip\n');

    let v = await verify(lockfile, prefix);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain(`conda-go-lock install --repair -p ${prefix}`);
    expect(v.stderr).not.toContain('remove the prefix');
    expect(v.stdout).toMatch(/modified-file: sqlite-\S+ bin\/sqlite3 \(expected mode 07[57]5, found mode 0644\)/);

    r = await install(lockfile, prefix, cache, '--repair');
    expect(r.code).toBe(0);
    const xzDist = metas(prefix).find((m) => m.name === 'xz')!.fn.replace(/\.conda$/, '');
    const opensslDist = metas(prefix).find((m) => m.name === 'openssl')!.fn.replace(/\.conda$/, '');
    const sqliteDist = metas(prefix).find((m) => m.name === 'sqlite')!.fn.replace(/\.conda$/, '');
    expect(r.stderr).toContain(`Repairing ${prefix} (linux-64): 3 package(s) with missing or modified files`);
    expect(r.stderr).toMatch(new RegExp(`restored bin/sqlite3 \\(modified, found mode 0644 instead of mode 07[57]5; ${sqliteDist}\\)`));
    expect(r.stderr).toContain(`restored bin/xz (missing; ${xzDist})`);
    expect(r.stderr).toContain(`restored ${text} (modified; ${opensslDist})`);
    expect(r.stderr).toContain(`restored ${binary} (modified; ${opensslDist})`);
    expect(r.stderr).toContain(`restored ${hardlinked} (modified; ${xzDist})`);
    expect(r.stderr).toContain(`restored bin/lzmainfo (modified, found symbolic link; ${xzDist})`);
    expect(r.stderr).toContain(`restored bin/unxz (modified, found symbolic link to /etc/passwd; ${xzDist})`);
    expect(r.stderr).toContain(`restored bin/lzcat (modified, found regular file; ${xzDist})`);
    expect(r.stderr).toContain(`repaired 8 files of 3 packages: ${[opensslDist, sqliteDist, xzDist].sort().join(', ')}`);
    expect(readlinkSync(join(prefix, 'bin/unxz'))).toBe('xz');
    expect(readlinkSync(join(prefix, 'bin/lzcat'))).toBe('xz');
    // The cache's extraction was edited through the hard link: extracted again from the verified archive.
    expect(r.stderr).toMatch(/cached extraction .* was modified \(include\/lzma\.h\); extracting again/);
    expect(r.stderr).not.toContain('Installed');

    v = await verify(lockfile, prefix);
    expect(v.stdout).toContain('matches');
    expect(v.code).toBe(0);
    expect(xzVersion(prefix)).toContain('xz (XZ Utils) 5.2.5');
    expect(spawnSync(join(prefix, 'bin', 'sqlite3'), [':memory:', 'select 6*7;'], { encoding: 'utf8' }).stdout.trim()).toBe('42');
    for (const f of damagedFiles) {
      const st = lstatSync(join(prefix, f));
      expect(st.isFile(), f).toBe(true);
      expect(readFileSync(join(prefix, f)).equals(before.get(f)!.bytes), f).toBe(true);
      expect(st.mode, f).toBe(before.get(f)!.mode);
      // ... and as a fresh install writes it.
      expect(asIfIn(readFileSync(join(prefix, f)), prefix, fresh).equals(readFileSync(join(fresh, f))), f).toBe(true);
      expect(st.mode, f).toBe(statSync(join(fresh, f)).mode);
    }
    expect(readFileSync(join(prefix, 'bin', 'my-tool'), 'utf8')).toBe('#!/bin/sh\necho mine\n');
    expect(readFileSync(join(sp, 'foo', '__init__.py'), 'utf8')).toBe('X = 1\n');
    expect(readdirSync(join(sp, 'foo-1.0.dist-info')).sort()).toEqual(['INSTALLER', 'RECORD']);
    // The records are as the install wrote them; the history says what was put back, as conda records
    // a forced reinstall.
    expect(records(prefix)).toEqual(recordsBefore);
    const history = readFileSync(join(prefix, 'conda-meta', 'history'), 'utf8');
    expect(history).toContain(`# cmd: conda-go-lock install --lockfile ${lockfile} -p ${prefix} --platform linux-64`);
    expect(history).toMatch(new RegExp(`-\\S+::${xzDist}\\n`));
    expect(history).toMatch(new RegExp(`\\+\\S+::${xzDist}\\n`));
    expect(existsSync(join(prefix, 'conda-meta', '.cgl-transaction'))).toBe(false);

    r = await install(lockfile, prefix, cache, '--repair');
    expect(r.stderr).toContain('nothing to repair');
  }, 300_000);
  it.skipIf(!havePython3)(`the whole package cache gone: re-downloaded from python3 -m http.server (HTTP/1.0), --json lists what was put back (${havePython3 ? 'python3 present' : pythonServerSkipReason})`, async () => {
    const { dir, py } = served;
    const lockfile = await lock('py', py!.baseUrl);
    const cache = join(dir, 'py-pkgs');
    const prefix = join(dir, 'env-py');
    expect((await install(lockfile, prefix, cache, '-q')).code).toBe(0);
    const xzBytes = readFileSync(join(prefix, 'bin', 'xz'));
    rmSync(cache, { recursive: true, force: true });
    unlinkSync(join(prefix, 'bin', 'xz'));
    writeFileSync(join(prefix, 'bin', 'xzdec'), 'not xzdec any more\n');

    const r = await install(lockfile, prefix, cache, '--repair', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const xzDist = metas(prefix).find((m) => m.name === 'xz')!.fn.replace(/\.conda$/, '');
    expect(doc).toMatchObject({ command: 'install', up_to_date: false, installed: [], removed: [], downloaded: 1, reused: 0 });
    expect(doc.repaired).toEqual([
      { package: xzDist, path: 'bin/xz', kind: 'missing' },
      { package: xzDist, path: 'bin/xzdec', kind: 'modified' },
    ]);
    // Only xz's archive was fetched again, verified, extracted into the new cache.
    expect(readdirSync(join(cache, 'pkgs')).length).toBe(1);
    expect(readFileSync(join(prefix, 'bin', 'xz')).equals(xzBytes)).toBe(true);
    expect(readFileSync(join(prefix, 'bin', 'xzdec'), 'latin1')).toContain('ELF');
    expect(xzVersion(prefix)).toContain('xz (XZ Utils) 5.2.5');
    expect((await verify(lockfile, prefix)).code).toBe(0);
    expect(JSON.parse((await install(lockfile, prefix, cache, '--repair', '--json')).stdout)).toMatchObject({ up_to_date: true, repaired: [], downloaded: 0 });
  }, 300_000);

  it('kill -9 in the middle: every file is old or put back, the next install finishes; errors are install\'s', async () => {
    const { dir } = served;
    const { lockfile, cache, prefix } = await installedFromNode('env-kill');
    const names = ['bin/xz', 'bin/xzdec', 'bin/lzmainfo'];
    const good = new Map(names.map((n) => [n, readFileSync(join(prefix, n))]));
    for (const n of names) writeFileSync(join(prefix, n), `damaged ${n}\n`);
    const args = ['install', '--repair', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache, '--no-go'];

    // Before the commit: nothing changed, the stage goes next time.
    let killed = await runCliKilledAt(args, 'prepared');
    expect(killed.signal).toBe('SIGKILL');
    for (const n of names) expect(readFileSync(join(prefix, n), 'utf8')).toBe(`damaged ${n}\n`);
    expect(killed.stderr).not.toContain('error');
    // Committed, nothing moved yet: the journal lists the files to move in, in order.
    killed = await runCliKilledAt(args, 'committed');
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stderr).toContain('rolled back an update');
    const journal = JSON.parse(readFileSync(join(prefix, 'conda-meta', '.cgl-transaction.json'), 'utf8')) as { move: string[]; remove: string[] };
    expect(journal.remove).toEqual([]);
    for (const n of names) expect(readFileSync(join(prefix, n), 'utf8')).toBe(`damaged ${n}\n`);
    // Killed again while the next run rolls it forward, right after bin/lzmainfo moved in: every file is
    // either still the damaged one or the restored one.
    const k = journal.move.indexOf('bin/lzmainfo') + 1;
    expect(k).toBeGreaterThan(0);
    expect(journal.move.indexOf('bin/xz')).toBeGreaterThanOrEqual(k);
    killed = await runCliKilledAt(args, `move:${k}`);
    expect(killed.signal).toBe('SIGKILL');
    expect(readFileSync(join(prefix, 'bin/lzmainfo')).equals(good.get('bin/lzmainfo')!)).toBe(true);
    for (const n of ['bin/xz', 'bin/xzdec']) expect(readFileSync(join(prefix, n), 'utf8')).toBe(`damaged ${n}\n`);
    // A plain install rolls the committed repair forward.
    const again = await install(lockfile, prefix, cache);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('finished the interrupted update');
    for (const n of names) expect(readFileSync(join(prefix, n)).equals(good.get(n)!), n).toBe(true);
    expect((await verify(lockfile, prefix)).code).toBe(0);

    // A prefix conda-go-lock did not make, a directory that is no environment, a lockfile without the platform.
    const foreign = join(dir, 'foreign');
    mkdirSync(join(foreign, 'conda-meta'), { recursive: true });
    writeFileSync(join(foreign, 'conda-meta', 'history'), '');
    let e = await install(lockfile, foreign, cache, '--repair');
    expect(e.code).toBe(8);
    expect(e.stderr).toContain('error[E_PREFIX_FOREIGN]');
    const notEnv = join(dir, 'not-env');
    mkdirSync(notEnv);
    writeFileSync(join(notEnv, 'notes.txt'), 'mine\n');
    e = await install(lockfile, notEnv, cache, '--repair');
    expect(e.code).toBe(8);
    expect(e.stderr).toContain('error[E_PREFIX_NOT_ENV]');
    expect(readdirSync(notEnv)).toEqual(['notes.txt']);
    e = await runCli(['install', '--repair', '--lockfile', lockfile, '-p', prefix, '--platform', 'osx-64', '--cache-dir', cache, '--no-go']);
    expect(e.code).toBe(7);
    expect(e.stderr).toContain('error[E_LOCKFILE_PLATFORM]');
  }, 300_000);

  it('with a lockfile of another set: the update and the repair in one transaction', async () => {
    const { dir, node } = served;
    const { lockfile, cache, prefix } = await installedFromNode('env-update');
    // A lockfile without openssl, ca-certificates and tk (sqlite does not need them).
    const env = join(dir, 'small.yml');
    writeFileSync(env, `channels:\n  - ${node.url('/defaults')}\ndependencies:\n  - xz\n  - sqlite\n`);
    const small = join(dir, 'small.lock.yml');
    expect((await runCli(['lock', '-f', env, '--lockfile', small, '-p', 'linux-64', '--cache-dir', join(dir, 'small-repodata'), '-q'])).code).toBe(0);
    const xz = readFileSync(join(prefix, 'bin', 'xz'));
    unlinkSync(join(prefix, 'bin', 'xz'));
    writeFileSync(join(prefix, 'bin', 'my-tool'), 'mine\n');
    const r = await install(small, prefix, cache, '--repair');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Updating .* \(linux-64\): 3 to remove, 0 to change, 0 to add, \d+ unchanged, 1 to repair/);
    expect(r.stderr).toMatch(/restored bin\/xz \(missing; xz-5\.2\.5-/);
    expect(r.stderr).toMatch(/repaired 1 file of 1 package: xz-5\.2\.5-/);
    expect(r.stderr).toMatch(/Installed 0 package\(s\) into .* 3 removed\)/);
    expect(readFileSync(join(prefix, 'bin', 'xz')).equals(xz)).toBe(true);
    expect(existsSync(join(prefix, 'bin', 'openssl'))).toBe(false);
    expect(readFileSync(join(prefix, 'bin', 'my-tool'), 'utf8')).toBe('mine\n');
    expect((await verify(small, prefix)).code).toBe(0);
  }, 300_000);
});
