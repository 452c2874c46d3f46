/**
 * pyproject.toml input through the CLI (issue 14): conda-lock's own test projects
 * (../shared/fixtures/environments/conda-lock-tests/*) copied into a temporary project and locked
 * against loopback channels — a channel of real .tar.bz2 packages named like the projects'
 * dependencies, the real conda-forge py39 subchannel, and a PyPI index for the `source = "pypi"`
 * and `default-non-conda-source = "pip"` requirements. Pins, categories, sources, check, install.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseLockfile } from '../../src/lockfile/read.js';
import type { Lockfile } from '../../src/lockfile/model.js';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel, type PackageSpec } from '../support/conda-channel.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { PypiIndexServer } from '../support/pypi-index-server.js';
import { runCli, startFixtureChannel } from './helpers.js';

const tests = haveFixtures ? fixture('environments', 'conda-lock-tests') : '';
const have = haveFixtures && existsSync(join(tests, 'test-poetry', 'pyproject.toml'));
const skip = have ? 'conda-lock test projects present' : haveFixtures ? 'conda-lock-tests/ missing from the fixtures' : fixturesSkipReason;

describe.skipIf(!have)(`lock pyproject.toml (${skip})`, () => {
  let server: ChannelServer;
  let real: ChannelServer;
  let index: PypiIndexServer;
  let dir: string;
  let chan: string;
  let releases: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-pyproject-'));
    const f = (name: string) => ({ [`lib/python3.9/site-packages/${name}/__init__.py`]: `# ${name}\n` });
    // noarch, so that the projects' own `platforms` (test-poetry-optional: osx-arm64) solve too.
    await writeChannel(join(dir, 'chan'), ([
      { name: 'python', version: '3.9.18', files: { 'bin/python3.9': '#!/bin/sh\n' } },
      { name: 'certifi', version: '2024.2.2', depends: ['python >=3.7'], files: f('certifi') },
      { name: 'sqlite', version: '3.45.1', files: { 'lib/libsqlite3.so': 'sqlite\n' } },
      { name: 'sqlite', version: '3.30.0', files: { 'lib/libsqlite3.so': 'old sqlite\n' } },
      { name: 'requests', version: '2.31.0', depends: ['python >=3.7', 'certifi >=2017.4.17'], files: f('requests') },
      { name: 'requests', version: '3.0.0', depends: ['python >=3.8'], files: f('requests') },
      { name: 'toml', version: '0.10.2', depends: ['python >=2.7'], files: f('toml') },
      { name: 'tomlkit', version: '0.12.3', depends: ['python >=3.7'], files: f('tomlkit') },
      { name: 'tomlkit', version: '1.0.0', depends: ['python >=3.7'], files: f('tomlkit') },
      { name: 'pluggy', version: '0.13.1', depends: ['python'], files: f('pluggy') },
      { name: 'pytest', version: '5.1.3', depends: ['python >=3.5', 'pluggy >=0.12,<1'], files: f('pytest') },
      { name: 'pytest', version: '8.0.0', depends: ['python >=3.8', 'pluggy >=1.3'], files: f('pytest') },
      { name: 'click', version: '8.1.7', depends: ['python >=3.7'], files: f('click') },
      { name: 'pyyaml', version: '6.0.1', depends: ['python >=3.9,<3.10'], files: f('yaml') },
      { name: 'pandas', version: '1.5.3', depends: ['python >=3.8'], files: f('pandas') },
      { name: 'pandas', version: '2.2.0', depends: ['python >=3.9'], files: f('pandas') },
    ] as PackageSpec[]).map((x) => ({ ...x, subdir: 'noarch' })));
    server = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
    chan = server.url('/chan');
    ({ server: real, releases } = await startFixtureChannel());
    index = await new PypiIndexServer()
      .addWheel('toml', '0.10.2')
      .addWheel('requests', '2.31.0', { requires: ['certifi>=2017.4.17'] })
      .addWheel('certifi', '2024.2.2')
      .addWheel('tomlkit', '0.12.3')
      .addWheel('click', '8.1.7')
      .addWheel('pytest', '5.1.3')
      .start();
  });
  afterAll(async () => {
    await server?.stop();
    await real?.stop();
    await index?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A project directory holding a copy of conda-lock's test pyproject.toml. */
  function project(name: string): string {
    const p = join(dir, name);
    mkdirSync(p, { recursive: true });
    copyFileSync(join(tests, name, 'pyproject.toml'), join(p, 'pyproject.toml'));
    return p;
  }
  const lockIn = (p: string, ...more: string[]) =>
    runCli(['lock', '-f', join(p, 'pyproject.toml'), '--lockfile', join(p, 'conda-go-lock.yml'), '-p', 'linux-64', '--cache-dir', join(dir, 'cache'), '--go-releases-url', releases, '-q', ...more]);
  const readLock = (p: string): Lockfile => parseLockfile(readFileSync(join(p, 'conda-go-lock.yml'), 'utf8'));
  const pins = (lf: Lockfile) => Object.fromEntries(lf.packages.map((x) => [x.name, `${x.version} ${(x.categories ?? ['main']).join(',')}`]));

  it('poetry (test-poetry): main, dev-dependencies → dev, an extra → its category; ^ and ~ become conda ranges; the file is the lock\'s source', async () => {
    const p = project('test-poetry');
    const r = await lockIn(p, '-c', chan);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lf = readLock(p);
    // requests ^2.13.0 → <3 (not 3.0.0), tomlkit >=0.7,<1 (not 1.0.0), pytest ~5.1.0 → 5.1.x, sqlite >=3.34.
    expect(pins(lf)).toEqual({
      certifi: '2024.2.2 main',
      pluggy: '0.13.1 dev',
      pytest: '5.1.3 dev',
      python: '3.9.18 dev,main,tomlkit',
      requests: '2.31.0 main',
      sqlite: '3.45.1 main',
      toml: '0.10.2 main',
      tomlkit: '0.12.3 tomlkit',
    });
    expect(lf.metadata.sources).toEqual(['pyproject.toml']);
    expect(lf.metadata.specs).toEqual(['sqlite >=3.34', 'certifi >=2019.11.28', 'python >=3.7.0,<4.0.0', 'requests >=2.13.0,<3.0.0', 'toml >=0.10', 'tomlkit >=0.7.0,<1.0.0', 'pytest >=5.1.0,<5.2.0']);
    expect(lf.metadata.categories).toEqual({ dev: ['pytest >=5.1.0,<5.2.0'], tomlkit: ['tomlkit >=0.7.0,<1.0.0'] });

    // check: up to date; a changed pyproject.toml is stale, naming the spec.
    const check = (...more: string[]) => runCli(['check', '-f', join(p, 'pyproject.toml'), '--lockfile', join(p, 'conda-go-lock.yml'), '-c', chan, ...more]);
    expect((await check()).code).toBe(0);
    const file = join(p, 'pyproject.toml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('toml = ">=0.10"', 'toml = ">=0.10.1"'));
    const stale = await check();
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("specs: added 'toml >=0.10.1' and removed 'toml >=0.10'");

    // install main + the tomlkit extra; verify without flags checks what was installed.
    const prefix = join(p, 'env');
    const inst = await runCli(['install', '--lockfile', join(p, 'conda-go-lock.yml'), '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'pkgcache'), '-E', 'tomlkit', '-q']);
    expect(inst.stderr).toBe('');
    expect(inst.code).toBe(0);
    const names = readdirSync(join(prefix, 'conda-meta')).filter((n) => n.endsWith('.json')).map((n) => n.replace(/-[^-]+-[^-]+\.json$/, '')).sort();
    expect(names).toEqual(['certifi', 'python', 'requests', 'sqlite', 'toml', 'tomlkit']);
    const v = await runCli(['verify', '--lockfile', join(p, 'conda-go-lock.yml'), '-p', prefix]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('categories main, tomlkit');
  });

  it('PEP 621 + PDM (test-pdm): an optional-dependencies extra is its category, tool.pdm.dev-dependencies are dev; --no-dev-dependencies and --filter-categories', async () => {
    const p = project('test-pdm');
    const r = await lockIn(p, '-c', chan);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(pins(readLock(p))).toEqual({
      certifi: '2024.2.2 main',
      click: '8.1.7 cli',
      pluggy: '0.13.1 dev',
      // pytest >=5.1.0 (no poetry ~ here): 8.0.0 needs pluggy >=1.3, which the channel lacks.
      pytest: '5.1.3 dev',
      python: '3.9.18 cli,dev,main',
      // requests >=2.13.0: the newest.
      requests: '3.0.0 main',
      sqlite: '3.45.1 main',
      toml: '0.10.2 main',
    });
    expect(readLock(p).metadata.categories).toEqual({ cli: ['click >=7.0'], dev: ['pytest >=5.1.0'] });

    const noDev = join(p, 'no-dev.yml');
    expect((await lockIn(p, '-c', chan, '--lockfile', noDev, '--no-dev-dependencies')).code).toBe(0);
    expect(parseLockfile(readFileSync(noDev, 'utf8')).packages.map((x) => x.name).sort()).toEqual(['certifi', 'click', 'python', 'requests', 'sqlite', 'toml']);
    const onlyMain = join(p, 'main-only.yml');
    expect((await lockIn(p, '-c', chan, '--lockfile', onlyMain, '--no-dev-dependencies', '--filter-categories')).code).toBe(0);
    expect(parseLockfile(readFileSync(onlyMain, 'utf8')).packages.map((x) => x.name).sort()).toEqual(['certifi', 'python', 'requests', 'sqlite', 'toml']);
  });

  it('flit (test-flit): requires-extra "test" is conda-lock\'s dev category; toml = {source = "pypi"} is locked from the PyPI index', async () => {
    const p = project('test-flit');
    const r = await lockIn(p, '-c', chan, '--pypi-index-url', index.indexUrl);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lf = readLock(p);
    expect(pins(lf)).toEqual({
      certifi: '2024.2.2 main',
      pluggy: '0.13.1 dev',
      pytest: '5.1.3 dev',
      python: '3.9.18 dev,main',
      requests: '3.0.0 main',
      sqlite: '3.45.1 main',
    });
    expect(lf.pypi!.map((w) => `${w.name} ${w.version} ${w.platform}`)).toEqual(['toml 0.10.2 linux-64']);
    expect(lf.metadata.pypi!.requirements).toEqual(['toml >=0.10']);
  });

  it('default-non-conda-source = "pip" (test-pdm-default-pip): the project\'s requirements come from PyPI, [tool.conda-lock.dependencies] from conda', async () => {
    const p = project('test-pdm-default-pip');
    // The PyPI side needs an interpreter from the conda side: the project names none, so add one where
    // conda-lock users do, in [tool.conda-lock.dependencies].
    const file = join(p, 'pyproject.toml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('[tool.conda-lock.dependencies]\n', '[tool.conda-lock.dependencies]\npython = "3.9.*"\n'));
    const r = await lockIn(p, '-c', chan, '--pypi-index-url', index.indexUrl);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lf = readLock(p);
    expect(lf.packages.map((x) => x.name).sort()).toEqual(['certifi', 'python', 'sqlite']);
    // requests' certifi is satisfied by the conda package: not a wheel.
    expect(lf.pypi!.map((w) => `${w.name} ${w.version}`)).toEqual(['click 8.1.7', 'pytest 5.1.3', 'requests 2.31.0', 'toml 0.10.2', 'tomlkit 0.12.3']);
    // Wheels carry the categories of the requirements reaching them, like conda packages.
    expect(Object.fromEntries(lf.pypi!.map((w) => [w.name, (w.categories ?? ['main']).join(',')]))).toEqual({ click: 'cli', pytest: 'dev', requests: 'main', toml: 'main', tomlkit: 'main' });
    // install -E cli: main + cli wheels, not pytest; verify without flags checks that selection.
    const prefix = join(p, 'env');
    const inst = await runCli(['install', '--lockfile', join(p, 'conda-go-lock.yml'), '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'pkgcache'), '-E', 'cli', '--json']);
    expect(inst.stderr).toContain('1 package(s) of the dev category left out');
    expect(inst.code).toBe(0);
    expect((JSON.parse(inst.stdout) as { wheels: string[] }).wheels.sort()).toEqual(['click-8.1.7', 'requests-2.31.0', 'toml-0.10.2', 'tomlkit-0.12.3']);
    const v = await runCli(['verify', '--lockfile', join(p, 'conda-go-lock.yml'), '-p', prefix]);
    expect(v.stdout).toContain('categories cli, main');
    expect(v.code).toBe(0);
    // conda-lock's format keeps them: one pip entry per category.
    const rendered = await runCli(['render', '--lockfile', join(p, 'conda-go-lock.yml'), '-k', 'conda-lock', '-o', '-']);
    const entries = (parse(rendered.stdout) as { package: Array<{ name: string; manager: string; category: string; optional: boolean }> }).package;
    expect(entries.filter((e) => e.manager === 'pip' && (e.name === 'pytest' || e.name === 'click')).map((e) => `${e.name} ${e.category} ${e.optional}`)).toEqual(['click cli true', 'pytest dev true']);
    // --no-dev-dependencies leaves the dev requirement (pytest) out of the PyPI resolution too.
    const noDev = join(p, 'no-dev.yml');
    expect((await lockIn(p, '-c', chan, '--pypi-index-url', index.indexUrl, '--lockfile', noDev, '--no-dev-dependencies')).code).toBe(0);
    expect(parseLockfile(readFileSync(noDev, 'utf8')).pypi!.map((w) => w.name)).toEqual(['click', 'requests', 'toml', 'tomlkit']);
  });

  it('skip-non-conda-lock (test-flit-skip-non-conda-lock): only [tool.conda-lock.dependencies], locked from the real conda-forge subchannel', async () => {
    const p = project('test-flit-skip-non-conda-lock');
    const r = await lockIn(p, '-c', real.url('/conda-forge'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lf = readLock(p);
    const names = lf.packages.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['python', 'sqlite', 'certifi']));
    expect(names).not.toContain('requests');
    expect(lf.metadata.specs).toEqual(['python >=3.7', 'sqlite >=3.34', 'certifi >=2019.11.28']);
    const sqlite = lf.packages.find((x) => x.name === 'sqlite')!;
    expect(Number(sqlite.version.split('.')[1])).toBeGreaterThanOrEqual(34);
    expect(sqlite.channel).toBe(real.url('/conda-forge'));
  });

  it('without -f, pyproject.toml is read when there is no environment.yml; what it lacks is named the pyproject way', async () => {
    const p = join(dir, 'no-python');
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, 'pyproject.toml'), `[project]\nname = "x"\ndependencies = ["click"]\n[tool.conda-lock]\nchannels = ["${chan}"]\ndefault-non-conda-source = "pip"\n[tool.conda-lock.dependencies]\nsqlite = "*"\n`);
    const noPython = await runCli(['lock', '-p', 'linux-64', '--cache-dir', join(dir, 'cache'), '--pypi-index-url', index.indexUrl, '-q'], { cwd: p });
    expect(noPython.code).toBe(3);
    expect(noPython.stderr).toContain('E_PYPI_NO_PYTHON');
    expect(noPython.stderr).toContain('add one under [tool.conda-lock.dependencies] (python = "3.11.*")');
    const noChannels = join(dir, 'no-channels');
    mkdirSync(noChannels, { recursive: true });
    writeFileSync(join(noChannels, 'pyproject.toml'), '[project]\nname = "x"\ndependencies = ["numpy"]\n');
    const nc = await runCli(['lock', '-p', 'linux-64', '-q'], { cwd: noChannels });
    expect(nc.code).toBe(3);
    expect(nc.stderr).toContain('add `channels = ["conda-forge"]` under [tool.conda-lock] in pyproject.toml');

    const ok = project('test-poetry-optional');
    const r = await runCli(['lock', '-c', chan, '--cache-dir', join(dir, 'cache'), '-q'], { cwd: ok });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lf = readLock(ok);
    // platforms = ["osx-arm64"] from [tool.conda-lock]; tomlkit is optional in no extra (main, as
    // conda-lock); pyyaml is in the yaml extra though listed under dev-dependencies (category yaml).
    expect(lf.metadata.platforms).toEqual(['osx-arm64']);
    expect(lf.metadata.sources).toEqual(['pyproject.toml']);
    expect(pins(lf)).toEqual({
      pluggy: '0.13.1 dev',
      pytest: '5.1.3 dev',
      python: '3.9.18 dev,main,rest,yaml',
      pyyaml: '6.0.1 yaml',
      requests: '2.31.0 rest',
      certifi: '2024.2.2 rest',
      toml: '0.10.2 main',
      tomlkit: '1.0.0 main',
    });
  });

  it('pyproject.toml with environment files (test-multi-sources): platforms united, every file a source', async () => {
    const p = project('test-multi-sources');
    for (const f of ['main.yml', 'dev.yml']) copyFileSync(join(tests, 'test-multi-sources', f), join(p, f));
    const r = await runCli(['lock', '-f', join(p, 'main.yml'), '-f', join(p, 'pyproject.toml'), '-f', join(p, 'dev.yml'), '--lockfile', join(p, 'conda-go-lock.yml'), '-c', chan, '--cache-dir', join(dir, 'cache'), '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lf = readLock(p);
    // main.yml: osx-arm64, osx-64, linux-64; pyproject.toml: win-64, osx-arm64.
    expect(lf.metadata.platforms).toEqual(['linux-64', 'osx-64', 'osx-arm64', 'win-64']);
    expect(lf.metadata.sources).toEqual(['main.yml', 'pyproject.toml', 'dev.yml']);
    // pandas = "^1.5.0" → >=1.5.0,<2.0.0: 1.5.3, not 2.2.0.
    expect([...new Set(lf.packages.map((x) => `${x.name} ${x.version}`))].sort()).toEqual(['pandas 1.5.3', 'pluggy 0.13.1', 'pytest 5.1.3', 'python 3.9.18']);
  });

  it('bad pyproject.toml: broken TOML (E_TOML, line:column), unknown platforms and direct references (file:line), exit 3, no lockfile', async () => {
    const p = join(dir, 'broken');
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, 'pyproject.toml'), '[tool.conda-lock]\nchannels = ["conda-forge"\nplatforms = ["linux-64"]\n');
    const broken = await lockIn(p);
    expect(broken.code).toBe(3);
    expect(broken.stderr).toMatch(/E_TOML/);
    expect(broken.stderr).toMatch(/pyproject\.toml:3:\d+: invalid TOML/);
    expect(broken.stderr).not.toMatch(/\n\s+at .*\.(ts|js):\d+/);
    expect(existsSync(join(p, 'conda-go-lock.yml'))).toBe(false);

    const plat = project('test-platforms');
    const r = await runCli(['lock', '-f', join(plat, 'pyproject.toml'), '--lockfile', join(plat, 'conda-go-lock.yml'), '-c', chan, '-q']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/E_PYPROJECT/);
    expect(r.stderr).toMatch(/pyproject\.toml:5:\d+: unknown platform 'none'/);
    expect(r.stderr).toMatch(/unknown platform 'such'/);

    const url = project('test-v2-to-v3-upgrade');
    const u = await lockIn(url, '-c', chan);
    expect(u.code).toBe(3);
    expect(u.stderr).toMatch(/E_ENV_PIP_URL/);
    expect(u.stderr).toMatch(/pyproject\.toml:8:\d+: 'requests @ git\+https/);
    expect(existsSync(join(url, 'conda-go-lock.yml'))).toBe(false);
  });

  it('--pypi-mapping: PyPI names become the conda names the mapping gives; a name no conda package maps to comes from PyPI', async () => {
    const p = join(dir, 'mapped');
    mkdirSync(p, { recursive: true });
    // parselmouth's real conda→PyPI snapshot: pyyaml ← PyYAML; nothing in conda-forge maps to 'tomlkit-notonconda'.
    const mapping = fixture('pypi', 'mapping', 'parselmouth__compressed_mapping.json');
    writeFileSync(join(p, 'pyproject.toml'), `[project]\nname = "demo"\ndependencies = ["PyYAML >=6", "click", "onlyonpypi >=1"]\n\n[tool.conda-lock]\nchannels = ["${chan}"]\n\n[tool.conda-lock.dependencies]\npython = "3.9.*"\n`);
    const idx = await new PypiIndexServer().addWheel('onlyonpypi', '1.2').start();
    try {
      const r = await lockIn(p, '--pypi-mapping', mapping, '--pypi-index-url', idx.indexUrl);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lf = readLock(p);
      expect(lf.packages.map((x) => x.name).sort()).toEqual(['click', 'python', 'pyyaml']);
      expect(lf.pypi!.map((w) => `${w.name} ${w.version}`)).toEqual(['onlyonpypi 1.2']);
      // check reads the names with the same mapping: up to date; without it every name is a conda name.
      expect((await runCli(['check', '-f', join(p, 'pyproject.toml'), '--lockfile', join(p, 'conda-go-lock.yml'), '--pypi-mapping', mapping, '--pypi-index-url', idx.indexUrl])).code).toBe(0);
      const without = await runCli(['check', '-f', join(p, 'pyproject.toml'), '--lockfile', join(p, 'conda-go-lock.yml'), '--pypi-index-url', idx.indexUrl]);
      expect(without.code).toBe(1);
      expect(without.stderr).toContain("added 'onlyonpypi >=1'");
    } finally {
      await idx.stop();
    }
  });
});
