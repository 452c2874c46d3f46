/**
 * `pip:` requirements through the CLI: the real conda-forge py39 subchannel on one loopback
 * server, resolvelib's frozen PyPI index (virtualenv/six closure, 2020-02-19) on another.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as yamlParse } from 'yaml';
import type { Lockfile } from '../../src/lockfile/model.js';
import { ChannelServer } from '../support/channel-server.js';
import { fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { PypiIndexServer } from '../support/pypi-index-server.js';
import { runCli, startFixtureChannel } from './helpers.js';

describe.skipIf(!haveFixtures)(`lock with a pip: section (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let conda: ChannelServer;
  let releases: string;
  let index: PypiIndexServer;
  let dir: string;
  const lockfile = () => join(dir, 'conda-go-lock.yml');
  beforeAll(async () => {
    ({ server: conda, releases } = await startFixtureChannel());
    // distlib had only an sdist in 2020, so resolvelib's frozen index has no entry for it: add one wheel.
    index = await new PypiIndexServer()
      .addResolvelibIndex('pypi-2020-02-19-virtualenv-six')
      .addWheel('distlib', '0.3.0')
      // Bad input: a project with only an sdist, and one whose only wheel is for Windows.
      .addFile('onlysdist', { filename: 'onlysdist-1.0.tar.gz', body: Buffer.from('not built') })
      .addWheel('winonly', '1.0', { tags: 'cp39-cp39-win_amd64' })
      .start();
    dir = mkdtempSync(join(tmpdir(), 'cgl-pip-'));
  });
  afterAll(async () => {
    await conda.stop();
    await index.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (pip: string[], extra = '') =>
    `channels:\n  - ${conda.url('/conda-forge')}\ndependencies:\n  - python 3.9.*\n  - six${extra}\n  - pip:\n    - --index-url ${index.indexUrl}\n${pip.map((l) => `    - "${l}"\n`).join('')}`;
  async function lock(text: string, ...more: string[]) {
    const file = join(dir, 'environment.yml');
    writeFileSync(file, text);
    return runCli(['lock', '-f', file, '--lockfile', lockfile(), '--cache-dir', join(dir, 'cache'), '--go-releases-url', releases, '-q', ...more]);
  }

  it('a project with only source distributions, or with no wheel for the platform, is a clear error naming it; no lockfile is written', async () => {
    const out = join(dir, 'bad-input.yml');
    const lockTo = async (req: string) => {
      const file = join(dir, 'bad.environment.yml');
      writeFileSync(file, env([req]));
      return runCli(['lock', '-f', file, '--lockfile', out, '--cache-dir', join(dir, 'cache'), '--go-releases-url', releases, '-q', '-p', 'linux-64']);
    };
    const sdist = await lockTo('onlysdist');
    expect(sdist.code).toBe(4); // a solve error (docs/exit-codes.md)
    expect(sdist.stderr).toMatch(/'onlysdist' has no wheels \(only source distributions, which are not built/);
    expect(sdist.stderr).not.toMatch(/\n\s+at .*\.(ts|js):\d+/);
    const win = await lockTo('winonly');
    expect(win.code).toBe(sdist.code);
    expect(win.stderr).toMatch(/no wheel of 'winonly' fits linux-64/);
    expect(win.stderr).toMatch(/cp39-cp39-win_amd64/);
    expect(() => readFileSync(out)).toThrow();
    // The same requirement locks for the platform the wheel is for.
    const file = join(dir, 'bad.environment.yml');
    const ok = await runCli(['lock', '-f', file, '--lockfile', out, '--cache-dir', join(dir, 'cache'), '--go-releases-url', releases, '-q', '-p', 'win-64']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    rmSync(out);
  });

  it('locks wheels per platform beside the conda packages; conda packages satisfy PyPI requirements; check/diff/update/render', async () => {
    const r = await lock(env(['virtualenv ==20.0.4']), '-p', 'linux-64', '-p', 'win-64');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lf = yamlParse(readFileSync(lockfile(), 'utf8')) as Lockfile;
    const linux = lf.pypi!.filter((p) => p.platform === 'linux-64');
    const names = linux.map((p) => p.name);
    expect(names).toContain('virtualenv');
    expect(names).toContain('distlib');
    // six comes from conda (pip never replaces a conda package), importlib-metadata only for python < 3.8.
    expect(names).not.toContain('six');
    expect(names).not.toContain('importlib-metadata');
    const venv = linux.find((p) => p.name === 'virtualenv')!;
    expect(venv.version).toBe('20.0.4');
    expect(venv.requested_by).toEqual(['virtualenv ==20.0.4']);
    expect(venv.url).toBe(`${index.url}/files/virtualenv-20.0.4-py3-none-any.whl`);
    expect(venv.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(venv.requires_dist.some((d) => d.startsWith('six'))).toBe(true);
    expect(linux.find((p) => p.name === 'distlib')!.requested_by).toEqual(['virtualenv']);
    expect(lf.pypi!.some((p) => p.platform === 'win-64')).toBe(true);
    expect(lf.metadata.pypi).toEqual({ requirements: ['virtualenv ==20.0.4'], index_url: index.indexUrl, extra_index_urls: [], mapping: 'name-equality' });
    // Metadata from PEP 658 files: no wheel downloaded at lock time.
    expect(index.requestsTo(/\.whl$/)).toEqual([]);

    // check: up to date; stale when the pip list or the index changes.
    const file = join(dir, 'environment.yml');
    expect((await runCli(['check', '-f', file, '--lockfile', lockfile(), '-p', 'linux-64', '-p', 'win-64'])).code).toBe(0);
    writeFileSync(file, env(['virtualenv ==20.0.3']));
    expect((await runCli(['check', '-f', file, '--lockfile', lockfile(), '-p', 'linux-64', '-p', 'win-64'])).code).toBe(1);
    writeFileSync(file, env(['virtualenv ==20.0.4']).replace(index.indexUrl, `${index.url}/other/simple`));
    expect((await runCli(['check', '-f', file, '--lockfile', lockfile(), '-p', 'linux-64', '-p', 'win-64'])).code).toBe(1);

    // --update NAME works for a PyPI name.
    const before = readFileSync(lockfile(), 'utf8');
    const u = await lock(env(['virtualenv >=20.0.0,<20.0.5']), '-p', 'linux-64', '-p', 'win-64', '--update', 'virtualenv');
    expect(u.code).toBe(0);
    const after = yamlParse(readFileSync(lockfile(), 'utf8')) as Lockfile;
    expect(after.pypi!.find((p) => p.name === 'virtualenv')!.version).toBe('20.0.4');
    void before;

    // render: conda-lock gets manager: pip entries; explicit warns that PyPI entries are not in it.
    const cl = await runCli(['render', '--kind', 'conda-lock', '--lockfile', lockfile(), '-o', '-']);
    expect(cl.code).toBe(0);
    expect(cl.stdout).toMatch(/manager: pip/);
    expect(cl.stdout).toContain('virtualenv');
    const ex = await runCli(['render', '--kind', 'explicit', '--lockfile', lockfile(), '-p', 'linux-64', '-o', '-']);
    expect(ex.code).toBe(0);
    expect(ex.stderr).toMatch(/PyPI/);
    const req = await runCli(['render', '--kind', 'requirements', '--lockfile', lockfile(), '-p', 'linux-64', '-o', '-']);
    expect(req.code).toBe(0);
    expect(req.stdout).toMatch(/^virtualenv==20\.0\.4 \\\n {4}--hash=sha256:[0-9a-f]{64}$/m);
  });

  it('unknown project (404): exit 4 naming the pip: line', async () => {
    const r = await lock(env(['no-such-project-xyz >=1']), '-p', 'linux-64');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("'no-such-project-xyz >=1'");
    expect(r.stderr).toMatch(/not on the index/);
  });

  it('no matching version: exit 4 listing the nearest versions', async () => {
    const r = await lock(env(['virtualenv ==19.99.1']), '-p', 'linux-64');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/virtualenv ==19\.99\.1/);
    expect(r.stderr).toMatch(/nearest available: [0-9.]+/);
  });

  it('a pip requirement the conda package cannot satisfy: exit 4 naming both, as a tree', async () => {
    const r = await lock(env(['virtualenv ==20.0.4', 'six <1.12']), '-p', 'linux-64');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/requires six <1\.12, but the conda solution has six 1\.16\.0/);
    expect(r.stderr).toMatch(/pip never replaces a conda package/);
  });

  it('index unreachable: the network exit code (5)', async () => {
    const r = await lock(env(['virtualenv']).replace(index.indexUrl, 'http://127.0.0.1:9/simple'), '-p', 'linux-64');
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/127\.0\.0\.1:9/);
  });
});
