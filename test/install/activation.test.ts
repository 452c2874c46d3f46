/**
 * The activation scripts and shell hooks run in real shells (bash, zsh, dash, fish): what they set
 * (Go state below the prefix, cgo against its libraries, conda's compiler), that deactivation
 * restores the shell exactly, that evaluating the hook twice changes nothing, the cgo switch, and
 * POSIX sh from a moved prefix.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { condaCompilers, goShellHook, goShellUnhook } from '../../src/install/activation.js';
import { installGoToolchain } from '../../src/install/go.js';
import { writeTarGz } from '../support/archives.js';

const has = (cmd: string, args: string[] = ['-c', 'true']) => spawnSync(cmd, args).status === 0;
const SHELLS = {
  bash: has('bash'),
  zsh: has('zsh'),
  dash: has('dash'),
  fish: has('fish', ['--no-config', '-c', 'true']),
};

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cgl-activation-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let n = 0;
/** A prefix with a miniature Go toolchain and (optionally) conda-forge's gcc executables in bin/. */
async function prefixWithGo(opts: { name?: string; compilers?: boolean; cgo?: boolean } = {}): Promise<string> {
  const root = join(tmp, `case-${++n}`);
  await mkdir(root, { recursive: true });
  const prefix = join(root, opts.name ?? 'env');
  if (opts.compilers) {
    await mkdir(join(prefix, 'bin'), { recursive: true });
    for (const exe of ['x86_64-conda-linux-gnu-cc', 'x86_64-conda-linux-gnu-gcc', 'x86_64-conda-linux-gnu-c++', 'x86_64-conda-linux-gnu-ld']) {
      await writeFile(join(prefix, 'bin', exe), '#!/bin/sh\n');
      await chmod(join(prefix, 'bin', exe), 0o755);
    }
  }
  const archive = join(root, 'go1.22.5.linux-amd64.tar.gz');
  await writeTarGz(archive, [
    { name: 'go/VERSION', content: 'go1.22.5\n' },
    { name: 'go/bin/go', content: '#!/bin/sh\necho "go version go1.22.5 fake"\n', mode: 0o755 },
  ]);
  await installGoToolchain(archive, prefix, 'linux-64', { cgo: opts.cgo });
  return prefix;
}

type Shell = keyof typeof SHELLS;
/** Variables shells set on their own; not part of what activation changes. */
const SHELL_OWN = new Set(['PWD', 'OLDPWD', 'SHLVL', '_', 'fish_greeting', 'USER', 'LOGNAME']);

/** Run `script` in a clean `shell` and return the environment it ends with. */
function envAfter(shell: Shell, script: string, env: Record<string, string>): { env: Record<string, string>; stderr: string } {
  const args = shell === 'fish' ? ['--no-config', '-c', `${script}\nenv -0`] : shell === 'bash' ? ['--noprofile', '--norc', '-c', `${script}\nenv -0`] : shell === 'zsh' ? ['-f', '-c', `${script}\nenv -0`] : ['-c', `${script}\nenv -0`];
  const r = spawnSync(shell, args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${shell} failed (${r.status}): ${r.stderr}`);
  const out: Record<string, string> = {};
  for (const kv of r.stdout.split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0 && !SHELL_OWN.has(kv.slice(0, i))) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { env: out, stderr: r.stderr };
}

const source = (shell: Shell, file: string) => (shell === 'dash' ? `. '${file}'` : `source '${file}'`);
const scripts = (shell: Shell, prefix: string) => {
  const ext = shell === 'fish' ? 'fish' : 'sh';
  return { act: join(prefix, `etc/conda/activate.d/go.${ext}`), deact: join(prefix, `etc/conda/deactivate.d/go.${ext}`) };
};

/** A user's shell with Go and C settings of its own. */
const base = () => ({
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: tmp,
  LANG: 'C',
  GOFLAGS: '-mod=mod',
  GOPATH: '/home/u/go',
  CGO_LDFLAGS: '-lm',
  PKG_CONFIG_PATH: '/usr/lib/pkgconfig',
  CC: 'gcc-12',
  GOTOOLCHAIN: '',
});

/** What activation must produce from base(): written out, not computed by the code under test. */
function expectedActivated(p: string, opts: { compilers: boolean }) {
  return {
    GOROOT: `${p}/go`,
    GOPATH: `${p}/gopath`,
    GOMODCACHE: `${p}/gopath/pkg/mod`,
    GOCACHE: `${p}/gopath/cache`,
    GOENV: `${p}/gopath/env`,
    GOTOOLCHAIN: 'local',
    GOFLAGS: '-modcacherw -mod=mod',
    CGO_CPPFLAGS: `-I${p}/include`,
    CGO_CFLAGS: `-I${p}/include -g -O2`,
    CGO_CXXFLAGS: `-I${p}/include -g -O2`,
    CGO_LDFLAGS: `-L${p}/lib -Wl,-rpath,${p}/lib -lm`,
    PKG_CONFIG_PATH: `${p}/lib/pkgconfig:${p}/share/pkgconfig:/usr/lib/pkgconfig`,
    CC: opts.compilers ? `${p}/bin/x86_64-conda-linux-gnu-cc` : 'gcc-12',
    ...(opts.compilers ? { CXX: `${p}/bin/x86_64-conda-linux-gnu-c++` } : {}),
    PATH: `${p}/go/bin:${p}/gopath/bin:/usr/local/bin:/usr/bin:/bin`,
    CONDA_GO_LOCK_GO_PREFIX: p,
  };
}
/** The environment without the backups activation keeps for deactivation. */
const ours = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('CONDA_GO_LOCK_BACKUP_')));

describe.each(Object.keys(SHELLS) as Shell[])('activate.d / deactivate.d scripts in %s', (shell) => {
  it.skipIf(!SHELLS[shell])('set Go state, cgo flags and conda\'s compiler; deactivation restores the shell exactly', async () => {
    const prefix = await prefixWithGo({ compilers: true });
    const { act, deact } = scripts(shell, prefix);
    const before = envAfter(shell, 'true', base()).env;
    const after = envAfter(shell, source(shell, act), base()).env;
    expect(ours(after)).toEqual({ ...base(), ...expectedActivated(prefix, { compilers: true }) });
    // Activating again (a nested shell re-reading its profile) changes nothing.
    const twice = envAfter(shell, `${source(shell, act)}\n${source(shell, act)}`, base()).env;
    expect(twice).toEqual(after);
    const restored = envAfter(shell, `${source(shell, act)}\n${source(shell, deact)}`, base()).env;
    expect(restored).toEqual(before);
  });

  it.skipIf(!SHELLS[shell])('without conda compilers CC stays the user\'s; unset variables come back unset', async () => {
    const prefix = await prefixWithGo();
    const { act, deact } = scripts(shell, prefix);
    const bare = { PATH: '/usr/bin:/bin', HOME: tmp };
    const after = envAfter(shell, source(shell, act), bare).env;
    expect(after.CC).toBeUndefined();
    expect(after.CGO_LDFLAGS).toBe(`-L${prefix}/lib -Wl,-rpath,${prefix}/lib -g -O2`);
    expect(after.GOFLAGS).toBe('-modcacherw');
    expect(after.PKG_CONFIG_PATH).toBe(`${prefix}/lib/pkgconfig:${prefix}/share/pkgconfig`);
    const restored = envAfter(shell, `${source(shell, act)}\n${source(shell, deact)}`, bare).env;
    expect(restored).toEqual(envAfter(shell, 'true', bare).env);
  });
});

describe('the cgo switch and odd prefixes', () => {
  it.skipIf(!SHELLS.bash)('go: {cgo: false} leaves CGO_*, PKG_CONFIG_PATH and CC alone', async () => {
    const prefix = await prefixWithGo({ compilers: true, cgo: false });
    const after = envAfter('bash', source('bash', scripts('bash', prefix).act), base()).env;
    expect(after.GOROOT).toBe(`${prefix}/go`);
    expect(after.CC).toBe('gcc-12');
    expect(after.CGO_LDFLAGS).toBe('-lm');
    expect(after.PKG_CONFIG_PATH).toBe('/usr/lib/pkgconfig');
    expect(after.CGO_CFLAGS).toBeUndefined();
  });

  it.skipIf(!SHELLS.bash)('a prefix with a space: cgo flags are quoted the way go splits them', async () => {
    const prefix = await prefixWithGo({ name: 'my env' });
    const after = envAfter('bash', source('bash', scripts('bash', prefix).act), { PATH: '/usr/bin:/bin' }).env;
    expect(after.CGO_CPPFLAGS).toBe(`'-I${prefix}/include'`);
    expect(after.CGO_LDFLAGS).toBe(`'-L${prefix}/lib' '-Wl,-rpath,${prefix}/lib' -g -O2`);
    expect(after.GOROOT).toBe(`${prefix}/go`); // plain values are not quoted
  });

  for (const shell of Object.keys(SHELLS) as Shell[]) {
    it.skipIf(!SHELLS[shell])(`${shell}: a moved prefix activates from where its script now is, without CONDA_PREFIX`, async () => {
      const prefix = await prefixWithGo({ compilers: true });
      const moved = `${prefix}-moved`;
      await rename(prefix, moved);
      const r = envAfter(shell, source(shell, scripts(shell, moved).act), base());
      expect(r.stderr).toBe('');
      expect(ours(r.env)).toEqual({ ...base(), ...expectedActivated(moved, { compilers: true }) });
    });
  }

  it.skipIf(!SHELLS.dash)('dash: a copied prefix activates the copy, not the original it was written for', async () => {
    const prefix = await prefixWithGo();
    const copy = `${prefix}-copy`;
    expect(spawnSync('cp', ['-a', prefix, copy]).status).toBe(0);
    const env = envAfter('dash', `. '${scripts('dash', copy).act}'`, { PATH: '/usr/bin:/bin' }).env;
    expect(env.GOROOT).toBe(`${copy}/go`);
    expect(env.CGO_LDFLAGS).toBe(`-L${copy}/lib -Wl,-rpath,${copy}/lib -g -O2`);
  });

  it.skipIf(!SHELLS.dash)('dash: a moved prefix sourced inside a ( subshell ) and a hard-linked copy (cp -al) each activate themselves', async () => {
    const prefix = await prefixWithGo();
    const moved = `${prefix}-moved`;
    await rename(prefix, moved);
    // In a subshell $$ is the parent's pid: its /proc/$$/fd does not hold the script.
    const sub = envAfter('dash', `( . '${scripts('dash', moved).act}'; env -0 > '${moved}.env' )`, { PATH: '/usr/bin:/bin' });
    expect(sub.stderr).toBe('');
    const inSub = Object.fromEntries((await readFile(`${moved}.env`, 'utf8')).split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    expect(inSub.GOROOT).toBe(`${moved}/go`);
    // With another environment's CONDA_PREFIX set, still this one.
    const other = await prefixWithGo({ name: 'other' });
    const sub2 = envAfter('dash', `( . '${scripts('dash', moved).act}'; env -0 > '${moved}.env2' )`, { PATH: '/usr/bin:/bin', CONDA_PREFIX: other });
    expect(sub2.stderr).toBe('');
    expect(await readFile(`${moved}.env2`, 'utf8')).toContain(`GOROOT=${moved}/go\0`);
    // A hard-linked copy shares the script file's inode with the original, not its directories.
    const linked = `${moved}-hardlinked`;
    expect(spawnSync('cp', ['-al', moved, linked]).status).toBe(0);
    expect(envAfter('dash', `. '${scripts('dash', linked).act}'`, { PATH: '/usr/bin:/bin', CONDA_PREFIX: moved }).env.GOROOT).toBe(`${linked}/go`);
  });

  it.skipIf(!SHELLS.bash)('bash: CDPATH does not leak into the located prefix', async () => {
    const prefix = await prefixWithGo();
    const moved = `${prefix}-moved`;
    await rename(prefix, moved);
    const rel = `${basename(moved)}/etc/conda/activate.d/go.sh`;
    const r = envAfter('bash', `cd '${dirname(moved)}' && CDPATH=.:/tmp && source '${rel}'`, { PATH: '/usr/bin:/bin' });
    expect(r.stderr).toBe('');
    expect(r.env.GOROOT).toBe(`${moved}/go`);
  });

  it.skipIf(!SHELLS.dash)('dash through a symlinked prefix keeps the name it was installed (or activated) with', async () => {
    const real = await prefixWithGo({ name: 'real' });
    const link = join(real, '..', 'link');
    await symlink(real, link);
    const viaLink = await prefixWithGo({ name: 'unused' }); // a second prefix, only for its script text
    // A prefix whose script was written for the link's name: the installer's -p spelling wins.
    const act = scripts('dash', viaLink).act;
    await writeFile(join(real, 'etc/conda/activate.d/go.sh'), (await readFile(act, 'utf8')).split(viaLink).join(link));
    expect(envAfter('dash', `. '${link}/etc/conda/activate.d/go.sh'`, { PATH: '/usr/bin:/bin' }).env.GOROOT).toBe(`${link}/go`);
    // conda's CONDA_PREFIX spelling wins too.
    const other = join(real, '..', 'other');
    await symlink(real, other);
    expect(envAfter('dash', `. '${link}/etc/conda/activate.d/go.sh'`, { PATH: '/usr/bin:/bin', CONDA_PREFIX: other }).env.GOROOT).toBe(`${other}/go`);
  });

  it.skipIf(!SHELLS.dash)('a shell that cannot locate the script (text eval-ed, not sourced): CONDA_PREFIX, else a clear error naming the fix', async () => {
    const prefix = await prefixWithGo();
    const moved = `${prefix}-moved`;
    await rename(prefix, moved);
    // `eval "$(cat go.sh)"`: no BASH_SOURCE, and no descriptor of the file in /proc — as dash on macOS.
    const evald = `eval "$(cat '${join(moved, 'etc/conda/activate.d/go.sh')}')"`;
    const r = envAfter('dash', evald, { PATH: '/usr/bin:/bin' });
    expect(r.stderr).toContain(`conda-go-lock: no Go toolchain at ${prefix}/go: the prefix was moved`);
    expect(r.stderr).toContain('eval "$(conda-go-lock shell-hook --shell sh -p /path/to/env)"');
    expect(r.stderr).toContain('conda-go-lock install -p /path/to/env');
    expect(r.env.GOROOT).toBeUndefined();
    expect(r.env.PATH).toBe('/usr/bin:/bin');
    // With CONDA_PREFIX (conda activate) it finds the new place.
    const withConda = envAfter('dash', evald, { PATH: '/usr/bin:/bin', CONDA_PREFIX: moved }).env;
    expect(withConda.GOROOT).toBe(`${moved}/go`);
    // And the hook names the prefix itself.
    const hooked = envAfter('dash', goShellHook(moved, 'sh'), { PATH: '/usr/bin:/bin' }).env;
    expect(hooked.GOROOT).toBe(`${moved}/go`);
    expect(hooked.PATH).toBe(`${moved}/go/bin:${moved}/gopath/bin:/usr/bin:/bin`);
  });
});

describe('shell-hook output', () => {
  for (const shell of ['bash', 'zsh', 'dash', 'fish'] as const) {
    it.skipIf(!SHELLS[shell])(`${shell}: evaluating it twice is the same as once, and the unhook restores the shell`, async () => {
      const prefix = await prefixWithGo({ compilers: true });
      const hookShell = shell === 'dash' ? 'sh' : shell;
      const opts = { cc: 'x86_64-conda-linux-gnu-cc', cxx: 'x86_64-conda-linux-gnu-c++' };
      const hook = goShellHook(prefix, hookShell, opts);
      const before = envAfter(shell, 'true', base()).env;
      const once = envAfter(shell, hook, base()).env;
      expect(ours(once)).toEqual({ ...base(), ...expectedActivated(prefix, { compilers: true }) });
      const twice = envAfter(shell, `${hook}\n${hook}`, base()).env;
      expect(twice).toEqual(once);
      expect(twice.PATH!.split(':').filter((e) => e === `${prefix}/go/bin`)).toHaveLength(1);
      expect(envAfter(shell, `${hook}\n${goShellUnhook(hookShell)}`, base()).env).toEqual(before);
      // The prefix's deactivate.d script undoes the hook too.
      expect(envAfter(shell, `${hook}\n${source(shell, scripts(shell, prefix).deact)}`, base()).env).toEqual(before);
    });
  }

  it.skipIf(!SHELLS.bash)('switching from one prefix to another leaves no trace of the first', async () => {
    const a = await prefixWithGo();
    const b = await prefixWithGo();
    const env = envAfter('bash', `${goShellHook(a, 'bash')}\n${goShellHook(b, 'bash')}`, base()).env;
    expect(env.PATH).toBe(`${b}/go/bin:${b}/gopath/bin:/usr/local/bin:/usr/bin:/bin`);
    expect(env.GOFLAGS).toBe('-modcacherw -mod=mod');
    expect(env.CGO_LDFLAGS).toBe(`-L${b}/lib -Wl,-rpath,${b}/lib -lm`);
    expect(env.CONDA_GO_LOCK_BACKUP_GOPATH).toBe('x/home/u/go');
  });

  it('powershell and cmd hooks use the Windows layout (Library\\include, Library\\lib) and escape quotes', () => {
    const ps = goShellHook('C:\\envs\\a', 'powershell');
    expect(ps).toContain("$cglPrefix = 'C:\\envs\\a'");
    expect(ps).toContain("'\\Library\\include'");
    expect(ps).not.toContain('-rpath');
    expect(goShellHook("C:\\it's", 'powershell')).toContain("$cglPrefix = 'C:\\it''s'");
    const cmd = goShellHook('C:\\100%', 'cmd');
    expect(cmd).toContain('@SET "_CGL_GO_PREFIX=C:\\100%%"');
    expect(cmd).toContain('%_CGL_GO_PREFIX%\\Library\\lib\\pkgconfig;%_CGL_GO_PREFIX%\\Library\\share\\pkgconfig');
    expect(cmd.includes('\r\n')).toBe(true);
  });
});

describe('condaCompilers', () => {
  it.each([
    [['x86_64-conda-linux-gnu-gcc', 'x86_64-conda-linux-gnu-cc', 'x86_64-conda-linux-gnu-g++'], { cc: 'x86_64-conda-linux-gnu-cc', cxx: 'x86_64-conda-linux-gnu-g++' }],
    [['aarch64-conda-linux-gnu-gcc'], { cc: 'aarch64-conda-linux-gnu-gcc' }],
    [['arm64-apple-darwin20.0.0-clang', 'arm64-apple-darwin20.0.0-clang++'], { cc: 'arm64-apple-darwin20.0.0-clang', cxx: 'arm64-apple-darwin20.0.0-clang++' }],
    [['gcc', 'cc', 'python3'], {}],
  ])('%j → %j', (names, want) => {
    expect(condaCompilers(names)).toEqual(want);
  });

  it('a cross compiler next to the native one: the platform\'s own triplet wins (not the one that sorts first)', () => {
    const names = ['aarch64-conda-linux-gnu-cc', 'aarch64-conda-linux-gnu-c++', 'x86_64-conda-linux-gnu-cc', 'x86_64-conda-linux-gnu-c++'];
    expect(condaCompilers(names, 'linux-64')).toEqual({ cc: 'x86_64-conda-linux-gnu-cc', cxx: 'x86_64-conda-linux-gnu-c++' });
    expect(condaCompilers(names, 'linux-aarch64')).toEqual({ cc: 'aarch64-conda-linux-gnu-cc', cxx: 'aarch64-conda-linux-gnu-c++' });
    // Only a cross compiler: still used (a cross build environment).
    expect(condaCompilers(['aarch64-conda-linux-gnu-cc'], 'linux-64')).toEqual({ cc: 'aarch64-conda-linux-gnu-cc' });
  });
});
