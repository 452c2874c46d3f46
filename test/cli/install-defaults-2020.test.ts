/**
 * The real anaconda-defaults set of late 2020 (35 archives, 34 with an empty metadata.json, see
 * ../shared/fixtures/SOURCES.md) locked and installed through the CLI from our node server and from
 * `python3 -m http.server`, then run from the prefix with a minimal PATH: what it ships must work.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { buildDefaultsChannel, haveDefaults2020, type DefaultsChannel } from '../support/defaults-2020-channel.js';
import { fixturesSkipReason } from '../support/fixtures.js';
import { havePython3, startPythonHttpServer, type PythonHttpServer } from '../support/python-server.js';
import { runCli } from './helpers.js';

function run(prefix: string, cmd: string, args: string[], input?: string): { code: number | null; out: string } {
  const home = join(prefix, '..', 'home');
  const r = spawnSync(join(prefix, 'bin', cmd), args, {
    encoding: 'utf8',
    input,
    env: { PATH: `${join(prefix, 'bin')}:/usr/bin:/bin`, HOME: home, LANG: 'C.UTF-8' },
    timeout: 60_000,
  });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

describe.skipIf(!haveDefaults2020)(`real defaults-2020 packages (${haveDefaults2020 ? 'fixtures present' : fixturesSkipReason})`, () => {
  let channel: DefaultsChannel;
  let node: ChannelServer;
  let py: PythonHttpServer | undefined;
  let dir: string;
  let names: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-defaults-e2e-'));
    channel = await buildDefaultsChannel();
    node = await new ChannelServer().mount('/defaults', channel.dir).start();
    if (havePython3) py = await startPythonHttpServer(channel.dir);
    names = [...new Set([...channel.records.values()].map((r) => r.name))].sort();
    if (!channel.python) console.warn('[defaults-2020] no host python3.9: python packages and their checks are left out');
  }, 120_000);
  afterAll(async () => {
    await node?.stop();
    await py?.stop();
    await channel?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every package of the set (without python, what does not need it). */
  const wanted = () => (channel.python ? names : names.filter((n) => {
    const r = [...channel.records.values()].find((x) => x.name === n)!;
    return !(r.depends as string[] | undefined ?? []).some((d) => d.startsWith('python')) && n !== 'python';
  }));

  async function lockAndInstall(label: string, channelUrl: string): Promise<string> {
    const d = join(dir, label);
    const env = join(dir, `${label}.yml`);
    writeFileSync(env, `channels:\n  - ${channelUrl}\ndependencies:\n${wanted().map((n) => `  - ${n}\n`).join('')}`);
    const lockfile = join(dir, `${label}.lock.yml`);
    const l = await runCli(['lock', '-f', env, '--lockfile', lockfile, '-p', 'linux-64', '--cache-dir', join(d, 'cache'), '-q']);
    expect(l.stderr).toBe('');
    expect(l.code).toBe(0);
    const prefix = join(d, 'env');
    const i = await runCli(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(d, 'pkgs'), '-q', '--no-go']);
    expect(i.stderr).toBe('');
    expect(i.code).toBe(0);
    const v = await runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64']);
    expect(v.stdout).toContain('matches');
    expect(v.code).toBe(0);
    return prefix;
  }

  /** conda-meta as conda writes it (checked against each package's own info/paths.json and archive modes). */
  function checkCondaMeta(prefix: string): void {
    const metas = readdirSync(join(prefix, 'conda-meta')).filter((f) => f.endsWith('.json'));
    expect(metas.length).toBe(wanted().length);
    let placeholders = 0;
    let groupWritable = 0;
    for (const f of metas) {
      const meta = JSON.parse(readFileSync(join(prefix, 'conda-meta', f), 'utf8'));
      const rec = channel.records.get(meta.fn)!;
      expect(rec, meta.fn).toBeDefined();
      if (rec.license_family) expect(meta.license_family).toBe(rec.license_family);
      expect(meta.features).toBe(rec.features ?? '');
      expect(meta.track_features).toBe(rec.track_features ?? '');
      expect(meta.package_type).toBe(rec.noarch ? `noarch_${rec.noarch}` : undefined);
      const packed = new Map<string, { sha256: string; size_in_bytes: number }>(
        JSON.parse(readFileSync(join(meta.extracted_package_dir, 'info', 'paths.json'), 'utf8')).paths.map((p: { _path: string }) => [p._path, p]),
      );
      for (const p of meta.paths_data.paths) {
        if (p.prefix_placeholder === undefined) continue;
        placeholders++;
        const src = packed.get(p._path)!;
        expect(p.sha256, `${meta.fn} ${p._path}`).toBe(src.sha256);
        expect(p.size_in_bytes, `${meta.fn} ${p._path}`).toBe(src.size_in_bytes);
        expect(p.sha256_in_prefix).toMatch(/^[0-9a-f]{64}$/);
        // The mode is the archive's, group-write included.
        const mode = statSync(join(prefix, p._path)).mode & 0o777;
        expect(mode, `${meta.fn} ${p._path}`).toBe(statSync(join(meta.extracted_package_dir, p._path)).mode & 0o777);
      }
      for (const file of meta.files as string[]) {
        const st = lstatSync(join(prefix, file), { throwIfNoEntry: false });
        if (st?.isFile() && st.mode & 0o020) groupWritable++;
      }
    }
    // The real set: over 200 placeholder files whose sha256 used to be overwritten, and thousands of
    // 0o664/0o775 files that used to lose their group-write bit.
    expect(placeholders).toBeGreaterThan(200);
    expect(groupWritable).toBeGreaterThan(1000);
    if (channel.python) {
      // tqdm's entry point exactly as conda 4.9.2 wrote it (QGB/miniconda3 bin/tqdm), for this prefix.
      expect(readFileSync(join(prefix, 'bin', 'tqdm'), 'utf8')).toBe(
        `#!${prefix}/bin/python3.9\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n\nfrom tqdm.cli import main\n\n` +
          "if __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n    sys.exit(main())\n",
      );
    }
  }

  function checkPrefix(prefix: string, full: boolean): void {
    checkCondaMeta(prefix);

    let r = run(prefix, 'xz', ['--version']);
    expect(r.out).toContain('xz (XZ Utils) 5.2.5');
    if (!full) {
      if (channel.python) expect(run(prefix, 'python3.9', ['-c', 'import cffi, cryptography; print(1)']).out.trim()).toBe('1');
      return;
    }
    r = run(prefix, 'sqlite3', [':memory:', 'select 6*7, sqlite_version();']);
    expect(r.out.trim()).toBe('42|3.33.0');
    r = run(prefix, 'openssl', ['version', '-d']);
    // The binary placeholder in libcrypto was replaced: OPENSSLDIR is inside the prefix.
    expect(r.out.trim()).toBe(`OPENSSLDIR: "${join(prefix, 'ssl')}"`);
    r = run(prefix, 'tclsh8.6', [], 'puts [expr {6*7}]\n');
    expect(r.out.trim()).toBe('42');
    r = run(prefix, 'infocmp', ['-1', 'xterm']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/xterm\|/);
    r = run(prefix, 'x86_64-conda_cos6-linux-gnu-ld', ['--version']);
    expect(r.out).toContain('GNU ld');

    if (!channel.python) return;
    r = run(prefix, 'python3.9', ['-c', 'import cffi, pycosat, ruamel_yaml, brotli, cryptography, sys; print(sys.prefix, cryptography.__version__)']);
    expect(r.out.trim()).toBe(`${prefix} 3.3.1`);
    r = run(prefix, 'tqdm', ['--version']);
    expect(r.out.trim()).toBe('4.54.1');
    r = run(prefix, 'wheel', ['version']);
    expect(r.out).toContain('wheel 0.36.1');
    r = run(prefix, 'pip', ['--version']);
    expect(r.out).toContain(`pip 20.3.1 from ${join(prefix, 'lib', 'python3.9', 'site-packages', 'pip')}`);
    r = run(prefix, 'conda', ['--version']);
    expect(r.out.trim()).toBe('conda 4.9.2');
    // conda itself reads the conda-meta we wrote.
    r = run(prefix, 'conda', ['list', '-p', prefix]);
    expect(r.code).toBe(0);
    for (const rec of channel.records.values()) {
      expect(r.out).toMatch(new RegExp(`^${rec.name.replace(/[.+]/g, '\\$&')}\\s+${rec.version.replace(/\./g, '\\.')}\\s+${rec.build}\\b`, 'm'));
    }
  }

  /** The .pyc files conda makes for a noarch: python package: one per `site-packages/**.py`, in `__pycache__` with python 3.9's tag. */
  function expectedPyc(meta: Record<string, any>): string[] {
    const packed = JSON.parse(readFileSync(join(meta.extracted_package_dir, 'info', 'paths.json'), 'utf8')).paths as Array<{ _path: string }>;
    return packed
      .map((p) => p._path)
      .filter((p) => /^site-packages\/.+\.py$/.test(p))
      .map((p) => {
        const m = /^site-packages\/(?:(.*)\/)?([^/]+)\.py$/.exec(p)!;
        return `lib/python3.9/site-packages/${m[1] ? `${m[1]}/` : ''}__pycache__/${m[2]}.cpython-39.pyc`;
      })
      .sort();
  }

  function readMeta(prefix: string, name: string): Record<string, any> {
    const f = readdirSync(join(prefix, 'conda-meta')).find((n) => n.startsWith(`${name}-`) && n.endsWith('.json') && JSON.parse(readFileSync(join(prefix, 'conda-meta', n), 'utf8')).name === name)!;
    return JSON.parse(readFileSync(join(prefix, 'conda-meta', f), 'utf8'));
  }

  /** noarch: python packages were byte-compiled by the environment's python and the .pyc files recorded as conda records them. */
  function checkPyc(prefix: string): void {
    const noarchPython = [...channel.records.values()].filter((r) => r.noarch === 'python').map((r) => r.name).sort();
    expect(noarchPython.length).toBeGreaterThanOrEqual(7);
    let total = 0;
    for (const name of noarchPython) {
      const meta = readMeta(prefix, name);
      const pyc = (meta.paths_data.paths as Array<{ _path: string; path_type: string; sha256_in_prefix?: string; size_in_bytes?: number }>).filter((p) => p.path_type === 'pyc_file');
      expect(pyc.map((p) => p._path).sort(), name).toEqual(expectedPyc(meta));
      for (const p of pyc) {
        expect(meta.files, name).toContain(p._path);
        expect(statSync(join(prefix, p._path)).size).toBe(p.size_in_bytes);
        expect(p.sha256_in_prefix).toMatch(/^[0-9a-f]{64}$/);
      }
      total += pyc.length;
    }
    // conda 4.9.2 recorded 27 pyc_file entries for this tqdm (QGB/miniconda3 conda-meta/tqdm-4.54.1-pyhd3eb1b0_0.json).
    expect(readMeta(prefix, 'tqdm').paths_data.paths.filter((p: { path_type: string }) => p.path_type === 'pyc_file').length).toBe(27);
    expect(total).toBeGreaterThan(100);
    // The code objects name the prefix, not the staging directory they were compiled in.
    const r = run(prefix, 'python3.9', ['-c', 'import marshal,sys\nf=open(sys.argv[1],"rb"); f.read(16); print(marshal.load(f).co_filename)', join(prefix, 'lib/python3.9/site-packages/tqdm/__pycache__/std.cpython-39.pyc')]);
    expect(r.out.trim()).toBe(join(prefix, 'lib/python3.9/site-packages/tqdm/std.py'));
  }

  it('installs and runs from our node server', async () => {
    const prefix = await lockAndInstall('node', `${node.url('/defaults')}`);
    checkPrefix(prefix, true);
    if (!channel.python) return;
    checkPyc(prefix);
    // Running everything above (imports, entry points, conda) left the compiled files as they were:
    // python took them as up to date. verify hashes them.
    const lockfile = join(dir, 'node.lock.yml');
    let v = await runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64']);
    expect(v.stdout).toContain('matches');
    const tqdmPyc = readMeta(prefix, 'tqdm').paths_data.paths.filter((p: { path_type: string }) => p.path_type === 'pyc_file').map((p: { _path: string }) => p._path);
    // A damaged .pyc is a modified file for verify.
    const victim = join(prefix, tqdmPyc[0]);
    const saved = readFileSync(victim);
    writeFileSync(victim, Buffer.concat([saved, Buffer.from('x')]));
    v = await runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64']);
    expect(v.stdout).toContain(`modified-file: tqdm-4.54.1-pyhd3eb1b0_0 ${tqdmPyc[0]}`);
    // install --repair puts it back, with an edited module of the same noarch: python package and its
    // deleted entry point: linked again and compiled again, byte for byte as before.
    const std = join(prefix, 'lib/python3.9/site-packages/tqdm/std.py');
    const stdSaved = readFileSync(std);
    const entry = readFileSync(join(prefix, 'bin', 'tqdm'));
    writeFileSync(std, 'raise SystemExit("edited")\n');
    rmSync(join(prefix, 'bin', 'tqdm'));
    const fix = await runCli(['install', '--repair', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'node', 'pkgs'), '--no-go']);
    expect(fix.code).toBe(0);
    expect(fix.stderr).toContain('repaired 3 files of 1 package: tqdm-4.54.1-pyhd3eb1b0_0');
    expect(readFileSync(victim).equals(saved)).toBe(true);
    expect(readFileSync(std).equals(stdSaved)).toBe(true);
    expect(readFileSync(join(prefix, 'bin', 'tqdm')).equals(entry)).toBe(true);
    expect(run(prefix, 'tqdm', ['--version']).out.trim()).toBe('4.54.1');

    // wheel removed by an update (with pip, which needs it): its .pyc files and __pycache__ directories go with it.
    const wheelPyc = readMeta(prefix, 'wheel').paths_data.paths.filter((p: { path_type: string }) => p.path_type === 'pyc_file').map((p: { _path: string }) => p._path);
    expect(wheelPyc.length).toBeGreaterThan(5);
    const env = join(dir, 'node-no-wheel.yml');
    writeFileSync(env, `channels:\n  - ${node.url('/defaults')}\ndependencies:\n${wanted().filter((n) => n !== 'wheel' && n !== 'pip').map((n) => `  - ${n}\n`).join('')}`);
    const lock2 = join(dir, 'node-no-wheel.lock.yml');
    const l = await runCli(['lock', '-f', env, '--lockfile', lock2, '-p', 'linux-64', '--cache-dir', join(dir, 'node', 'cache'), '-q']);
    expect(l.code).toBe(0);
    const i = await runCli(['install', '--lockfile', lock2, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'node', 'pkgs'), '-q', '--no-go']);
    expect(i.stderr).toBe('');
    expect(i.code).toBe(0);
    for (const p of wheelPyc) expect(lstatSync(join(prefix, p), { throwIfNoEntry: false }), p).toBeUndefined();
    expect(lstatSync(join(prefix, 'lib/python3.9/site-packages/wheel'), { throwIfNoEntry: false })).toBeUndefined();
    v = await runCli(['verify', '--lockfile', lock2, '-p', prefix, '--platform', 'linux-64']);
    expect(v.stdout).toContain('matches');
  }, 240_000);

  it.skipIf(!havePython3)('installs and runs from python3 -m http.server (HTTP/1.0, closes every connection)', async () => {
    const prefix = await lockAndInstall('py', py!.baseUrl);
    checkPrefix(prefix, false);
    // Nothing conda-go-lock-made is left next to the prefix.
    expect(readdirSync(join(prefix, '..')).filter((n) => n.includes('.cgl-'))).toEqual([]);
  }, 180_000);
});
