/**
 * Issue 12 end to end through the CLI: a lockfile with conda packages (a python 3.9 stand-in wrapping
 * the host's python3.9, and defaults' real zlib) plus `pypi` entries (Debian's real wheel and
 * setuptools wheels) → install from the loopback server (node, and python's HTTP/1.0 http.server)
 * → python imports the wheels → verify passes → tamper → verify fails → a re-lock without a wheel
 * → its files are gone, the user's files stay.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LockedCondaPackage, LockedPypiPackage, Lockfile } from '../../src/lockfile/model.js';
import { writeConda } from '../support/archives.js';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { python39, python39SkipReason } from '../support/python.js';
import { havePython3, startPythonHttpServer, type PythonHttpServer } from '../support/python-server.js';
import { runCli, runCliKilledAt } from './helpers.js';

const DEBIAN = '/usr/share/python-wheels';
const WHEELS = ['wheel-0.38.4-py3-none-any.whl', 'setuptools-66.1.1-py3-none-any.whl'];
const haveDebian = WHEELS.every((w) => existsSync(join(DEBIAN, w)));
// A real defaults package (most 2020 defaults .conda files have an empty metadata.json; zlib's is valid).
const ZLIB = 'zlib-1.2.11-h7b6447c_3.conda';
const skip = !haveFixtures ? fixturesSkipReason : !python39 ? python39SkipReason : !haveDebian ? `${DEBIAN} lacks ${WHEELS.join(', ')}` : '';
if (skip) console.warn(`[conda-go-lock tests] install-wheels: ${skip}`);
const SP = 'lib/python3.9/site-packages';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe.skipIf(skip !== '')('install with PyPI wheels through the CLI', () => {
  let server: ChannelServer;
  let pyServer: PythonHttpServer | undefined;
  let dir: string;
  let pkgs: string;
  let python: LockedCondaPackage;
  let zlib: LockedCondaPackage;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-install-wheels-'));
    pkgs = join(dir, 'pkgs');
    mkdirSync(pkgs);
    // The python stand-in: bin/python runs the host python3.9 with the prefix's site-packages first.
    const wrapper = [
      '#!/bin/sh',
      'here=$(cd "$(dirname "$0")/.." && pwd)',
      `PYTHONPATH="$here/${SP}\${PYTHONPATH:+:$PYTHONPATH}" exec ${JSON.stringify(python39!.includes('/') ? python39! : execFileSync('sh', ['-c', 'command -v python3.9'], { encoding: 'utf8' }).trim())} "$@"`,
      '',
    ].join('\n');
    const marker = 'python 3.9 stand-in (build standin_0) for tests\n';
    const file = (p: string, c: string) => ({ _path: p, path_type: 'hardlink', sha256: sha(Buffer.from(c)), size_in_bytes: Buffer.byteLength(c) });
    const index = { name: 'python', version: '3.9.18', build: 'standin_0', build_number: 0, depends: [], subdir: 'linux-64', platform: 'linux', arch: 'x86_64' };
    await writeConda(join(pkgs, 'python-3.9.18-standin_0.conda'), {
      stem: 'python-3.9.18-standin_0',
      info: [
        { name: 'info/index.json', content: JSON.stringify(index) },
        { name: 'info/paths.json', content: JSON.stringify({ paths_version: 1, paths: [file('bin/python', wrapper), file(`${SP}/STANDIN.txt`, marker)] }) },
      ],
      pkg: [
        { name: 'bin/python', content: wrapper, mode: 0o755 },
        { name: `${SP}/STANDIN.txt`, content: marker },
      ],
    });
    const pyBytes = readFileSync(join(pkgs, 'python-3.9.18-standin_0.conda'));
    const zBytes = readFileSync(fixture('packages', 'defaults-2020-linux-64', ZLIB));
    writeFileSync(join(pkgs, ZLIB), zBytes);
    for (const w of WHEELS) writeFileSync(join(dir, w), readFileSync(join(DEBIAN, w)));
    server = await new ChannelServer().mount('/pkgs', pkgs).mount('/pypi', DEBIAN).start();
    if (havePython3) pyServer = await startPythonHttpServer(DEBIAN);
    const base = { platform: 'linux-64', subdir: 'linux-64', channel: server.url('/pkgs'), constrains: [], license: 'test' };
    python = { ...base, name: 'python', version: '3.9.18', build: 'standin_0', build_number: 0, fn: 'python-3.9.18-standin_0.conda', url: server.url('/pkgs/python-3.9.18-standin_0.conda'), sha256: sha(pyBytes), md5: md5(pyBytes), size: pyBytes.length, depends: [] };
    zlib = { ...base, name: 'zlib', version: '1.2.11', build: 'h7b6447c_3', build_number: 3, fn: ZLIB, url: server.url(`/pkgs/${ZLIB}`), sha256: sha(zBytes), md5: md5(zBytes), size: zBytes.length, depends: [] };
  });
  afterAll(async () => {
    await server?.stop();
    await pyServer?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function wheelPin(file: string, name: string, version: string, base: string, requestedBy: string[]): LockedPypiPackage {
    const b = readFileSync(join(DEBIAN, file));
    return { platform: 'linux-64', name, version, filename: file, url: `${base}/${file}`, sha256: sha(b), size: b.length, requires_dist: [], requested_by: requestedBy, index: `${base}/simple` };
  }

  function writeLock(path: string, wheels: LockedPypiPackage[], requirements: string[]): void {
    const lock: Lockfile = {
      version: 1,
      metadata: {
        tool_version: '0.1.0',
        platforms: ['linux-64'],
        channels: [{ url: server.url('/pkgs') }],
        sources: ['environment.yml'],
        content_hash: { 'linux-64': 'a'.repeat(64) },
        specs: ['python 3.9.*', 'zlib'],
        virtual_packages: { 'linux-64': [] },
        pypi: { requirements, index_url: 'https://pypi.org/simple', extra_index_urls: [] },
      },
      packages: [python, zlib],
      go: [],
      ...(wheels.length ? { pypi: wheels } : {}),
    };
    writeFileSync(path, JSON.stringify(lock, null, 2)); // JSON is YAML
  }

  const servers: Array<[string, () => string | undefined]> = [
    ['node server', () => server.url('/pypi')],
    ['python3 -m http.server', () => pyServer?.baseUrl],
  ];
  it.each(servers)('lock → install → import → verify → tamper → update removes a wheel by RECORD (%s)', async (_what, baseOf) => {
    const base = baseOf();
    if (!base) return console.warn('python3 not found: skipping the http.server variant');
    const work = mkdtempSync(join(dir, 'run-'));
    const prefix = join(work, 'env');
    const lockPath = join(work, 'conda-go-lock.yml');
    const cache = join(work, 'cache');
    const wheel = wheelPin(WHEELS[0]!, 'wheel', '0.38.4', base, ['wheel>=0.38']);
    const setuptools = wheelPin(WHEELS[1]!, 'setuptools', '66.1.1', base, ['setuptools']);
    writeLock(lockPath, [setuptools, wheel], ['wheel>=0.38', 'setuptools']);

    const inst = await runCli(['install', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache, '--no-go']);
    expect(inst.stderr).toContain('2 PyPI wheel(s)');
    expect(inst.code).toBe(0);

    // The prefix's python imports both wheels from the prefix, and the wheel console script runs.
    const out = execFileSync(join(prefix, 'bin', 'python'), [
      '-c',
      'import importlib.metadata as m, wheel, setuptools; print(m.version("wheel"), m.version("setuptools"), wheel.__file__)',
    ], { encoding: 'utf8' });
    expect(out.trim()).toBe(`0.38.4 66.1.1 ${join(prefix, SP, 'wheel', '__init__.py')}`);
    expect(existsSync(join(prefix, 'lib', 'libz.so.1.2.11'))).toBe(true);
    expect(execFileSync(join(prefix, 'bin', 'wheel'), ['version'], { encoding: 'utf8' })).toContain('wheel 0.38.4');
    const pipList = JSON.parse(execFileSync(python39!, ['-m', 'pip', 'list', '--path', join(prefix, SP), '--format', 'json', '--disable-pip-version-check'], { encoding: 'utf8' })) as Array<{ name: string; version: string }>;
    expect(pipList.map((p) => `${p.name}==${p.version}`)).toEqual(expect.arrayContaining(['wheel==0.38.4', 'setuptools==66.1.1']));

    const ok = await runCli(['verify', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/matches .*: \d+ files verified/);

    // Tamper with a wheel file: verify names it.
    const target = join(prefix, SP, 'wheel', 'cli', '__init__.py');
    const original = readFileSync(target);
    appendFileSync(target, '# tampered\n');
    const bad = await runCli(['verify', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`modified-file: wheel==0.38.4 (PyPI) ${SP}/wheel/cli/__init__.py`);
    // install --repair unpacks the wheel again (through the update journal) and puts back the edited
    // file and a deleted console script; the wheel's RECORD and our state stay the same.
    const record = readFileSync(join(prefix, SP, 'wheel-0.38.4.dist-info', 'RECORD'));
    const script = readFileSync(join(prefix, 'bin', 'wheel'));
    rmSync(join(prefix, 'bin', 'wheel'));
    const fix = await runCli(['install', '--repair', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache, '--no-go']);
    expect(fix.code).toBe(0);
    expect(fix.stderr).toContain(`restored ${SP}/wheel/cli/__init__.py (modified; wheel==0.38.4 (PyPI))`);
    expect(fix.stderr).toContain('restored bin/wheel (missing; wheel==0.38.4 (PyPI))');
    expect(fix.stderr).toContain('repaired 2 files of 1 package: wheel==0.38.4 (PyPI)');
    expect(readFileSync(target).equals(original)).toBe(true);
    expect(readFileSync(join(prefix, 'bin', 'wheel')).equals(script)).toBe(true);
    expect(readFileSync(join(prefix, SP, 'wheel-0.38.4.dist-info', 'RECORD')).equals(record)).toBe(true);
    expect(execFileSync(join(prefix, 'bin', 'wheel'), ['version'], { encoding: 'utf8' })).toContain('wheel 0.38.4');
    expect((await runCli(['verify', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64'])).code).toBe(0);
    // Its RECORD deleted too: the wheel is unpacked again all the same, and stays recorded.
    rmSync(join(prefix, SP, 'wheel-0.38.4.dist-info', 'RECORD'));
    const fix2 = await runCli(['install', '--repair', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache, '--no-go']);
    expect(fix2.stderr).toContain(`restored ${SP}/wheel-0.38.4.dist-info/RECORD (missing; wheel==0.38.4 (PyPI))`);
    expect(fix2.code).toBe(0);
    expect(readFileSync(join(prefix, SP, 'wheel-0.38.4.dist-info', 'RECORD')).equals(record)).toBe(true);
    expect((await runCli(['verify', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64'])).code).toBe(0);

    // The user's own files, then an updated lockfile without setuptools.
    writeFileSync(join(prefix, 'notes.txt'), 'mine');
    writeFileSync(join(prefix, SP, 'my_module.py'), 'X = 1\n');
    writeLock(lockPath, [wheel], ['wheel>=0.38']);
    const upd = await runCli(['install', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache, '--no-go']);
    expect(upd.code).toBe(0);
    expect(existsSync(join(prefix, SP, 'setuptools'))).toBe(false);
    expect(existsSync(join(prefix, SP, 'setuptools-66.1.1.dist-info'))).toBe(false);
    expect(existsSync(join(prefix, SP, 'pkg_resources'))).toBe(false);
    expect(existsSync(join(prefix, SP, 'wheel-0.38.4.dist-info', 'RECORD'))).toBe(true);
    expect(existsSync(join(prefix, 'lib', 'libz.so.1.2.11'))).toBe(true);
    expect(readFileSync(join(prefix, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(join(prefix, SP, 'my_module.py'), 'utf8')).toBe('X = 1\n');
    const ok2 = await runCli(['verify', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64']);
    expect(ok2.code).toBe(0);
  });

  it.each([
    ['wheel-move:1', 'after its first file'],
    ['wheel-move:40', 'half-way through its files'],
  ])('kill -9 while a wheel is moved into an existing environment (%s, %s): the next install takes those files back and installs it, user files kept, verify passes', async (point) => {
    const base = server.url('/pypi');
    const work = mkdtempSync(join(dir, 'kill-'));
    const prefix = join(work, 'env');
    const lockPath = join(work, 'conda-go-lock.yml');
    const cache = join(work, 'cache');
    const args = ['install', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache, '--no-go', '-q'];
    const wheel = wheelPin(WHEELS[0]!, 'wheel', '0.38.4', base, ['wheel>=0.38']);
    const setuptools = wheelPin(WHEELS[1]!, 'setuptools', '66.1.1', base, ['setuptools']);
    writeLock(lockPath, [wheel], ['wheel>=0.38']);
    expect((await runCli(args)).code).toBe(0);
    writeFileSync(join(prefix, SP, 'my_module.py'), 'X = 1\n');

    writeLock(lockPath, [setuptools, wheel], ['wheel>=0.38', 'setuptools']);
    const killed = await runCliKilledAt(args, point);
    expect(killed.signal).toBe('SIGKILL');
    // Killed with setuptools partly moved in: some of its files are there, no RECORD says whose.
    expect(existsSync(join(prefix, 'conda-meta', '.cgl-wheel-move.json'))).toBe(true);
    expect(existsSync(join(prefix, SP, 'setuptools-66.1.1.dist-info', 'RECORD'))).toBe(false);

    const again = await runCli(args.filter((a) => a !== '-q'));
    expect(again.stderr).toContain('took back the files of an interrupted install of setuptools-66.1.1-py3-none-any.whl');
    expect(again.stderr).not.toContain('error');
    expect(again.code).toBe(0);
    expect(existsSync(join(prefix, 'conda-meta', '.cgl-wheel-move.json'))).toBe(false);
    expect(readFileSync(join(prefix, SP, 'my_module.py'), 'utf8')).toBe('X = 1\n');
    const out = execFileSync(join(prefix, 'bin', 'python'), ['-c', 'import importlib.metadata as m, setuptools, wheel; print(m.version("setuptools"))'], { encoding: 'utf8' });
    expect(out.trim()).toBe('66.1.1');
    expect((await runCli(['verify', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64'])).code).toBe(0);
  });

  it('a wheel whose sha256 does not match the lockfile: install refused (exit 6), no prefix, nothing cached', async () => {
    const work = mkdtempSync(join(dir, 'bad-'));
    const prefix = join(work, 'env');
    const lockPath = join(work, 'conda-go-lock.yml');
    const cache = join(work, 'cache');
    const wheel = { ...wheelPin(WHEELS[0]!, 'wheel', '0.38.4', server.url('/pypi'), ['wheel']), sha256: '0'.repeat(64) };
    writeLock(lockPath, [wheel], ['wheel']);
    const r = await runCli(['install', '--lockfile', lockPath, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache, '--no-go']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('error[E_INTEGRITY]: wheel 0.38.4 (wheel-0.38.4-py3-none-any.whl): sha256 mismatch');
    expect(existsSync(prefix)).toBe(false);
    expect(existsSync(join(cache, 'wheels', '0'.repeat(64)))).toBe(false);
  });
});
