/**
 * conda-lock's categories through the CLI (issue 14): `category:` files locked in one solve per
 * platform, each package's categories in the lockfile, `install` / `verify` / `render` selecting
 * main + --dev / -E NAME, `check` and `lock --no-dev-dependencies / --filter-categories`, on a
 * loopback channel of real .tar.bz2 packages.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { runCli } from './helpers.js';
import { parseLockfile } from '../../src/lockfile/read.js';
import { assignCategories, assignPypiCategories } from '../../src/lockfile/categories.js';

let server: ChannelServer;
let dir: string;
let lf: string;
let files: string[];

const lockArgs = (...more: string[]) => ['lock', ...files.flatMap((f) => ['-f', f]), '-p', 'linux-64', '--cache-dir', join(dir, 'repocache'), '-q', ...more];
const installed = (prefix: string) => (existsSync(join(prefix, 'conda-meta')) ? readdirNames(join(prefix, 'conda-meta')) : []);
function readdirNames(metaDir: string): string[] {
  return readdirSync(metaDir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/-[^-]+-[^-]+\.json$/, '')).sort();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-categories-'));
  await writeChannel(join(dir, 'chan'), [
    { name: 'libcore', version: '1.0', files: { 'lib/libcore.so': 'core\n' } },
    { name: 'app', version: '2.0', depends: ['libcore >=1'], files: { 'bin/app': 'app\n' } },
    { name: 'pluggy', version: '1.5', files: { 'lib/pluggy': 'pluggy\n' } },
    { name: 'pytest', version: '8.0', depends: ['pluggy', 'libcore'], files: { 'bin/pytest': 'pytest\n' } },
    { name: 'sphinx', version: '7.0', files: { 'bin/sphinx': 'sphinx\n' } },
  ]);
  server = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
  const chan = server.url('/chan');
  files = [join(dir, 'environment.yml'), join(dir, 'dev.yml'), join(dir, 'docs.yml')];
  writeFileSync(files[0]!, `channels: [${chan}]\ndependencies:\n  - app\n`);
  writeFileSync(files[1]!, `channels: [${chan}]\ncategory: dev\ndependencies:\n  - pytest\n`);
  writeFileSync(files[2]!, `channels: [${chan}]\ncategory: docs\ndependencies:\n  - sphinx\n`);
  lf = join(dir, 'conda-go-lock.yml');
  const r = await runCli([...lockArgs('--lockfile', lf)]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('lock', () => {
  it('every category in one solve: each package records the categories whose specs reach it', () => {
    const lock = parseLockfile(readFileSync(lf, 'utf8'), lf);
    const cats = Object.fromEntries(lock.packages.map((p) => [p.name, p.categories ?? ['main']]));
    expect(cats).toEqual({ app: ['main'], libcore: ['dev', 'main'], pluggy: ['dev'], pytest: ['dev'], sphinx: ['docs'] });
    expect(lock.metadata.categories).toEqual({ dev: ['pytest'], docs: ['sphinx'] });
    expect(lock.metadata.specs).toEqual(['app', 'pytest', 'sphinx']);
    // A main-only package has no categories key at all (lockfiles without categories keep their bytes).
    const text = readFileSync(lf, 'utf8');
    const appBlock = text.split('\n\n').find((b) => b.includes('name: app'))!;
    expect(appBlock).not.toContain('categories');
  });

  it('check is clean with the same flags; --no-dev-dependencies makes it stale and says what moved', async () => {
    expect((await runCli(['check', ...files.flatMap((f) => ['-f', f]), '--lockfile', lf, '-p', 'linux-64'])).code).toBe(0);
    const r = await runCli(['check', ...files.flatMap((f) => ['-f', f]), '--lockfile', lf, '-p', 'linux-64', '--no-dev-dependencies']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("category dev: removed 'pytest'");
    expect(r.stderr).toContain('--no-dev-dependencies');
  });

  it('moving a spec to another category makes the lock stale (the content hash counts categories)', async () => {
    const moved = join(dir, 'dev-as-docs.yml');
    writeFileSync(moved, readFileSync(files[1]!, 'utf8').replace('category: dev', 'category: docs'));
    const r = await runCli(['check', '-f', files[0]!, '-f', moved, '-f', files[2]!, '--lockfile', lf, '-p', 'linux-64']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("category docs: added 'pytest'");
  });

  it('--no-dev-dependencies and --filter-categories leave categories out of the lock', async () => {
    const noDev = join(dir, 'no-dev.yml');
    expect((await runCli(lockArgs('--lockfile', noDev, '--no-dev-dependencies'))).code).toBe(0);
    expect(parseLockfile(readFileSync(noDev, 'utf8')).packages.map((p) => p.name).sort()).toEqual(['app', 'libcore', 'sphinx']);
    const filtered = join(dir, 'filtered.yml');
    expect((await runCli(lockArgs('--lockfile', filtered, '--filter-categories'))).code).toBe(0);
    expect(parseLockfile(readFileSync(filtered, 'utf8')).packages.map((p) => p.name).sort()).toEqual(['app', 'libcore', 'pluggy', 'pytest']);
    const withDocs = join(dir, 'with-docs.yml');
    expect((await runCli(lockArgs('--lockfile', withDocs, '--filter-extras', '-e', 'docs', '--no-dev-dependencies'))).code).toBe(0);
    expect(parseLockfile(readFileSync(withDocs, 'utf8')).packages.map((p) => p.name).sort()).toEqual(['app', 'libcore', 'sphinx']);
  });

  it('--extras naming a category no file has is a usage error listing the ones there are', async () => {
    const r = await runCli(lockArgs('--lockfile', join(dir, 'typo.yml'), '--extras', 'dosc', '--filter-categories'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--extras dosc: no input file has that category (categories: dev, docs, main)');
    expect(existsSync(join(dir, 'typo.yml'))).toBe(false);
  });
});

describe('install / verify / render pick categories', () => {
  const install = (prefix: string, ...more: string[]) =>
    runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'pkgcache'), ...more]);

  it('install: main by default (saying what was left out), --dev and -E NAME add categories', async () => {
    const a = join(dir, 'env-main');
    const r = await install(a);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('3 package(s) of the dev, docs categories left out');
    expect(installed(a)).toEqual(['app', 'libcore']);
    expect((await runCli(['verify', '--lockfile', lf, '-p', a])).code).toBe(0);

    const b = join(dir, 'env-dev');
    expect((await install(b, '--dev', '-q')).code).toBe(0);
    expect(installed(b)).toEqual(['app', 'libcore', 'pluggy', 'pytest']);
    // verify without flags checks what install recorded (main + dev), not main alone.
    const v = await runCli(['verify', '--lockfile', lf, '-p', b]);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('categories dev, main');
    expect(JSON.parse(readFileSync(join(b, 'conda-meta', 'conda-go-lock'), 'utf8')).categories).toEqual(['dev', 'main']);
    expect((await runCli(['verify', '--lockfile', lf, '-p', b, '--dev'])).code).toBe(0);
    // Flags given to verify override the record: -E docs checks main + docs (sphinx missing, dev extra).
    const o = await runCli(['verify', '--lockfile', lf, '-p', b, '-E', 'docs']);
    expect(o.code).toBe(1);
    expect(o.stdout).toMatch(/sphinx/);
    expect(o.stdout).toMatch(/pytest/);
    // The repair it suggests installs the categories it checked (without them it would remove dev's packages).
    expect(o.stderr).toContain('--platform linux-64 --category docs`');
    // A damaged dev package: the suggested repair keeps dev.
    rmSync(join(b, 'conda-meta', readdirSync(join(b, 'conda-meta')).find((n) => n.startsWith('pytest-'))!));
    const d = await runCli(['verify', '--lockfile', lf, '-p', b]);
    expect(d.code).toBe(1);
    expect(d.stderr).toContain('--category dev`');
    expect((await install(b, '--repair', '--category', 'dev', '-q')).code).toBe(0);
    expect(installed(b)).toEqual(['app', 'libcore', 'pluggy', 'pytest']);
    // Installing main again removes dev and records main only: verify follows.
    expect((await install(b, '-q')).code).toBe(0);
    expect(installed(b)).toEqual(['app', 'libcore']);
    expect(JSON.parse(readFileSync(join(b, 'conda-meta', 'conda-go-lock'), 'utf8')).categories).toBeUndefined();
    expect((await runCli(['verify', '--lockfile', lf, '-p', b])).code).toBe(0);

    const c = join(dir, 'env-docs');
    expect((await install(c, '-E', 'docs', '-q')).code).toBe(0);
    expect(installed(c)).toEqual(['app', 'libcore', 'sphinx']);
    expect((await runCli(['verify', '--lockfile', lf, '-p', c])).code).toBe(0);
    expect((await install(c, '--category', 'docs', '--dev', '-q')).code).toBe(0);
    expect(installed(c)).toEqual(['app', 'libcore', 'pluggy', 'pytest', 'sphinx']);
    const all = await runCli(['verify', '--lockfile', lf, '-p', c, '--json']);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout).categories).toEqual(['dev', 'docs', 'main']);
  });

  it('an unknown category is a usage error naming the lockfile\'s categories; nothing is created', async () => {
    const p = join(dir, 'env-typo');
    const r = await install(p, '-E', 'gpu');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has no 'gpu' category (it has dev, docs, main)");
    expect(existsSync(p)).toBe(false);
  });

  it('render: explicit files carry the selected categories; conda-lock files every category, one entry each', async () => {
    const main = await runCli(['render', '--lockfile', lf, '-k', 'explicit', '-p', 'linux-64', '-o', '-']);
    expect(main.stdout).toContain('/app-2.0-');
    expect(main.stdout).not.toContain('/pytest-');
    const dev = await runCli(['render', '--lockfile', lf, '-k', 'explicit', '-p', 'linux-64', '-o', '-', '--dev']);
    expect(dev.stdout).toContain('/pytest-8.0-');
    expect(dev.stdout).not.toContain('/sphinx-');

    const out = join(dir, 'conda-lock.yml');
    expect((await runCli(['render', '--lockfile', lf, '-k', 'conda-lock', '-o', out, '-q'])).code).toBe(0);
    const entries = (parse(readFileSync(out, 'utf8')) as { package: Array<{ name: string; category: string; optional: boolean }> }).package;
    expect(entries.filter((e) => e.name === 'libcore').map((e) => [e.category, e.optional])).toEqual([['main', false], ['dev', true]]);
    expect(entries.filter((e) => e.name === 'sphinx').map((e) => [e.category, e.optional])).toEqual([['docs', true]]);

    // That file installs with the same flags (conda-lock's entries per category are read back).
    const p = join(dir, 'env-from-conda-lock');
    expect((await runCli(['install', '--lockfile', out, '-p', p, '--platform', 'linux-64', '--cache-dir', join(dir, 'pkgcache'), '--dev', '-q'])).code).toBe(0);
    expect(installed(p)).toEqual(['app', 'libcore', 'pluggy', 'pytest']);
  });
});

describe('assignCategories', () => {
  it('a package reached from main is main even when a dev spec names it; unreached packages are main', () => {
    const pkgs = [
      { name: 'a', depends: ['b >=1'] },
      { name: 'b', depends: [] },
      { name: 't', depends: ['b', 'conda-forge::c 1.*'] },
      { name: 'c', depends: [] },
      { name: 'orphan', depends: [] },
    ];
    const got = assignCategories(pkgs, new Map([['a', ['main']], ['t', ['dev']], ['b', ['dev']]]));
    expect(Object.fromEntries(got)).toEqual({ a: ['main'], b: ['dev', 'main'], t: ['dev'], c: ['dev'], orphan: ['main'] });
  });
});

describe('assignPypiCategories', () => {
  it('a wheel gets the categories of the root requirements naming it and of its parents (cycles settle); unreached is main', () => {
    const wheels = [
      { name: 'pytest', requested_by: ['pytest >=7'] },
      { name: 'pluggy', requested_by: ['pytest'] },
      { name: 'a', requested_by: ['b', 'click'] },
      { name: 'b', requested_by: ['a'] },
      { name: 'click', requested_by: ['click'] },
      { name: 'orphan', requested_by: ['something ==1'] },
    ];
    const got = assignPypiCategories(wheels, new Map([['pytest >=7', ['dev']], ['click', ['cli', 'main']]]));
    expect(Object.fromEntries(got)).toEqual({ pytest: ['dev'], pluggy: ['dev'], a: ['cli', 'main'], b: ['cli', 'main'], click: ['cli', 'main'], orphan: ['main'] });
  });
});
