/**
 * Byte-compiling noarch: python sources with the environment's own interpreter (src/install/pyc.ts),
 * run with the host's real python 3.9 standing in for the prefix's.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPlatform } from '../../src/conda/platform.js';
import type { InstalledPath } from '../../src/install/link.js';
import { compileNoarchPython, pycSources } from '../../src/install/pyc.js';
import { findHostPython39 } from '../support/defaults-2020-channel.js';

const hostPython = findHostPython39();
const host = (() => {
  try {
    return hostPlatform();
  } catch {
    return 'unknown';
  }
})();
const python = { version: '3.9' };
const sp = 'lib/python3.9/site-packages';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cgl-pyc-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const file = (path: string): InstalledPath => ({ _path: path, path_type: 'hardlink', sha256: 'x', sha256_in_prefix: 'x', size_in_bytes: 1 });

async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
}

describe('which sources are compiled', () => {
  it('only .py files below site-packages, not scripts, data, symlinks or sources whose .pyc the package ships', () => {
    const pkg = {
      dist: 'demo-1.0-py_0',
      paths: [
        file(`${sp}/demo/__init__.py`),
        file(`${sp}/demo/data.txt`),
        file(`${sp}/demo/shipped.py`),
        file(`${sp}/demo/__pycache__/shipped.cpython-39.pyc`),
        { _path: `${sp}/demo/link.py`, path_type: 'softlink' as const },
        file('bin/demo-script.py'),
        { _path: 'bin/demo', path_type: 'unix_python_entry_point' as const },
      ],
    };
    expect(pycSources(pkg, python, 'linux-64')).toEqual([`${sp}/demo/__init__.py`]);
    expect(pycSources({ dist: 'w', paths: [file('Lib/site-packages/w/a.py'), file(`${sp}/w/b.py`)] }, python, 'win-64')).toEqual(['Lib/site-packages/w/a.py']);
  });
});

describe('compiling', () => {
  it('a prefix for another platform is not compiled, with one line saying why', async () => {
    const other = host === 'osx-64' ? 'linux-64' : 'osx-64';
    const r = await compileNoarchPython({
      destDir: root,
      pythonRoot: root,
      targetPrefix: '/opt/env',
      platform: other,
      python,
      packages: [{ dist: 'demo-1.0-py_0', paths: [file(`${sp}/demo/__init__.py`)] }],
    });
    expect(r.pyc.size).toBe(0);
    expect(r.skipped).toBe(
      `1 noarch: python package(s) not byte-compiled: the prefix is for ${other} and its python cannot run on this machine (${host}); python compiles them on first import where it runs`,
    );
  });

  it('an environment without an interpreter is not compiled, and says so', async () => {
    const dir = join(root, 'no-python');
    await writeTree(dir, { [`${sp}/demo/__init__.py`]: 'x = 1\n' });
    const r = await compileNoarchPython({ destDir: dir, pythonRoot: dir, targetPrefix: '/opt/env', platform: host, python, packages: [{ dist: 'demo-1.0-py_0', paths: [file(`${sp}/demo/__init__.py`)] }] });
    expect(r.pyc.size).toBe(0);
    expect(r.skipped).toMatch(/^1 noarch: python package\(s\) not byte-compiled: the environment has no python interpreter \(bin\/python3\.9\)$/);
  });

  it.skipIf(!hostPython)('writes __pycache__/*.cpython-39.pyc that the interpreter accepts, naming the final prefix path', async () => {
    const stage = join(root, 'stage');
    const finalPrefix = join(root, 'final-env');
    const sources: Record<string, string> = {
      [`${sp}/demo/__init__.py`]: 'VALUE = 42\n',
      [`${sp}/demo/sub/mod.py`]: 'def f():\n    raise ValueError("boom")\n',
      [`${sp}/demo/py2only.py`]: 'print "python 2 only"\n',
      [`${sp}/other/x.y.py`]: 'Z = 1\n',
    };
    await writeTree(stage, sources);
    await mkdir(join(stage, 'bin'), { recursive: true });
    await symlink(hostPython!, join(stage, 'bin', 'python3.9'));
    const packages = [
      { dist: 'demo-1.0-py_0', paths: [`${sp}/demo/__init__.py`, `${sp}/demo/sub/mod.py`, `${sp}/demo/py2only.py`].map(file) },
      { dist: 'other-2.0-py_0', paths: [file(`${sp}/other/x.y.py`)] },
    ];
    const r = await compileNoarchPython({ destDir: stage, pythonRoot: stage, targetPrefix: finalPrefix, platform: host, python, packages, processes: 2 });
    expect(r.skipped).toBeUndefined();
    expect(r.sources).toBe(4);
    // The python-2-only file does not compile for 3.9: no .pyc and no record, as with conda.
    expect(r.compiled).toBe(3);
    const demo = r.pyc.get('demo-1.0-py_0')!;
    expect(demo.map((p) => p._path).sort()).toEqual([`${sp}/demo/__pycache__/__init__.cpython-39.pyc`, `${sp}/demo/sub/__pycache__/mod.cpython-39.pyc`]);
    expect(r.pyc.get('other-2.0-py_0')!.map((p) => p._path)).toEqual([`${sp}/other/__pycache__/x.y.cpython-39.pyc`]);
    for (const p of [...demo, ...r.pyc.get('other-2.0-py_0')!]) {
      expect(p.path_type).toBe('pyc_file');
      const bytes = await readFile(join(stage, p._path));
      expect(p.sha256_in_prefix).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(p.size_in_bytes).toBe(bytes.length);
    }
    await expect(stat(join(stage, sp, 'demo', '__pycache__', 'py2only.cpython-39.pyc'))).rejects.toThrow();
    // The code objects name the final path (tracebacks), not the staging directory.
    const out = execFileSync(
      hostPython!,
      ['-c', `import marshal,sys\nf=open(sys.argv[1],'rb'); f.read(16); print(marshal.load(f).co_filename)`, join(stage, sp, 'demo', 'sub', '__pycache__', 'mod.cpython-39.pyc')],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe(`${finalPrefix}/${sp}/demo/sub/mod.py`);
    // The interpreter takes them as up to date: importing does not rewrite them.
    const before = await readFile(join(stage, sp, 'demo', '__pycache__', '__init__.cpython-39.pyc'));
    const v = execFileSync(hostPython!, ['-c', `import sys; sys.path.insert(0, sys.argv[1]); import demo, demo.sub.mod; print(demo.VALUE, demo.__cached__)`, join(stage, sp)], { encoding: 'utf8' });
    expect(v.trim()).toBe(`42 ${join(stage, sp, 'demo', '__pycache__', '__init__.cpython-39.pyc')}`);
    expect((await readFile(join(stage, sp, 'demo', '__pycache__', '__init__.cpython-39.pyc'))).equals(before)).toBe(true);
  });

  it.skipIf(!hostPython)('PYTHONPYCACHEPREFIX of the caller cannot send the files elsewhere', async () => {
    const stage = join(root, 'stage-env');
    const elsewhere = join(root, 'elsewhere');
    await writeTree(stage, { [`${sp}/demo/__init__.py`]: 'A = 1\n' });
    await mkdir(join(stage, 'bin'), { recursive: true });
    await symlink(hostPython!, join(stage, 'bin', 'python3.9'));
    const saved = process.env.PYTHONPYCACHEPREFIX;
    process.env.PYTHONPYCACHEPREFIX = elsewhere;
    try {
      const r = await compileNoarchPython({ destDir: stage, pythonRoot: stage, targetPrefix: stage, platform: host, python, packages: [{ dist: 'demo-1.0-py_0', paths: [file(`${sp}/demo/__init__.py`)] }] });
      expect(r.compiled).toBe(1);
    } finally {
      if (saved === undefined) delete process.env.PYTHONPYCACHEPREFIX;
      else process.env.PYTHONPYCACHEPREFIX = saved;
    }
    await expect(stat(elsewhere)).rejects.toThrow();
  });

  it.skipIf(!hostPython)('an interpreter that fails is reported, not thrown', async () => {
    const stage = join(root, 'stage-broken');
    await writeTree(stage, { [`${sp}/demo/__init__.py`]: 'A = 1\n', 'bin/python3.9': '#!/bin/sh\necho "no such library" >&2\nexit 127\n' });
    execFileSync('chmod', ['755', join(stage, 'bin', 'python3.9')]);
    const r = await compileNoarchPython({ destDir: stage, pythonRoot: stage, targetPrefix: stage, platform: host, python, packages: [{ dist: 'demo-1.0-py_0', paths: [file(`${sp}/demo/__init__.py`)] }] });
    expect(r.pyc.size).toBe(0);
    expect(r.skipped).toBe(`1 noarch: python package(s) not byte-compiled: ${join(stage, 'bin', 'python3.9')} exited with 127 (no such library)`);
  });
});
