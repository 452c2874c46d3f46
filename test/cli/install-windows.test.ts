/**
 * Issue 15: a win-64 environment installed from Linux (`install --platform win-64`) and inspected as
 * files. A loopback channel of real .tar.bz2 packages: a win-64 python, a noarch: python package with
 * console entry points, and a win-64 package with text placeholders as conda-build writes them on
 * Windows (backslash form). Entry points are `Scripts/NAME-script.py` + `Scripts/NAME.cmd` +
 * `Scripts/NAME` (POSIX sh, for Git Bash), recorded in conda-meta and removed with the package.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { runCli } from './helpers.js';

let server: ChannelServer;
let dir: string;
const cache = () => join(dir, 'pkgcache');
/** A build-time prefix as conda-build on Windows records it. */
const WIN_PLACEHOLDER = 'C:\\b\\abs_1\\_h_env_placehold_placehold_placehold';

/** Stands in for python.exe when the Git Bash launcher is run on Linux: prints its arguments, one a line. */
const FAKE_PYTHON = '#!/bin/sh\nfor a in "$@"; do printf "arg:%s\\n" "$a"; done\n';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-win-'));
  await writeChannel(join(dir, 'chan'), [
    { name: 'python', version: '3.9.1', subdir: 'win-64', files: { 'python.exe': { content: FAKE_PYTHON, mode: 0o755 }, 'Lib/os.py': '# os\n' } },
    {
      name: 'tool',
      version: '1.0',
      build: 'py_0',
      subdir: 'noarch',
      depends: ['python'],
      index: { noarch: 'python' },
      record: { noarch: 'python' },
      files: { 'site-packages/tool/__init__.py': 'def main():\n    return 0\n', 'site-packages/tool/cli.py': 'def run():\n    return 0\n' },
      info: { 'link.json': JSON.stringify({ noarch: { type: 'python', entry_points: ['tool = tool.cli:run', "o'dd%name = tool:main"] }, package_metadata_version: 1 }) },
    },
    {
      name: 'libcfg',
      version: '2.0',
      subdir: 'win-64',
      files: {
        'Library/etc/cfg.txt': { content: `root=${WIN_PLACEHOLDER}\\Library\\bin\nalso=${WIN_PLACEHOLDER}\n`, placeholder: WIN_PLACEHOLDER, fileMode: 'text' },
        'Library/bin/cfg.dll': 'MZ\0dll\0',
      },
    },
    { name: 'bad-ep', version: '1.0', build: 'py_0', subdir: 'noarch', depends: ['python'], index: { noarch: 'python' }, record: { noarch: 'python' },
      files: { 'site-packages/bad/__init__.py': '' }, info: { 'link.json': JSON.stringify({ noarch: { type: 'python', entry_points: ['con = bad:main'] } }) } },
    { name: 'case-a', version: '1.0', subdir: 'win-64', files: { 'Library/include/Foo.h': '/* a */\n' } },
    { name: 'case-b', version: '1.0', subdir: 'win-64', files: { 'Library/include/foo.h': '/* b */\n' } },
    { name: 'deep', version: '1.0', subdir: 'win-64', files: { [`share/${'d'.repeat(120)}/${'e'.repeat(120)}.txt`]: 'deep\n' } },
  ]);
  server = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
  for (const [name, deps] of [['v1', ['python', 'tool', 'libcfg']], ['v2', ['python', 'libcfg']], ['bad', ['python', 'bad-ep']], ['case', ['case-a', 'case-b']], ['deep', ['deep']]] as const) {
    const env = join(dir, `${name}.environment.yml`);
    writeFileSync(env, `channels:\n  - ${server.url('/chan')}\ndependencies:\n${deps.map((d) => `  - ${d}\n`).join('')}`);
    const r = await runCli(['lock', '-f', env, '--lockfile', join(dir, `${name}.yml`), '-p', 'win-64', '--cache-dir', join(dir, 'repocache'), '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
}, 60_000);
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const install = (prefix: string, name: string) =>
  runCli(['install', '--lockfile', join(dir, `${name}.yml`), '-p', prefix, '--platform', 'win-64', '--cache-dir', cache(), '-q']);
const verify = (prefix: string, name: string) => runCli(['verify', '--lockfile', join(dir, `${name}.yml`), '-p', prefix, '--platform', 'win-64']);
const record = (prefix: string, dist: string) =>
  JSON.parse(readFileSync(join(prefix, 'conda-meta', `${dist}.json`), 'utf8')) as { files: string[]; paths_data: { paths: Array<{ _path: string; path_type: string; sha256: string }> } };

describe('win-64 install from a Linux host', () => {
  it('noarch: python entry points become Scripts/NAME-script.py + NAME.cmd + NAME, recorded in conda-meta', async () => {
    const prefix = join(dir, 'env-a');
    const r = await install(prefix, 'v1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(join(prefix, 'Lib', 'site-packages', 'tool', 'cli.py'))).toBe(true);
    expect(readdirSync(join(prefix, 'Scripts')).sort()).toEqual(["o'dd%name", "o'dd%name-script.py", "o'dd%name.cmd", 'tool', 'tool-script.py', 'tool.cmd']);
    // conda's body, without a shebang (the launcher names the interpreter).
    expect(readFileSync(join(prefix, 'Scripts', 'tool-script.py'), 'utf8')).toBe(
      "# -*- coding: utf-8 -*-\nimport re\nimport sys\n\nfrom tool.cli import run\n\n" +
        "if __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n    sys.exit(run())\n",
    );
    const cmd = readFileSync(join(prefix, 'Scripts', 'tool.cmd'), 'utf8');
    expect(cmd.split('\r\n')).toEqual([
      '@echo off',
      "rem Entry point generated by conda-go-lock: runs the script next to this file with the environment's python.",
      '"%~dp0..\\python.exe" "%~dp0tool-script.py" %*',
      'exit /b %ERRORLEVEL%',
      '',
    ]);
    // A literal % in a .cmd file is doubled.
    expect(readFileSync(join(prefix, 'Scripts', "o'dd%name.cmd"), 'utf8')).toContain(`"%~dp0o'dd%%name-script.py" %*`);

    const rec = record(prefix, 'tool-1.0-py_0');
    expect(rec.files).toEqual([
      'Lib/site-packages/tool/__init__.py',
      'Lib/site-packages/tool/cli.py',
      'Scripts/o\'dd%name',
      "Scripts/o'dd%name-script.py",
      "Scripts/o'dd%name.cmd",
      'Scripts/tool',
      'Scripts/tool-script.py',
      'Scripts/tool.cmd',
    ]);
    const types = Object.fromEntries(rec.paths_data.paths.map((p) => [p._path, p.path_type]));
    expect(types).toMatchObject({
      'Scripts/tool-script.py': 'windows_python_entry_point_script',
      'Scripts/tool.cmd': 'windows_python_entry_point_exe',
      'Scripts/tool': 'windows_python_entry_point_exe',
    });
    expect((await verify(prefix, 'v1')).code).toBe(0);
  });

  it('the Git Bash launcher runs ../python.exe with the script and the arguments as given (sh on this host)', () => {
    const prefix = join(dir, 'env-a');
    const out = (name: string, env: NodeJS.ProcessEnv = process.env) =>
      execFileSync('sh', ['-c', `"$0" a 'b c' '$HOME'`, join(prefix, 'Scripts', name)], { encoding: 'utf8', env });
    expect(out('tool')).toBe(`arg:${join(prefix, 'Scripts', 'tool-script.py')}\narg:a\narg:b c\narg:$HOME\n`);
    expect(out("o'dd%name").split('\n')[0]).toBe(`arg:${join(prefix, 'Scripts', "o'dd%name-script.py")}`);
    // Under MSYS2/Cygwin the script path is handed to the native python in Windows form (cygpath -w).
    const bin = join(dir, 'fake-cygpath');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'cygpath'), '#!/bin/sh\n[ "$1" = -w ] && [ "$2" = -- ] || exit 9\nprintf "C:%s\\n" "$3" | tr / "\\\\\\\\"\n');
    chmodSync(join(bin, 'cygpath'), 0o755);
    const converted = out('tool', { ...process.env, PATH: `${bin}:${process.env.PATH}` }).split('\n')[0];
    expect(converted).toBe(`arg:C:${join(prefix, 'Scripts', 'tool-script.py').replace(/\//g, '\\')}`);
  });

  it('text placeholders in the backslash form conda-build records on Windows are replaced with the forward-slash prefix', async () => {
    const prefix = join(dir, 'env-a');
    expect(readFileSync(join(prefix, 'Library', 'etc', 'cfg.txt'), 'utf8')).toBe(`root=${prefix}\\Library\\bin\nalso=${prefix}\n`);
    const rec = record(prefix, 'libcfg-2.0-h0_0');
    expect(rec.files).toEqual(['Library/bin/cfg.dll', 'Library/etc/cfg.txt']);
  });

  it('removing the package removes its entry points (and only them); verify passes', async () => {
    const prefix = join(dir, 'env-a');
    writeFileSync(join(prefix, 'Scripts', 'mine.cmd'), '@echo mine\r\n');
    const r = await install(prefix, 'v2');
    expect(r.code).toBe(0);
    expect(readdirSync(join(prefix, 'Scripts'))).toEqual(['mine.cmd']);
    expect(existsSync(join(prefix, 'Lib', 'site-packages', 'tool'))).toBe(false);
    expect(existsSync(join(prefix, 'conda-meta', 'tool-1.0-py_0.json'))).toBe(false);
    expect((await verify(prefix, 'v2')).code).toBe(0);
  });

  it('two package files that differ only in case: E_CASE_COLLISION naming both packages, nothing installed', async () => {
    const prefix = join(dir, 'env-case');
    const r = await install(prefix, 'case');
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('E_CASE_COLLISION');
    expect(r.stderr).toContain(`"Library/include/Foo.h" and "Library/include/foo.h" differ only in case (case-a-1.0-h0_0 and case-b-1.0-h0_0)`);
    expect(existsSync(prefix)).toBe(false);
  });

  it('a path of 260+ characters in the prefix: installed, with one warning naming it', async () => {
    const prefix = join(dir, 'env-deep');
    const r = await runCli(['install', '--lockfile', join(dir, 'deep.yml'), '-p', prefix, '--platform', 'win-64', '--cache-dir', cache()]);
    expect(r.code).toBe(0);
    const rel = `share/${'d'.repeat(120)}/${'e'.repeat(120)}.txt`;
    expect(r.stderr).toContain(`1 path(s) will be 260 characters or longer in this win-64 prefix, e.g. deep-1.0-h0_0: ${rel} (${prefix.length + 1 + rel.length})`);
    expect(existsSync(join(prefix, rel))).toBe(true);
  });

  it('an entry point named like a Windows device (con) is refused for win-64 and nothing is installed', async () => {
    const prefix = join(dir, 'env-bad');
    const r = await install(prefix, 'bad');
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('E_ENTRY_POINT_NAME');
    expect(r.stderr).toContain('bad-ep-1.0-py_0: entry point name "con" cannot be a file name on Windows');
    expect(existsSync(prefix)).toBe(false);
  });
});
