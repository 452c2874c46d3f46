import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readlink, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstallError, UnsafeArchiveError } from '../../src/errors.js';
import { extractGoArchive } from '../../src/install/extract/index.js';
import { goShellHook, installGoToolchain } from '../../src/install/go.js';
import { listDir, snapshotTree, writeTarGz, writeZip, type TarEntrySpec } from '../support/archives.js';

let tmp: string;
let n = 0;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cgl-go-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function caseDir() {
  const root = join(tmp, `case-${++n}`);
  await mkdir(join(root, 'archives'), { recursive: true });
  await mkdir(join(root, 'out'));
  return { root, archives: join(root, 'archives'), out: join(root, 'out') };
}

/** A miniature go toolchain tree in go.dev's layout (everything under go/). */
const goTree: TarEntrySpec[] = [
  { name: 'go/', type: 'directory' },
  { name: 'go/VERSION', content: 'go1.22.5\ntime 2024-06-27T20:11:12Z\n' },
  { name: 'go/bin/', type: 'directory' },
  { name: 'go/bin/go', content: '#!/bin/sh\necho "go version go1.22.5 fake"\n', mode: 0o755 },
  { name: 'go/bin/gofmt', content: '#!/bin/sh\n', mode: 0o755 },
  { name: 'go/pkg/tool/linux_amd64/compile', content: 'ELF', mode: 0o755 },
  { name: 'go/src/runtime/runtime.go', content: 'package runtime\n' },
  { name: 'go/misc/link', type: 'symlink', linkname: '../src/runtime/runtime.go' },
  { name: 'go/lib/time/zoneinfo.zip', content: 'PK' },
  { name: 'go/lib/time/hard', type: 'link', linkname: 'go/lib/time/zoneinfo.zip' },
];

describe('extractGoArchive', () => {
  it('.tar.gz: strips the leading go/ and keeps exec bits, symlinks and hard links', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'go1.22.5.linux-amd64.tar.gz');
    await writeTarGz(archive, goTree);
    const dest = join(c.out, 'go');
    const r = await extractGoArchive(archive, dest);
    expect(r.format).toBe('tar.gz');
    const tree = await snapshotTree(dest);
    expect(Object.keys(tree).filter((k) => k.startsWith('go'))).toEqual([]); // no go/go/...
    expect(tree['bin/go']).toMatchObject({ type: 'file', mode: 0o755 });
    expect(tree['VERSION']).toMatchObject({ type: 'file', mode: 0o644 });
    expect(tree['misc/link']).toEqual({ type: 'symlink', target: '../src/runtime/runtime.go' });
    expect(tree['lib/time/hard']?.sha256).toBe(tree['lib/time/zoneinfo.zip']?.sha256);
    expect(r.hardlinks).toBe(1);
    expect(spawnSync(join(dest, 'bin', 'go')).stdout.toString()).toContain('go1.22.5');
  });

  it('.zip (windows): strips go/, honours unix modes recorded in the zip', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'go1.22.5.windows-amd64.zip');
    await writeZip(archive, [
      { name: 'go/', dir: true },
      { name: 'go/bin/go.exe', content: 'MZ', mode: 0o100755 },
      { name: 'go/VERSION', content: 'go1.22.5\n' },
      { name: 'go/src/a/b.go', content: 'package a\n' },
    ]);
    const dest = join(c.out, 'go');
    await extractGoArchive(archive, dest);
    const tree = await snapshotTree(dest);
    expect(tree['bin/go.exe']).toMatchObject({ type: 'file', mode: 0o755, size: 2 });
    expect(tree['src/a/b.go']).toMatchObject({ type: 'file', size: 10 });
  });

  const hostileZips: Array<[string, string, string]> = [
    ['zip-slip "go/../../evil"', 'go/../../evil', '"go/../../evil"'],
    ['absolute member "/tmp/zzzevil"', '/tmp/zzzevil', '"/tmp/zzzevil"'],
    ['backslash member "go\\..\\.evil"', 'go\\..\\.evil', 'backslash'],
  ];
  it.each(hostileZips)('.zip: %s is refused and leaves nothing', async (_, hostileName, shown) => {
    const c = await caseDir();
    const archive = join(c.archives, 'go1.22.5.windows-amd64.zip');
    // yazl refuses to write such names: write a same-length placeholder and patch it.
    const placeholder = `go/${'X'.repeat(hostileName.length - 3)}`;
    await writeZip(archive, [{ name: 'go/bin/go.exe', content: 'MZ' }, { name: placeholder, content: 'evil' }], {
      [placeholder]: hostileName,
    });
    const before = await listDir(c.root);
    const err = await extractGoArchive(archive, join(c.out, 'go')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toContain(shown);
    expect((err as Error).message).toContain(archive);
    expect(await listDir(c.out)).toEqual([]);
    expect(await listDir(c.root)).toEqual(before);
  });

  it('.zip: a unix symlink member is kept when it stays inside, refused when it escapes', async () => {
    const c = await caseDir();
    const ok = join(c.archives, 'ok.zip');
    await writeZip(ok, [
      { name: 'go/bin/go', content: '#!/bin/sh\n', mode: 0o100755 },
      { name: 'go/bin/alias', content: 'go', mode: 0o120777 },
    ]);
    await extractGoArchive(ok, join(c.out, 'ok'));
    expect(await readlink(join(c.out, 'ok', 'bin', 'alias'))).toBe('go');
    const bad = join(c.archives, 'bad.zip');
    await writeZip(bad, [{ name: 'go/bin/alias', content: '../../../etc/passwd', mode: 0o120777 }]);
    const err = await extractGoArchive(bad, join(c.out, 'bad')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toContain('"bin/alias"');
    expect(await listDir(c.out)).toEqual(['ok']);
  });

  it('.zip: corrupt deflate data → UnsafeArchiveError, nothing left', async () => {
    const c = await caseDir();
    const archive = join(c.archives, 'corrupt.zip');
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n');
    await writeZip(archive, [{ name: 'go/src/a.go', content: text, compress: true }]);
    const bytes = await readFile(archive);
    for (let i = 60; i < 400; i += 7) bytes[i]! ^= 0xa5; // inside the deflate stream of the only member
    await writeFile(archive, bytes);
    const err = await extractGoArchive(archive, join(c.out, 'go')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toContain(archive);
    expect(await listDir(c.out)).toEqual([]);
  });

  const hostileTars: Array<[string, TarEntrySpec[], string]> = [
    ['entry outside go/', [{ name: 'notgo/file', content: 'x' }], '"notgo/file"'],
    ['traversal inside go/', [{ name: 'go/../../evil', content: 'x' }], '"../../evil"'],
    ['symlink escaping GOROOT', [{ name: 'go/bin/sh', type: 'symlink', linkname: '../../../bin/sh' }], '"bin/sh"'],
    ['hard link to a file outside go/', [{ name: 'go/h', type: 'link', linkname: 'etc/passwd' }], '"etc/passwd"'],
  ];
  it.each(hostileTars)('.tar.gz: %s is refused and leaves nothing', async (_, extra, shown) => {
    const c = await caseDir();
    const archive = join(c.archives, 'go1.22.5.linux-amd64.tar.gz');
    await writeTarGz(archive, [...goTree.slice(0, 4), ...extra]);
    const err = await extractGoArchive(archive, join(c.out, 'go')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toContain(shown);
    expect(await listDir(c.out)).toEqual([]);
  });

  it.each([
    ['.tar.gz', 0.6],
    ['.zip', 0.6],
  ] as const)('truncated %s → UnsafeArchiveError, nothing left', async (ext, frac) => {
    const c = await caseDir();
    const archive = join(c.archives, `go1.22.5.x${ext}`);
    const big = Array.from({ length: 20_000 }, (_, i) => `// line ${i}`).join('\n');
    if (ext === '.zip') await writeZip(archive, [{ name: 'go/bin/go.exe', content: 'MZ' }, { name: 'go/src/big.go', content: big }]);
    else await writeTarGz(archive, [...goTree, { name: 'go/src/big.go', content: big }]);
    await truncate(archive, Math.floor((await stat(archive)).size * frac));
    const err = await extractGoArchive(archive, join(c.out, 'go')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toMatch(/corrupt|truncated/);
    expect(await listDir(c.out)).toEqual([]);
  });
});

const BASH = spawnSync('bash', ['--version']).status === 0;

/** Run `script` in a clean bash and return the env it prints (NUL-separated `env -0`). */
function bashEnv(script: string, env: Record<string, string>): Record<string, string> {
  const r = spawnSync('bash', ['--noprofile', '--norc', '-c', `${script}\nenv -0`], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bash failed: ${r.stderr}`);
  const out: Record<string, string> = {};
  for (const kv of r.stdout.split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

const GO_VARS = ['GOROOT', 'GOPATH', 'GOMODCACHE', 'GOCACHE', 'GOENV', 'GOTOOLCHAIN', 'GOFLAGS'];
const pick = (env: Record<string, string>, keys: string[]) => Object.fromEntries(keys.filter((k) => k in env).map((k) => [k, env[k]]));

describe('installGoToolchain', () => {
  async function installed(platform = 'linux-64') {
    const c = await caseDir();
    const archive = join(c.archives, 'go1.22.5.linux-amd64.tar.gz');
    await writeTarGz(archive, goTree);
    const prefix = join(c.out, 'env');
    const r = await installGoToolchain(archive, prefix, platform);
    return { c, prefix, r };
  }

  it('extracts to PREFIX/go and writes sh + fish activate/deactivate scripts on unix platforms', async () => {
    const { prefix, r } = await installed();
    expect(r.goroot).toBe(join(prefix, 'go'));
    expect((await stat(join(prefix, 'go', 'bin', 'go'))).mode & 0o111).toBe(0o111);
    expect(r.scripts.map((s) => s.slice(prefix.length + 1)).sort()).toEqual([
      'etc/conda/activate.d/go.fish',
      'etc/conda/activate.d/go.sh',
      'etc/conda/deactivate.d/go.fish',
      'etc/conda/deactivate.d/go.sh',
    ]);
    expect(await readlink(join(prefix, 'go', 'misc', 'link'))).toBe('../src/runtime/runtime.go');
  });

  it.skipIf(!BASH)('sourcing go.sh in bash sets the Go variables and PATH; deactivate restores the old values', async () => {
    const { prefix } = await installed();
    const base = { PATH: '/usr/bin:/bin', HOME: tmp, GOPATH: '/old/gopath', GOTOOLCHAIN: '', LANG: 'C' };
    const act = join(prefix, 'etc/conda/activate.d/go.sh');
    const deact = join(prefix, 'etc/conda/deactivate.d/go.sh');
    const after = bashEnv(`source '${act}'`, base);
    expect(pick(after, GO_VARS)).toEqual({
      GOROOT: join(prefix, 'go'),
      GOPATH: join(prefix, 'gopath'),
      GOMODCACHE: join(prefix, 'gopath/pkg/mod'),
      GOCACHE: join(prefix, 'gopath/cache'),
      GOENV: join(prefix, 'gopath/env'),
      GOTOOLCHAIN: 'local',
      GOFLAGS: '-modcacherw',
    });
    expect(after.PATH).toBe(`${join(prefix, 'go/bin')}:${join(prefix, 'gopath/bin')}:/usr/bin:/bin`);
    expect(after.CONDA_GO_LOCK_BACKUP_GOPATH).toBe('x/old/gopath');
    expect(after.CONDA_GO_LOCK_BACKUP_GOTOOLCHAIN).toBe('x'); // set-but-empty is remembered as such
    expect('CONDA_GO_LOCK_BACKUP_GOROOT' in after).toBe(false); // was unset
    // The activated shell runs the toolchain's `go`.
    const ran = spawnSync('bash', ['--noprofile', '--norc', '-c', `source '${act}'; go`], { env: base, encoding: 'utf8' });
    expect(ran.stdout).toContain('go1.22.5 fake');

    const restored = bashEnv(`source '${act}'; export PATH="/conda/added:$PATH"; source '${deact}'`, base);
    expect(pick(restored, GO_VARS)).toEqual({ GOPATH: '/old/gopath', GOTOOLCHAIN: '' });
    expect(restored.PATH).toBe('/conda/added:/usr/bin:/bin');
    expect(Object.keys(restored).filter((k) => k.startsWith('CONDA_GO_LOCK'))).toEqual([]);

    // Re-activating while active neither duplicates PATH entries nor overwrites the backups.
    const twice = bashEnv(`source '${act}'; source '${act}'; source '${deact}'`, base);
    expect(twice.PATH).toBe('/usr/bin:/bin');
    expect(pick(twice, GO_VARS)).toEqual({ GOPATH: '/old/gopath', GOTOOLCHAIN: '' });
  });

  it.skipIf(!BASH)('the scripts are relocatable: after moving the prefix they point at the new place', async () => {
    const { c, prefix } = await installed();
    const moved = join(c.root, 'moved env'); // with a space
    await rename(prefix, moved);
    const env = bashEnv(`source '${join(moved, 'etc/conda/activate.d/go.sh')}'`, { PATH: '/usr/bin:/bin' });
    expect(env.GOROOT).toBe(join(moved, 'go'));
    expect(env.PATH?.startsWith(`${join(moved, 'go/bin')}:`)).toBe(true);
  });

  it.skipIf(spawnSync('dash', ['-c', 'true']).status !== 0)('POSIX sh (dash) with $CONDA_PREFIX set activates that prefix', async () => {
    const { prefix } = await installed();
    const r = spawnSync('dash', ['-c', `. '${join(prefix, 'etc/conda/activate.d/go.sh')}'; echo "$GOROOT|$GOCACHE"`], {
      env: { PATH: '/usr/bin:/bin', CONDA_PREFIX: prefix },
      encoding: 'utf8',
    });
    expect(r.stdout.trim()).toBe(`${join(prefix, 'go')}|${join(prefix, 'gopath/cache')}`);
  });

  it('win-* platforms get go.bat and go.ps1, and need bin/go.exe', async () => {
    const c = await caseDir();
    const zip = join(c.archives, 'go1.22.5.windows-amd64.zip');
    await writeZip(zip, [{ name: 'go/bin/go.exe', content: 'MZ' }, { name: 'go/VERSION', content: 'go1.22.5' }]);
    const prefix = join(c.out, 'env');
    const r = await installGoToolchain(zip, prefix, 'win-64');
    expect(r.scripts.map((s) => s.slice(prefix.length + 1)).sort()).toEqual([
      'etc/conda/activate.d/go.bat',
      'etc/conda/activate.d/go.ps1',
      'etc/conda/deactivate.d/go.bat',
      'etc/conda/deactivate.d/go.ps1',
    ]);
    const bat = await readFile(join(prefix, 'etc/conda/activate.d/go.bat'), 'utf8');
    expect(bat).toContain('@SET "GOTOOLCHAIN=local"');
    expect(bat).toContain('@SET "CONDA_GO_LOCK_BACKUP_GOROOT=%GOROOT%"');
    expect(bat.includes('\r\n')).toBe(true);
    const ps1 = await readFile(join(prefix, 'etc/conda/deactivate.d/go.ps1'), 'utf8');
    expect(ps1).toContain('CONDA_GO_LOCK_BACKUP_');

    // The linux archive has no go.exe: refused for win-64, and the reverse.
    const tgz = join(c.archives, 'go1.22.5.linux-amd64.tar.gz');
    await writeTarGz(tgz, goTree);
    await expect(installGoToolchain(tgz, join(c.out, 'env2'), 'win-64')).rejects.toBeInstanceOf(InstallError);
    await expect(installGoToolchain(zip, join(c.out, 'env3'), 'linux-64')).rejects.toMatchObject({ code: 'E_GO_ARCHIVE' });
  });

  it('reinstalling replaces the previous toolchain', async () => {
    const { c, prefix } = await installed();
    const newer = join(c.archives, 'go1.23.0.linux-amd64.tar.gz');
    await writeTarGz(newer, [
      { name: 'go/VERSION', content: 'go1.23.0\n' },
      { name: 'go/bin/go', content: '#!/bin/sh\n', mode: 0o755 },
    ]);
    await installGoToolchain(newer, prefix, 'linux-64');
    expect(await readFile(join(prefix, 'go', 'VERSION'), 'utf8')).toBe('go1.23.0\n');
    expect(await listDir(join(prefix, 'go'))).toEqual(['VERSION', 'bin']);
  });
});

describe('goShellHook', () => {
  const odd = "/opt/my env/it's";
  it.skipIf(!BASH)('bash: evaluating the hook sets the variables, quoting spaces and quotes', () => {
    const env = bashEnv(`eval "$(cat <<'CGL_EOF'\n${goShellHook(odd, 'bash')}CGL_EOF\n)"`, { PATH: '/usr/bin' });
    expect(pick(env, GO_VARS)).toEqual({
      GOROOT: `${odd}/go`,
      GOPATH: `${odd}/gopath`,
      GOMODCACHE: `${odd}/gopath/pkg/mod`,
      GOCACHE: `${odd}/gopath/cache`,
      GOENV: `${odd}/gopath/env`,
      GOTOOLCHAIN: 'local',
      GOFLAGS: '-modcacherw',
    });
    expect(env.CGO_CPPFLAGS).toBe(`"-I${odd}/include"`); // the prefix has a ' itself
    expect(env.PATH).toBe(`${odd}/go/bin:${odd}/gopath/bin:/usr/bin`);
  });

  it.skipIf(spawnSync('fish', ['--no-config', '-c', 'true']).status !== 0)('fish: the hook quotes spaces, quotes and backslashes', () => {
    const r = spawnSync('fish', ['--no-config', '-c', `${goShellHook(odd, 'fish')}\necho $GOROOT`], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe(`${odd}/go`);
  });
});
