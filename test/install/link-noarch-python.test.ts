import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstallError } from '../../src/errors.js';
import { extractPackage } from '../../src/install/extract/index.js';
import { linkPackage } from '../../src/install/link.js';
import { entryPointScript, noarchPythonPath, parseEntryPoint, pythonMajorMinor } from '../../src/install/noarch-python.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cgl-noarch-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('noarch: python path mapping', () => {
  it.each([
    ['site-packages/flask/app.py', { version: '3.11' }, 'linux-64', 'lib/python3.11/site-packages/flask/app.py'],
    ['site-packages/flask/app.py', { version: '3.9' }, 'osx-arm64', 'lib/python3.9/site-packages/flask/app.py'],
    ['site-packages/flask/app.py', { version: '3.12' }, 'win-64', 'Lib/site-packages/flask/app.py'],
    ['python-scripts/flask', { version: '3.12' }, 'linux-64', 'bin/flask'],
    ['python-scripts/flask.bat', { version: '3.12' }, 'win-64', 'Scripts/flask.bat'],
    ['share/doc/x.txt', { version: '3.12' }, 'linux-64', 'share/doc/x.txt'],
    ['site-packages/a.py', { version: '3.13', sitePackagesPath: 'lib/python3.13t/site-packages' }, 'linux-64', 'lib/python3.13t/site-packages/a.py'],
  ])('%s (%j, %s) → %s', (path, py, platform, expected) => {
    expect(noarchPythonPath(path, py, platform)).toBe(expected);
  });

  it('python X.Y comes from the full version', () => {
    expect(pythonMajorMinor('3.11.4')).toBe('3.11');
    expect(pythonMajorMinor('3.9.0rc1')).toBe('3.9');
    expect(() => pythonMajorMinor('abc')).toThrow(InstallError);
  });

  it('entry points parse, bad ones are refused', () => {
    expect(parseEntryPoint('flask = flask.cli:main')).toEqual({ name: 'flask', module: 'flask.cli', func: 'main' });
    expect(parseEntryPoint('tool=pkg.mod:Cli.run [extra]')).toEqual({ name: 'tool', module: 'pkg.mod', func: 'Cli.run' });
    expect(() => parseEntryPoint('flask flask.cli:main', 'flask-0.11.1-py_0')).toThrow(/flask-0\.11\.1-py_0: invalid entry point/);
  });

  it('entry point scripts: unix shebang to PREFIX/bin/pythonX.Y (env when too long), windows -script.py', () => {
    const ep = { name: 'flask', module: 'flask.cli', func: 'main' };
    const unix = entryPointScript(ep, '/opt/env', 'linux-64', '3.9.1');
    expect(unix.path).toBe('bin/flask');
    // Byte for byte what conda 4.9.2 wrote for the real tqdm package (QGB/miniconda3 bin/tqdm), with flask's names.
    expect(unix.content.toString()).toBe(
      "#!/opt/env/bin/python3.9\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n\nfrom flask.cli import main\n\n" +
        "if __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n    sys.exit(main())\n",
    );
    expect(entryPointScript(ep, '/opt/env', 'linux-64').content.toString().split('\n')[0]).toBe('#!/opt/env/bin/python');
    const long = entryPointScript(ep, '/' + 'd'.repeat(140), 'linux-64', '3.9');
    expect(long.content.toString().split('\n')[0]).toBe('#!/usr/bin/env python3.9');
    const win = entryPointScript(ep, 'C:\\env', 'win-64');
    expect(win.path).toBe('Scripts/flask-script.py');
    expect(win.content.toString().startsWith('#!')).toBe(false);
    expect(win.pathType).toBe('windows_python_entry_point_script');
  });
});

describe.skipIf(!haveFixtures)('flask 0.11.1 (2016 noarch: python tarball, info/files + package_metadata.json)', () => {
  /**
   * The fixture tarball carries only info/ (the files were stripped when it became a test archive),
   * so the payload listed in info/files is recreated here with recognisable content.
   */
  async function flaskExtracted(): Promise<string> {
    const ex = join(root, `flask-${Math.random().toString(16).slice(2)}`);
    await extractPackage(fixture('packages/flask-0.11.1-py_0.tar.bz2'), ex);
    const files = (await readFile(join(ex, 'info/files'), 'utf8')).split('\n').filter(Boolean);
    for (const f of files) {
      await mkdir(dirname(join(ex, f)), { recursive: true });
      await writeFile(join(ex, f), `# ${f}\n`);
    }
    return ex;
  }

  it.each([
    ['linux-64', '3.5.2', 'lib/python3.5/site-packages', 'bin/flask'],
    ['win-64', '3.5.2', 'Lib/site-packages', 'Scripts/flask-script.py'],
  ])('%s: site-packages relocated and the flask entry point generated', async (platform, pyver, site, script) => {
    const ex = await flaskExtracted();
    const dest = join(root, `prefix-${platform}`);
    const res = await linkPackage({
      extractedDir: ex,
      destDir: dest,
      targetPrefix: '/envs/web',
      platform,
      dist: 'flask-0.11.1-py_0',
      noarch: 'python',
      python: { version: pythonMajorMinor(pyver) },
    });
    expect(await readFile(join(dest, site, 'flask/app.py'), 'utf8')).toBe('# site-packages/flask/app.py\n');
    const paths = res.paths.map((p) => p._path);
    expect(paths).toContain(`${site}/flask/__init__.py`);
    expect(paths.some((p) => p.startsWith('site-packages/'))).toBe(false);
    const ep = res.paths.find((p) => p._path === script)!;
    expect(ep).toBeDefined();
    const content = await readFile(join(dest, script), 'utf8');
    expect(content).toContain('from flask.cli import main');
    if (platform === 'linux-64') {
      expect(content).toMatch(/^#!\/envs\/web\/bin\/python3\.\d+\n# -\*- coding: utf-8 -\*-\nimport re\n/);
      expect((await stat(join(dest, script))).mode & 0o111).not.toBe(0);
      expect(ep.path_type).toBe('unix_python_entry_point');
    }
    // 28 payload files + the entry point (on Windows: -script.py, .cmd and the sh launcher).
    expect(res.paths).toHaveLength(platform === 'win-64' ? 31 : 29);
  });

  it('without a python to place it, a noarch: python package is an InstallError', async () => {
    const ex = await flaskExtracted();
    await expect(
      linkPackage({ extractedDir: ex, destDir: join(root, 'nopy'), targetPrefix: '/e', platform: 'linux-64', dist: 'flask-0.11.1-py_0', noarch: 'python' }),
    ).rejects.toThrow(/flask-0\.11\.1-py_0 is a noarch: python package/);
  });

  it('reads entry points from info/link.json when present (newer packages)', async () => {
    const ex = await flaskExtracted();
    await writeFile(join(ex, 'info/link.json'), JSON.stringify({ noarch: { type: 'python', entry_points: ['hello = hello.main:run'] } }));
    const dest = join(root, 'prefix-linkjson');
    const res = await linkPackage({
      extractedDir: ex,
      destDir: dest,
      targetPrefix: '/e',
      platform: 'linux-64',
      dist: 'flask-0.11.1-py_0',
      noarch: 'python',
      python: { version: '3.11' },
    });
    expect(res.paths.map((p) => p._path)).toContain('bin/hello');
    expect(res.paths.map((p) => p._path)).not.toContain('bin/flask');
    expect(await readFile(join(dest, 'bin/hello'), 'utf8')).toContain('from hello.main import run');
  });
});
