/**
 * conda-lock v1 files and @EXPLICIT lists through `install` and `verify`: a real anaconda-defaults
 * zlib package served from 127.0.0.1 by our server and by Python's HTTP/1.0 http.server (which closes
 * every connection), md5-only entries verified by md5 (said in the output), sha256 entries by sha256,
 * and a tampered hash refused before anything is extracted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { hostPlatform } from '../../src/conda/platform.js';
import { runCli } from './helpers.js';

const FN = 'zlib-1.2.11-h1de35cc_3.conda';
const MD5 = 'a1b03ba4ff40c83e4eb9c8fae40315a7';
const SHA256 = '857293f389b188ba1fb02401a873fca5098db612ce6646c684efee77ad807f77';

function condaLockYaml(url: string, hash: string): string {
  return [
    'version: 1',
    'metadata:',
    '  channels:',
    '  - url: defaults',
    '    used_env_vars: []',
    '  content_hash:',
    '    osx-64: 0000',
    '  platforms:',
    '  - osx-64',
    '  sources:',
    '  - environment.yml',
    'package:',
    '- name: zlib',
    "  version: '1.2.11'",
    '  manager: conda',
    '  platform: osx-64',
    '  dependencies: {}',
    `  url: ${url}`,
    '  hash:',
    hash,
    '  category: main',
    '  optional: false',
    '- name: not-installed-dev-tool',
    "  version: '1.0'",
    '  manager: conda',
    '  platform: osx-64',
    '  dependencies: {}',
    `  url: ${url.replace(FN, 'not-installed-dev-tool-1.0-0.conda')}`,
    '  hash:',
    `    md5: ${'a'.repeat(32)}`,
    '  category: dev',
    '  optional: true',
    '- name: requests',
    "  version: '2.31.0'",
    '  manager: pip',
    '  platform: osx-64',
    '  dependencies: {}',
    '  url: https://files.pythonhosted.org/packages/requests-2.31.0-py3-none-any.whl',
    '  hash:',
    `    sha256: ${'a'.repeat(64)}`,
    '  category: main',
    '  optional: false',
    '',
  ].join('\n');
}

/** Python's http.server (HTTP/1.0, one connection per request) on a random port. */
async function startPythonServer(dir: string): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`python3 -m http.server did not start: ${out}`)), 10000);
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /port (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    proc.on('error', reject);
  });
  return { url: `http://127.0.0.1:${port}`, proc };
}

const havePython = spawnSync('python3', ['--version']).status === 0;

describe.skipIf(!haveFixtures)(`install/verify conda-lock and @EXPLICIT files (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let server: ChannelServer;
  let dir: string;
  let py: { url: string; proc: ChildProcess } | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-foreign-'));
    server = await new ChannelServer().mount('/defaults', fixture('packages', 'defaults-zlib')).start();
    const served = join(dir, 'served', 'defaults', 'osx-64');
    mkdirSync(served, { recursive: true });
    copyFileSync(fixture('packages', 'defaults-zlib', 'osx-64', FN), join(served, FN));
    if (havePython) py = await startPythonServer(join(dir, 'served'));
  });
  afterAll(async () => {
    py?.proc.kill();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const bases = () => [['node server', server.url('/defaults')] as const, ...(py ? [['python http.server (HTTP/1.0)', `${py.url}/defaults`] as const] : [])];

  it.each(['node server', 'python http.server (HTTP/1.0)'])('conda-lock v1, md5 only (%s): installed, verified by md5, said so; dev and pip entries left out', async (which) => {
    const base = bases().find(([w]) => w === which)?.[1];
    if (!base) return; // python3 missing: the node-server case still ran
    const lf = join(dir, `md5-${which.length}.conda-lock.yml`);
    writeFileSync(lf, condaLockYaml(`${base}/osx-64/${FN}`, `    md5: ${MD5}`));
    const prefix = join(dir, `env-md5-${which.length}`);
    const r = await runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'osx-64', '--cache-dir', join(dir, `cache-${which.length}`)]);
    expect(r.stderr).toContain('conda-lock');
    expect(r.stderr).toMatch(/1 package\(s\) pinned by md5 only.*verified by md5/);
    expect(r.stderr).toContain('1 pip package entry');
    expect(r.stderr).toContain("1 package(s) of the dev category left out");
    expect(r.code).toBe(0);
    expect(existsSync(join(prefix, 'conda-meta', 'zlib-1.2.11-h1de35cc_3.json'))).toBe(true);
    expect(existsSync(join(prefix, 'lib', 'libz.dylib'))).toBe(true);
    const v = await runCli(['verify', '--lockfile', lf, '-p', prefix]);
    expect(v.stdout).toContain('matches');
    expect(v.code).toBe(0);
  });

  it('conda-lock v1 with sha256: verified by sha256; a tampered sha256 is refused (exit 6) and nothing is installed', async () => {
    const lf = join(dir, 'sha.conda-lock.yml');
    writeFileSync(lf, condaLockYaml(`${server.url('/defaults')}/osx-64/${FN}`, `    md5: ${MD5}\n    sha256: ${SHA256}`));
    const prefix = join(dir, 'env-sha');
    const r = await runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'osx-64', '--cache-dir', join(dir, 'cache-sha')]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('md5 only');

    writeFileSync(lf, condaLockYaml(`${server.url('/defaults')}/osx-64/${FN}`, `    md5: ${MD5}\n    sha256: ${'f'.repeat(64)}`));
    const bad = join(dir, 'env-bad');
    const t = await runCli(['install', '--lockfile', lf, '-p', bad, '--platform', 'osx-64', '--cache-dir', join(dir, 'cache-bad'), '-q']);
    expect(t.code).toBe(6);
    expect(t.stderr).toContain('E_INTEGRITY');
    expect(existsSync(join(bad, 'lib', 'libz.dylib'))).toBe(false);
    // A tampered md5 on an md5-only entry too.
    writeFileSync(lf, condaLockYaml(`${server.url('/defaults')}/osx-64/${FN}`, `    md5: ${'e'.repeat(32)}`));
    const m = await runCli(['install', '--lockfile', lf, '-p', join(dir, 'env-bad-md5'), '--platform', 'osx-64', '--cache-dir', join(dir, 'cache-bad-md5'), '-q']);
    expect(m.code).toBe(6);
    expect(m.stderr).toContain('md5');
  });

  it.each([
    ['#md5', `#${MD5}`, true],
    ['#sha256', `#${SHA256}`, false],
    ['#sha256:', `#sha256:${SHA256}`, false],
  ])('@EXPLICIT with %s: install + verify', async (what, anchor, md5Only) => {
    const lf = join(dir, `explicit-${what.length}.txt`);
    writeFileSync(lf, `# platform: osx-64\n@EXPLICIT\n${server.url('/defaults')}/osx-64/${FN}${anchor}\n`);
    const prefix = join(dir, `env-explicit-${what.length}`);
    // Another machine's platform is never installed silently: --platform must say so (conda-lock's --validate-platform).
    if (hostPlatform() !== 'osx-64') {
      const refused = await runCli(['install', '--lockfile', lf, '-p', prefix, '--cache-dir', join(dir, `cache-explicit-${what.length}`)]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`${lf} is for osx-64, and this machine is ${hostPlatform()}: the programs it installs would not run here`);
      expect(refused.stderr).toContain('Pass --platform osx-64 to install it anyway');
      expect(existsSync(prefix)).toBe(false);
    }
    const r = await runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'osx-64', '--cache-dir', join(dir, `cache-explicit-${what.length}`)]);
    expect(r.code).toBe(0);
    // An update of that prefix keeps the platform it records, without --platform.
    expect((await runCli(['install', '--lockfile', lf, '-p', prefix, '--cache-dir', join(dir, `cache-explicit-${what.length}`)])).code).toBe(0);
    expect(r.stderr.includes('md5 only')).toBe(md5Only);
    // Without --platform: the file's platform (osx-64), not this machine's.
    const v = await runCli(['verify', '--lockfile', lf, '-p', prefix]);
    expect(v.code).toBe(0);
  });

  it('@EXPLICIT: an unpinned URL or a bad anchor is refused (exit 7) naming the line', async () => {
    const lf = join(dir, 'unpinned.txt');
    writeFileSync(lf, `@EXPLICIT\n${server.url('/defaults')}/osx-64/${FN}\n`);
    const r = await runCli(['install', '--lockfile', lf, '-p', join(dir, 'env-unpinned'), '-q']);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`${lf}:2`);
    expect(r.stderr).toContain('unpinned');
    writeFileSync(lf, `@EXPLICIT\n${server.url('/defaults')}/osx-64/${FN}#abc\n`);
    const b = await runCli(['install', '--lockfile', lf, '-p', join(dir, 'env-unpinned'), '-q']);
    expect(b.code).toBe(7);
    expect(b.stderr).toContain('neither an md5');
  });
});
