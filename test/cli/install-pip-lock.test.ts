/**
 * Issue 12 end to end with a REAL `lock`: an environment.yml with a `pip:` section whose index is
 * private (`--index-url http://${PYPI_USER}:${PYPI_PASSWORD}@.../simple`, Basic auth enforced by the
 * loopback index) → `lock` resolves Debian's real wheel and setuptools wheels against it → the
 * lockfile holds no secret → `install` without the variables / with a wrong password is refused
 * before anything is created → with them, the wheels install and the prefix's python imports them
 * → `verify` passes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as yamlParse } from 'yaml';
import type { Lockfile } from '../../src/lockfile/model.js';
import { readWheelMetadata } from '../../src/pypi-index/metadata.js';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { PypiIndexServer } from '../support/pypi-index-server.js';
import { python39, python39SkipReason } from '../support/python.js';
import { havePython3, pythonServerSkipReason, startPythonHttpServer, type PythonHttpServer } from '../support/python-server.js';
import { runCli } from './helpers.js';

const DEBIAN = '/usr/share/python-wheels';
const WHEELS = { wheel: 'wheel-0.38.4-py3-none-any.whl', setuptools: 'setuptools-66.1.1-py3-none-any.whl' };
const haveDebian = Object.values(WHEELS).every((w) => existsSync(join(DEBIAN, w)));
const skip = !python39 ? python39SkipReason : !haveDebian ? `${DEBIAN} lacks ${Object.values(WHEELS).join(', ')}` : '';
if (skip) console.warn(`[conda-go-lock tests] install-pip-lock: ${skip}`);
const SP = 'lib/python3.9/site-packages';
const PASSWORD = 'pa55:w/rd@SECRET';

describe.skipIf(skip !== '')('lock → install → verify with a pip: section and a private index', () => {
  let conda: ChannelServer;
  let index: PypiIndexServer;
  let dir: string;
  let envFile: string;
  const lockfile = () => join(dir, 'conda-go-lock.yml');
  const creds = { PYPI_USER: 'ci-bot', PYPI_PASSWORD: PASSWORD };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-install-pip-lock-'));
    const host = python39!.includes('/') ? python39! : execFileSync('sh', ['-c', 'command -v python3.9'], { encoding: 'utf8' }).trim();
    // A python 3.9 stand-in: bin/python runs the host python3.9 with the prefix's site-packages first.
    const wrapper = `#!/bin/sh\nhere=$(cd "$(dirname "$0")/.." && pwd)\nPYTHONPATH="$here/${SP}\${PYTHONPATH:+:$PYTHONPATH}" exec ${JSON.stringify(host)} "$@"\n`;
    await writeChannel(join(dir, 'chan'), [
      {
        name: 'python',
        version: '3.9.18',
        build: 'standin_0',
        files: { 'bin/python': { content: wrapper, mode: 0o755 }, [`${SP}/STANDIN.txt`]: 'python 3.9 stand-in\n' },
      },
    ]);
    conda = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
    index = new PypiIndexServer();
    for (const [project, filename] of Object.entries(WHEELS)) {
      const body = readFileSync(join(DEBIAN, filename));
      // PEP 658 metadata files, read from the real wheels.
      index.addFile(project, { filename, body, metadata: Buffer.from(await readWheelMetadata(body, filename)) });
    }
    index.basicAuth = { user: creds.PYPI_USER, password: PASSWORD };
    await index.start();
    envFile = join(dir, 'environment.yml');
    const privateIndex = index.indexUrl.replace('http://', 'http://${PYPI_USER}:${PYPI_PASSWORD}@');
    writeFileSync(
      envFile,
      [
        'name: pipdemo',
        'channels:',
        `  - ${conda.url('/chan')}`,
        'platforms: [linux-64]',
        'dependencies:',
        '  - python 3.9.*',
        '  - pip:',
        `    - --index-url ${privateIndex}`,
        '    - wheel ==0.38.4',
        '    - "setuptools>=60"',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await conda?.stop();
    await index?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const install = (prefix: string, env: Record<string, string> = {}) =>
    runCli(['install', '--lockfile', lockfile(), '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'cache'), '--no-go'], { env });

  it('locks the pip: section against the private index without writing its credentials', async () => {
    const r = await runCli(['lock', '-f', envFile, '--lockfile', lockfile(), '--cache-dir', join(dir, 'cache'), '-q'], { env: creds });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const text = readFileSync(lockfile(), 'utf8');
    expect(text).not.toContain('pa55');
    expect(text).not.toContain('ci-bot');
    const lf = yamlParse(text) as Lockfile;
    expect(lf.pypi!.map((p) => [p.platform, p.name, p.version, p.filename])).toEqual([
      ['linux-64', 'setuptools', '66.1.1', WHEELS.setuptools],
      ['linux-64', 'wheel', '0.38.4', WHEELS.wheel],
    ]);
    expect(lf.pypi!.every((p) => p.url.startsWith(`${index.url}/files/`) && p.index === index.indexUrl)).toBe(true);
    expect(lf.metadata.pypi!.index_templates).toEqual([
      { url: index.indexUrl, used_env_vars: ['PYPI_PASSWORD', 'PYPI_USER'], url_template: index.indexUrl.replace('http://', 'http://${PYPI_USER}:${PYPI_PASSWORD}@') },
    ]);
    // PEP 658 metadata: no wheel was downloaded to lock.
    expect(index.requestsTo(/\.whl$/)).toEqual([]);
    expect(index.log.filter((l) => l.status === 401)).toEqual([]);
  });

  it('install without the variables names them; with a wrong password it names the index; nothing is created', async () => {
    const unset = join(dir, 'env-unset');
    const r = await install(unset);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('E_CHANNEL_ENV_UNSET');
    expect(r.stderr).toContain('PYPI_PASSWORD and PYPI_USER');
    expect(r.stderr).toContain(`PyPI index ${index.indexUrl}`);
    expect(existsSync(unset)).toBe(false);

    const wrong = join(dir, 'env-wrong');
    const w = await install(wrong, { PYPI_USER: 'ci-bot', PYPI_PASSWORD: 'not-it-XYZ' });
    expect(w.code).toBe(5);
    expect(w.stderr).toContain('HTTP 401');
    expect(w.stderr).toContain('PYPI_PASSWORD and PYPI_USER');
    expect(w.stderr).not.toContain('not-it-XYZ');
    expect(existsSync(wrong)).toBe(false);
  });

  it('install with the credentials: python imports the wheels, importlib.metadata sees them, verify passes', async () => {
    const prefix = join(dir, 'env');
    const r = await install(prefix, creds);
    expect(r.stderr).not.toContain('pa55');
    expect(r.stdout).not.toContain('pa55');
    expect(r.code).toBe(0);
    const out = execFileSync(
      join(prefix, 'bin', 'python'),
      ['-c', 'import wheel, setuptools, importlib.metadata as m; print(wheel.__version__, setuptools.__version__, m.version("wheel"), m.distribution("setuptools").read_text("INSTALLER").strip())'],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('0.38.4 66.1.1 0.38.4 conda-go-lock');
    expect(existsSync(join(prefix, SP, 'wheel-0.38.4.dist-info', 'RECORD'))).toBe(true);
    // The wheels came with Basic auth (the server refuses anything else).
    expect(index.requestsTo(/\.whl$/).filter((l) => l.status === 200).map((l) => l.path).sort()).toEqual(
      [`/files/${WHEELS.setuptools}`, `/files/${WHEELS.wheel}`],
    );
    const v = await runCli(['verify', '--lockfile', lockfile(), '-p', prefix, '--platform', 'linux-64']);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    // Nothing in the prefix's records holds the secret.
    const state = execFileSync('sh', ['-c', 'grep -rl pa55 "$1" || true', 'sh', prefix], { encoding: 'utf8' }).trim();
    expect(state).toBe('');
  });
});

/**
 * The other way people serve a private index: static PEP 503 pages and the wheels in a directory,
 * served by `python3 -m http.server` (HTTP/1.0, closes every connection, no PEP 658 metadata files,
 * no Range requests). `lock` reads each wheel's METADATA from the wheel itself.
 */
if (!havePython3) console.warn(`[conda-go-lock tests] install-pip-lock: ${pythonServerSkipReason}`);
describe.skipIf(skip !== '' || !havePython3)('lock → install → verify against a static index on python3 -m http.server', () => {
  let conda: ChannelServer;
  let py: PythonHttpServer;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-pip-static-'));
    const host = python39!.includes('/') ? python39! : execFileSync('sh', ['-c', 'command -v python3.9'], { encoding: 'utf8' }).trim();
    const wrapper = `#!/bin/sh\nhere=$(cd "$(dirname "$0")/.." && pwd)\nPYTHONPATH="$here/${SP}\${PYTHONPATH:+:$PYTHONPATH}" exec ${JSON.stringify(host)} "$@"\n`;
    await writeChannel(join(dir, 'chan'), [
      { name: 'python', version: '3.9.18', build: 'standin_0', files: { 'bin/python': { content: wrapper, mode: 0o755 }, [`${SP}/STANDIN.txt`]: 'python 3.9 stand-in\n' } },
    ]);
    conda = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
    const site = join(dir, 'site');
    mkdirSync(join(site, 'files'), { recursive: true });
    for (const [project, filename] of Object.entries(WHEELS)) {
      const body = readFileSync(join(DEBIAN, filename));
      writeFileSync(join(site, 'files', filename), body);
      const sha = createHash('sha256').update(body).digest('hex');
      mkdirSync(join(site, 'simple', project), { recursive: true });
      writeFileSync(
        join(site, 'simple', project, 'index.html'),
        `<!DOCTYPE html>\n<html><body><h1>Links for ${project}</h1>\n<a href="../../files/${filename}#sha256=${sha}">${filename}</a><br/>\n</body></html>\n`,
      );
    }
    py = await startPythonHttpServer(site);
  });
  afterAll(async () => {
    await conda?.stop();
    await py?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('locks both wheels with their sha256, installs them, python imports them, verify passes', async () => {
    const envFile = join(dir, 'environment.yml');
    const lockfile = join(dir, 'conda-go-lock.yml');
    writeFileSync(
      envFile,
      ['channels:', `  - ${conda.url('/chan')}`, 'platforms: [linux-64]', 'dependencies:', '  - python 3.9.*', '  - pip:', `    - --index-url ${py.url('/simple')}`, '    - wheel ==0.38.4', '    - setuptools', ''].join('\n'),
    );
    const lock = await runCli(['lock', '-f', envFile, '--lockfile', lockfile, '--cache-dir', join(dir, 'cache'), '-q']);
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    const lf = yamlParse(readFileSync(lockfile, 'utf8')) as Lockfile;
    expect(lf.pypi!.map((p) => [p.name, p.version, p.url, p.sha256])).toEqual(
      (['setuptools', 'wheel'] as const).map((n) => [
        n,
        n === 'wheel' ? '0.38.4' : '66.1.1',
        py.url(`/files/${WHEELS[n]}`),
        createHash('sha256').update(readFileSync(join(DEBIAN, WHEELS[n]))).digest('hex'),
      ]),
    );
    const prefix = join(dir, 'env');
    const inst = await runCli(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'cache-install'), '--no-go', '-q']);
    expect(inst.stderr).toBe('');
    expect(inst.code).toBe(0);
    const out = execFileSync(join(prefix, 'bin', 'python'), ['-c', 'import wheel, setuptools, importlib.metadata as m; print(m.version("wheel"), m.version("setuptools"))'], { encoding: 'utf8' });
    expect(out.trim()).toBe('0.38.4 66.1.1');
    expect((await runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64'])).code).toBe(0);
  });
});
