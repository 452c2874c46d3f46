/**
 * src/install/wheel on real wheels (Debian's pip/setuptools/wheel, the verified wheels in
 * ../shared/fixtures/pypi) and on hostile ones built here, each refusal in its own test with the
 * prefix checked to be exactly as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstallError, UnsafeArchiveError } from '../../src/errors.js';
import {
  installWheel,
  listInstalledWheels,
  parseRecord,
  readInstalledRecord,
  uninstallWheel,
  verifyWheel,
  type WheelTarget,
} from '../../src/install/wheel/index.js';
import { parseCsv, formatRecord } from '../../src/install/wheel/record.js';
import { snapshotTree, writeZip, type ZipEntrySpec } from '../support/archives.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { python39, python39SkipReason, runPython39 } from '../support/python.js';

const DEBIAN = '/usr/share/python-wheels';
const debianWheel = (prefix: string) => readdirSync(DEBIAN).find((n) => n.startsWith(prefix) && n.endsWith('.whl'));
const haveDebian = existsSync(DEBIAN) && !!debianWheel('wheel-') && !!debianWheel('pip-') && !!debianWheel('setuptools-');
const debianSkip = `${DEBIAN} has no pip/setuptools/wheel wheels (apt-get install python3-pip-whl python3-setuptools-whl python3-wheel-whl)`;
if (!haveDebian) console.warn(`[conda-go-lock tests] ${debianSkip}`);

let dir: string;
let prefix: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgl-wheel-'));
  prefix = join(dir, 'env');
  await mkdir(join(prefix, 'conda-meta'), { recursive: true });
  await mkdir(join(prefix, 'lib', 'python3.9', 'site-packages'), { recursive: true });
  await mkdir(join(prefix, 'bin'), { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const linux = (p: string): WheelTarget => ({ platform: 'linux-64', python: { version: '3.9.18' }, prefix: p });
const SP = 'lib/python3.9/site-packages';

/** Paths next to the prefix (temporary dirs must never be left there). */
const siblings = () => readdirSync(dir).sort();

function b64(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('base64url');
}

interface WheelSpec {
  name?: string;
  version?: string;
  files?: Record<string, string | Buffer>;
  /** Rows appended to (or, with replaceRecord, instead of) the computed RECORD. */
  extraRecord?: string;
  replaceRecord?: string;
  /** Members left out of RECORD. */
  unlisted?: string[];
  extraEntries?: ZipEntrySpec[];
  rename?: Record<string, string>;
  wheelFile?: string;
  filename?: string;
}

/** A synthetic wheel with a correct RECORD unless the spec breaks it on purpose. */
async function buildWheel(spec: WheelSpec = {}): Promise<string> {
  const name = spec.name ?? 'demo';
  const version = spec.version ?? '1.0';
  const di = `${name}-${version}.dist-info`;
  const files: Record<string, string | Buffer> = {
    [`${name}/__init__.py`]: 'VALUE = 42\n',
    [`${di}/METADATA`]: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`,
    [`${di}/WHEEL`]: spec.wheelFile ?? 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
    ...spec.files,
  };
  const rows = Object.entries(files)
    .filter(([p]) => !(spec.unlisted ?? []).includes(p))
    .map(([p, c]) => `${p},sha256=${b64(c)},${Buffer.byteLength(c)}`);
  const record = spec.replaceRecord ?? [...rows, `${di}/RECORD,,`].join('\n') + '\n' + (spec.extraRecord ?? '');
  const entries: ZipEntrySpec[] = [
    ...Object.entries(files).map(([p, c]) => ({ name: p, content: c })),
    { name: `${di}/RECORD`, content: record },
    ...(spec.extraEntries ?? []),
  ];
  const path = join(dir, spec.filename ?? `${name}-${version}-py3-none-any.whl`);
  await writeZip(path, entries, spec.rename ?? {});
  return path;
}

describe('RECORD format', () => {
  it('reads Python csv quoting and writes it back', () => {
    expect(parseCsv('a,"b,c","d""e"\r\nf,,\n')).toEqual([
      ['a', 'b,c', 'd"e'],
      ['f', '', ''],
    ]);
    const rows = [{ path: 'x, y.py', hash: 'sha256=abc', size: '3' }, { path: 'z.dist-info/RECORD', hash: '', size: '' }];
    expect(formatRecord(rows)).toBe('"x, y.py",sha256=abc,3\nz.dist-info/RECORD,,\n');
    expect(parseRecord(formatRecord(rows))).toEqual(rows);
  });
});

describe.skipIf(!haveDebian)("Debian's real wheels", () => {
  it('installs wheel 0.38.4: files in site-packages, RECORD/INSTALLER/REQUESTED, a console script with the prefix python', async () => {
    const whl = join(DEBIAN, debianWheel('wheel-')!);
    const got = await installWheel({ wheel: whl, destDir: prefix, target: linux(prefix), requested: true });
    expect(got.name).toBe('wheel');
    expect(got.version).toBe('0.38.4');
    expect(got.distInfo).toBe(`${SP}/wheel-0.38.4.dist-info`);
    expect(got.entryPoints).toEqual(['wheel']);
    const di = join(prefix, SP, 'wheel-0.38.4.dist-info');
    expect(await readFile(join(di, 'INSTALLER'), 'utf8')).toBe('conda-go-lock\n');
    expect(existsSync(join(di, 'REQUESTED'))).toBe(true);
    expect(existsSync(join(di, 'direct_url.json'))).toBe(false);
    expect(existsSync(join(prefix, SP, 'wheel', 'bdist_wheel.py'))).toBe(true);
    const script = await readFile(join(prefix, 'bin', 'wheel'), 'utf8');
    expect(script.split('\n')[0]).toBe(`#!${prefix}/bin/python`);
    expect(script).toContain('from wheel.cli import main');
    expect((await stat(join(prefix, 'bin', 'wheel'))).mode & 0o111).not.toBe(0);
    // Our RECORD lists every file we wrote (script and INSTALLER too), relative to site-packages.
    const rows = parseRecord(await readFile(join(di, 'RECORD'), 'utf8'));
    const paths = rows.map((r) => r.path);
    expect(paths).toContain('../../../bin/wheel');
    expect(paths).toContain('wheel-0.38.4.dist-info/INSTALLER');
    expect(paths).toContain('wheel-0.38.4.dist-info/REQUESTED');
    expect(rows.find((r) => r.path === 'wheel-0.38.4.dist-info/RECORD')).toEqual({ path: 'wheel-0.38.4.dist-info/RECORD', hash: '', size: '' });
    expect(rows.length).toBe(got.files.length);
    expect(await verifyWheel(prefix, got.distInfo)).toMatchObject({ problems: [] });
    expect(await listInstalledWheels(prefix, linux(prefix))).toEqual([
      { name: 'wheel', version: '0.38.4', distInfo: got.distInfo, installer: 'conda-go-lock' },
    ]);
  });

  it.skipIf(!python39)('python3.9 sees the installed wheels: importlib.metadata, pip list --path, RECORD files', async () => {
    for (const w of ['wheel-', 'setuptools-', 'pip-']) {
      await installWheel({ wheel: join(DEBIAN, debianWheel(w)!), destDir: prefix, target: linux(prefix), requested: w === 'wheel-' });
    }
    const sp = join(prefix, SP);
    const out = runPython39(
      sp,
      [
        'import importlib.metadata as m',
        'for n in ("wheel", "setuptools", "pip"):',
        '    d = m.distribution(n)',
        '    missing = [str(f) for f in d.files if not f.locate().exists()]',
        '    print(n, d.version, d.read_text("INSTALLER").strip(), len(missing))',
        'import wheel, setuptools; print(wheel.__file__.startswith(sys.path[0]))',
      ].join('\n'),
    );
    expect(out.trim().split('\n')).toEqual([
      'wheel 0.38.4 conda-go-lock 0',
      'setuptools 66.1.1 conda-go-lock 0',
      'pip 23.0.1 conda-go-lock 0',
      'True',
    ]);
    const list = execFileSync(python39!, ['-m', 'pip', 'list', '--path', sp, '--format', 'json', '--disable-pip-version-check'], {
      encoding: 'utf8',
    });
    const listed = JSON.parse(list) as Array<{ name: string; version: string }>;
    expect(listed.map((p) => `${p.name} ${p.version}`).sort()).toEqual(['pip 23.0.1', 'setuptools 66.1.1', 'wheel 0.38.4']);
    // The console script runs with the prefix's python (here a link to the host 3.9).
    await symlink(python39!.includes('/') ? python39! : execFileSync('which', ['python3.9'], { encoding: 'utf8' }).trim(), join(prefix, 'bin', 'python'));
    const v = execFileSync(join(prefix, 'bin', 'wheel'), ['version'], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: sp } });
    expect(v).toContain('0.38.4');
  });

  it('uninstall removes exactly the RECORD files (and pycache python wrote), keeps user files and the dirs holding them', async () => {
    const before = await snapshotTree(prefix);
    const got = await installWheel({ wheel: join(DEBIAN, debianWheel('setuptools-')!), destDir: prefix, target: linux(prefix) });
    expect(got.files.length).toBeGreaterThan(100);
    // Simulate python's bytecode cache and a user's own file inside the package.
    await mkdir(join(prefix, SP, 'setuptools', '__pycache__'), { recursive: true });
    await writeFile(join(prefix, SP, 'setuptools', '__pycache__', 'dist.cpython-39.pyc'), 'x');
    await writeFile(join(prefix, SP, 'setuptools', 'my-notes.txt'), 'mine');
    const res = await uninstallWheel(prefix, got.distInfo, linux(prefix));
    expect(res.missing).toEqual([]);
    expect(res.removed).toContain(`${SP}/setuptools/__pycache__/dist.cpython-39.pyc`);
    const after = await snapshotTree(prefix);
    // Everything is gone but the user's file and the directory that holds it.
    expect(Object.keys(after).filter((k) => !(k in before)).sort()).toEqual([`${SP}/setuptools`, `${SP}/setuptools/my-notes.txt`]);
    expect(Object.keys(before).filter((k) => !(k in after))).toEqual([]);
    expect(siblings()).toEqual(['env']);
  });

  it('a file installed by a conda package is never overwritten: refused, nothing left', async () => {
    await mkdir(join(prefix, SP, 'wheel'), { recursive: true });
    await writeFile(join(prefix, SP, 'wheel', '__init__.py'), '# from a conda package\n');
    const before = await snapshotTree(prefix);
    const err = await installWheel({ wheel: join(DEBIAN, debianWheel('wheel-')!), destDir: prefix, target: linux(prefix) }).catch((e) => e);
    expect(err).toBeInstanceOf(InstallError);
    expect(err.code).toBe('E_WHEEL_CLOBBER');
    expect(err.message).toContain(`${SP}/wheel/__init__.py already exists`);
    expect(await snapshotTree(prefix)).toEqual(before);
    expect(siblings()).toEqual(['env']);
  });
});

describe('layouts', () => {
  it('win-64: Lib/site-packages and Scripts/<name>-script.py', async () => {
    const whl = await buildWheel({
      files: { 'demo-1.0.dist-info/entry_points.txt': '[console_scripts]\ndemo = demo:main\n[gui_scripts]\ndemo-gui = demo.ui:run\n' },
    });
    const win: WheelTarget = { platform: 'win-64', python: { version: '3.11.4' }, prefix: 'C:\\envs\\x' };
    const got = await installWheel({ wheel: whl, destDir: prefix, target: win });
    expect(got.distInfo).toBe('Lib/site-packages/demo-1.0.dist-info');
    expect(existsSync(join(prefix, 'Lib', 'site-packages', 'demo', '__init__.py'))).toBe(true);
    expect(existsSync(join(prefix, 'Scripts', 'demo-script.py'))).toBe(true);
    expect(existsSync(join(prefix, 'Scripts', 'demo-gui-script.pyw'))).toBe(true);
    // The same launchers noarch: python entry points get (src/install/windows-entry-points.ts).
    expect(await readFile(join(prefix, 'Scripts', 'demo.cmd'), 'utf8')).toContain('"%~dp0..\\python.exe" "%~dp0demo-script.py" %*\r\n');
    expect(await readFile(join(prefix, 'Scripts', 'demo-gui.cmd'), 'utf8')).toContain('"%~dp0..\\pythonw.exe" "%~dp0demo-gui-script.pyw" %*\r\n');
    expect(await readFile(join(prefix, 'Scripts', 'demo'), 'utf8')).toContain(`exec "$d/../python.exe" "$s" "$@"`);
    expect(await readFile(join(prefix, 'Scripts', 'demo-gui'), 'utf8')).toContain(`s="$d"/'demo-gui-script.pyw'`);
    const record = await readFile(join(prefix, got.distInfo, 'RECORD'), 'utf8');
    for (const f of ['demo-script.py', 'demo.cmd', 'demo', 'demo-gui-script.pyw', 'demo-gui.cmd', 'demo-gui']) {
      expect(record).toMatch(new RegExp(`^\\.\\./\\.\\./Scripts/${f.replace(/\./g, '\\.')},sha256=`, 'm'));
    }
    expect(await verifyWheel(prefix, got.distInfo)).toMatchObject({ problems: [] });
  });

  it('CEP-17 free-threaded python: lib/python3.13t/site-packages and include/python3.13t', async () => {
    const whl = await buildWheel({ files: { 'demo-1.0.data/headers/demo.h': '#define DEMO 1\n' } });
    const ft: WheelTarget = { platform: 'linux-64', python: { version: '3.13', sitePackagesPath: 'lib/python3.13t/site-packages' }, prefix };
    const got = await installWheel({ wheel: whl, destDir: prefix, target: ft });
    expect(got.distInfo).toBe('lib/python3.13t/site-packages/demo-1.0.dist-info');
    expect(existsSync(join(prefix, 'lib', 'python3.13t', 'site-packages', 'demo', '__init__.py'))).toBe(true);
    expect(existsSync(join(prefix, 'include', 'python3.13t', 'demo', 'demo.h'))).toBe(true);
  });

  it('.data/ parts: scripts (#!python rewritten), headers, data, purelib and platlib', async () => {
    const whl = await buildWheel({
      wheelFile: 'Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp39-cp39-linux_x86_64\n',
      files: {
        'demo-1.0.data/scripts/run-demo': '#!python\nimport demo\nprint(demo.VALUE)\n',
        'demo-1.0.data/scripts/plain.sh': '#!/bin/sh\necho hi\n',
        'demo-1.0.data/headers/demo.h': '#define DEMO 1\n',
        'demo-1.0.data/data/share/demo/readme.txt': 'data file\n',
        'demo-1.0.data/purelib/demo_pure.py': 'P = 1\n',
        'demo-1.0.data/platlib/demo_plat.py': 'Q = 2\n',
      },
    });
    const got = await installWheel({ wheel: whl, destDir: prefix, target: linux(prefix) });
    expect((await readFile(join(prefix, 'bin', 'run-demo'), 'utf8')).split('\n')[0]).toBe(`#!${prefix}/bin/python`);
    expect(await readFile(join(prefix, 'bin', 'plain.sh'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect((await stat(join(prefix, 'bin', 'run-demo'))).mode & 0o111).not.toBe(0);
    expect(existsSync(join(prefix, 'include', 'python3.9', 'demo', 'demo.h'))).toBe(true);
    expect(existsSync(join(prefix, 'share', 'demo', 'readme.txt'))).toBe(true);
    expect(existsSync(join(prefix, SP, 'demo_pure.py'))).toBe(true);
    expect(existsSync(join(prefix, SP, 'demo_plat.py'))).toBe(true);
    // RECORD has the rewritten script's hash, so verify passes.
    expect(await verifyWheel(prefix, got.distInfo)).toMatchObject({ problems: [] });
    const recorded = (await readInstalledRecord(prefix, got.distInfo)).map((r) => r.path);
    expect(recorded).toContain('share/demo/readme.txt');
    expect(recorded).toContain('include/python3.9/demo/demo.h');
    await uninstallWheel(prefix, got.distInfo, linux(prefix));
    expect(existsSync(join(prefix, 'share'))).toBe(false);
    expect(existsSync(join(prefix, 'include'))).toBe(false);
    expect(readdirSync(join(prefix, 'bin'))).toEqual([]);
    expect(readdirSync(join(prefix, SP))).toEqual([]);
  });

  it('PEP 610: direct_url.json for a URL requirement', async () => {
    const whl = await buildWheel();
    const directUrl = { url: 'https://example.org/demo-1.0-py3-none-any.whl', archive_info: { hashes: { sha256: 'ab' } } };
    const got = await installWheel({ wheel: whl, destDir: prefix, target: linux(prefix), directUrl });
    expect(JSON.parse(await readFile(join(prefix, got.distInfo, 'direct_url.json'), 'utf8'))).toEqual(directUrl);
    expect(existsSync(join(prefix, got.distInfo, 'REQUESTED'))).toBe(false);
  });
});

describe.skipIf(!haveFixtures)('real wheels from ../shared/fixtures/pypi', () => {
  const real = [
    'dists/pixi/requests-2.31.0-py3-none-any.whl',
    'micropip/wheel/snowballstemmer-2.0.0-py2.py3-none-any.whl',
    'poetry/pypi.org/dists/setuptools-67.6.1-py3-none-any.whl',
    'poetry/pypi.org/dists/wheel-0.40.0-py3-none-any.whl',
    'pip/pypi_packages/six-1.17.0-py2.py3-none-any.whl',
    'dists/twine/twine-4.0.2-py3-none-any.whl',
    'pdm/artifacts/jmespath-0.10.0-py2.py3-none-any.whl',
    'pdm/artifacts/typing_extensions-4.4.0-py3-none-any.whl',
    'pdm/artifacts/zipp-3.7.0-py3-none-any.whl',
    'dists/rip/purelib_and_platlib-1.0.0-cp38-cp38-linux_x86_64.whl',
  ];
  it.each(real)('%s installs, verifies, and uninstalls to the prefix as it was', async (rel) => {
    const before = await snapshotTree(prefix);
    const got = await installWheel({ wheel: fixture('pypi', ...rel.split('/')), destDir: prefix, target: linux(prefix), requested: true });
    expect(got.files.length).toBeGreaterThan(3);
    const v = await verifyWheel(prefix, got.distInfo);
    expect(v.problems).toEqual([]);
    expect(v.checkedFiles).toBe(got.files.length - 1); // all but RECORD
    await uninstallWheel(prefix, got.distInfo, linux(prefix));
    expect(await snapshotTree(prefix)).toEqual(before);
  });

  it("jmespath's #!python script gets the prefix's python", async () => {
    await installWheel({ wheel: fixture('pypi', 'pdm', 'artifacts', 'jmespath-0.10.0-py2.py3-none-any.whl'), destDir: prefix, target: linux(prefix) });
    expect((await readFile(join(prefix, 'bin', 'jp.py'), 'utf8')).split('\n')[0]).toBe(`#!${prefix}/bin/python`);
  });

  it('the stripped miniblack wheel (RECORD lists a missing file, 4 files unlisted) is refused', async () => {
    const before = await snapshotTree(prefix);
    const err = await installWheel({ wheel: fixture('pypi', 'dists', 'rip', 'miniblack-23.1.0-py3-none-any.whl'), destDir: prefix, target: linux(prefix) }).catch((e) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect(err.message).toMatch(/not listed in RECORD|which is not in the wheel/);
    expect(await snapshotTree(prefix)).toEqual(before);
  });
});

describe('hostile wheels are refused and leave nothing behind', () => {
  async function refused(whl: string, pattern: RegExp, cls: typeof UnsafeArchiveError | typeof InstallError = UnsafeArchiveError) {
    const before = await snapshotTree(prefix);
    const err = await installWheel({ wheel: whl, destDir: prefix, target: linux(prefix) }).catch((e) => e);
    expect(err).toBeInstanceOf(cls);
    expect(err.message).toMatch(pattern);
    expect(await snapshotTree(prefix)).toEqual(before);
    expect(siblings()).toEqual(['env', basename(whl)].sort());
    expect(existsSync(join(dir, 'evil.txt'))).toBe(false);
  }

  it('a ../ member path', async () => {
    // Same length as the placeholder, patched into the zip after RECORD was computed for it.
    const hostile = 'demo/../../../../../../evil.txt';
    const placeholder = `demo/${'X'.repeat(hostile.length - 'demo/evil.txt'.length)}evil.txt`;
    const whl = await buildWheel({ files: { [placeholder]: 'pwned' }, rename: { [placeholder]: hostile } });
    await refused(whl, /"demo\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/evil\.txt" contains a "\.\." component/);
  });

  it('an absolute member path', async () => {
    const target = join(dir, 'evil.txt');
    const placeholder = 'A'.repeat(target.length);
    const whl = await buildWheel({ files: { [placeholder]: 'pwned' }, rename: { [placeholder]: target } });
    await refused(whl, /is an absolute path/);
  });

  it('a RECORD row pointing outside the wheel', async () => {
    const whl = await buildWheel({ extraRecord: `../../evil.txt,sha256=${b64('pwned')},5\n` });
    await refused(whl, /RECORD entry "\.\.\/\.\.\/evil\.txt" points outside the wheel/);
  });

  it('a RECORD row with an absolute path', async () => {
    const whl = await buildWheel({ extraRecord: `/etc/evil.txt,sha256=${b64('pwned')},5\n` });
    await refused(whl, /RECORD entry "\/etc\/evil\.txt" points outside the wheel/);
  });

  it('a symlink member', async () => {
    const whl = await buildWheel({ extraEntries: [{ name: 'demo/link', content: '../../../../etc/passwd', mode: 0o120777 }], extraRecord: `demo/link,sha256=${b64('../../../../etc/passwd')},22\n` });
    await refused(whl, /member "demo\/link" is a symbolic link/);
  });

  it('a member whose bytes do not match its RECORD hash', async () => {
    // A later RECORD row for the same path wins: it promises other bytes than the member has.
    const whl = await buildWheel({ extraRecord: `demo/__init__.py,sha256=${b64('VALUE = 41\n')},11\n` });
    await refused(whl, /member "demo\/__init__\.py" does not match its RECORD hash/);
  });

  it('a member missing from RECORD', async () => {
    const whl = await buildWheel({ files: { 'demo/extra.py': 'x = 1\n' }, unlisted: ['demo/extra.py'] });
    await refused(whl, /member "demo\/extra\.py" is not listed in RECORD/);
  });

  it('a RECORD hashed with md5', async () => {
    const md5 = createHash('md5').update('VALUE = 42\n').digest('base64url');
    const whl = await buildWheel({ extraRecord: `demo/__init__.py,md5=${md5},11\n` });
    await refused(whl, /RECORD hashes "demo\/__init__\.py" with md5 \(sha256 or stronger required\)/);
  });

  it('an entry point whose name is a path', async () => {
    const whl = await buildWheel({ files: { 'demo-1.0.dist-info/entry_points.txt': '[console_scripts]\n../../../evil = demo:main\n' } });
    await refused(whl, /entry point name "\.\.\/\.\.\/\.\.\/evil" is not a plain file name/, InstallError);
  });

  it('an unknown .data/ part', async () => {
    const whl = await buildWheel({ files: { 'demo-1.0.data/etc/passwd': 'x' } });
    await refused(whl, /unknown demo-1\.0\.data\/ part "etc"/);
  });

  it('a dist-info that does not match the file name', async () => {
    const whl = await buildWheel({ name: 'other', filename: 'demo-1.0-py3-none-any.whl' });
    await refused(whl, /has no demo-1\.0\.dist-info directory/);
  });

  it('Wheel-Version 2.0 is refused as unsupported', async () => {
    const whl = await buildWheel({ wheelFile: 'Wheel-Version: 2.0\nRoot-Is-Purelib: true\n' });
    await refused(whl, /Wheel-Version 2\.0 is not supported/, InstallError);
  });

  it('site-packages being a symlink out of the prefix', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await rm(join(prefix, SP), { recursive: true });
    await symlink(outside, join(prefix, SP));
    const whl = await buildWheel();
    const err = await installWheel({ wheel: whl, destDir: prefix, target: linux(prefix) }).catch((e) => e);
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect(err.message).toContain('symbolic link that leads outside');
    expect(readdirSync(outside)).toEqual([]);
  });

  it('a corrupt zip is an UnsafeArchiveError, not a stack trace', async () => {
    const whl = join(dir, 'demo-1.0-py3-none-any.whl');
    await writeFile(whl, Buffer.from('PK\x03\x04 this is not a zip'));
    await refused(whl, /corrupt or truncated zip data/);
  });
});

describe('installed wheels: verify and uninstall by RECORD', () => {
  it('verify reports a modified and a missing file', async () => {
    const whl = await buildWheel({ files: { 'demo/other.py': 'y = 2\n' } });
    const got = await installWheel({ wheel: whl, destDir: prefix, target: linux(prefix) });
    await writeFile(join(prefix, SP, 'demo', '__init__.py'), 'VALUE = 43\n');
    await rm(join(prefix, SP, 'demo', 'other.py'));
    const v = await verifyWheel(prefix, got.distInfo);
    expect(v.problems.map((p) => `${p.kind} ${p.path}`)).toEqual([`modified-file ${SP}/demo/__init__.py`, `missing-file ${SP}/demo/other.py`]);
    expect(v.problems[0]!.expected).toBe(`sha256:${createHash('sha256').update('VALUE = 42\n').digest('hex')}`);
  });

  it('a tampered RECORD pointing outside the prefix: uninstall refuses and removes nothing; verify reports it', async () => {
    const got = await installWheel({ wheel: await buildWheel(), destDir: prefix, target: linux(prefix) });
    await writeFile(join(dir, 'victim.txt'), 'keep me');
    const rec = join(prefix, got.distInfo, 'RECORD');
    await writeFile(rec, (await readFile(rec, 'utf8')) + '../../../../victim.txt,,\n');
    const before = await snapshotTree(prefix);
    const err = await uninstallWheel(prefix, got.distInfo, linux(prefix)).catch((e) => e);
    expect(err).toBeInstanceOf(InstallError);
    expect(err.message).toContain('"../../../../victim.txt", which is outside the prefix');
    expect(await readFile(join(dir, 'victim.txt'), 'utf8')).toBe('keep me');
    expect(await snapshotTree(prefix)).toEqual(before);
    expect((await verifyWheel(prefix, got.distInfo)).problems).toEqual([
      { kind: 'bad-record', path: '../../../../victim.txt', expected: 'a path inside the prefix', actual: '../../../../victim.txt' },
    ]);
  });

  it('listInstalledWheels ignores dist-infos that conda packages installed', async () => {
    await mkdir(join(prefix, SP, 'six-1.15.0.dist-info'), { recursive: true });
    await writeFile(join(prefix, SP, 'six-1.15.0.dist-info', 'INSTALLER'), 'conda\n');
    await installWheel({ wheel: await buildWheel(), destDir: prefix, target: linux(prefix) });
    expect((await listInstalledWheels(prefix, linux(prefix))).map((w) => w.name)).toEqual(['demo']);
  });
});

